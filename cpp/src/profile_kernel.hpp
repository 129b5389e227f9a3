// Internal: the profile-image kernel, written once over the value type V (vdouble: values; Dual<N>: Jacobian) and
// compiled per instruction set by profile_<isa>.cpp. Mirrors python/galaxyfit/integration.py step by step, so the
// two agree to rounding (tests/test_profile_kernel.py). Everything has internal linkage (see simd_math.hpp) except
// the two entry points, whose names carry the instruction set (GALAXYFIT_ISA).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "autodiff.hpp"
#include "gauss_legendre.hpp"
#include "galaxyfit/profile_image.hpp"

#ifndef GALAXYFIT_ISA
#error "define GALAXYFIT_ISA (entry-point suffix) before including profile_kernel.hpp"
#endif

namespace galaxyfit {
namespace {

// ---- laws (see profile_image.hpp) ---------------------------------------------------------------------------------------

template <class V>
V sersic_constant(const V& n) {
  // Ciotti & Bertin (1999, A&A 352, 447), eq. 18.
  const V n2 = n * n;
  return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n2) + 131.0 / (1148175.0 * (n2 * n)) -
         2194697.0 / (30690717750.0 * (n2 * n2));
}

template <class V>
struct SersicLaw {
  static constexpr bool kCusp = true;
  V intensity, b, inv_2n, inv_re2;
  explicit SersicLaw(const V* p)
      : intensity(p[0]), b(sersic_constant(p[2])), inv_2n(0.5 / p[2]), inv_re2(1.0 / (p[1] * p[1])) {}
  template <class S>
  S operator()(const S& s) const {
    const S x = floor_at(s * inv_re2, 1e-24);
    return intensity * exp(-(b * (exp(log(x) * inv_2n) - 1.0)));
  }
};

// Sersic with a fixed index: (s / R_e^2)^(1/(2n)) by square roots (n = 1: one, n = 4: three).
template <class V, int kIndex>
struct FixedSersicLaw {
  static constexpr bool kCusp = true;
  V intensity, b, inv_re2;
  explicit FixedSersicLaw(const V* p)
      : intensity(p[0]), b(sersic_constant(constant<V>(static_cast<double>(kIndex)))), inv_re2(1.0 / (p[1] * p[1])) {}
  template <class S>
  S operator()(const S& s) const {
    S root = sqrt(floor_at(s * inv_re2, 1e-24));
    if (kIndex == 4) root = sqrt(sqrt(root));
    return intensity * exp(-(b * (root - 1.0)));
  }
};
template <class V>
using ExponentialLaw = FixedSersicLaw<V, 1>;
template <class V>
using DevVaucouleursLaw = FixedSersicLaw<V, 4>;

template <class V>
struct SersicCoreLaw {
  static constexpr bool kCusp = true;
  V prime, b, half_alpha, gamma_over_alpha, rb_alpha, inv_re_alpha, inv_alpha_n, s_floor;
  explicit SersicCoreLaw(const V* p) {
    const V &intensity = p[0], &re = p[1], &n = p[2], &rb = p[3], &gamma = p[4], &alpha = p[5];
    constexpr double kLn2 = 0.69314718055994531;
    b = sersic_constant(n);
    half_alpha = 0.5 * alpha;
    gamma_over_alpha = gamma / alpha;
    rb_alpha = exp(alpha * log(rb));
    inv_re_alpha = exp(-(alpha * log(re)));
    inv_alpha_n = 1.0 / (alpha * n);
    s_floor = 1e-24 * (rb * rb);
    // I' = I_b 2^(-gamma/alpha) exp(b (2^(1/alpha) r_b / R_e)^(1/n))  (PyAutoGalaxy SersicCore.intensity_prime)
    const V ratio = exp(kLn2 / alpha) * rb / re;
    prime = intensity * exp(-(gamma_over_alpha * kLn2)) * exp(b * exp(log(ratio) / n));
  }
  template <class S>
  S operator()(const S& s) const {
    const S log_s = log(floor_at(s, s_floor));
    const S r_alpha = exp(log_s * half_alpha);                                   // R^alpha
    const S inner = exp(gamma_over_alpha * log1p(rb_alpha * exp(-(log_s * half_alpha))));  // (1 + (r_b/R)^alpha)^(g/a)
    const S outer = exp(-(b * exp(log((r_alpha + rb_alpha) * inv_re_alpha) * inv_alpha_n)));
    return prime * inner * outer;
  }
};

template <class V>
struct GaussianLaw {
  static constexpr bool kCusp = false;
  V intensity, c;
  explicit GaussianLaw(const V* p) : intensity(p[0]), c(p[1]) {}
  template <class S>
  S operator()(const S& s) const {
    return intensity * exp(-(s * c));
  }
};

template <class V>
struct PowerCoreLaw {
  static constexpr bool kCusp = false;
  V intensity, c, beta;
  explicit PowerCoreLaw(const V* p) : intensity(p[0]), c(p[1]), beta(p[2]) {}
  template <class S>
  S operator()(const S& s) const {
    return intensity * exp(-(beta * log1p(s * c)));
  }
};

template <class V>
struct ChameleonLaw {
  static constexpr bool kCusp = true;
  V amplitude, a0, a1;
  explicit ChameleonLaw(const V* p) : amplitude(p[0]), a0(p[1]), a1(p[2]) {}
  template <class S>
  S operator()(const S& s) const {
    return amplitude * (rsqrt(s + a0) - rsqrt(s + a1));
  }
};

// ---- outputs -------------------------------------------------------------------------------------------------------------

inline vdouble lane_index() {
  vdouble r;
  for (int i = 0; i < kLanes; ++i) r[i] = static_cast<double>(i);
  return r;
}

template <class V>
struct Sink;

template <>
struct Sink<vdouble> {
  double* image;
  int64_t width, plane;
  // Add this profile to the image instead of overwriting it (a sum of profiles in one pass; see patch()).
  bool accumulate = false;
  // If set, patch() leaves the image alone and writes the values of the patch pixels here, with
  // the box row and column of patch pixel [0, 0] in patch_origin (so the patch can be computed beside the rows).
  double* patch_out = nullptr;
  int64_t* patch_origin = nullptr;
  void set(int64_t row, int64_t col, const vdouble& acc) { image[row * width + col] = lane_sum(acc); }
  double* plane_row(int, int64_t row) { return image + row * width; }
};

template <int N>
struct Sink<Dual<N>> {
  double* image;
  double* jacobian;
  int64_t width, plane;
  static constexpr bool accumulate = false;  // Jacobians are rendered one profile at a time
  static constexpr double* patch_out = nullptr;
  static constexpr int64_t* patch_origin = nullptr;
  void set(int64_t row, int64_t col, const Dual<N>& acc) {
    const int64_t at = row * width + col;
    image[at] = lane_sum(acc.v);
    for (int k = 0; k < N; ++k) jacobian[k * plane + at] = lane_sum(acc.d[k]);
  }
  // Plane 0: the image; plane k > 0: derivative k - 1.
  double* plane_row(int p, int64_t row) { return (p == 0 ? image : jacobian + (p - 1) * plane) + row * width; }
};

template <class V>
V lift(const vdouble& x) {
  return V(x);
}
template <>
vdouble lift<vdouble>(const vdouble& x) {
  return x;
}

template <class V>
struct Geometry {
  V cy, cx, ayy, axx, axy;
  V quadratic(const V& dy, const V& dx) const { return ayy * (dy * dy) + axx * (dx * dx) + 2.0 * (axy * (dy * dx)); }
};

// Heap arrays of internal-linkage types only (no std containers here: see simd_math.hpp on per-ISA copies).
template <class T>
struct Buffer {
  T* data;
  explicit Buffer(size_t n) : data(new T[n]()) {}
  ~Buffer() { delete[] data; }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T& operator[](size_t i) { return data[i]; }
};

// ---- where the patch goes ------------------------------------------------------------------------------------------------

// The (2R+2)^2 patch around the pixel corner nearest the centre: box row and column of its pixel [0, 0]. Placed by the
// integer part of the centre, clamped into a frame padded by the patch size (integration.adaptive_image).
struct PatchPlace {
  bool valid = false;   // false: the centre is not finite (invalid model), no patch
  bool inside = false;  // the centre lies where the patch was meant to go (not clamped)
  int radius = 0, size = 0;
  int64_t row0 = 0, col0 = 0;
};

template <class V>
PatchPlace patch_place(const Geometry<V>& g, const RenderConfig& c) {
  PatchPlace place;
  const double cy = value_of(g.cy)[0], cx = value_of(g.cx)[0];
  if (!std::isfinite(cy) || !std::isfinite(cx)) return place;
  place.radius = c.ring_distance[c.n_rings - 1];
  place.size = 2 * place.radius + 2;
  const int radius = place.radius, size = place.size;
  // Clamp in floating point before converting, so far-away centres cannot overflow the integer.
  const double big = 1e9;
  // Multiplication by the reciprocal, exactly as the JAX reference (integration.adaptive_image) computes it.
  const double ty = std::fmin(std::fmax(std::floor((cy - c.y0) * (1.0 / c.hy)), -big), big);
  const double tx = std::fmin(std::fmax(std::floor((cx - c.x0) * (1.0 / c.hx)), -big), big);
  const int64_t row_c = static_cast<int64_t>(ty), col_c = static_cast<int64_t>(tx);
  auto clamp = [](int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); };
  const int64_t row_p = clamp(row_c - radius + size, 0, c.height + size);
  const int64_t col_p = clamp(col_c - radius + size, 0, c.width + size);
  place.inside = row_p == row_c - radius + size && col_p == col_c - radius + size;
  place.row0 = row_p - size;
  place.col0 = col_p - size;
  place.valid = true;
  return place;
}

