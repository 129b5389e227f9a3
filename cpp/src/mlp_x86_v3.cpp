// The emulator network's mini-batch kernel for this instruction set (compile options in CMakeLists.txt).
#define GALAXYFIT_ISA x86_v3
#include "mlp_kernel.hpp"
