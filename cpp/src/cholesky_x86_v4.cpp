// Dense Cholesky for this instruction set (compile options set in CMakeLists.txt); cholesky_kernel.hpp says why
// Eigen's namespace is renamed here.
#define Eigen galaxyfit_eigen_x86_v4
#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "cholesky_kernel.hpp"

GALAXYFIT_CHOLESKY_IMPL(x86_v4)
