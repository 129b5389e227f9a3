// The CUDA kernels' per-pixel arithmetic (cpp/cuda/*.hpp), compiled here as plain C++ and run on the CPU, against the
// CPU kernels: profile images and their Jacobians for every law (centre inside the box, centre beyond its edge where
// the patch is clamped and the cusp rule is off, column spans), the direct convolution and its adjoint, chi^2, and the
// small inversion with its gradient (multi-Gaussian, free-sign sky, regularized, held-zero, unconstrained, warm-
// started) against galaxyfit::invert, invert_gram and inversion_gradient. The CUDA kernels call exactly these
// functions, one thread per output, so what is checked here is their arithmetic; their launch code needs a GPU
// (bench/gpu/run.sh).
#include <galaxyfit/convolution.hpp>
#include <galaxyfit/inversion.hpp>
#include <galaxyfit/profile_image.hpp>
#include <galaxyfit/statistics.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "../cuda/inversion_small.hpp"
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

sc::PixelRules rules_of(const RenderConfig& c) { return sc::pixel_rules(c, g_node.data(), g_weight.data()); }

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


// ---- the small inversion ------------------------------------------------------------------------------------------

struct Problem {
  int64_t k = 0, n = 0;
  std::vector<double> columns, data, h;  // h empty: no regularization
  std::vector<int32_t> flags;
};

// k Gaussian images of widths growing geometrically on a 24 x 24 grid (an MGE's columns: strongly correlated), with
// data from positive and negative amplitudes plus noise, divided by sigma = 0.05.
Problem gaussians(int64_t k, unsigned seed) {
  Problem p;
  p.k = k;
  p.n = 24 * 24;
  p.columns.resize(k * p.n);
  p.data.assign(p.n, 0.0);
  unsigned state = seed;
  auto uniform = [&state]() {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) / 16777216.0;
  };
  for (int64_t j = 0; j < k; ++j) {
    const double sigma = 0.6 * std::pow(1.25, static_cast<double>(j)), amplitude = uniform() - 0.35;
    for (int64_t i = 0; i < p.n; ++i) {
      const double y = static_cast<double>(i / 24) - 11.3, x = static_cast<double>(i % 24) - 12.1;
      const double b = std::exp(-(y * y + x * x) / (2.0 * sigma * sigma)) / 0.05;
      p.columns[j * p.n + i] = b;
      p.data[i] += amplitude * b;
    }
  }
  for (int64_t i = 0; i < p.n; ++i) p.data[i] += (uniform() - 0.5) * 2.0;
  p.flags.assign(k, 0);
  return p;
}

// A smoothness regularization on the first `count` columns: coefficient (2 I - shifts) plus a small ridge.
void regularize(Problem& p, int64_t count, double coefficient) {
  p.h.assign(p.k * p.k, 0.0);
  for (int64_t i = 0; i < count; ++i) {
    p.flags[i] |= 1;
    p.h[i * p.k + i] = coefficient * 2.05;
    if (i + 1 < count) p.h[i * p.k + i + 1] = p.h[(i + 1) * p.k + i] = -coefficient;
  }
}