// ---- rule 1: the sixth-order stencil, row by row ---------------------------------------------------------------------

// Point values -> pixel means along one axis: (-17, 308, 5178, 308, -17) / 5760 (integration.STENCIL_WEIGHTS; derived
// in python/galaxyfit/integration.py). Applied along rows, then columns.
constexpr double kStencil[5] = {-17.0 / 5760.0, 308.0 / 5760.0, 5178.0 / 5760.0, 308.0 / 5760.0, -17.0 / 5760.0};

// Scalar planes of a value type: the value, then (for Dual<N>) its N derivatives.
template <class V>
struct Planes;
template <>
struct Planes<vdouble> {
  static constexpr int kCount = 1;
  static void put(double* dst, int64_t, const vdouble& v) { store(dst, v); }
};
template <int N>
struct Planes<Dual<N>> {
  static constexpr int kCount = N + 1;
  static void put(double* dst, int64_t stride, const Dual<N>& v) {
    store(dst, v.v);
    for (int k = 0; k < N; ++k) store(dst + (k + 1) * stride, v.d[k]);
  }
};

GALAXYFIT_SIMD_INLINE double stencil5(const double* f) {
  return kStencil[0] * f[0] + kStencil[1] * f[1] + kStencil[2] * f[2] + kStencil[3] * f[3] + kStencil[4] * f[4];
}

