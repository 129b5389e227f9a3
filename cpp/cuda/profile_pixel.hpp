// One pixel of a profile image, for the CUDA kernel (one thread per pixel) and its host-side test: the rules of
// galaxyfit/profile_image.hpp (stencil, Gauss-Legendre patch rings, exact-geometry cusp), computed pixel by pixel in
// scalar arithmetic instead of row by row in SIMD lanes. cpp/src/profile_kernel.hpp is the CPU version; every step
// here mirrors one there, in the same order of operations where the SIMD layout allows, so the two agree to rounding
// (cpp/tests/test_cuda_host.cpp). Header-only, plain C++17 under g++, device code under nvcc.
#pragma once

#include <cmath>
#include <cstdint>

#include "../src/gauss_legendre.hpp"
#include "galaxyfit/profile_image.hpp"
#include "scalar_math.hpp"

namespace galaxyfit {
namespace scalar {

/// Gauss-Legendre nodes and weights for orders 1..64 in one triangular table: order n at offset n (n - 1) / 2.
constexpr int kRuleTableSize = 64 * 65 / 2;
GALAXYFIT_HD int rule_offset(int order) { return order * (order - 1) / 2; }

/// Everything a thread needs besides the parameters (a kernel argument: plain values and device pointers).
struct PixelRules {
  double y0, x0, hy, hx;
  int64_t height, width;
  int32_t n_rings;
  int32_t ring_distance[kMaxRings];
  int32_t ring_order[kMaxRings];
  int32_t cusp_radial, cusp_tangential;
  const int32_t* span_begin;  // height entries, or null: whole rows
  const int32_t* span_end;
  const double* gl_node;    // kRuleTableSize entries (fill_rule_table); nodes in [-1/2, 1/2]
  const double* gl_weight;  // weights summing to 1 per order
};

/// The table of PixelRules::gl_node / gl_weight, computed on the host by the CPU kernels' own function, so both use
/// identical nodes.
inline void fill_rule_table(double* node, double* weight) {
  for (int order = 1; order <= 64; ++order)
    gauss_legendre_nodes(order, node + rule_offset(order), weight + rule_offset(order));
}

/// The rules of a validated RenderConfig with the table's nodes and weights (on the device, or on the host for tests);
/// spans are taken as given (the CUDA handlers put them on the device first).
inline PixelRules pixel_rules(const RenderConfig& c, const double* node, const double* weight) {
  PixelRules r{};
  r.y0 = c.y0, r.x0 = c.x0, r.hy = c.hy, r.hx = c.hx, r.height = c.height, r.width = c.width;
  r.n_rings = c.n_rings;
  for (int k = 0; k < c.n_rings; ++k) {
    r.ring_distance[k] = c.ring_distance[k];
    r.ring_order[k] = c.ring_order[k];
  }
  r.cusp_radial = c.cusp_radial, r.cusp_tangential = c.cusp_tangential;
  r.span_begin = c.span_begin, r.span_end = c.span_end;
  r.gl_node = node, r.gl_weight = weight;
  return r;
}

// ---- laws (profile_image.hpp; the same algebra as cpp/src/profile_kernel.hpp) -------------------------------------

template <class S>
GALAXYFIT_HD S sersic_constant(const S& n) {
  // Ciotti & Bertin (1999, A&A 352, 447), eq. 18.
  const S n2 = n * n;
  return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n2) + 131.0 / (1148175.0 * (n2 * n)) -
         2194697.0 / (30690717750.0 * (n2 * n2));
}

template <class S>
struct Law {
  int32_t id;
  S a, b, c, d, e, f, g, h;  // per-law constants, named in evaluate()

