// Render a circular Gaussian and an elliptical Sersic profile with galaxyfit's installed C++ library and check
// them against independent results: every pixel of the Gaussian against its analytic pixel mean (a product of erf
// differences), and the Sersic image's total flux against the analytic total.
#include <galaxyfit/profile_image.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

constexpr double kPi = 3.14159265358979323846;  // M_PI is not standard C++

// galaxyfit's default integration rules (python/galaxyfit/integration.py, OverSampling): patch rings of
// distance 1 with 6 x 6 Gauss-Legendre nodes per pixel and distance 3 with 4 x 4, and an 8 x 8 cusp rule.
galaxyfit::RenderConfig make_box(int64_t height, int64_t width, double pixel_scale) {
  galaxyfit::RenderConfig c;
  c.y0 = 0.0;  // centre of pixel [0, 0] in arcsec; pixel (r, q) is centred at (r, q) * pixel_scale
  c.x0 = 0.0;
  c.hy = c.hx = pixel_scale;
  c.height = height;
  c.width = width;
  c.n_rings = 2;
  c.ring_distance[0] = 1;
  c.ring_order[0] = 6;
  c.ring_distance[1] = 3;
  c.ring_order[1] = 4;
  c.cusp_radial = c.cusp_tangential = 8;
  galaxyfit::check_render_config(c);  // throws std::invalid_argument for a bad box or rules
  return c;
}

// Mean of exp(-c t^2) over [lo, hi].
double gaussian_mean_1d(double lo, double hi, double c) {
  return 0.5 * std::sqrt(kPi / c) * (std::erf(std::sqrt(c) * hi) - std::erf(std::sqrt(c) * lo)) / (hi - lo);
}

}  // namespace

int main() {
  bool ok = true;

  // 1. A circular Gaussian, sigma = 1.3 arcsec, on 0.5 arcsec pixels: params = [c_y, c_x, A_yy, A_xx, A_xy, I_0, c].
  const galaxyfit::RenderConfig box = make_box(24, 26, 0.5);
  const double cy = 5.137, cx = 5.861, i0 = 2.5, c = 1.0 / (2.0 * 1.3 * 1.3);
  const double gaussian[] = {cy, cx, 1.0, 1.0, 0.0, i0, c};
  std::vector<double> image(static_cast<size_t>(box.height * box.width));
  galaxyfit::render(galaxyfit::Law::kGaussian, gaussian, box, image.data());
  double worst = 0.0, peak = 0.0;
  for (int64_t r = 0; r < box.height; ++r)
    for (int64_t q = 0; q < box.width; ++q) {
      const double dy = box.y0 + r * box.hy - cy, dx = box.x0 + q * box.hx - cx;
      const double exact = i0 * gaussian_mean_1d(dy - box.hy / 2, dy + box.hy / 2, c) *
                           gaussian_mean_1d(dx - box.hx / 2, dx + box.hx / 2, c);
      worst = std::max(worst, std::fabs(image[r * box.width + q] - exact));
      peak = std::max(peak, exact);
    }
  std::printf("Gaussian: %lld x %lld pixels, largest error %.2e of the peak (%s kernels)\n",
              static_cast<long long>(box.height), static_cast<long long>(box.width), worst / peak,
              galaxyfit::kernel_instruction_set());
  ok = ok && worst < 2e-5 * peak;  // the sixth-order pixel rule's error at 2.6 pixels per sigma

  // 2. An elliptical exponential disc (Sersic n = 1): params = [c_y, c_x, A_yy, A_xx, A_xy, I_e, R_e, n].
  // Pixel values are mean surface brightness, so the flux is their sum times the pixel area; the analytic total is
  // 2 pi n Gamma(2n) e^b / b^(2n) I_e R_e^2 / sqrt(det A), with b the Ciotti & Bertin (1999) constant the law uses.
  const galaxyfit::RenderConfig large = make_box(201, 201, 0.5);
  const double n = 1.0, ie = 0.8, re = 1.2, ayy = 1.25, axx = 0.85, axy = -0.2;
  const double sersic[] = {50.3, 49.8, ayy, axx, axy, ie, re, n};
  std::vector<double> disc(static_cast<size_t>(large.height * large.width));
  galaxyfit::render(galaxyfit::Law::kSersic, sersic, large, disc.data());
  double flux = 0.0;
  for (double v : disc) flux += v * large.hy * large.hx;
  const double b = 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n * n) +
                   131.0 / (1148175.0 * n * n * n) - 2194697.0 / (30690717750.0 * n * n * n * n);
  const double exact_flux = 2.0 * kPi * n * std::tgamma(2.0 * n) * std::exp(b) / std::pow(b, 2.0 * n) * ie * re *
                            re / std::sqrt(ayy * axx - axy * axy);
  std::printf("Sersic n = 1: flux %.10f, analytic %.10f (relative error %.2e)\n", flux, exact_flux,
              std::fabs(flux / exact_flux - 1.0));
  ok = ok && std::fabs(flux / exact_flux - 1.0) < 1e-6;

  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
