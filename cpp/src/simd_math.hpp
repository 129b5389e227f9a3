// Internal: elementwise double-precision math on GCC/Clang vector types of GALAXYFIT_SIMD_WIDTH lanes.
//
// Each instruction-set translation unit (profile_<isa>.cpp) defines GALAXYFIT_SIMD_WIDTH and includes this header;
// everything here has internal linkage, so the per-ISA copies never collide at link time.
//
// exp and log follow the classic scheme (e.g. Muller, "Elementary Functions", 3rd ed., ch. 6; Cody & Waite 1980):
//   exp: x = k ln2 + r with |r| <= ln2/2 (two-part ln2), e^r by its degree-13 Taylor polynomial (truncation
//        < 5e-18), scaled by 2^k through the exponent bits;
//   log: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(z), z = (m-1)/(m+1), |z| <= 0.1716, by the odd
//        series to z^23 (truncation < 2e-19).
// Polynomials use Estrin's scheme (depth ~log2 of the degree instead of Horner's chain: the kernels are limited by
// the latency of these chains) and everything is force-inlined so independent samples overlap.
// Both are accurate to a few ulp (tests/test_profile_kernel.py compares with numpy over wide ranges).
#pragma once

#include <cstdint>
#include <cstring>

#ifndef GALAXYFIT_SIMD_WIDTH
#error "define GALAXYFIT_SIMD_WIDTH before including simd_math.hpp"
#endif

#define GALAXYFIT_SIMD_INLINE inline __attribute__((always_inline))