  GALAXYFIT_HD Law(int32_t law, const S* p) : id(law) {
    constexpr double kLn2 = 0.69314718055994531;
    switch (static_cast<galaxyfit::Law>(law)) {
      case galaxyfit::Law::kSersic:  // a: I_e, b: b_n, c: 1/(2n), d: 1/R_e^2
        a = p[0], b = sersic_constant(p[2]), c = 0.5 / p[2], d = 1.0 / (p[1] * p[1]);
        break;
      case galaxyfit::Law::kExponential:
        a = p[0], b = sersic_constant(S(1.0)), d = 1.0 / (p[1] * p[1]);
        break;
      case galaxyfit::Law::kDevVaucouleurs:
        a = p[0], b = sersic_constant(S(4.0)), d = 1.0 / (p[1] * p[1]);
        break;
      case galaxyfit::Law::kSersicCore: {
        // a: I', b: b_n, c: alpha/2, d: gamma/alpha, e: r_b^alpha, f: R_e^-alpha, g: 1/(alpha n), h: s floor
        const S &intensity = p[0], &re = p[1], &n = p[2], &rb = p[3], &gamma = p[4], &alpha = p[5];
        b = sersic_constant(n);
        c = 0.5 * alpha;
        d = gamma / alpha;
        e = gexp(alpha * glog(rb));
        f = gexp(-(alpha * glog(re)));
        g = 1.0 / (alpha * n);
        h = 1e-24 * (rb * rb);
        const S ratio = gexp(kLn2 / alpha) * rb / re;
        a = intensity * gexp(-(d * kLn2)) * gexp(b * gexp(glog(ratio) / n));
        break;
      }
      case galaxyfit::Law::kGaussian:  // a: I_0, b: c
        a = p[0], b = p[1];
        break;
      case galaxyfit::Law::kPowerCore:  // a: I_0, b: c, c: beta
      case galaxyfit::Law::kChameleon:  // a: A, b: a_0, c: a_1
        a = p[0], b = p[1], c = p[2];
        break;
    }
  }

  GALAXYFIT_HD bool cusp() const {
    return id != static_cast<int32_t>(galaxyfit::Law::kGaussian) &&
           id != static_cast<int32_t>(galaxyfit::Law::kPowerCore);
  }

  GALAXYFIT_HD S operator()(const S& s) const {
    switch (static_cast<galaxyfit::Law>(id)) {
      case galaxyfit::Law::kSersic: {
        const S x = floor_at(s * d, 1e-24);
        return a * gexp(-(b * (gexp(glog(x) * c) - 1.0)));
      }
      case galaxyfit::Law::kExponential:
        return a * gexp(-(b * (gsqrt(floor_at(s * d, 1e-24)) - 1.0)));
      case galaxyfit::Law::kDevVaucouleurs: {
        const S root = gsqrt(gsqrt(gsqrt(floor_at(s * d, 1e-24))));
        return a * gexp(-(b * (root - 1.0)));
      }
      case galaxyfit::Law::kSersicCore: {
        const S log_s = glog(floor_at(s, h));
        const S r_alpha = gexp(log_s * c);
        const S inner = gexp(d * glog1p(e * gexp(-(log_s * c))));
        const S outer = gexp(-(b * gexp(glog((r_alpha + e) * f) * g)));
        return a * inner * outer;
      }
      case galaxyfit::Law::kGaussian:
        return a * gexp(-(s * b));
      case galaxyfit::Law::kPowerCore:
        return a * gexp(-(c * glog1p(s * b)));
      case galaxyfit::Law::kChameleon:
        return a * (grsqrt(s + b) - grsqrt(s + c));
    }
    return S(0.0);
  }
};

template <class S>
struct Geometry {
  S cy, cx, ayy, axx, axy;
  GALAXYFIT_HD S quadratic(const S& dy, const S& dx) const {
    return ayy * (dy * dy) + axx * (dx * dx) + 2.0 * (axy * (dy * dx));
  }
};

// Where the patch goes: profile_kernel.hpp's patch_place, in the same floating-point steps.
struct Place {
  bool valid, inside;
  int radius, size;
  int64_t row0, col0;
};

GALAXYFIT_HD Place patch_place(double cy, double cx, const PixelRules& c) {
  Place place{false, false, 0, 0, 0, 0};
  if (!(cy - cy == 0.0) || !(cx - cx == 0.0)) return place;  // not finite
  place.radius = c.ring_distance[c.n_rings - 1];
  place.size = 2 * place.radius + 2;
  const double big = 1e9;
  const double ty = ::fmin(::fmax(::floor((cy - c.y0) * (1.0 / c.hy)), -big), big);
  const double tx = ::fmin(::fmax(::floor((cx - c.x0) * (1.0 / c.hx)), -big), big);
  const int64_t row_c = static_cast<int64_t>(ty), col_c = static_cast<int64_t>(tx);
  const int64_t size = place.size, radius = place.radius;
  auto clamp = [](int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); };
  const int64_t row_p = clamp(row_c - radius + size, 0, c.height + size);
  const int64_t col_p = clamp(col_c - radius + size, 0, c.width + size);
  place.inside = row_p == row_c - radius + size && col_p == col_c - radius + size;
  place.row0 = row_p - size;
  place.col0 = col_p - size;
  place.valid = true;
  return place;
}