// s_tolerance: relative to max |s|; MGE systems (condition numbers beyond 1e10) agree only to ~1e-7 between two
// Cholesky factorizations, so there the checks that matter are chi^2, the active set and the KKT conditions.
void compare_inversion(const Problem& p, const galaxyfit::InversionSettings& settings, const char* label,
                       double s_tolerance = 1e-8, const std::vector<double>* guess = nullptr) {
  const int64_t k = p.k, n = p.n;
  const double* h = p.h.empty() ? nullptr : p.h.data();
  std::vector<double> s_cpu(k), l_cpu(k), s_gpu(k), l_gpu(k);
  // The Gram form, as the columns-form kernel builds it (F, D, y^T y).
  std::vector<double> f(k * k), d(k), work(sc::small_work_doubles(k));
  std::vector<int32_t> iwork(sc::small_work_ints(k));
  double yy = 0.0;
  for (int64_t i = 0; i < n; ++i) yy += p.data[i] * p.data[i];
  for (int64_t a = 0; a < k; ++a) {
    for (int64_t b = 0; b < k; ++b) {
      double v = 0.0;
      for (int64_t i = 0; i < n; ++i) v += p.columns[a * n + i] * p.columns[b * n + i];
      f[a * k + b] = v;
    }
    double v = 0.0;
    for (int64_t i = 0; i < n; ++i) v += p.columns[a * n + i] * p.data[i];
    d[a] = v;
  }
  const sc::SmallSettings small{settings.positive_only, settings.no_regularization_add_to_curvature_diag_value,
                                settings.max_iterations, settings.compute_log_det_regularization,
                                settings.compute_log_det_curvature_reg};
  for (int form = 0; form < 2; ++form) {  // 0: columns (invert), 1: Gram (invert_gram)
    if (form == 0 && guess != nullptr) continue;
    const galaxyfit::InversionTerms cpu =
        form == 0 ? galaxyfit::invert(p.columns.data(), p.data.data(), n, k, h, p.flags.data(), settings, s_cpu.data(),
                                      l_cpu.data())
                  : galaxyfit::invert_gram(f.data(), d.data(), yy, k, h, p.flags.data(), settings, s_cpu.data(),
                                           l_cpu.data(), guess != nullptr ? guess->data() : nullptr);
    sc::SmallTerms gpu = sc::solve_small(f.data(), d.data(), yy, static_cast<int>(k), h, p.flags.data(), small,
                                         guess != nullptr ? guess->data() : nullptr, form == 1, s_gpu.data(),
                                         l_gpu.data(), work.data(), iwork.data());
    if (form == 0 && gpu.status == 0) {  // chi^2 from the residual, as the kernel sums it
      double chi2 = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        double r = p.data[i];
        for (int64_t j = 0; j < k; ++j) r -= s_gpu[j] * p.columns[j * n + i];
        chi2 += r * r;
      }
      gpu.chi_squared = chi2;
    }
    std::printf("%s (%s form): status %d / %d, iterations %lld / %lld, chi2 %.10g / %.10g\n", label,
                form == 0 ? "columns" : "Gram", static_cast<int>(cpu.status), gpu.status,
                static_cast<long long>(cpu.iterations), static_cast<long long>(gpu.iterations), cpu.chi_squared,
                gpu.chi_squared);
    CHECK(static_cast<int>(cpu.status) == gpu.status);
    if (gpu.status != 0) continue;
    CHECK(cpu.iterations == gpu.iterations);
    double smax = 0.0, lmax = 0.0, serr = 0.0, lerr = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      smax = std::max(smax, std::fabs(s_cpu[j]));
      lmax = std::max(lmax, std::fabs(l_cpu[j]));
      serr = std::max(serr, std::fabs(s_cpu[j] - s_gpu[j]));
      lerr = std::max(lerr, std::fabs(l_cpu[j] - l_gpu[j]));
      if (settings.positive_only && !(p.flags[j] & 2)) CHECK(s_gpu[j] >= 0.0);
      CHECK((s_cpu[j] == 0.0) == (s_gpu[j] == 0.0));  // the same active set
    }
    std::printf("  s differs by %.2g of %.2g, lambda by %.2g of %.2g\n", serr, smax, lerr, lmax);
    CHECK(serr <= s_tolerance * smax);
    CHECK(lerr <= s_tolerance * lmax + 1e-300);
    // KKT, scale-free (the linear light issue's bound): min(s_j, (A s - D)_j) for constrained j, (A s - D)_j for
    // the others, within 1e-8 |D|_inf, with A = F + H + J.
    double dmax = 0.0, kkt = 0.0;
    for (int64_t j = 0; j < k; ++j) dmax = std::max(dmax, std::fabs(d[j]));
    for (int64_t i = 0; i < k; ++i) {
      if (settings.positive_only && (p.flags[i] & 4)) continue;  // held at zero
      double g = -d[i];
      for (int64_t j = 0; j < k; ++j) {
        const double aij = f[i * k + j] + (h != nullptr ? h[i * k + j] : 0.0) +
                           (i == j && !(p.flags[i] & 1) ? settings.no_regularization_add_to_curvature_diag_value : 0.0);
        g += aij * s_gpu[j];
      }
      const bool constrained = settings.positive_only && !(p.flags[i] & 2);
      kkt = std::max(kkt, std::fabs(constrained ? std::min(s_gpu[i], g) : g));
    }
    CHECK(kkt <= 1e-8 * dmax);
    CHECK_CLOSE(gpu.chi_squared, cpu.chi_squared, 0.0, 1e-9);
    CHECK_CLOSE(gpu.regularization_term, cpu.regularization_term, 1e-12, 1e-9);
    CHECK_CLOSE(gpu.log_det_curvature_reg, cpu.log_det_curvature_reg, 1e-9, 1e-10);
    CHECK_CLOSE(gpu.log_det_regularization, cpu.log_det_regularization, 1e-9, 1e-10);
  }
}

