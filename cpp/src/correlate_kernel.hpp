// Internal: the inner loop of direct convolution, written once for a vector width W (doubles per register) and
// compiled per instruction set by correlate_<isa>.cpp. Not installed.
#pragma once

#include <cstdint>
#include <cstring>

namespace galaxyfit {
namespace detail {

// The kernel as a flat list of taps: out[t] = sum_k weight[k] * src[offset[k] + t]. A flat list keeps two
// independent accumulator chains busy whatever the kernel's shape (a 41 x 1 column as well as a 21 x 21 square).
struct Taps {
  const int64_t* offset;
  const double* weight;
  int64_t count;
};

// Signature shared by the per-ISA entry points; see correlate_run in convolution.cpp.
using CorrelateRunFn = void (*)(const double* src, const Taps& taps, int64_t len, double* out);

void correlate_run_baseline(const double*, const Taps&, int64_t, double*);
void correlate_run_x86_v3(const double*, const Taps&, int64_t, double*);
void correlate_run_x86_v4(const double*, const Taps&, int64_t, double*);

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

// out[0 .. NV*W) = sum_k weight[k] * src[offset[k] + 0 .. NV*W). NA interleaved accumulator sets (taps k mod NA)
// keep enough independent multiply-add chains in flight to hide their latency while the outputs stay in registers.
template <int W, int NV, int NA>
inline void correlate_block(const double* src, const Taps& taps, double* out) {
  using S = Simd<W>;
  typename S::Vec acc[NA][NV] = {};
  int64_t k = 0;
  for (; k + NA <= taps.count; k += NA)
    for (int a = 0; a < NA; ++a) {
      const auto w = S::splat(taps.weight[k + a]);
      const double* row = src + taps.offset[k + a];
      for (int v = 0; v < NV; ++v) acc[a][v] += w * S::load(row + W * v);
    }
  for (; k < taps.count; ++k) {
    const auto w = S::splat(taps.weight[k]);
    const double* row = src + taps.offset[k];
    for (int v = 0; v < NV; ++v) acc[0][v] += w * S::load(row + W * v);
  }
  for (int v = 0; v < NV; ++v) {
    auto sum = acc[0][v];
    for (int a = 1; a < NA; ++a) sum += acc[a][v];
    S::store(out + W * v, sum);
  }
}

// out[t] = sum_k weight[k] * src[offset[k] + t] for t in [0, len). Every element read lies inside the source. A
// ragged end is covered by one more block overlapping the previous one (same values written twice).
template <int W>
inline void correlate_run_impl(const double* src, const Taps& taps, int64_t len, double* out) {
  constexpr int kAcc = W >= 4 ? 2 : 1;  // narrow registers: fewer accumulator sets to avoid spilling
  constexpr int64_t kWide = 16, kNarrow = 2 * W;
  if (len >= kWide) {
    int64_t t = 0;
    for (; t + kWide <= len; t += kWide) correlate_block<W, kWide / W, kAcc>(src + t, taps, out + t);
    if (t < len) correlate_block<W, kWide / W, kAcc>(src + len - kWide, taps, out + len - kWide);
    return;
  }
  if (kNarrow < kWide && len >= kNarrow) {
    correlate_block<W, 2, kAcc>(src, taps, out);
    correlate_block<W, 2, kAcc>(src + len - kNarrow, taps, out + len - kNarrow);
    return;
  }
  for (int64_t t = 0; t < len; ++t) {
    double acc = 0.0;
    for (int64_t k = 0; k < taps.count; ++k) acc += taps.weight[k] * src[taps.offset[k] + t];
    out[t] = acc;
  }
}

}  // namespace detail
}  // namespace galaxyfit