// Pixel means of rows [row_begin, row_end): the law at the centres of rows row_begin - 2 .. row_end + 1 and of the
// needed columns +-2, filtered along each row into a ring of five rows, then down the columns. With spans, extended
// row e is filtered over the union of the spans of the output rows e - 2 .. e + 2 that it feeds.
// The pixels of the patch are left out (zero, or untouched when accumulating): the patch gives them their values,
// and the stencil there can be huge or infinite next to a cusp, so it must not be added and later subtracted.
template <class V, class L>
void stencil_rows(const Geometry<V>& g, const L& law, const RenderConfig& c, int64_t row_begin, int64_t row_end,
                  const PatchPlace& skip, Sink<V>& sink) {
  constexpr int P = Planes<V>::kCount;
  const int64_t width = c.width;
  const int64_t stride = (width + 4 + kLanes - 1) / kLanes * kLanes;
  Buffer<double> point(static_cast<size_t>(P) * stride);
  Buffer<double> ring(static_cast<size_t>(5) * P * width);
  const bool spans = c.span_begin != nullptr && c.span_end != nullptr;
  auto span = [&](int64_t row, int64_t* lo, int64_t* hi) {
    *lo = spans ? c.span_begin[row] : 0;
    *hi = spans ? c.span_end[row] : width;
  };
  const vdouble lanes = lane_index();
  for (int64_t e = row_begin - 2; e < row_end + 2; ++e) {
    int64_t lo = width, hi = 0;  // columns to filter along this row
    for (int64_t r = std::max(e - 2, row_begin); r <= std::min(e + 2, row_end - 1); ++r) {
      int64_t a, b;
      span(r, &a, &b);
      if (a < b) {
        lo = std::min(lo, a);
        hi = std::max(hi, b);
      }
    }
    if (lo < hi) {
      const V dy = lift<V>(splat(c.y0 + static_cast<double>(e) * c.hy)) - g.cy;
      // point[k] is column k - 2; filtering columns [lo, hi) reads points [lo, hi + 4).
      for (int64_t k = lo / kLanes * kLanes; k < hi + 4; k += kLanes) {
        const vdouble x = splat(c.x0) + (splat(static_cast<double>(k - 2)) + lanes) * splat(c.hx);
        const V dx = lift<V>(x) - g.cx;
        Planes<V>::put(&point[k], stride, law(g.quadratic(dy, dx)));
      }
      double* slot = &ring[static_cast<size_t>((e - row_begin + 2) % 5) * P * width];
      for (int p = 0; p < P; ++p) {
        const double* __restrict f = &point[static_cast<size_t>(p) * stride];
        double* __restrict h = slot + p * width;
        for (int64_t col = lo; col < hi; ++col) h[col] = stencil5(f + col);
      }
    }
    const int64_t row = e - 2;
    if (row < row_begin) continue;
    int64_t a, b;
    span(row, &a, &b);
    if (b < a) b = a;
    // Columns [xs, xe) of [a, b) belong to the patch.
    int64_t xs = b, xe = b;
    if (skip.valid && row >= skip.row0 && row < skip.row0 + skip.size) {
      xs = std::min(std::max(skip.col0, a), b);
      xe = std::min(std::max(skip.col0 + skip.size, a), b);
    }
    for (int p = 0; p < P; ++p) {
      auto ring_row = [&](int k) -> const double* {
        return &ring[static_cast<size_t>((row - row_begin + k) % 5) * P * width + p * width];
      };
      const double* __restrict r0 = ring_row(0);
      const double* __restrict r1 = ring_row(1);
      const double* __restrict r2 = ring_row(2);
      const double* __restrict r3 = ring_row(3);
      const double* __restrict r4 = ring_row(4);
      double* __restrict out = sink.plane_row(p, row);
      auto mean = [&](int64_t col) {
        return kStencil[0] * r0[col] + kStencil[1] * r1[col] + kStencil[2] * r2[col] + kStencil[3] * r3[col] +
               kStencil[4] * r4[col];
      };
      if (sink.accumulate) {
        for (int64_t col = a; col < xs; ++col) out[col] += mean(col);
        for (int64_t col = xe; col < b; ++col) out[col] += mean(col);
        continue;
      }
      for (int64_t col = 0; col < a; ++col) out[col] = 0.0;
      for (int64_t col = a; col < xs; ++col) out[col] = mean(col);
      for (int64_t col = xs; col < xe; ++col) out[col] = 0.0;
      for (int64_t col = xe; col < b; ++col) out[col] = mean(col);
      for (int64_t col = b; col < width; ++col) out[col] = 0.0;
    }
  }
}

