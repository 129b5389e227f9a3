// The profile-image kernel for this instruction set (compile options in CMakeLists.txt).
#define GALAXYFIT_SIMD_WIDTH 2
#define GALAXYFIT_ISA baseline
#include "profile_kernel.hpp"
