// Convolution at masked runs against the definition written as a plain double loop, direct against FFT, the
// adjoint identity, the run helpers, and argument errors.
#include <galaxyfit/convolution.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "check.hpp"

namespace {

// out[r, c] = sum_{i, j} kernel[i, j] image[r + ky/2 - i, c + kx/2 - j], zero outside the image.
double reference_pixel(const std::vector<double>& image, int64_t ny, int64_t nx, const std::vector<double>& kernel,
                       int64_t ky, int64_t kx, int64_t r, int64_t c) {
  double sum = 0.0;
  for (int64_t i = 0; i < ky; ++i)
    for (int64_t j = 0; j < kx; ++j) {
      const int64_t y = r + ky / 2 - i, x = c + kx / 2 - j;
      if (y >= 0 && y < ny && x >= 0 && x < nx) sum += kernel[i * kx + j] * image[y * nx + x];
    }
  return sum;
}

void against_definition() {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  const int64_t ny = 37, nx = 41, ky = 11, kx = 7;
  std::vector<double> image(ny * nx), kernel(ky * kx);
  for (double& v : image) v = uniform(rng);
  for (double& v : kernel) v = uniform(rng);
  // A mask with holes and fully masked rows; runs reach the image edges, so padding is exercised.
  std::vector<uint8_t> mask(ny * nx, 0);
  for (int64_t r = 0; r < ny; ++r)
    for (int64_t c = 0; c < nx; ++c) mask[r * nx + c] = (r == 5) || ((r * 7 + c * 3) % 11 == 0);
  const std::vector<galaxyfit::PixelRun> runs = galaxyfit::runs_from_mask(mask.data(), ny, nx);
  const int64_t n_runs = static_cast<int64_t>(runs.size());
  const int64_t n_out = galaxyfit::run_pixel_count(runs.data(), n_runs);
  int64_t unmasked = 0;
  for (uint8_t m : mask) unmasked += !m;
  CHECK(n_out == unmasked);

  std::vector<double> expected;
  for (const auto& run : runs) {
    CHECK(run.col_begin < run.col_end);
    for (int32_t c = run.col_begin; c < run.col_end; ++c) {
      CHECK(!mask[run.row * nx + c]);
      expected.push_back(reference_pixel(image, ny, nx, kernel, ky, kx, run.row, c));
    }
  }
  for (auto method : {galaxyfit::ConvolutionMethod::kDirect, galaxyfit::ConvolutionMethod::kFFT,
                      galaxyfit::ConvolutionMethod::kAuto}) {
    std::vector<double> out(n_out);
    galaxyfit::convolve(image.data(), ny, nx, kernel.data(), ky, kx, runs.data(), n_runs, out.data(), method);
    double worst = 0.0;
    for (int64_t i = 0; i < n_out; ++i) worst = std::fmax(worst, std::fabs(out[i] - expected[i]));
    std::printf("method %d: max |error| = %.3g\n", static_cast<int>(method), worst);
    CHECK_CLOSE(worst, 0.0, 1e-13, 0.0);  // values ~1, sums of 77 terms
  }

  // A slice of runs written at its own offset equals the same slice of the full result.
  std::vector<double> part(n_out, 0.0);
  const int64_t split = n_runs / 3;
  galaxyfit::convolve_direct(image.data(), ny, nx, kernel.data(), ky, kx, runs.data(), split, n_runs,
                             part.data() + galaxyfit::run_pixel_count(runs.data(), split));
  double worst = 0.0;
  for (int64_t i = galaxyfit::run_pixel_count(runs.data(), split); i < n_out; ++i)
    worst = std::fmax(worst, std::fabs(part[i] - expected[i]));
  CHECK_CLOSE(worst, 0.0, 1e-13, 0.0);

  // <C x, y> = <x, C^T y>.
  std::vector<double> y(n_out), cx(n_out), cty(ny * nx);
  for (double& v : y) v = uniform(rng);
  galaxyfit::convolve(image.data(), ny, nx, kernel.data(), ky, kx, runs.data(), n_runs, cx.data(),
                      galaxyfit::ConvolutionMethod::kDirect);
  galaxyfit::convolve_direct_adjoint(y.data(), runs.data(), n_runs, kernel.data(), ky, kx, ny, nx, cty.data());
  double lhs = 0.0, rhs = 0.0;
  for (int64_t i = 0; i < n_out; ++i) lhs += cx[i] * y[i];
  for (int64_t i = 0; i < ny * nx; ++i) rhs += image[i] * cty[i];
  CHECK_CLOSE(lhs, rhs, 1e-11, 0.0);

  // scatter_runs puts run-order values back at their pixels and zeros elsewhere.
  std::vector<double> scattered(ny * nx, 5.0);
  galaxyfit::scatter_runs(expected.data(), runs.data(), n_runs, ny, nx, scattered.data());
  int64_t k = 0, wrong = 0;
  for (int64_t p = 0; p < ny * nx; ++p) wrong += mask[p] ? scattered[p] != 0.0 : scattered[p] != expected[k++];
  CHECK(wrong == 0);
}

void helpers() {
  CHECK(galaxyfit::next_fast_length(1) == 1);
  CHECK(galaxyfit::next_fast_length(11) == 12);
  CHECK(galaxyfit::next_fast_length(97) == 98);   // 2 * 7^2
  CHECK(galaxyfit::next_fast_length(121) == 125);  // 11^2 -> 5^3
  const std::vector<double> k = {1, 2, 3, 4, 5, 6};  // 2 x 3
  const std::vector<double> f = galaxyfit::flip_kernel(k.data(), 2, 3);
  CHECK((f == std::vector<double>{6, 5, 4, 3, 2, 1}));
  const auto full = galaxyfit::runs_full(3, 4);
  CHECK(full.size() == 3 && full[2].row == 2 && full[2].col_begin == 0 && full[2].col_end == 4);
  const galaxyfit::PixelRun interior[] = {{2, 2, 3}};
  CHECK(galaxyfit::runs_are_interior(5, 5, 5, 5, interior, 1));
  const galaxyfit::PixelRun edge[] = {{1, 2, 3}};
  CHECK(!galaxyfit::runs_are_interior(5, 5, 5, 5, edge, 1));
}

void errors() {
  const std::vector<double> image(20, 1.0), kernel(9, 0.1);
  std::vector<double> out(20);
  const auto runs = galaxyfit::runs_full(4, 5);
  using galaxyfit::ConvolutionError;
  CHECK_THROWS(ConvolutionError, "must be odd", galaxyfit::convolve(image.data(), 4, 5, kernel.data(), 2, 4,
                                                                    runs.data(), 4, out.data()));
  CHECK_THROWS(ConvolutionError, "is empty", galaxyfit::convolve(image.data(), 0, 5, kernel.data(), 3, 3,
                                                                 runs.data(), 0, out.data()));
  const galaxyfit::PixelRun outside[] = {{0, 0, 5}, {4, 0, 2}};
  CHECK_THROWS(ConvolutionError, "pixel run 1 (row 4, columns 0..2) lies outside the image",
               galaxyfit::convolve(image.data(), 4, 5, kernel.data(), 3, 3, outside, 2, out.data()));
  const galaxyfit::PixelRun reversed[] = {{1, 3, 2}};
  CHECK_THROWS(ConvolutionError, "lies outside", galaxyfit::check_convolution_arguments(4, 5, 3, 3, reversed, 1));
  // ConvolutionError is a std::invalid_argument, so generic handlers catch it.
  CHECK_THROWS(std::invalid_argument, "must be odd", galaxyfit::check_convolution_arguments(4, 5, 3, 0, runs.data(), 4));
}

}  // namespace

int main() {
  against_definition();
  helpers();
  errors();
  return check::finish("test_convolution");
}