// ---- rules 2 and 3: the patch ----------------------------------------------------------------------------------------------

struct Rule {
  double node[64];
  double weight[64];
  int order;
};

inline Rule compute_gauss_legendre(int order) {
  Rule r{};
  r.order = order;
  gauss_legendre_nodes(order, r.node, r.weight);
  return r;
}

// Rules for orders 1..64, computed once (thread-safe static initialisation).
inline const Rule& gauss_legendre_rule(int order) {
  struct Table {
    Rule rules[65];
    Table() {
      for (int n = 1; n <= 64; ++n) rules[n] = compute_gauss_legendre(n);
    }
  };
  static const Table table;
  return table.rules[order];
}

// Nodes t^power on [0, 1] with weights power t^(power-1) w (Gauss-Legendre in t): integration._graded_rule.
inline Rule graded_rule(int order, int power) {
  const Rule& gl = gauss_legendre_rule(order);
  Rule r{};
  r.order = order;
  for (int i = 0; i < order; ++i) {
    const double t = gl.node[i] + 0.5;
    r.node[i] = std::pow(t, power);
    r.weight[i] = gl.weight[i] * power * std::pow(t, power - 1);
  }
  return r;
}

// Signed integral over the triangle (centre, centre + a, centre + b): integration._triangle_sums.
template <class V, class L>
V triangle_sum(const Geometry<V>& g, const L& law, const V& ay, const V& ax, const V& by, const V& bx,
               const Rule& radial, const Rule& tangential) {
  const V ey = by - ay, ex = bx - ax;
  const V a_dot_e = g.ayy * (ay * ey) + g.axx * (ax * ex) + g.axy * (ay * ex + ax * ey);
  const V e_dot_e = g.quadratic(ey, ex);
  const V tau = clip01(-(a_dot_e / e_dot_e));
  const V fy = ay + tau * ey, fx = ax + tau * ex;
  V total = constant<V>(0.0);
  for (int side = 0; side < 2; ++side) {
    const V& py = side == 0 ? ay : by;
    const V& px = side == 0 ? ax : bx;
    const double sign = side == 0 ? -1.0 : 1.0;
    const V det = fx * py - fy * px;
    V side_sum = constant<V>(0.0);
    for (int j = 0; j < tangential.order; ++j) {
      const double v = tangential.node[j];
      const V qy = fy + v * (py - fy);
      const V qx = fx + v * (px - fx);
      const V s_edge = g.quadratic(qy, qx);
      for (int start = 0; start < radial.order; start += kLanes) {
        vdouble u2{}, uw{};
        for (int i = 0; i < kLanes; ++i) {
          const int k = start + i;
          if (k < radial.order) {
            u2[i] = radial.node[k] * radial.node[k];
            uw[i] = radial.node[k] * radial.weight[k] * tangential.weight[j];
          }
        }
        side_sum = side_sum + law(u2 * s_edge) * uw;
      }
    }
    total = total + sign * (det * side_sum);
  }
  return total;
}

