// Convolve a point source with a Gaussian PSF through galaxyfit's installed C++ library and check the result:
// the blurred image must be the PSF centred on the point, and direct and FFT methods must agree.
#include <galaxyfit/convolution.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  const int64_t ny = 32, nx = 40, k = 9;
  std::vector<double> psf(k * k);
  double sum = 0.0;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) sum += psf[i * k + j] = std::exp(-0.5 * ((i - 4.0) * (i - 4.0) + (j - 3.0) * (j - 3.0)) / 2.0);
  for (double& v : psf) v /= sum;

  std::vector<double> image(ny * nx, 0.0);
  image[10 * nx + 20] = 3.0;  // a point source of flux 3 at row 10, column 20
  const std::vector<galaxyfit::PixelRun> runs = galaxyfit::runs_full(ny, nx);
  std::vector<double> direct(ny * nx), fft(ny * nx);
  galaxyfit::convolve(image.data(), ny, nx, psf.data(), k, k, runs.data(), static_cast<int64_t>(runs.size()),
                      direct.data(), galaxyfit::ConvolutionMethod::kDirect);
  galaxyfit::convolve(image.data(), ny, nx, psf.data(), k, k, runs.data(), static_cast<int64_t>(runs.size()),
                      fft.data(), galaxyfit::ConvolutionMethod::kFFT);

  double worst = 0.0, total = 0.0;
  for (int64_t r = 0; r < ny; ++r)
    for (int64_t c = 0; c < nx; ++c) {
      const int64_t i = r - 10 + k / 2, j = c - 20 + k / 2;
      const double expected = (i >= 0 && i < k && j >= 0 && j < k) ? 3.0 * psf[i * k + j] : 0.0;
      worst = std::fmax(worst, std::fabs(direct[r * nx + c] - expected));
      worst = std::fmax(worst, std::fabs(fft[r * nx + c] - expected));
      total += direct[r * nx + c];
    }
  std::printf("total flux %.12f, max error %.3g\n", total, worst);
  if (worst > 1e-12 || std::fabs(total - 3.0) > 1e-12) {
    std::printf("FAILED\n");
    return 1;
  }
  std::printf("ok\n");
  return 0;
}