// Rule 1: the sixth-order stencil on pixel-centre values, along the rows first, then down the columns.
template <class S>
GALAXYFIT_HD S stencil_mean(const Geometry<S>& g, const Law<S>& law, const PixelRules& c, int64_t row, int64_t col) {
  const double w[5] = {-17.0 / 5760.0, 308.0 / 5760.0, 5178.0 / 5760.0, 308.0 / 5760.0, -17.0 / 5760.0};
  S mean(0.0);
  for (int a = 0; a < 5; ++a) {
    const S dy = S(c.y0 + static_cast<double>(row - 2 + a) * c.hy) - g.cy;
    S h(0.0);
    for (int b = 0; b < 5; ++b) {
      const S dx = S(c.x0 + static_cast<double>(col - 2 + b) * c.hx) - g.cx;
      h = h + w[b] * law(g.quadratic(dy, dx));
    }
    mean = mean + w[a] * h;
  }
  return mean;
}

// Graded Gauss-Legendre rule t^power on [0, 1] (profile_kernel.hpp's graded_rule), its nodes and weights computed
// where they are used: no per-thread arrays (a CUDA thread's stack would hold four 64-entry tables).
struct GradedRule {
  const double* gl_node;
  const double* gl_weight;
  int order, power;
  GALAXYFIT_HD GradedRule(const PixelRules& c, int order_, int power_)
      : gl_node(c.gl_node + rule_offset(order_)), gl_weight(c.gl_weight + rule_offset(order_)), order(order_),
        power(power_) {}
  GALAXYFIT_HD double node(int i) const { return ::pow(gl_node[i] + 0.5, power); }
  GALAXYFIT_HD double weight(int i) const { return gl_weight[i] * power * ::pow(gl_node[i] + 0.5, power - 1); }
};

// Signed integral over the triangle (centre, centre + a, centre + b) (profile_kernel.hpp's triangle_sum).
template <class S>
GALAXYFIT_HD S triangle_sum(const Geometry<S>& g, const Law<S>& law, const S& ay, const S& ax, const S& by,
                            const S& bx, const GradedRule& radial, const GradedRule& tangential) {
  const S ey = by - ay, ex = bx - ax;
  const S a_dot_e = g.ayy * (ay * ey) + g.axx * (ax * ex) + g.axy * (ay * ex + ax * ey);
  const S e_dot_e = g.quadratic(ey, ex);
  const S tau = clip01(-(a_dot_e / e_dot_e));
  const S fy = ay + tau * ey, fx = ax + tau * ex;
  S total(0.0);
  for (int side = 0; side < 2; ++side) {
    const S& py = side == 0 ? ay : by;
    const S& px = side == 0 ? ax : bx;
    const double sign = side == 0 ? -1.0 : 1.0;
    const S det = fx * py - fy * px;
    S side_sum(0.0);
    for (int j = 0; j < tangential.order; ++j) {
      const double v = tangential.node(j), tw = tangential.weight(j);
      const S qy = fy + v * (py - fy);
      const S qx = fx + v * (px - fx);
      const S s_edge = g.quadratic(qy, qx);
      for (int k = 0; k < radial.order; ++k) {
        const double u = radial.node(k);
        side_sum = side_sum + law((u * u) * s_edge) * (u * radial.weight(k) * tw);
      }
    }
    total = total + sign * (det * side_sum);
  }
  return total;
}

