// Internal: the Gram matrix of a few long rows (the curvature matrix of a linear inversion), written once for a vector
// width W (doubles per register) and compiled per instruction set by gram_<isa>.cpp. Not installed.
#pragma once

#include <cstdint>
#include <cstring>

namespace galaxyfit {
namespace detail {

using GramFn = void (*)(const double* const* rows, int64_t m, int64_t n, double* gram);

void gram_lower_baseline(const double* const*, int64_t, int64_t, double*);
void gram_lower_x86_v3(const double* const*, int64_t, int64_t, double*);
void gram_lower_x86_v4(const double* const*, int64_t, int64_t, double*);

template <int W>
struct GramSimd {
  typedef double Vec __attribute__((vector_size(8 * W)));
  static inline Vec load(const double* p) {
    Vec v;
    std::memcpy(&v, p, sizeof(Vec));
    return v;
  }
  static inline double sum(const Vec& v) {
    double lanes[W];
    std::memcpy(lanes, &v, sizeof(Vec));
    double s = 0.0;
    for (int i = 0; i < W; ++i) s += lanes[i];
    return s;
  }
};

// out[i][j] = a[i] . b[j] for a BI x BJ block of rows: every loaded vector of b is used BI times and every one of a
// BJ times, with BI * BJ accumulators held in registers.
template <int W, int BI, int BJ>
inline void gram_block(const double* const* a, const double* const* b, int64_t n, double out[BI][BJ]) {
  using S = GramSimd<W>;
  typename S::Vec acc[BI][BJ] = {};
  int64_t t = 0;
  for (; t + W <= n; t += W) {
    typename S::Vec bv[BJ];
    for (int j = 0; j < BJ; ++j) bv[j] = S::load(b[j] + t);
    for (int i = 0; i < BI; ++i) {
      const auto av = S::load(a[i] + t);
      for (int j = 0; j < BJ; ++j) acc[i][j] += av * bv[j];
    }
  }
  for (int i = 0; i < BI; ++i)
    for (int j = 0; j < BJ; ++j) {
      double s = S::sum(acc[i][j]);
      for (int64_t u = t; u < n; ++u) s += a[i][u] * b[j][u];
      out[i][j] = s;
    }
}

// Lower triangle of rows . rows^T in BI x BJ blocks; blocks that overhang the last row repeat row 0 (and are
// discarded), so every block runs the same unrolled loop.
template <int W, int BI, int BJ>
inline void gram_lower_impl(const double* const* rows, int64_t m, int64_t n, double* gram) {
  for (int64_t i0 = 0; i0 < m; i0 += BI) {
    const double* a[BI];
    for (int i = 0; i < BI; ++i) a[i] = rows[i0 + i < m ? i0 + i : 0];
    for (int64_t j0 = 0; j0 <= i0 + BI - 1 && j0 < m; j0 += BJ) {
      const double* b[BJ];
      for (int j = 0; j < BJ; ++j) b[j] = rows[j0 + j < m ? j0 + j : 0];
      double out[BI][BJ];
      gram_block<W, BI, BJ>(a, b, n, out);
      for (int i = 0; i < BI && i0 + i < m; ++i)
        for (int j = 0; j < BJ && j0 + j <= i0 + i; ++j) gram[(i0 + i) * m + (j0 + j)] = out[i][j];
    }
  }
}

}  // namespace detail
}  // namespace galaxyfit