// Patch layout: Chebyshev distance of patch pixel (i, j) from the central 2 x 2 pixels (rows/cols R and R + 1).
inline int patch_distance(int i, int j, int radius) {
  const int di = i < radius ? radius - i : (i > radius + 1 ? i - radius - 1 : 0);
  const int dj = j < radius ? radius - j : (j > radius + 1 ? j - radius - 1 : 0);
  return di > dj ? di : dj;
}

template <class V, class L>
void patch(const Geometry<V>& g, const L& law, const RenderConfig& c, const PatchPlace& place, Sink<V>& sink) {
  if (!place.valid) {  // invalid model: the likelihood rejects it anyway
    if (sink.patch_origin != nullptr) sink.patch_origin[0] = sink.patch_origin[1] = kNoPatch;
    return;
  }
  const int radius = place.radius, size = place.size;
  const bool inside = place.inside;
  const double row0 = static_cast<double>(place.row0), col0 = static_cast<double>(place.col0);
  const bool cusp = L::kCusp && inside;

  // Per ring, the order^2 Gauss-Legendre offsets from a pixel centre and their weights, padded with zero weights to
  // whole vectors, so each pixel's sum is a few vector evaluations (as integration.gauss_legendre_pixel_means).
  int64_t ring_start[kMaxRings + 1] = {0};
  for (int r = 0; r < c.n_rings; ++r) {
    const int64_t n = static_cast<int64_t>(c.ring_order[r]) * c.ring_order[r];
    ring_start[r + 1] = ring_start[r] + (n + kLanes - 1) / kLanes * kLanes;
  }
  const int64_t n_offsets = ring_start[c.n_rings];
  Buffer<double> oy_gl(n_offsets), ox_gl(n_offsets), w_gl(n_offsets);  // zero-initialised: padding has weight 0
  for (int r = 0; r < c.n_rings; ++r) {
    const Rule& rule = gauss_legendre_rule(c.ring_order[r]);
    int64_t k = ring_start[r];
    for (int i = 0; i < rule.order; ++i)
      for (int j = 0; j < rule.order; ++j, ++k) {
        oy_gl[k] = rule.node[i] * c.hy;
        ox_gl[k] = rule.node[j] * c.hx;
        w_gl[k] = rule.weight[i] * rule.weight[j];
      }
  }
  Buffer<V> value(static_cast<size_t>(size) * size);
  for (int i = 0; i < size; ++i) {
    const V dy = lift<V>(splat(c.y0 + (row0 + i) * c.hy)) - g.cy;
    for (int j = 0; j < size; ++j) {
      const int d = patch_distance(i, j, radius);
      if (cusp && d == 0) continue;
      int ring = 0;
      while (ring < c.n_rings - 1 && d > c.ring_distance[ring]) ++ring;
      const V dx = lift<V>(splat(c.x0 + (col0 + j) * c.hx)) - g.cx;
      V sum = constant<V>(0.0);
      for (int64_t k = ring_start[ring]; k < ring_start[ring + 1]; k += kLanes)
        sum = sum + law(g.quadratic(dy + load(&oy_gl[k]), dx + load(&ox_gl[k]))) * load(&w_gl[k]);
      value[i * size + j] = sum;  // lanes hold partial sums; the sink adds them
    }
  }
  if (cusp) {
    const Rule radial = graded_rule(c.cusp_radial, 4), tangential = graded_rule(c.cusp_tangential, 3);
    const double corner_y = c.y0 + (row0 + radius - 0.5) * c.hy;
    const double corner_x = c.x0 + (col0 + radius - 0.5) * c.hx;
    V oy[3], ox[3];
    for (int q = 0; q < 3; ++q) {
      oy[q] = lift<V>(splat(corner_y + c.hy * q)) - g.cy;
      ox[q] = lift<V>(splat(corner_x + c.hx * q)) - g.cx;
    }
    V h[3][2], v[2][3];  // horizontal edges (oy[a], ox[b]) -> (oy[a], ox[b+1]); vertical (oy[a], ox[b]) -> (oy[a+1], ox[b])
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 2; ++b) h[a][b] = triangle_sum(g, law, oy[a], ox[b], oy[a], ox[b] + splat(c.hx), radial, tangential);
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 3; ++b) v[a][b] = triangle_sum(g, law, oy[a], ox[b], oy[a] + splat(c.hy), ox[b], radial, tangential);
    const double inv_area = 1.0 / (c.hy * c.hx);
    for (int p = 0; p < 2; ++p)
      for (int q = 0; q < 2; ++q)
        value[(radius + p) * size + radius + q] = (h[p][q] + v[p][q + 1] - h[p + 1][q] - v[p][q]) * inv_area;
  }
  if constexpr (std::is_same<V, vdouble>::value) {
    if (sink.patch_out != nullptr) {  // computed apart from the image (compute_patch), applied later (apply_patch)
      for (int k = 0; k < size * size; ++k) sink.patch_out[k] = lane_sum(value[k]);
      sink.patch_origin[0] = place.row0;
      sink.patch_origin[1] = place.col0;
      return;
    }
  }
  for (int i = 0; i < size; ++i) {
    const int64_t row = place.row0 + i;
    if (row < 0 || row >= c.height) continue;
    for (int j = 0; j < size; ++j) {
      const int64_t col = place.col0 + j;
      if (col < 0 || col >= c.width) continue;
      sink.set(row, col, value[i * size + j]);
    }
  }
}