void compare_gradient(const Problem& p, const galaxyfit::InversionSettings& settings, const char* label) {
  const int64_t k = p.k, n = p.n;
  const double* h = p.h.empty() ? nullptr : p.h.data();
  std::vector<double> s(k), lambda(k), gc(k * n), gd(n), gh(k * k), gc2(k * n), gd2(n), gh2(k * k);
  galaxyfit::invert(p.columns.data(), p.data.data(), n, k, h, p.flags.data(), settings, s.data(), lambda.data());
  CHECK(galaxyfit::inversion_gradient(p.columns.data(), p.data.data(), n, k, h, p.flags.data(), settings, s.data(),
                                      lambda.data(), gc.data(), gd.data(), h != nullptr ? gh.data() : nullptr) ==
        galaxyfit::InversionStatus::kOk);
  std::vector<double> f(k * k), a_inv(k * k), h_inv(k * k), work(sc::small_work_doubles(k));
  std::vector<int32_t> iwork(sc::small_work_ints(k));
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b) {
      double v = 0.0;
      for (int64_t i = 0; i < n; ++i) v += p.columns[a * n + i] * p.columns[b * n + i];
      f[a * k + b] = v;
    }
  CHECK(sc::regularized_inverses(f.data(), static_cast<int>(k), h, p.flags.data(),
                                 settings.no_regularization_add_to_curvature_diag_value, a_inv.data(), h_inv.data(),
                                 work.data(), iwork.data()) == 0);
  for (int64_t i = 0; i < n; ++i)
    gd2[i] = sc::gradient_pixel(p.columns.data(), n, static_cast<int>(k), p.data[i], i, s.data(), lambda.data(),
                                h != nullptr ? a_inv.data() : nullptr, gc2.data());
  if (h != nullptr)
    sc::gradient_regularization(static_cast<int>(k), s.data(), lambda.data(), a_inv.data(), h_inv.data(), gh2.data());
  const double cmax = max_abs(gc, 0, gc.size()), dmax = max_abs(gd, 0, gd.size());
  double cerr = 0.0, derr = 0.0, herr = 0.0;
  for (size_t q = 0; q < gc.size(); ++q) cerr = std::max(cerr, std::fabs(gc[q] - gc2[q]));
  for (size_t q = 0; q < gd.size(); ++q) derr = std::max(derr, std::fabs(gd[q] - gd2[q]));
  if (h != nullptr)
    for (size_t q = 0; q < gh.size(); ++q) herr = std::max(herr, std::fabs(gh[q] - gh2[q]));
  std::printf("%s gradient: columns %.2g of %.2g, data %.2g of %.2g, regularization %.2g of %.2g\n", label, cerr, cmax,
              derr, dmax, herr, h != nullptr ? max_abs(gh, 0, gh.size()) : 0.0);
  CHECK(cerr <= 1e-10 * cmax && derr <= 1e-10 * dmax);
  if (h != nullptr) CHECK(herr <= 1e-10 * max_abs(gh, 0, gh.size()));
}

