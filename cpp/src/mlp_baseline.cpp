// The emulator network's mini-batch kernel for this instruction set (compile options in CMakeLists.txt).
#define GALAXYFIT_ISA baseline
#include "mlp_kernel.hpp"
