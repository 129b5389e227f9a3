// Internal: forward-mode derivatives for the profile kernel, vectorised across samples.
//
//   Dual<N>   value and N partial derivatives (w.r.t. the kernel's input parameters), each a SIMD vector.
// The same templated law and integration code runs on vdouble (values) and Dual<N> (values and the Jacobian).
// Internal linkage: see simd_math.hpp.
#pragma once

#include "simd_math.hpp"

namespace galaxyfit {
namespace {

// ---- uniform access to the value-only type -------------------------------------------------------------------------

GALAXYFIT_SIMD_INLINE vdouble value_of(const vdouble& a) { return a; }
GALAXYFIT_SIMD_INLINE vdouble exp(const vdouble& a) { return vexp(a); }
GALAXYFIT_SIMD_INLINE vdouble log(const vdouble& a) { return vlog(a); }
GALAXYFIT_SIMD_INLINE vdouble log1p(const vdouble& a) { return vlog1p(a); }
GALAXYFIT_SIMD_INLINE vdouble sqrt(const vdouble& a) { return vsqrt(a); }
GALAXYFIT_SIMD_INLINE vdouble rsqrt(const vdouble& a) { return splat(1.0) / vsqrt(a); }
// max(a, c) that keeps a NaN (as jnp.maximum does), so an invalid model stays visibly invalid.
GALAXYFIT_SIMD_INLINE vdouble floor_at(const vdouble& a, const vdouble& c) { return select(a < c, c, a); }
GALAXYFIT_SIMD_INLINE vdouble floor_at(const vdouble& a, double c) { return floor_at(a, splat(c)); }
GALAXYFIT_SIMD_INLINE vdouble clip01(const vdouble& a) { return vmin(vmax(a, splat(0.0)), splat(1.0)); }
GALAXYFIT_SIMD_INLINE vdouble choose(const vint& mask, const vdouble& a, const vdouble& b) { return select(mask, a, b); }

// constant<V>(c): c as a V with zero derivatives.
template <class V>
struct ConstantMaker {
  static V make(double c) { return V(c); }
};
template <>
struct ConstantMaker<vdouble> {
  static vdouble make(double c) { return splat(c); }
};
template <class V>
GALAXYFIT_SIMD_INLINE V constant(double c) {
  return ConstantMaker<V>::make(c);
}

// ---- Dual numbers ----------------------------------------------------------------------------------------------------

template <int N>
struct Dual {
  vdouble v;
  vdouble d[N];

