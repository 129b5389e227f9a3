// Internal: the dense Cholesky factorization A = L L^T of the inversion's large systems (a pixelization's hundreds to
// thousands of mesh pixels), compiled per instruction set by cholesky_<isa>.cpp and picked at run time. Not installed.
//
// Each of those files includes Eigen with its namespace renamed (#define Eigen galaxyfit_eigen_<isa>), so the Eigen
// templates instantiated there with -march=x86-64-v3 / -v4 have their own symbol names and cannot be merged by the
// linker with the baseline instantiations used elsewhere (which would break the one-definition rule and, on a machine
// without AVX, crash).
#pragma once

#include <cstdint>

namespace galaxyfit {
namespace detail {

/// Factors the n x n symmetric matrix held (column-major; only the lower triangle is read) in `a`, in place: on
/// success the lower triangle holds L. Returns false if the matrix is not numerically positive definite.
using CholeskyFn = bool (*)(double* a, int64_t n);

bool cholesky_lower_baseline(double* a, int64_t n);
bool cholesky_lower_x86_v3(double* a, int64_t n);
bool cholesky_lower_x86_v4(double* a, int64_t n);

/// B := L^-1 B for the n x n lower-triangular L (column-major, as cholesky_lower leaves it) and the n x m matrix B
/// (column-major).
using LowerSolveFn = void (*)(const double* l, int64_t n, double* b, int64_t m);

void lower_solve_baseline(const double* l, int64_t n, double* b, int64_t m);
void lower_solve_x86_v3(const double* l, int64_t n, double* b, int64_t m);
void lower_solve_x86_v4(const double* l, int64_t n, double* b, int64_t m);

}  // namespace detail
}  // namespace galaxyfit

// The implementation shared by every instruction set (included after the namespace rename).
#define GALAXYFIT_CHOLESKY_IMPL(NAME, SOLVE)                                                     \
  namespace galaxyfit {                                                                          \
  namespace detail {                                                                             \
  bool NAME(double* a, int64_t n) {                                                              \
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>> m(a, n, n);                \
    Eigen::LLT<Eigen::Ref<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>>> llt(m);        \
    return llt.info() == Eigen::Success;                                                         \
  }                                                                                              \
  void SOLVE(const double* l, int64_t n, double* b, int64_t m) {                                 \
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>> lm(l, n, n);         \
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>> bm(b, n, m);               \
    lm.triangularView<Eigen::Lower>().solveInPlace(bm);                                          \
  }                                                                                              \
  }                                                                                              \
  }