namespace galaxyfit {
namespace {

constexpr int kLanes = GALAXYFIT_SIMD_WIDTH;
typedef double vdouble __attribute__((vector_size(8 * GALAXYFIT_SIMD_WIDTH)));
typedef int64_t vint __attribute__((vector_size(8 * GALAXYFIT_SIMD_WIDTH)));

GALAXYFIT_SIMD_INLINE vdouble splat(double x) { return vdouble{} + x; }

GALAXYFIT_SIMD_INLINE vdouble load(const double* p) {
  vdouble v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

GALAXYFIT_SIMD_INLINE void store(double* p, const vdouble& v) { std::memcpy(p, &v, sizeof(v)); }

GALAXYFIT_SIMD_INLINE vint as_int(const vdouble& v) {
  vint i;
  std::memcpy(&i, &v, sizeof(v));
  return i;
}

GALAXYFIT_SIMD_INLINE vdouble as_double(const vint& i) {
  vdouble v;
  std::memcpy(&v, &i, sizeof(v));
  return v;
}

// Lane-wise select: mask lanes are all-ones (true) or zero, as produced by vector comparisons.
// The vector conditional lets the compiler use one blend (with AVX-512, a masked move) instead of and/andnot/or.
GALAXYFIT_SIMD_INLINE vdouble select(const vint& mask, const vdouble& a, const vdouble& b) { return mask ? a : b; }

// Written as the minpd/maxpd instructions define them (the second operand when unordered), so they compile to one.
GALAXYFIT_SIMD_INLINE vdouble vmax(const vdouble& a, const vdouble& b) { return a > b ? a : b; }
GALAXYFIT_SIMD_INLINE vdouble vmin(const vdouble& a, const vdouble& b) { return a < b ? a : b; }

GALAXYFIT_SIMD_INLINE vdouble vsqrt(const vdouble& a) {
  vdouble r;
  for (int i = 0; i < kLanes; ++i) r[i] = __builtin_sqrt(a[i]);
  return r;
}

GALAXYFIT_SIMD_INLINE double lane_sum(const vdouble& a) {
  double s = 0.0;
  for (int i = 0; i < kLanes; ++i) s += a[i];
  return s;
}

GALAXYFIT_SIMD_INLINE vdouble vexp(const vdouble& x_in) {
  const vdouble magic = splat(6755399441055744.0);  // 1.5 * 2^52: adding it rounds to an integer in the low bits
  const vdouble x = vmin(vmax(x_in, splat(-708.0)), splat(709.79));
  const vdouble t = x * splat(1.4426950408889634) + magic;
  const vdouble k = t - magic;
  vdouble r = x - k * splat(0.6931471803691238);  // ln 2, high part (exact in k * hi)
  r = r - k * splat(1.9082149292705877e-10);      // ln 2, low part
  const vdouble r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const vdouble p01 = splat(1.0) + r;
  const vdouble p23 = splat(0.5) + r * splat(1.0 / 6.0);
  const vdouble p45 = splat(1.0 / 24.0) + r * splat(1.0 / 120.0);
  const vdouble p67 = splat(1.0 / 720.0) + r * splat(1.0 / 5040.0);
  const vdouble p89 = splat(1.0 / 40320.0) + r * splat(1.0 / 362880.0);
  const vdouble p1011 = splat(1.0 / 3628800.0) + r * splat(1.0 / 39916800.0);
  const vdouble p1213 = splat(1.0 / 479001600.0) + r * splat(1.0 / 6227020800.0);
  const vdouble q0 = p01 + p23 * r2, q1 = p45 + p67 * r2, q2 = p89 + p1011 * r2;
  const vdouble p = (q0 + q1 * r4) + (q2 + p1213 * r4) * r8;
  // p * 2^k as (2 p) * 2^(k-1): 2^(k-1) is a normal number for every k in [-1021, 1024] (x in [-708, 709.79]).
  const vint k_int = as_int(t) - as_int(magic);
  vdouble result = (p + p) * as_double((k_int + 1022) << 52);
  result = select(x_in < splat(-708.0), splat(0.0), result);
  result = select(x_in > splat(709.782712893384), splat(__builtin_inf()), result);
  return select(x_in == x_in, result, x_in);  // NaN stays NaN
}

GALAXYFIT_SIMD_INLINE vdouble vlog(const vdouble& x_in) {
  // Scale subnormal inputs into the normal range first.
  const vint subnormal = x_in < splat(2.2250738585072014e-308);
  const vdouble x = select(subnormal, x_in * splat(18014398509481984.0), x_in);  // * 2^54
  const vint bits = as_int(x);
  const vint biased = (bits >> 52) & 0x7ff;
  vdouble m = as_double((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);  // in [1, 2)
  vdouble e = as_double(biased | 0x4330000000000000LL) - splat(4503599627370496.0) - splat(1023.0);
  e = e - select(subnormal, splat(54.0), splat(0.0));
  const vint big = m > splat(1.4142135623730951);
  m = select(big, m * splat(0.5), m);
  e = e + select(big, splat(1.0), splat(0.0));
  const vdouble z = (m - splat(1.0)) / (m + splat(1.0));
  const vdouble z2 = z * z;
  // s = sum_{k=0}^{10} z2^k / (2k + 3), by Estrin's scheme.
  const vdouble w2 = z2 * z2, w4 = w2 * w2, w8 = w4 * w4;
  const vdouble a01 = splat(1.0 / 3.0) + z2 * splat(1.0 / 5.0);
  const vdouble a23 = splat(1.0 / 7.0) + z2 * splat(1.0 / 9.0);
  const vdouble a45 = splat(1.0 / 11.0) + z2 * splat(1.0 / 13.0);
  const vdouble a67 = splat(1.0 / 15.0) + z2 * splat(1.0 / 17.0);
  const vdouble a89 = splat(1.0 / 19.0) + z2 * splat(1.0 / 21.0);
  const vdouble a10 = splat(1.0 / 23.0);
  const vdouble s = (a01 + a23 * w2) + (a45 + a67 * w2) * w4 + (a89 + a10 * w2) * w8;
  const vdouble log_m = splat(2.0) * z + splat(2.0) * z * (z2 * s);
  vdouble result = e * splat(0.6931471803691238) + (log_m + e * splat(1.9082149292705877e-10));
  result = select(x_in == splat(0.0), splat(-__builtin_inf()), result);
  result = select(x_in < splat(0.0), splat(__builtin_nan("")), result);
  result = select(x_in == splat(__builtin_inf()), x_in, result);
  return select(x_in == x_in, result, x_in);
}

// log(1 + y) accurate for small y: log(u) - ((u - 1) - y) / u with u = 1 + y (Goldberg 1991, theorem 4 idea).
GALAXYFIT_SIMD_INLINE vdouble vlog1p(const vdouble& y) {
  const vdouble u = splat(1.0) + y;
  const vdouble correction = ((u - splat(1.0)) - y) / u;
  return select(u == splat(1.0), y, vlog(u) - correction);
}

}  // namespace
}  // namespace galaxyfit
