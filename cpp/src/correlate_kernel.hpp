// Internal: the inner loop of direct convolution, written once for a vector width W (doubles per register) and
// compiled per instruction set by correlate_<isa>.cpp. Not installed.
#pragma once

#include <cstdint>
#include <cstring>

namespace galaxyfit {
namespace detail {

// Signature shared by the per-ISA entry points; see correlate_run in convolution.cpp.
using CorrelateRunFn = void (*)(const double* src, int64_t stride, const double* kflip, int64_t ky, int64_t kx,
                                int64_t len, double* out);

void correlate_run_baseline(const double*, int64_t, const double*, int64_t, int64_t, int64_t, double*);
void correlate_run_x86_v3(const double*, int64_t, const double*, int64_t, int64_t, int64_t, double*);
void correlate_run_x86_v4(const double*, int64_t, const double*, int64_t, int64_t, int64_t, double*);

template <int W>
struct Simd {
  typedef double Vec __attribute__((vector_size(8 * W)));
  static inline Vec load(const double* p) {
    Vec v;
    std::memcpy(&v, p, sizeof(Vec));
    return v;
  }
  static inline void store(double* p, const Vec& v) { std::memcpy(p, &v, sizeof(Vec)); }
  static inline Vec splat(double x) { return Vec{} + x; }
};

// out[0 .. NV*W) = sum_{i,j} kflip[i*kx + j] * src[i*stride + j + 0 .. NV*W). NA interleaved accumulator sets
// (kernel columns j mod NA) keep enough independent multiply-add chains in flight to hide their latency while the
// outputs stay in registers for the whole sweep of the kernel.
template <int W, int NV, int NA>
inline void correlate_block(const double* src, int64_t stride, const double* kflip, int64_t ky, int64_t kx,
                            double* out) {
  using S = Simd<W>;
  typename S::Vec acc[NA][NV] = {};
  for (int64_t i = 0; i < ky; ++i) {
    const double* row = src + i * stride;
    const double* krow = kflip + i * kx;
    int64_t j = 0;
    for (; j + NA <= kx; j += NA)
      for (int a = 0; a < NA; ++a) {
        const auto w = S::splat(krow[j + a]);
        for (int v = 0; v < NV; ++v) acc[a][v] += w * S::load(row + j + a + W * v);
      }
    for (; j < kx; ++j) {
      const auto w = S::splat(krow[j]);
      for (int v = 0; v < NV; ++v) acc[0][v] += w * S::load(row + j + W * v);
    }
  }
  for (int v = 0; v < NV; ++v) {
    auto sum = acc[0][v];
    for (int a = 1; a < NA; ++a) sum += acc[a][v];
    S::store(out + W * v, sum);
  }
}

// out[t] = sum_{i,j} kflip[i*kx + j] * src[i*stride + j + t] for t in [0, len). Every element read lies inside
// the source. A ragged end is covered by one more block overlapping the previous one (same values written twice).
template <int W>
inline void correlate_run_impl(const double* src, int64_t stride, const double* kflip, int64_t ky, int64_t kx,
                               int64_t len, double* out) {
  constexpr int kAcc = W >= 4 ? 2 : 1;  // narrow registers: fewer accumulator sets to avoid spilling
  constexpr int64_t kWide = 16, kNarrow = 2 * W;
  if (len >= kWide) {
    int64_t t = 0;
    for (; t + kWide <= len; t += kWide) correlate_block<W, kWide / W, kAcc>(src + t, stride, kflip, ky, kx, out + t);
    if (t < len)
      correlate_block<W, kWide / W, kAcc>(src + len - kWide, stride, kflip, ky, kx, out + len - kWide);
    return;
  }
  if (kNarrow < kWide && len >= kNarrow) {
    correlate_block<W, 2, kAcc>(src, stride, kflip, ky, kx, out);
    correlate_block<W, 2, kAcc>(src + len - kNarrow, stride, kflip, ky, kx, out + len - kNarrow);
    return;
  }
  for (int64_t t = 0; t < len; ++t) {
    double acc = 0.0;
    for (int64_t i = 0; i < ky; ++i)
      for (int64_t j = 0; j < kx; ++j) acc += kflip[i * kx + j] * src[i * stride + j + t];
    out[t] = acc;
  }
}

}  // namespace detail
}  // namespace galaxyfit
