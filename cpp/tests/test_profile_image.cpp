// Profile images against analytic pixel integrals and total fluxes, the fixed-index Sersic paths against the general
// one, the Jacobian against finite differences, the split entry points against render(), and argument errors.
#include <galaxyfit/profile_image.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

#include "check.hpp"

using galaxyfit::Law;
using galaxyfit::RenderConfig;

namespace {

constexpr double kPi = 3.14159265358979323846;  // M_PI is not standard C++

// galaxyfit's default rules (python/galaxyfit/integration.py, OverSampling): rings {1: 6}, {3: 4}, cusp 8 x 8.
RenderConfig box(int64_t height, int64_t width, double h) {
  RenderConfig c;
  c.y0 = 0.0;
  c.x0 = 0.0;
  c.hy = c.hx = h;
  c.height = height;
  c.width = width;
  c.n_rings = 2;
  c.ring_distance[0] = 1;
  c.ring_order[0] = 6;
  c.ring_distance[1] = 3;
  c.ring_order[1] = 4;
  return c;
}

std::vector<double> render(Law law, const std::vector<double>& p, const RenderConfig& c) {
  std::vector<double> image(static_cast<size_t>(c.height * c.width));
  galaxyfit::render(law, p.data(), c, image.data());
  return image;
}

double total_flux(const std::vector<double>& image, const RenderConfig& c) {
  long double sum = 0.0L;
  for (double v : image) sum += v;
  return static_cast<double>(sum) * c.hy * c.hx;  // pixel means times pixel area
}

// Mean of exp(-c t^2) over [lo, hi]: sqrt(pi / c) / 2 (erf(sqrt(c) hi) - erf(sqrt(c) lo)) / (hi - lo).
double gaussian_mean_1d(double lo, double hi, double c) {
  const double r = std::sqrt(c);
  return 0.5 * std::sqrt(kPi / c) * (std::erf(r * hi) - std::erf(r * lo)) / (hi - lo);
}

// The Sersic constant of Ciotti & Bertin (1999), eq. 18: the series the kernel uses. The total flux below holds for
// any b, so this only has to be the same b, not the exact root of the incomplete gamma function.
double sersic_b(double n) {
  return 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n) + 46.0 / (25515.0 * n * n) + 131.0 / (1148175.0 * n * n * n) -
         2194697.0 / (30690717750.0 * n * n * n * n);
}

void circular_gaussian_pixels() {
  // sigma = 1.3 arcsec on 0.5 arcsec pixels, centre off the pixel grid; every pixel against the erf product.
  const RenderConfig c = box(24, 26, 0.5);
  const double cy = 5.137, cx = 5.861, i0 = 2.5, sigma = 1.3, cc = 1.0 / (2.0 * sigma * sigma);
  const std::vector<double> image = render(Law::kGaussian, {cy, cx, 1.0, 1.0, 0.0, i0, cc}, c);
  double worst = 0.0, peak = 0.0;
  for (int64_t r = 0; r < c.height; ++r)
    for (int64_t q = 0; q < c.width; ++q) {
      const double y = c.y0 + r * c.hy - cy, x = c.x0 + q * c.hx - cx;
      const double exact = i0 * gaussian_mean_1d(y - c.hy / 2, y + c.hy / 2, cc) *
                           gaussian_mean_1d(x - c.hx / 2, x + c.hx / 2, cc);
      worst = std::max(worst, std::fabs(image[r * c.width + q] - exact));
      peak = std::max(peak, exact);
    }
  std::printf("gaussian pixels: max |error| / peak = %.3g\n", worst / peak);
  // The sixth-order stencil's error for sigma = 2.6 pixels: measured 6.2e-6 of the peak (x86-64-v3 and baseline).
  CHECK_CLOSE(worst / peak, 0.0, 2e-5, 0.0);
}