// Rules 2 and 3: patch pixel (i, j) (profile_kernel.hpp's patch).
template <class S>
GALAXYFIT_HD S patch_mean(const Geometry<S>& g, const Law<S>& law, const PixelRules& c, const Place& place, int i,
                          int j) {
  const int radius = place.radius;
  const double row0 = static_cast<double>(place.row0), col0 = static_cast<double>(place.col0);
  const int di = i < radius ? radius - i : (i > radius + 1 ? i - radius - 1 : 0);
  const int dj = j < radius ? radius - j : (j > radius + 1 ? j - radius - 1 : 0);
  const int distance = di > dj ? di : dj;
  if (distance == 0 && law.cusp() && place.inside) {
    const GradedRule radial(c, c.cusp_radial, 4), tangential(c, c.cusp_tangential, 3);
    const int p = i - radius, q = j - radius;
    const double corner_y = c.y0 + (row0 + radius - 0.5) * c.hy;
    const double corner_x = c.x0 + (col0 + radius - 0.5) * c.hx;
    S oy[2], ox[2];
    for (int k = 0; k < 2; ++k) {
      oy[k] = S(corner_y + c.hy * (p + k)) - g.cy;
      ox[k] = S(corner_x + c.hx * (q + k)) - g.cx;
    }
    auto horizontal = [&](int a, int b) {  // (oy[a], ox[b]) -> (oy[a], ox[b] + hx)
      return triangle_sum(g, law, oy[a], ox[b], oy[a], ox[b] + c.hx, radial, tangential);
    };
    auto vertical = [&](int a, int b) {  // (oy[a], ox[b]) -> (oy[a] + hy, ox[b])
      return triangle_sum(g, law, oy[a], ox[b], oy[a] + c.hy, ox[b], radial, tangential);
    };
    const double inv_area = 1.0 / (c.hy * c.hx);
    return (horizontal(0, 0) + vertical(0, 1) - horizontal(1, 0) - vertical(0, 0)) * inv_area;
  }
  int ring = 0;
  while (ring < c.n_rings - 1 && distance > c.ring_distance[ring]) ++ring;
  const int order = c.ring_order[ring];
  const double* node = c.gl_node + rule_offset(order);
  const double* weight = c.gl_weight + rule_offset(order);
  const S dy = S(c.y0 + (row0 + i) * c.hy) - g.cy;
  const S dx = S(c.x0 + (col0 + j) * c.hx) - g.cx;
  S sum(0.0);
  for (int a = 0; a < order; ++a)
    for (int b = 0; b < order; ++b)
      sum = sum + law(g.quadratic(dy + node[a] * c.hy, dx + node[b] * c.hx)) * (weight[a] * weight[b]);
  return sum;
}

/// The pixel mean of box pixel (row, col) for the parameters p (5 + law_parameter_count values, as S): the patch
/// rule inside the patch, the stencil elsewhere inside the row's span, zero outside it.
template <class S>
GALAXYFIT_HD S pixel_mean(int32_t law_id, const S* p, const PixelRules& c, int64_t row, int64_t col) {
  const Geometry<S> g{p[0], p[1], p[2], p[3], p[4]};
  const Law<S> law(law_id, p + kGeometryParameters);
  const Place place = patch_place(value_of(g.cy), value_of(g.cx), c);
  if (place.valid) {
    const int64_t i = row - place.row0, j = col - place.col0;
    if (i >= 0 && i < place.size && j >= 0 && j < place.size)
      return patch_mean(g, law, c, place, static_cast<int>(i), static_cast<int>(j));
  }
  if (c.span_begin != nullptr && (col < c.span_begin[row] || col >= c.span_end[row])) return S(0.0);
  return stencil_mean(g, law, c, row, col);
}

}  // namespace scalar
}  // namespace galaxyfit
