#include "galaxyfit/convolution.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <unsupported/Eigen/FFT>

#include "correlate_kernel.hpp"

namespace galaxyfit {
namespace {

// The inner loop is compiled per instruction set (correlate_*.cpp) and picked once, at load time, for this CPU.
detail::CorrelateRunFn pick_correlate_run() {
#if defined(GALAXYFIT_X86_DISPATCH)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return detail::correlate_run_x86_v4;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return detail::correlate_run_x86_v3;
#endif
  return detail::correlate_run_baseline;
}

const detail::CorrelateRunFn correlate_run = pick_correlate_run();

// Direct correlation with an already flipped kernel over `src` (row length sx) whose pixel (0, 0) is image pixel
// (-oy, -ox); runs are in image coordinates and must be interior to `src`.
void correlate_runs(const double* src, int64_t sx, int64_t oy, int64_t ox, const double* kflip, int64_t ky,
                    int64_t kx, const PixelRun* runs, int64_t run_begin, int64_t run_end, double* out) {
  const int64_t hy = ky / 2, hx = kx / 2;
  std::vector<int64_t> offset(static_cast<size_t>(ky * kx));
  for (int64_t i = 0; i < ky; ++i)
    for (int64_t j = 0; j < kx; ++j) offset[i * kx + j] = i * sx + j;
  const detail::Taps taps{offset.data(), kflip, ky * kx};
  for (int64_t r = run_begin; r < run_end; ++r) {
    const PixelRun& run = runs[r];
    const int64_t len = run.col_end - run.col_begin;
    const double* s = src + (run.row - hy + oy) * sx + (run.col_begin - hx + ox);
    correlate_run(s, taps, len, out);
    out += len;
  }
}

}  // namespace

std::vector<double> flip_kernel(const double* kernel, int64_t ky, int64_t kx) {
  std::vector<double> k(static_cast<size_t>(ky * kx));
  for (int64_t i = 0; i < ky; ++i)
    for (int64_t j = 0; j < kx; ++j) k[i * kx + j] = kernel[(ky - 1 - i) * kx + (kx - 1 - j)];
  return k;
}

void scatter_runs(const double* values, const PixelRun* runs, int64_t n_runs, int64_t ny, int64_t nx, double* image) {
  std::fill(image, image + ny * nx, 0.0);
  for (int64_t r = 0; r < n_runs; ++r) {
    const int64_t len = runs[r].col_end - runs[r].col_begin;
    std::memcpy(image + runs[r].row * nx + runs[r].col_begin, values, sizeof(double) * len);
    values += len;
  }
}

void convolve_direct(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky, int64_t kx,
                     const PixelRun* runs, int64_t run_begin, int64_t run_end, double* out) {
  const std::vector<double> kflip = flip_kernel(kernel, ky, kx);
  if (runs_are_interior(ny, nx, ky, kx, runs + run_begin, run_end - run_begin)) {
    correlate_runs(image, nx, 0, 0, kflip.data(), ky, kx, runs, run_begin, run_end, out);
    return;
  }
  // Zero-pad once so the inner loop never tests bounds.
  const int64_t hy = ky / 2, hx = kx / 2, py = ny + 2 * hy, px = nx + 2 * hx;
  std::vector<double> padded(static_cast<size_t>(py * px), 0.0);
  for (int64_t r = 0; r < ny; ++r) std::memcpy(&padded[(r + hy) * px + hx], image + r * nx, sizeof(double) * nx);
  correlate_runs(padded.data(), px, hy, hx, kflip.data(), ky, kx, runs, run_begin, run_end, out);
}

void convolve_direct_adjoint(const double* cotangent, const PixelRun* runs, int64_t n_runs, const double* kernel,
                             int64_t ky, int64_t kx, int64_t ny, int64_t nx, double* grad) {
  // C^T y = (flipped kernel) * (y scattered to its pixels), evaluated everywhere: see convolution.hpp.
  std::vector<double> scattered(static_cast<size_t>(ny * nx));
  scatter_runs(cotangent, runs, n_runs, ny, nx, scattered.data());
  const std::vector<double> kflip = flip_kernel(kernel, ky, kx);
  const std::vector<PixelRun> all = runs_full(ny, nx);
  convolve_direct(scattered.data(), ny, nx, kflip.data(), ky, kx, all.data(), 0, ny, grad);
}

int64_t next_fast_length(int64_t n) {
  for (int64_t m = std::max<int64_t>(n, 1);; ++m) {
    int64_t k = m;
    for (int64_t p : {2, 3, 5, 7})
      while (k % p == 0) k /= p;
    if (k == 1) return m;
  }
}

void convolve_fft(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky, int64_t kx,
                  const PixelRun* runs, int64_t n_runs, double* out) {
  using cplx = std::complex<double>;
  const int64_t hy = ky / 2, hx = kx / 2;
  const int64_t ly = next_fast_length(ny + ky - 1), lx = next_fast_length(nx + kx - 1), lxh = lx / 2 + 1;
  Eigen::FFT<double> fft;
  fft.SetFlag(Eigen::FFT<double>::HalfSpectrum);

  // Real-to-half-complex transform of an ly x lx array given by its non-zero top-left block.
  auto forward = [&](const double* a, int64_t ay, int64_t ax) {
    std::vector<cplx> spec(static_cast<size_t>(ly * lxh));
    std::vector<double> row(static_cast<size_t>(lx));
    std::vector<cplx> crow;
    for (int64_t r = 0; r < ly; ++r) {
      std::fill(row.begin(), row.end(), 0.0);
      if (r < ay) std::copy(a + r * ax, a + r * ax + ax, row.begin());
      fft.fwd(crow, row);
      std::copy(crow.begin(), crow.begin() + lxh, spec.begin() + r * lxh);
    }
    std::vector<cplx> col(static_cast<size_t>(ly)), ccol;
    for (int64_t c = 0; c < lxh; ++c) {
      for (int64_t r = 0; r < ly; ++r) col[r] = spec[r * lxh + c];
      fft.fwd(ccol, col);
      for (int64_t r = 0; r < ly; ++r) spec[r * lxh + c] = ccol[r];
    }
    return spec;
  };

  std::vector<cplx> spec = forward(image, ny, nx);
  const std::vector<cplx> kspec = forward(kernel, ky, kx);
  for (size_t i = 0; i < spec.size(); ++i) spec[i] *= kspec[i];

  // Inverse: columns (complex), then rows (half-complex to real). Eigen's inverse is normalised.
  std::vector<cplx> col(static_cast<size_t>(ly)), ccol;
  for (int64_t c = 0; c < lxh; ++c) {
    for (int64_t r = 0; r < ly; ++r) col[r] = spec[r * lxh + c];
    fft.inv(ccol, col);
    for (int64_t r = 0; r < ly; ++r) spec[r * lxh + c] = ccol[r];
  }
  std::vector<double> full(static_cast<size_t>(ly * lx));
  std::vector<cplx> crow(static_cast<size_t>(lxh));
  std::vector<double> row;
  for (int64_t r = 0; r < ly; ++r) {
    std::copy(spec.begin() + r * lxh, spec.begin() + (r + 1) * lxh, crow.begin());
    fft.inv(row, crow, lx);
    std::copy(row.begin(), row.begin() + lx, full.begin() + r * lx);
  }
  // The linear convolution's pixel (r + hy, c + hx) is the "same" output at (r, c).
  for (int64_t r = 0; r < n_runs; ++r) {
    const PixelRun& run = runs[r];
    const double* src = &full[(run.row + hy) * lx + run.col_begin + hx];
    const int64_t len = run.col_end - run.col_begin;
    std::copy(src, src + len, out);
    out += len;
  }
}

double direct_cost(int64_t n_out, int64_t ky, int64_t kx) {
  return static_cast<double>(n_out) * static_cast<double>(ky * kx);
}

double fft_cost(int64_t fft_ny, int64_t fft_nx) {
  // convolve_fft's forward and inverse transforms (Eigen/kissfft), in multiply-add equivalents of the direct loop:
  // measured 0.83 ms for a 108 x 108 transform pair against 0.07 ns per direct multiply-add (bench/README.md).
  const double n = static_cast<double>(fft_ny * fft_nx);
  return 120.0 * n * std::log2(std::max(n, 2.0));
}

void convolve(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky, int64_t kx,
              const PixelRun* runs, int64_t n_runs, double* out, ConvolutionMethod method) {
  check_convolution_arguments(ny, nx, ky, kx, runs, n_runs);
  if (method == ConvolutionMethod::kAuto) {
    const int64_t n_out = run_pixel_count(runs, n_runs);
    const double fft = fft_cost(next_fast_length(ny + ky - 1), next_fast_length(nx + kx - 1));
    method = direct_cost(n_out, ky, kx) <= fft ? ConvolutionMethod::kDirect : ConvolutionMethod::kFFT;
  }
  if (method == ConvolutionMethod::kDirect)
    convolve_direct(image, ny, nx, kernel, ky, kx, runs, 0, n_runs, out);
  else
    convolve_fft(image, ny, nx, kernel, ky, kx, runs, n_runs, out);
}

}  // namespace galaxyfit
