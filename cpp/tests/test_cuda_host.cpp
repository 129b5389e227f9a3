// The CUDA kernels' per-pixel arithmetic (cpp/cuda/*.hpp), compiled here as plain C++ and run on the CPU, against
// the CPU kernels: profile images and their Jacobians for every law (centre inside the box, centre beyond its edge
// where the patch is clamped and the cusp rule is off, column spans), the direct convolution and its adjoint, and
// chi^2. The CUDA kernels call exactly these functions, one thread per output, so what is checked here is their
// arithmetic; their launch code needs a GPU (bench/gpu/run.sh).
#include <galaxyfit/convolution.hpp>
#include <galaxyfit/profile_image.hpp>
#include <galaxyfit/statistics.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "../cuda/pixel_ops.hpp"
#include "../cuda/profile_pixel.hpp"
#include "check.hpp"

using galaxyfit::Law;
using galaxyfit::RenderConfig;
namespace sc = galaxyfit::scalar;

namespace {

std::vector<double> g_node(sc::kRuleTableSize), g_weight(sc::kRuleTableSize);

RenderConfig box(int64_t height, int64_t width, double h) {
  RenderConfig c;
  c.y0 = -0.05;
  c.x0 = 0.02;
  c.hy = h;
  c.hx = 1.1 * h;
  c.height = height;
  c.width = width;
  c.n_rings = 2;
  c.ring_distance[0] = 1;
  c.ring_order[0] = 6;
  c.ring_distance[1] = 3;
  c.ring_order[1] = 4;
  return c;
}

sc::PixelRules rules_of(const RenderConfig& c) {
  sc::PixelRules r{};
  r.y0 = c.y0, r.x0 = c.x0, r.hy = c.hy, r.hx = c.hx, r.height = c.height, r.width = c.width;
  r.n_rings = c.n_rings;
  for (int k = 0; k < c.n_rings; ++k) r.ring_distance[k] = c.ring_distance[k], r.ring_order[k] = c.ring_order[k];
  r.cusp_radial = c.cusp_radial, r.cusp_tangential = c.cusp_tangential;
  r.span_begin = c.span_begin, r.span_end = c.span_end;
  r.gl_node = g_node.data(), r.gl_weight = g_weight.data();
  return r;
}

// Geometry [c_y, c_x, A_yy, A_xx, A_xy] from PyAutoGalaxy-style ellipticity components (profile_image.hpp).
std::vector<double> geometry(double cy, double cx, double ey, double ex) {
  const double f2 = ey * ey + ex * ex;
  return {cy, cx, (1 + f2 + 2 * ex) / (1 - f2), (1 + f2 - 2 * ex) / (1 - f2), -2 * ey / (1 - f2)};
}

double max_abs(const std::vector<double>& v, size_t begin, size_t end) {
  double m = 0.0;
  for (size_t k = begin; k < end; ++k) m = std::max(m, std::fabs(v[k]));
  return m;
}

template <int N>
void compare_jacobian(Law law, const std::vector<double>& p, const RenderConfig& c, const char* label) {
  const int64_t plane = c.height * c.width;
  std::vector<double> image(plane), jacobian(N * plane);
  galaxyfit::render_jacobian(law, p.data(), c, image.data(), jacobian.data());
  const sc::PixelRules rules = rules_of(c);
  sc::Dual<N> dp[N];
  for (int k = 0; k < N; ++k) dp[k] = sc::Dual<N>::variable(p[k], k);
  double worst[N + 1] = {0.0};
  for (int64_t r = 0; r < c.height; ++r)
    for (int64_t col = 0; col < c.width; ++col) {
      const sc::Dual<N> v = sc::pixel_mean(static_cast<int32_t>(law), dp, rules, r, col);
      const int64_t at = r * c.width + col;
      worst[0] = std::max(worst[0], std::fabs(v.v - image[at]));
      for (int k = 0; k < N; ++k) worst[k + 1] = std::max(worst[k + 1], std::fabs(v.d[k] - jacobian[k * plane + at]));
    }
  const double scale = max_abs(image, 0, image.size());
  if (!(worst[0] <= 1e-12 * scale)) {
    std::printf("%s law %d: value differs by %.3g (max %.3g)\n", label, static_cast<int>(law), worst[0], scale);
    CHECK(worst[0] <= 1e-12 * scale);
  }
  for (int k = 0; k < N; ++k) {
    const double s = max_abs(jacobian, k * plane, (k + 1) * plane);
    if (!(worst[k + 1] <= 1e-10 * s + 1e-300)) {
      std::printf("%s law %d: d/dp%d differs by %.3g (max %.3g)\n", label, static_cast<int>(law), k, worst[k + 1], s);
      CHECK(worst[k + 1] <= 1e-10 * s + 1e-300);
    }
  }
}

void compare(Law law, const std::vector<double>& p, const RenderConfig& c, const char* label) {
  std::vector<double> image(c.height * c.width);
  galaxyfit::render(law, p.data(), c, image.data());
  const sc::PixelRules rules = rules_of(c);
  double worst = 0.0;
  for (int64_t r = 0; r < c.height; ++r)
    for (int64_t col = 0; col < c.width; ++col)
      worst = std::max(worst, std::fabs(sc::pixel_mean(static_cast<int32_t>(law), p.data(), rules, r, col) -
                                        image[r * c.width + col]));
  const double scale = max_abs(image, 0, image.size());
  CHECK(scale > 0.0);
  if (!(worst <= 1e-12 * scale)) {
    std::printf("%s law %d: differs by %.3g of max %.3g\n", label, static_cast<int>(law), worst, scale);
    CHECK(worst <= 1e-12 * scale);
  }
  switch (p.size()) {
    case 7:
      return compare_jacobian<7>(law, p, c, label);
    case 8:
      return compare_jacobian<8>(law, p, c, label);
    case 11:
      return compare_jacobian<11>(law, p, c, label);
  }
  CHECK(false);
}

void profiles(const RenderConfig& c, double cy, double cx, const char* label) {
  const std::vector<double> geo = geometry(cy, cx, 0.11, -0.17);
  const struct {
    Law law;
    std::vector<double> p;
  } cases[] = {
      {Law::kSersic, {2.0, 0.6, 2.3}},
      {Law::kSersicCore, {1.5, 0.7, 3.0, 0.05, 0.25, 3.0}},
      {Law::kGaussian, {3.0, 1.0 / (2 * 0.3 * 0.3)}},
      {Law::kPowerCore, {2.0, 4.0, 2.5}},
      {Law::kChameleon, {1.0, 0.01, 0.09}},
      {Law::kExponential, {1.2, 0.8}},
      {Law::kDevVaucouleurs, {0.9, 0.5}},
  };
  for (const auto& k : cases) {
    std::vector<double> p = geo;
    p.insert(p.end(), k.p.begin(), k.p.end());
    compare(k.law, p, c, label);
  }
}

void convolution_and_chi_squared() {
  const int64_t ny = 13, nx = 11, ky = 5, kx = 3;
  std::vector<double> image(ny * nx), kernel(ky * kx);
  for (size_t k = 0; k < image.size(); ++k) image[k] = std::sin(0.37 * k) + 0.1 * k;
  for (size_t k = 0; k < kernel.size(); ++k) kernel[k] = 1.0 / (1.0 + k) - 0.05 * (k % 3);
  std::vector<uint8_t> mask(ny * nx, 0);
  for (int64_t r = 0; r < ny; ++r)
    for (int64_t c = 0; c < nx; ++c) mask[r * nx + c] = (r * 7 + c * 3) % 5 == 0;  // scattered masked pixels
  const auto runs = galaxyfit::runs_from_mask(mask.data(), ny, nx);
  const int64_t n_out = galaxyfit::run_pixel_count(runs.data(), static_cast<int64_t>(runs.size()));
  std::vector<double> expected(n_out), cotangent(n_out), grad(ny * nx);
  galaxyfit::convolve_direct(image.data(), ny, nx, kernel.data(), ky, kx, runs.data(), 0,
                             static_cast<int64_t>(runs.size()), expected.data());
  std::vector<int32_t> index(ny * nx, -1);
  int64_t o = 0;
  for (const auto& run : runs)
    for (int32_t c = run.col_begin; c < run.col_end; ++c, ++o) {
      CHECK_CLOSE(sc::convolve_at(image.data(), ny, nx, kernel.data(), ky, kx, run.row, c), expected[o], 1e-13, 1e-13);
      index[run.row * nx + c] = static_cast<int32_t>(o);
      cotangent[o] = std::cos(0.3 * o);
    }
  galaxyfit::convolve_direct_adjoint(cotangent.data(), runs.data(), static_cast<int64_t>(runs.size()), kernel.data(),
                                     ky, kx, ny, nx, grad.data());
  for (int64_t y = 0; y < ny; ++y)
    for (int64_t x = 0; x < nx; ++x)
      CHECK_CLOSE(sc::convolve_adjoint_at(cotangent.data(), index.data(), ny, nx, kernel.data(), ky, kx, y, x),
                  grad[y * nx + x], 1e-13, 1e-13);
  std::vector<double> data(n_out), inverse_noise(n_out);
  double sum = 0.0;
  for (int64_t k = 0; k < n_out; ++k) {
    data[k] = 0.5 * k;
    inverse_noise[k] = 1.0 / (1.0 + 0.1 * k);
    sum += sc::chi_squared_term(expected[k], data[k], inverse_noise[k]);
  }
  CHECK_CLOSE(sum, galaxyfit::chi_squared(expected.data(), data.data(), inverse_noise.data(), n_out), 0.0, 1e-13);
}

}  // namespace

int main() {
  sc::fill_rule_table(g_node.data(), g_weight.data());
  RenderConfig c = box(26, 22, 0.1);
  profiles(c, 1.23, 1.07, "inside");
  profiles(c, -0.43, 2.9, "beyond the edge");
  std::vector<int32_t> begin(c.height), end(c.height);
  for (int64_t r = 0; r < c.height; ++r) {
    begin[r] = static_cast<int32_t>(r % 5);
    end[r] = static_cast<int32_t>(c.width - r % 3);
  }
  c.span_begin = begin.data();
  c.span_end = end.data();
  profiles(c, 1.23, 1.07, "spans");
  c.span_begin = c.span_end = nullptr;
  c.n_rings = 3;  // three rings and other cusp orders
  c.ring_distance[2] = 4;
  c.ring_order[2] = 3;
  c.cusp_radial = 12;
  c.cusp_tangential = 5;
  profiles(c, 0.61, 1.4, "three rings");
  convolution_and_chi_squared();
  return check::finish("test_cuda_host");
}
