// PSF convolution kernels: plain C++17, no Python, no XLA.
//
// Convention (identical to scipy.signal.convolve(image, kernel, mode="same") for odd kernels):
//
//     out[r, c] = sum_{i, j} kernel[i, j] * image[r + ky/2 - i, c + kx/2 - j]
//
// with image values outside [0, ny) x [0, nx) taken as zero. Arrays are row-major float64.
// Output is produced only at the pixels listed as horizontal runs, in run order ("slim" order when
// the runs list the unmasked pixels of a mask row by row).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace galaxyfit {

/// Output pixels [col_begin, col_end) of row `row`.
struct PixelRun {
  int32_t row;
  int32_t col_begin;
  int32_t col_end;
};

/// Raised for inconsistent shapes, even-sized kernels and runs outside the image.
class ConvolutionError : public std::invalid_argument {
 public:
  explicit ConvolutionError(const std::string& what) : std::invalid_argument(what) {}
};

/// Number of output pixels covered by `runs`.
int64_t run_pixel_count(const PixelRun* runs, int64_t n_runs);

/// Horizontal runs of the pixels where `mask` is false (mask: ny * nx bytes, non-zero = masked).
std::vector<PixelRun> runs_from_mask(const uint8_t* mask, int64_t ny, int64_t nx);

/// Runs covering every pixel of an ny x nx image.
std::vector<PixelRun> runs_full(int64_t ny, int64_t nx);

/// Throws ConvolutionError unless kernel dimensions are odd and positive and all runs lie inside the image.
void check_convolution_arguments(int64_t ny, int64_t nx, int64_t ky, int64_t kx, const PixelRun* runs,
                                 int64_t n_runs);

/// True when every kernel footprint of every run lies inside the image, so no zero padding is needed.
bool runs_are_interior(int64_t ny, int64_t nx, int64_t ky, int64_t kx, const PixelRun* runs, int64_t n_runs);

/// Direct convolution written at runs [run_begin, run_end); `out` points at the first output of run_begin.
/// Cost: ky * kx multiply-adds per output pixel. Single-threaded; callers split the run range across threads.
void convolve_direct(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky, int64_t kx,
                     const PixelRun* runs, int64_t run_begin, int64_t run_end, double* out);

/// kernel[ky-1-i, kx-1-j]: the kernel whose convolution is the correlation with `kernel` (and vice versa).
std::vector<double> flip_kernel(const double* kernel, int64_t ky, int64_t kx);

/// Zero an ny x nx image and write `values` (in run order) at the pixels of `runs`.
void scatter_runs(const double* values, const PixelRun* runs, int64_t n_runs, int64_t ny, int64_t nx, double* image);

/// Adjoint of convolve_direct over all runs: grad (ny x nx, overwritten) = C^T cotangent, i.e. the correlation
/// of the cotangent (scattered to its pixels) with the kernel. Satisfies <C x, y> = <x, C^T y> exactly up to rounding.
void convolve_direct_adjoint(const double* cotangent, const PixelRun* runs, int64_t n_runs, const double* kernel,
                             int64_t ky, int64_t kx, int64_t ny, int64_t nx, double* grad);

/// FFT convolution (linear, zero-padded to at least (ny + ky - 1) x (nx + kx - 1)) with Eigen's FFT module
/// (kissfft backend, BSD-3), written at the runs. Same convention and result as convolve_direct to rounding.
void convolve_fft(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky, int64_t kx,
                  const PixelRun* runs, int64_t n_runs, double* out);

/// Cost estimates in direct multiply-adds (calibrated on x86-64 with AVX2; bench/README.md), used by convolve() to
/// pick a method. fft_cost is for convolve_fft's transforms.
double direct_cost(int64_t n_out, int64_t ky, int64_t kx);
double fft_cost(int64_t fft_ny, int64_t fft_nx);

/// Smallest n' >= n whose only prime factors are 2, 3, 5 and 7 (fast FFT lengths).
int64_t next_fast_length(int64_t n);

enum class ConvolutionMethod { kAuto, kDirect, kFFT };

/// Convolution at the runs with the method chosen by cost (kAuto) or forced.
void convolve(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky, int64_t kx,
              const PixelRun* runs, int64_t n_runs, double* out, ConvolutionMethod method = ConvolutionMethod::kAuto);

}  // namespace galaxyfit