void elliptical_gaussian_flux() {
  // Total flux of I_0 exp(-c s) over the plane: I_0 pi / (c sqrt(det A)).
  const RenderConfig c = box(64, 60, 0.4);
  const double ayy = 1.4, axx = 0.9, axy = 0.3, i0 = 1.7, cc = 0.35;
  const std::vector<double> image = render(Law::kGaussian, {12.9, 11.4, ayy, axx, axy, i0, cc}, c);
  const double exact = i0 * kPi / (cc * std::sqrt(ayy * axx - axy * axy));
  std::printf("elliptical gaussian flux: %.15g (exact %.15g)\n", total_flux(image, c), exact);
  // Summed pixel means are exact to rounding for the stencil (its weights sum to 1 and a sampled Gaussian sums to
  // its integral), so what is left is the stencil's error in the patch, where the refined means replace it:
  // measured 8.5e-7 relative.
  CHECK_CLOSE(total_flux(image, c), exact, 0.0, 3e-6);
}

void sersic_flux() {
  // Total flux of a Sersic profile with s = R^2 / sqrt(det A) scaling: 2 pi n Gamma(2n) e^b / b^(2n) I_e R_e^2
  // / sqrt(det A) (e.g. Graham & Driver 2005, PASA 22, 118, eq. 4). The cusp rule must get the centre right.
  for (const double n : {1.0, 1.5}) {
    const RenderConfig c = box(201, 201, 0.5);
    const double ie = 0.8, re = 1.2, ayy = 1.25, axx = 0.85, axy = -0.2;
    const std::vector<double> image = render(Law::kSersic, {50.3, 49.8, ayy, axx, axy, ie, re, n}, c);
    const double b = sersic_b(n);
    const double exact = 2.0 * kPi * n * std::tgamma(2.0 * n) * std::exp(b) / std::pow(b, 2.0 * n) * ie * re * re /
                         std::sqrt(ayy * axx - axy * axy);
    // The light beyond the box (R > 40 R_e) is below 1e-11 of the total for n <= 1.5; the error left is the
    // rules' near the centre, larger for the sharper cusp: measured 2.5e-7 (n = 1) and 3.7e-6 (n = 1.5) relative.
    std::printf("sersic n=%.1f flux: %.15g (exact %.15g)\n", n, total_flux(image, c), exact);
    CHECK_CLOSE(total_flux(image, c), exact, 0.0, n < 1.2 ? 1e-6 : 1e-5);
  }
}

void fixed_index_laws() {
  // kExponential and kDevVaucouleurs are kSersic with n = 1 and 4, by square roots instead of log and exp.
  const RenderConfig c = box(30, 31, 0.3);
  const std::vector<double> geometry = {4.41, 4.66, 1.1, 0.95, 0.12};
  for (const auto& [law, n] : {std::pair<Law, double>{Law::kExponential, 1.0}, {Law::kDevVaucouleurs, 4.0}}) {
    std::vector<double> fixed = geometry, general = geometry;
    fixed.insert(fixed.end(), {1.3, 0.9});
    general.insert(general.end(), {1.3, 0.9, n});
    const std::vector<double> a = render(law, fixed, c), b = render(Law::kSersic, general, c);
    double worst = 0.0, peak = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
      worst = std::max(worst, std::fabs(a[i] - b[i]));
      peak = std::max(peak, std::fabs(b[i]));
    }
    CHECK_CLOSE(worst / peak, 0.0, 1e-13, 0.0);
  }
}