void inversions() {
  galaxyfit::InversionSettings positive;
  galaxyfit::InversionSettings free = positive;
  free.positive_only = false;

  Problem mge = gaussians(30, 7);
  compare_inversion(mge, positive, "MGE-30", 1e-5);
  compare_inversion(mge, free, "MGE-30 unconstrained", 1e-5);
  compare_gradient(mge, positive, "MGE-30");

  Problem sky = gaussians(6, 3);
  for (int64_t i = 0; i < sky.n; ++i) {
    sky.columns[5 * sky.n + i] = 1.0 / 0.05;  // a flat sky column, free in sign
    sky.data[i] -= 0.2 / 0.05;
  }
  sky.flags[5] = 2;
  compare_inversion(sky, positive, "five Gaussians + sky");

  Problem basis = gaussians(12, 11);
  regularize(basis, 12, 3.0);
  compare_inversion(basis, positive, "regularized basis of 12");
  compare_gradient(basis, positive, "regularized basis of 12");

  Problem mixed = gaussians(10, 5);
  regularize(mixed, 6, 0.7);
  compare_inversion(mixed, positive, "6 regularized + 4 not");
  compare_gradient(mixed, positive, "6 regularized + 4 not");

  Problem held = gaussians(10, 13);
  regularize(held, 10, 1.5);
  held.flags[0] |= 4;
  held.flags[9] |= 4;
  compare_inversion(held, positive, "held-zero columns");

  // A "regularization" far below -F: A is not positive definite (at the singular boundary itself, two Cholesky
  // factorizations may round a zero pivot either way, so the case is a clear one).
  Problem indefinite = gaussians(4, 17);
  regularize(indefinite, 4, -1e9);
  compare_inversion(indefinite, free, "indefinite, unconstrained (status 1)");
  Problem bad = gaussians(4, 19);
  bad.data[17] = std::nan("");
  compare_inversion(bad, positive, "a NaN in the data (status 3)");

  {  // A rejected sample (s = lambda = 0) whose columns hold an infinity: finite derivatives, as the CPU kernel's.
    Problem p = gaussians(3, 23);
    p.columns[1 * p.n + 5] = std::numeric_limits<double>::infinity();
    std::vector<double> zero(p.k, 0.0), gc(p.k * p.n), gd(p.n), gc2(p.k * p.n);
    CHECK(galaxyfit::inversion_gradient(p.columns.data(), p.data.data(), p.n, p.k, nullptr, p.flags.data(), positive,
                                        zero.data(), zero.data(), gc.data(), gd.data(), nullptr) ==
          galaxyfit::InversionStatus::kOk);
    for (int64_t i = 0; i < p.n; ++i) {
      const double g = sc::gradient_pixel(p.columns.data(), p.n, static_cast<int>(p.k), p.data[i], i, zero.data(),
                                          zero.data(), nullptr, gc2.data());
      CHECK(std::isfinite(g) && g == gd[i]);
    }
    for (size_t q = 0; q < gc.size(); ++q) CHECK(std::isfinite(gc2[q]) && gc2[q] == gc[q]);
  }

  std::vector<double> guess(mge.k);
  for (int64_t j = 0; j < mge.k; ++j) guess[j] = (j % 3 == 0) ? 1.0 : -1.0;
  compare_inversion(mge, positive, "MGE-30 warm-started", 1e-5, &guess);
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
  inversions();
  return check::finish("test_cuda_host");
}