// ---- dispatch over laws and value types -----------------------------------------------------------------------------------

template <class V, template <class> class L>
void run_law(const V* p, const RenderConfig& c, int64_t row_begin, int64_t row_end, bool do_patch, Sink<V>& sink) {
  const Geometry<V> g{p[0], p[1], p[2], p[3], p[4]};
  const L<V> law(p + kGeometryParameters);
  const PatchPlace place = patch_place(g, c);
  if (row_end > row_begin) stencil_rows(g, law, c, row_begin, row_end, place, sink);
  if (do_patch) patch(g, law, c, place, sink);
}

template <class V>
void run(Law law, const V* p, const RenderConfig& c, int64_t row_begin, int64_t row_end, bool do_patch, Sink<V>& sink) {
  switch (law) {
    case Law::kSersic:
      return run_law<V, SersicLaw>(p, c, row_begin, row_end, do_patch, sink);
    case Law::kSersicCore:
      return run_law<V, SersicCoreLaw>(p, c, row_begin, row_end, do_patch, sink);
    case Law::kGaussian:
      return run_law<V, GaussianLaw>(p, c, row_begin, row_end, do_patch, sink);
    case Law::kPowerCore:
      return run_law<V, PowerCoreLaw>(p, c, row_begin, row_end, do_patch, sink);
    case Law::kChameleon:
      return run_law<V, ChameleonLaw>(p, c, row_begin, row_end, do_patch, sink);
    case Law::kExponential:
      return run_law<V, ExponentialLaw>(p, c, row_begin, row_end, do_patch, sink);
    case Law::kDevVaucouleurs:
      return run_law<V, DevVaucouleursLaw>(p, c, row_begin, row_end, do_patch, sink);
  }
}

