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

/// As CholeskyFn for the n x n block at `a` inside a larger column-major matrix of leading dimension lda >= n (the
/// active-set solve's passive factor, factored where it is kept).
using CholeskyStridedFn = bool (*)(double* a, int64_t n, int64_t lda);

bool cholesky_strided_baseline(double* a, int64_t n, int64_t lda);
bool cholesky_strided_x86_v3(double* a, int64_t n, int64_t lda);
bool cholesky_strided_x86_v4(double* a, int64_t n, int64_t lda);

/// x := L^-1 x, or L^-T x with `transpose`, for the n x n lower-triangular L at `l` (column-major, leading dimension
/// ldl; the upper triangle is not read) and n values x.
using VectorSolveFn = void (*)(const double* l, int64_t n, int64_t ldl, double* x, bool transpose);

void vector_solve_baseline(const double* l, int64_t n, int64_t ldl, double* x, bool transpose);
void vector_solve_x86_v3(const double* l, int64_t n, int64_t ldl, double* x, bool transpose);
void vector_solve_x86_v4(const double* l, int64_t n, int64_t ldl, double* x, bool transpose);

}  // namespace detail
}  // namespace galaxyfit

// The implementation shared by every instruction set (included after the namespace rename).
#define GALAXYFIT_CHOLESKY_IMPL(ISA)                                                                          \
  namespace galaxyfit {                                                                                       \
  namespace detail {                                                                                          \
  namespace {                                                                                                 \
  using GfMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;                                     \
  using GfStrided = Eigen::Map<GfMatrix, 0, Eigen::OuterStride<>>;                                            \
  using GfConstStrided = Eigen::Map<const GfMatrix, 0, Eigen::OuterStride<>>;                                 \
  }                                                                                                           \
  bool cholesky_lower_##ISA(double* a, int64_t n) {                                                           \
    Eigen::Map<GfMatrix> m(a, n, n);                                                                          \
    Eigen::LLT<Eigen::Ref<GfMatrix>> llt(m);                                                                  \
    return llt.info() == Eigen::Success;                                                                      \
  }                                                                                                           \
  void lower_solve_##ISA(const double* l, int64_t n, double* b, int64_t m) {                                  \
    Eigen::Map<const GfMatrix> lm(l, n, n);                                                                   \
    Eigen::Map<GfMatrix> bm(b, n, m);                                                                         \
    lm.triangularView<Eigen::Lower>().solveInPlace(bm);                                                       \
  }                                                                                                           \
  bool cholesky_strided_##ISA(double* a, int64_t n, int64_t lda) {                                            \
    GfStrided m(a, n, n, Eigen::OuterStride<>(lda));                                                          \
    Eigen::LLT<Eigen::Ref<GfMatrix, 0, Eigen::OuterStride<>>> llt(m);                                         \
    return llt.info() == Eigen::Success;                                                                      \
  }                                                                                                           \
  void vector_solve_##ISA(const double* l, int64_t n, int64_t ldl, double* x, bool transpose) {               \
    GfConstStrided lm(l, n, n, Eigen::OuterStride<>(ldl));                                                    \
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, 1>> xv(x, n);                                            \
    if (transpose)                                                                                            \
      lm.transpose().triangularView<Eigen::Upper>().solveInPlace(xv);                                         \
    else                                                                                                      \
      lm.triangularView<Eigen::Lower>().solveInPlace(xv);                                                     \
  }                                                                                                           \
  }                                                                                                           \
  }
