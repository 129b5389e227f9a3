// The profile-image kernel for this instruction set (compile options in CMakeLists.txt).
#define GALAXYFIT_SIMD_WIDTH 4
#define GALAXYFIT_ISA x86_v3
#include "profile_kernel.hpp"
