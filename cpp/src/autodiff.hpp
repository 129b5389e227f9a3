// Internal: forward-mode derivatives for the profile kernel, vectorised across samples.
//
//   Dual<N>   value and N partial derivatives (w.r.t. the kernel's input parameters), each a SIMD vector;
//   Jet<V>    value, first and second derivative w.r.t. one variable (the squared radius s), V = vdouble or Dual<N>.
//
// The same templated law and integration code runs on vdouble (values), Jet<vdouble> (values and s-derivatives for
// the Taylor rule), Dual<N> and Jet<Dual<N>> (the Jacobian). Internal linkage: see simd_math.hpp.
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
GALAXYFIT_SIMD_INLINE vdouble floor_at(const vdouble& a, double c) { return vmax(a, splat(c)); }
GALAXYFIT_SIMD_INLINE vdouble floor_at(const vdouble& a, const vdouble& c) { return vmax(a, c); }
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
  const vint above = a.v > splat(c);
  r.v = select(above, a.v, splat(c));
  for (int k = 0; k < N; ++k) r.d[k] = select(above, a.d[k], vdouble{});
  return r;
}
template <int N>
GALAXYFIT_SIMD_INLINE Dual<N> floor_at(const Dual<N>& a, const Dual<N>& c) {
  Dual<N> r;
  const vint above = a.v > c.v;
  r.v = select(above, a.v, c.v);
  for (int k = 0; k < N; ++k) r.d[k] = select(above, a.d[k], c.d[k]);
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

// ---- Jets: value and two derivatives in one variable -------------------------------------------------------------------

template <class V>
struct Jet {
  V f, f1, f2;
};

template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> jet_variable(const V& x) {
  return {x, constant<V>(1.0), constant<V>(0.0)};
}

template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> chain(const Jet<V>& a, const V& f, const V& df, const V& ddf) {
  // f(a(s)): f' = df a1, f'' = ddf a1^2 + df a2
  return {f, df * a.f1, ddf * a.f1 * a.f1 + df * a.f2};
}

template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> operator+(const Jet<V>& a, const Jet<V>& b) {
  return {a.f + b.f, a.f1 + b.f1, a.f2 + b.f2};
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> operator-(const Jet<V>& a, const Jet<V>& b) {
  return {a.f - b.f, a.f1 - b.f1, a.f2 - b.f2};
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> operator-(const Jet<V>& a) {
  return {-a.f, -a.f1, -a.f2};
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> operator*(const Jet<V>& a, const Jet<V>& b) {
  return {a.f * b.f, a.f1 * b.f + a.f * b.f1, a.f2 * b.f + 2.0 * (a.f1 * b.f1) + a.f * b.f2};
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> operator/(const Jet<V>& a, const Jet<V>& b) {
  const V inv = 1.0 / b.f;
  const Jet<V> recip{inv, -(b.f1 * inv * inv), (2.0 * (b.f1 * b.f1) * inv - b.f2) * inv * inv};
  return a * recip;
}
// Jet with a constant (anything convertible to V: parameters, vectors, doubles).
template <class V, class C>
GALAXYFIT_SIMD_INLINE Jet<V> operator+(const Jet<V>& a, const C& c) {
  return {a.f + c, a.f1, a.f2};
}
template <class V, class C>
GALAXYFIT_SIMD_INLINE Jet<V> operator+(const C& c, const Jet<V>& a) {
  return {a.f + c, a.f1, a.f2};
}
template <class V, class C>
GALAXYFIT_SIMD_INLINE Jet<V> operator-(const Jet<V>& a, const C& c) {
  return {a.f - c, a.f1, a.f2};
}
template <class V, class C>
GALAXYFIT_SIMD_INLINE Jet<V> operator-(const C& c, const Jet<V>& a) {
  return {c - a.f, -a.f1, -a.f2};
}
template <class V, class C>
GALAXYFIT_SIMD_INLINE Jet<V> operator*(const Jet<V>& a, const C& c) {
  return {a.f * c, a.f1 * c, a.f2 * c};
}
template <class V, class C>
GALAXYFIT_SIMD_INLINE Jet<V> operator*(const C& c, const Jet<V>& a) {
  return {a.f * c, a.f1 * c, a.f2 * c};
}

template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> exp(const Jet<V>& a) {
  const V e = exp(a.f);
  return chain(a, e, e, e);
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> log(const Jet<V>& a) {
  const V inv = 1.0 / a.f;
  return chain(a, log(a.f), inv, -(inv * inv));
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> log1p(const Jet<V>& a) {
  const V inv = 1.0 / (1.0 + a.f);
  return chain(a, log1p(a.f), inv, -(inv * inv));
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> sqrt(const Jet<V>& a) {
  const V r = sqrt(a.f);
  const V half_inv = 0.5 / r;
  return chain(a, r, half_inv, -(half_inv / (2.0 * a.f)));
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> rsqrt(const Jet<V>& a) {
  const V r = rsqrt(a.f);
  const V r3 = r * r * r;
  return chain(a, r, -0.5 * r3, 0.75 * r3 * r * r);
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> floor_at(const Jet<V>& a, double c) {
  // Below the floor the jet is the constant c (zero derivatives).
  const vint above = value_of(a.f) > splat(c);
  return {choose(above, a.f, constant<V>(c)), choose(above, a.f1, constant<V>(0.0)), choose(above, a.f2, constant<V>(0.0))};
}
template <class V>
GALAXYFIT_SIMD_INLINE Jet<V> floor_at(const Jet<V>& a, const V& c) {
  const vint above = value_of(a.f) > value_of(c);
  return {choose(above, a.f, c), choose(above, a.f1, constant<V>(0.0)), choose(above, a.f2, constant<V>(0.0))};
}

}  // namespace
}  // namespace galaxyfit