void jacobian_matches_finite_differences() {
  const RenderConfig c = box(14, 15, 0.5);
  const std::vector<double> p = {3.3, 3.6, 1.2, 0.9, 0.1, 1.5, 1.1, 1.7};  // Sersic
  const int64_t npix = c.height * c.width, np = static_cast<int64_t>(p.size());
  std::vector<double> image(npix), jac(np * npix);
  galaxyfit::render_jacobian(Law::kSersic, p.data(), c, image.data(), jac.data());
  const std::vector<double> plain = render(Law::kSersic, p, c);
  double worst_value = 0.0;
  for (int64_t i = 0; i < npix; ++i) worst_value = std::max(worst_value, std::fabs(image[i] - plain[i]));
  CHECK_CLOSE(worst_value, 0.0, 1e-14, 0.0);
  for (int64_t k = 0; k < np; ++k) {
    // Central differences (error ~h^2 f''' ~ 1e-8 with h = 1e-5), small enough for the patch not to move.
    const double h = 1e-5;
    std::vector<double> up = p, down = p;
    up[k] += h;
    down[k] -= h;
    const std::vector<double> a = render(Law::kSersic, up, c), b = render(Law::kSersic, down, c);
    double worst = 0.0, scale = 0.0;
    for (int64_t i = 0; i < npix; ++i) {
      const double fd = (a[i] - b[i]) / (2.0 * h);
      worst = std::max(worst, std::fabs(fd - jac[k * npix + i]));
      scale = std::max(scale, std::fabs(jac[k * npix + i]));
    }
    std::printf("jacobian parameter %lld: max |fd - exact| / max |exact| = %.3g\n", static_cast<long long>(k),
                worst / scale);
    CHECK(scale > 0.0);
    CHECK_CLOSE(worst / scale, 0.0, 1e-6, 0.0);
  }
}

void split_entry_points_agree() {
  const RenderConfig c = box(20, 22, 0.5);
  const std::vector<double> p1 = {4.6, 5.2, 1.0, 1.0, 0.0, 1.0, 0.8, 2.0};  // Sersic
  const std::vector<double> p2 = {6.1, 3.9, 1.3, 0.8, 0.2, 0.7, 0.4, 2.5};  // PowerCore: I_0, c, beta
  const std::vector<double> a = render(Law::kSersic, p1, c), b = render(Law::kPowerCore, p2, c);
  const int64_t npix = c.height * c.width;

  // render == render_rows (in two slices) + render_patch.
  std::vector<double> split(npix, -1.0);
  galaxyfit::render_rows(Law::kSersic, p1.data(), c, 0, 7, split.data());
  galaxyfit::render_rows(Law::kSersic, p1.data(), c, 7, c.height, split.data());
  galaxyfit::render_patch(Law::kSersic, p1.data(), c, split.data());
  double worst = 0.0;
  for (int64_t i = 0; i < npix; ++i) worst = std::max(worst, std::fabs(split[i] - a[i]));
  CHECK_CLOSE(worst, 0.0, 1e-15, 0.0);

  // A sum of two profiles by render_rows_accumulate + compute_patch / apply_patch == the sum of the renders.
  std::vector<double> sum(npix, 0.0), patch1(galaxyfit::patch_size(c) * galaxyfit::patch_size(c)), patch2(patch1);
  int64_t origin1[2], origin2[2];
  galaxyfit::render_rows_accumulate(Law::kSersic, p1.data(), c, 0, c.height, sum.data());
  galaxyfit::render_rows_accumulate(Law::kPowerCore, p2.data(), c, 0, c.height, sum.data());
  galaxyfit::compute_patch(Law::kSersic, p1.data(), c, patch1.data(), origin1);
  galaxyfit::compute_patch(Law::kPowerCore, p2.data(), c, patch2.data(), origin2);
  galaxyfit::apply_patch(c, patch1.data(), origin1, sum.data());
  galaxyfit::apply_patch(c, patch2.data(), origin2, sum.data());
  CHECK(galaxyfit::patch_size(c) == 8);
  // The patch sits around the pixel corner nearest the centre: rows floor((c_y - y0) / hy) - R ... (R = 3).
  CHECK(origin1[0] == 9 - 3 && origin1[1] == 10 - 3);
  worst = 0.0;
  for (int64_t i = 0; i < npix; ++i) worst = std::max(worst, std::fabs(sum[i] - (a[i] + b[i])));
  CHECK_CLOSE(worst, 0.0, 1e-14, 0.0);

  // A non-finite centre: no patch.
  std::vector<double> bad = p1;
  bad[0] = NAN;
  galaxyfit::compute_patch(Law::kSersic, bad.data(), c, patch1.data(), origin1);
  CHECK(origin1[0] == galaxyfit::kNoPatch && origin1[1] == galaxyfit::kNoPatch);

  // Column spans: zero outside, identical inside.
  std::vector<int32_t> begin(c.height, 3), end(c.height, 15);
  RenderConfig spanned = c;
  spanned.span_begin = begin.data();
  spanned.span_end = end.data();
  galaxyfit::check_render_config(spanned);
  const std::vector<double> s = render(Law::kSersic, p1, spanned);
  int mismatches = 0;
  for (int64_t r = 0; r < c.height; ++r)
    for (int64_t q = 0; q < c.width; ++q) {
      const double expected = (q >= 3 && q < 15) ? a[r * c.width + q] : 0.0;
      const bool patch_pixel = r >= 6 && r < 14 && q >= 7 && q < 15;  // rendered whole, even outside the span
      if (!patch_pixel && std::fabs(s[r * c.width + q] - expected) > 1e-15) ++mismatches;
    }
  CHECK(mismatches == 0);
}