  Dual() : v{} {
    for (int k = 0; k < N; ++k) d[k] = vdouble{};
  }
  Dual(double c) : v(splat(c)) {  // NOLINT: constants convert implicitly
    for (int k = 0; k < N; ++k) d[k] = vdouble{};
  }
  Dual(const vdouble& c) : v(c) {  // NOLINT
    for (int k = 0; k < N; ++k) d[k] = vdouble{};
  }
  static Dual variable(double x, int index) {
    Dual r(x);
    r.d[index] = splat(1.0);
    return r;
  }
};

template <int N>
GALAXYFIT_SIMD_INLINE vdouble value_of(const Dual<N>& a) {
  return a.v;
}


// Chain rule helper: f(a) with f'(a) given.
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> apply(const Dual<N>& a, const vdouble& f, const vdouble& df) {
  Dual<N> r;
  r.v = f;
  for (int k = 0; k < N; ++k) r.d[k] = df * a.d[k];
  return r;
}

template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator+(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r;
  r.v = a.v + b.v;
  for (int k = 0; k < N; ++k) r.d[k] = a.d[k] + b.d[k];
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator-(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r;
  r.v = a.v - b.v;
  for (int k = 0; k < N; ++k) r.d[k] = a.d[k] - b.d[k];
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator-(const Dual<N>& a) {
  Dual<N> r;
  r.v = -a.v;
  for (int k = 0; k < N; ++k) r.d[k] = -a.d[k];
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator*(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r;
  r.v = a.v * b.v;
  for (int k = 0; k < N; ++k) r.d[k] = a.d[k] * b.v + a.v * b.d[k];
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator/(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r;
  const vdouble inv = splat(1.0) / b.v;
  r.v = a.v * inv;
  for (int k = 0; k < N; ++k) r.d[k] = (a.d[k] - r.v * b.d[k]) * inv;
  return r;
}
// Mixed with plain vectors / doubles (constants).
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator+(const Dual<N>& a, const vdouble& c) {
  Dual<N> r = a;
  r.v = a.v + c;
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator+(const vdouble& c, const Dual<N>& a) {
  return a + c;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator-(const Dual<N>& a, const vdouble& c) {
  Dual<N> r = a;
  r.v = a.v - c;
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator-(const vdouble& c, const Dual<N>& a) {
  return -(a - c);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator*(const Dual<N>& a, const vdouble& c) {
  Dual<N> r;
  r.v = a.v * c;
  for (int k = 0; k < N; ++k) r.d[k] = a.d[k] * c;
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator*(const vdouble& c, const Dual<N>& a) {
  return a * c;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator/(const Dual<N>& a, const vdouble& c) {
  return a * (splat(1.0) / c);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator/(const vdouble& c, const Dual<N>& a) {
  return Dual<N>(c) / a;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator+(const Dual<N>& a, double c) {
  return a + splat(c);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator+(double c, const Dual<N>& a) {
  return a + splat(c);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator-(const Dual<N>& a, double c) {
  return a - splat(c);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator-(double c, const Dual<N>& a) {
  return splat(c) - a;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator*(const Dual<N>& a, double c) {
  return a * splat(c);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator*(double c, const Dual<N>& a) {
  return a * splat(c);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator/(const Dual<N>& a, double c) {
  return a * splat(1.0 / c);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> operator/(double c, const Dual<N>& a) {
  return Dual<N>(c) / a;
}

template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> exp(const Dual<N>& a) {
  const vdouble e = vexp(a.v);
  return apply(a, e, e);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> log(const Dual<N>& a) {
  return apply(a, vlog(a.v), splat(1.0) / a.v);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> log1p(const Dual<N>& a) {
  return apply(a, vlog1p(a.v), splat(1.0) / (splat(1.0) + a.v));
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> sqrt(const Dual<N>& a) {
  const vdouble r = vsqrt(a.v);
  return apply(a, r, splat(0.5) / r);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> rsqrt(const Dual<N>& a) {
  const vdouble r = splat(1.0) / vsqrt(a.v);
  return apply(a, r, splat(-0.5) * r * r * r);
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> floor_at(const Dual<N>& a, double c) {
  Dual<N> r;
  const vint below = a.v < splat(c);  // NaN is kept, as in the value-only floor_at
  r.v = select(below, splat(c), a.v);
  for (int k = 0; k < N; ++k) r.d[k] = select(below, vdouble{}, a.d[k]);
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> floor_at(const Dual<N>& a, const Dual<N>& c) {
  Dual<N> r;
  const vint below = a.v < c.v;
  r.v = select(below, c.v, a.v);
  for (int k = 0; k < N; ++k) r.d[k] = select(below, c.d[k], a.d[k]);
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> clip01(const Dual<N>& a) {
  Dual<N> r;
  const vint inside = (a.v > splat(0.0)) & (a.v < splat(1.0));
  r.v = vmin(vmax(a.v, splat(0.0)), splat(1.0));
  for (int k = 0; k < N; ++k) r.d[k] = select(inside, a.d[k], vdouble{});
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> choose(const vint& mask, const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r;
  r.v = select(mask, a.v, b.v);
  for (int k = 0; k < N; ++k) r.d[k] = select(mask, a.d[k], b.d[k]);
  return r;
}

}  // namespace
}  // namespace galaxyfit
