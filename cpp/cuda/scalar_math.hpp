// Scalar math shared by the CUDA kernels and their host-side tests: the same source compiles as device code under
// nvcc and as plain C++17 under g++ (cpp/tests/test_cuda_host.cpp renders whole images with it on the CPU and
// compares them with the CPU kernels). Holds no CUDA runtime calls; header-only.
//
// Dual<N>: forward-mode automatic differentiation in one scalar (the CPU kernels' Dual is a SIMD vector of lanes,
// cpp/src/autodiff.hpp); the rules and the NaN / clipping conventions are the same.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define GALAXYFIT_HD __host__ __device__ __forceinline__
#else
#define GALAXYFIT_HD inline
#endif

namespace galaxyfit {
namespace scalar {

GALAXYFIT_HD double value_of(double a) { return a; }
GALAXYFIT_HD double gexp(double a) { return ::exp(a); }
GALAXYFIT_HD double glog(double a) { return ::log(a); }
GALAXYFIT_HD double glog1p(double a) { return ::log1p(a); }
GALAXYFIT_HD double gsqrt(double a) { return ::sqrt(a); }
GALAXYFIT_HD double grsqrt(double a) { return 1.0 / ::sqrt(a); }
// max(a, c) that keeps a NaN a (as the CPU kernels' select(a < c, c, a)).
GALAXYFIT_HD double floor_at(double a, double c) { return a < c ? c : a; }
GALAXYFIT_HD double clip01(double a) { return ::fmin(::fmax(a, 0.0), 1.0); }

template <int N>
struct Dual {
  double v;
  double d[N];
  GALAXYFIT_HD Dual() : v(0.0) {
    for (int k = 0; k < N; ++k) d[k] = 0.0;
  }
  GALAXYFIT_HD Dual(double c) : v(c) {  // NOLINT: constants convert implicitly
    for (int k = 0; k < N; ++k) d[k] = 0.0;
  }
  GALAXYFIT_HD static Dual variable(double x, int index) {
    Dual r(x);
    r.d[index] = 1.0;
    return r;
  }
};

template <int N>
GALAXYFIT_HD double value_of(const Dual<N>& a) {
  return a.v;
}
template <int N>
GALAXYFIT_HD Dual<N> chain(const Dual<N>& a, double f, double df) {
  Dual<N> r;
  r.v = f;
  for (int k = 0; k < N; ++k) r.d[k] = df * a.d[k];
  return r;
}
template <int N>
GALAXYFIT_HD Dual<N> operator+(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r;
  r.v = a.v + b.v;
  for (int k = 0; k < N; ++k) r.d[k] = a.d[k] + b.d[k];
  return r;
}
template <int N>
GALAXYFIT_HD Dual<N> operator-(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r;
  r.v = a.v - b.v;
  for (int k = 0; k < N; ++k) r.d[k] = a.d[k] - b.d[k];
  return r;
}
template <int N>
GALAXYFIT_HD Dual<N> operator-(const Dual<N>& a) {
  Dual<N> r;
  r.v = -a.v;
  for (int k = 0; k < N; ++k) r.d[k] = -a.d[k];
  return r;
}
template <int N>
GALAXYFIT_HD Dual<N> operator*(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r;
  r.v = a.v * b.v;
  for (int k = 0; k < N; ++k) r.d[k] = a.d[k] * b.v + a.v * b.d[k];
  return r;
}
template <int N>
GALAXYFIT_HD Dual<N> operator/(const Dual<N>& a, const Dual<N>& b) {
  Dual<N> r;
  const double inv = 1.0 / b.v;
  r.v = a.v * inv;
  for (int k = 0; k < N; ++k) r.d[k] = (a.d[k] - r.v * b.d[k]) * inv;
  return r;
}
template <int N>
GALAXYFIT_HD Dual<N> operator+(const Dual<N>& a, double c) {
  Dual<N> r = a;
  r.v = a.v + c;
  return r;
}
template <int N>
GALAXYFIT_HD Dual<N> operator+(double c, const Dual<N>& a) {
  return a + c;
}
template <int N>
GALAXYFIT_HD Dual<N> operator-(const Dual<N>& a, double c) {
  Dual<N> r = a;
  r.v = a.v - c;
  return r;
}
template <int N>
GALAXYFIT_HD Dual<N> operator-(double c, const Dual<N>& a) {
  return -(a - c);
}
template <int N>
GALAXYFIT_HD Dual<N> operator*(const Dual<N>& a, double c) {
  Dual<N> r;
  r.v = a.v * c;
  for (int k = 0; k < N; ++k) r.d[k] = a.d[k] * c;
  return r;
}
template <int N>
GALAXYFIT_HD Dual<N> operator*(double c, const Dual<N>& a) {
  return a * c;
}
template <int N>
GALAXYFIT_HD Dual<N> operator/(const Dual<N>& a, double c) {
  return a * (1.0 / c);
}
template <int N>
GALAXYFIT_HD Dual<N> operator/(double c, const Dual<N>& a) {
  return Dual<N>(c) / a;
}
template <int N>
GALAXYFIT_HD Dual<N> gexp(const Dual<N>& a) {
  const double e = ::exp(a.v);
  return chain(a, e, e);
}
template <int N>
GALAXYFIT_HD Dual<N> glog(const Dual<N>& a) {
  return chain(a, ::log(a.v), 1.0 / a.v);
}
template <int N>
GALAXYFIT_HD Dual<N> glog1p(const Dual<N>& a) {
  return chain(a, ::log1p(a.v), 1.0 / (1.0 + a.v));
}
template <int N>
GALAXYFIT_HD Dual<N> gsqrt(const Dual<N>& a) {
  const double r = ::sqrt(a.v);
  return chain(a, r, 0.5 / r);
}
template <int N>
GALAXYFIT_HD Dual<N> grsqrt(const Dual<N>& a) {
  const double r = 1.0 / ::sqrt(a.v);
  return chain(a, r, -0.5 * r * r * r);
}
template <int N>
GALAXYFIT_HD Dual<N> floor_at(const Dual<N>& a, double c) {
  return a.v < c ? Dual<N>(c) : a;
}
template <int N>
GALAXYFIT_HD Dual<N> floor_at(const Dual<N>& a, const Dual<N>& c) {
  return a.v < c.v ? c : a;
}
template <int N>
GALAXYFIT_HD Dual<N> clip01(const Dual<N>& a) {
  if (a.v > 0.0 && a.v < 1.0) return a;
  return Dual<N>(::fmin(::fmax(a.v, 0.0), 1.0));
}

}  // namespace scalar
}  // namespace galaxyfit