void arguments_are_checked() {
  CHECK(galaxyfit::law_parameter_count(Law::kSersic) == 3);
  CHECK(galaxyfit::law_parameter_count(Law::kSersicCore) == 6);
  CHECK(galaxyfit::law_parameter_count(Law::kGaussian) == 2);
  CHECK(galaxyfit::law_parameter_count(Law::kChameleon) == 3);
  CHECK(galaxyfit::law_has_cusp(Law::kSersic) && !galaxyfit::law_has_cusp(Law::kGaussian));
  const Law unknown = static_cast<Law>(99);
  CHECK_THROWS(std::invalid_argument, "unknown light-profile law 99", galaxyfit::law_parameter_count(unknown));
  CHECK_THROWS(std::invalid_argument, "unknown light-profile law", galaxyfit::law_has_cusp(unknown));
  RenderConfig c = box(8, 8, 1.0);
  std::vector<double> image(64), p(8, 1.0);
  CHECK_THROWS(std::invalid_argument, "unknown light-profile law", galaxyfit::render(unknown, p.data(), c, image.data()));

  galaxyfit::check_render_config(c);
  RenderConfig bad = c;
  bad.height = 0;
  CHECK_THROWS(std::invalid_argument, "the box is empty", galaxyfit::check_render_config(bad));
  bad = c;
  bad.hx = -1.0;
  CHECK_THROWS(std::invalid_argument, "pixel sizes must be positive", galaxyfit::check_render_config(bad));
  bad = c;
  bad.n_rings = 0;
  CHECK_THROWS(std::invalid_argument, "patch rings are supported", galaxyfit::check_render_config(bad));
  bad = c;
  bad.ring_order[1] = 65;
  CHECK_THROWS(std::invalid_argument, "ring orders must be in 1..64", galaxyfit::check_render_config(bad));
  bad = c;
  bad.ring_distance[1] = 1;
  CHECK_THROWS(std::invalid_argument, "ring distances must increase", galaxyfit::check_render_config(bad));
  bad = c;
  bad.n_rings = 1;
  CHECK_THROWS(std::invalid_argument, "at least distance 2", galaxyfit::check_render_config(bad));
  bad = c;
  bad.cusp_radial = 0;
  CHECK_THROWS(std::invalid_argument, "cusp node counts", galaxyfit::check_render_config(bad));
  std::vector<int32_t> begin(8, 0), end(8, 9);
  bad = c;
  bad.span_begin = begin.data();
  CHECK_THROWS(std::invalid_argument, "give both span_begin and span_end", galaxyfit::check_render_config(bad));
  bad.span_end = end.data();
  CHECK_THROWS(std::invalid_argument, "row 0 has a column span outside", galaxyfit::check_render_config(bad));
}

}  // namespace

int main() {
  std::printf("kernels run on %s\n", galaxyfit::kernel_instruction_set());
  circular_gaussian_pixels();
  elliptical_gaussian_flux();
  sersic_flux();
  fixed_index_laws();
  jacobian_matches_finite_differences();
  split_entry_points_agree();
  arguments_are_checked();
  return check::finish("test_profile_image");
}