template <int N>
void run_jacobian(Law law, const double* params, const RenderConfig& c, int64_t row_begin, int64_t row_end,
                  bool do_patch, double* image, double* jacobian) {
  Dual<N> p[N];
  for (int k = 0; k < N; ++k) p[k] = Dual<N>::variable(params[k], k);
  Sink<Dual<N>> sink{image, jacobian, c.width, c.height * c.width};
  run<Dual<N>>(law, p, c, row_begin, row_end, do_patch, sink);
}

void render_any(int law_id, const double* params, const RenderConfig& c, int64_t row_begin, int64_t row_end,
                bool do_patch, bool accumulate, double* image, double* jacobian) {
  const Law law = static_cast<Law>(law_id);
  if (jacobian == nullptr) {
    vdouble p[kGeometryParameters + 6];
    const int n = kGeometryParameters + law_parameter_count(law);
    for (int k = 0; k < n; ++k) p[k] = splat(params[k]);
    Sink<vdouble> sink{image, c.width, c.height * c.width, accumulate};
    run<vdouble>(law, p, c, row_begin, row_end, do_patch, sink);
    return;
  }
  switch (kGeometryParameters + law_parameter_count(law)) {
    case 7:
      return run_jacobian<7>(law, params, c, row_begin, row_end, do_patch, image, jacobian);
    case 8:
      return run_jacobian<8>(law, params, c, row_begin, row_end, do_patch, image, jacobian);
    case 11:
      return run_jacobian<11>(law, params, c, row_begin, row_end, do_patch, image, jacobian);
    default:
      throw std::invalid_argument("unsupported parameter count");
  }
}

}  // namespace

namespace detail {
#define GALAXYFIT_CAT2(a, b) a##b
#define GALAXYFIT_CAT(a, b) GALAXYFIT_CAT2(a, b)
void GALAXYFIT_CAT(render_, GALAXYFIT_ISA)(int law, const double* params, const RenderConfig& config,
                                           int64_t row_begin, int64_t row_end, bool do_patch, bool accumulate,
                                           double* image, double* jacobian) {
  render_any(law, params, config, row_begin, row_end, do_patch, accumulate, image, jacobian);
}

void GALAXYFIT_CAT(patch_values_, GALAXYFIT_ISA)(int law_id, const double* params, const RenderConfig& c,
                                                 double* values, int64_t* origin) {
  const Law law = static_cast<Law>(law_id);
  vdouble p[kGeometryParameters + 6];
  const int n = kGeometryParameters + law_parameter_count(law);
  for (int k = 0; k < n; ++k) p[k] = splat(params[k]);
  Sink<vdouble> sink{nullptr, c.width, c.height * c.width, false, values, origin};
  run<vdouble>(law, p, c, 0, 0, true, sink);
}

// The vector exp / log / log1p on n values (n a multiple of nothing in particular), for accuracy tests.
void GALAXYFIT_CAT(simd_math_, GALAXYFIT_ISA)(int function, const double* x, double* y, int64_t n) {
  for (int64_t start = 0; start < n; start += kLanes) {
    vdouble v{};
    for (int i = 0; i < kLanes && start + i < n; ++i) v[i] = x[start + i];
    const vdouble r = function == 0 ? vexp(v) : (function == 1 ? vlog(v) : vlog1p(v));
    for (int i = 0; i < kLanes && start + i < n; ++i) y[start + i] = r[i];
  }
}
}  // namespace detail

}  // namespace galaxyfit
