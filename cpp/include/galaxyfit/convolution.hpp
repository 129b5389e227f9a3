/// \file galaxyfit/convolution.hpp
/// \brief PSF convolution kernels: plain C++17, no Python, no XLA.
///
/// Convention (identical to `scipy.signal.convolve(image, kernel, mode="same")` for odd kernels):
///
///     out[r, c] = sum_{i, j} kernel[i, j] * image[r + ky/2 - i, c + kx/2 - j]
///
/// with image values outside [0, ny) x [0, nx) taken as zero. All arrays are row-major float64 (`image[r * nx + c]`,
/// `kernel[i * kx + j]`); sizes are in pixels. Values carry whatever unit the caller's image has (e.g. counts or
/// surface brightness); a kernel that sums to 1 conserves the total. Output is produced only at the pixels listed as
/// horizontal runs, in run order ("slim" order when the runs list the unmasked pixels of a mask row by row).
///
/// Python reference: python/galaxyfit/kernels/convolution.py (`psf_convolve`, `psf_convolve_adjoint`), whose tests
/// compare against `scipy.signal.convolve`.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace galaxyfit {

/// \brief Output pixels [col_begin, col_end) of row `row` (pixel indices, 0-based).
///
/// A valid run for an ny x nx image has 0 <= row < ny and 0 <= col_begin <= col_end <= nx
/// (check_convolution_arguments); an empty run (col_begin == col_end) is allowed and produces no output.
struct PixelRun {
  int32_t row;        ///< image row
  int32_t col_begin;  ///< first column (inclusive)
  int32_t col_end;    ///< one past the last column
};

/// \brief Raised for inconsistent shapes, even-sized kernels and runs outside the image.
class ConvolutionError : public std::invalid_argument {
 public:
  /// \brief Constructs the error. \param what the message.
  explicit ConvolutionError(const std::string& what) : std::invalid_argument(what) {}
};

/// \brief Number of output pixels covered by `runs`.
/// \param runs   n_runs runs (not validated).
/// \param n_runs number of runs (0 gives 0).
/// \return sum over the runs of col_end - col_begin: the length of the `out` arrays of the convolutions.
int64_t run_pixel_count(const PixelRun* runs, int64_t n_runs);

/// \brief Horizontal runs of the pixels where `mask` is false.
/// \param mask ny x nx bytes, row-major; non-zero = masked (PyAutoArray's convention: true means excluded).
/// \param ny,nx image shape in pixels.
/// \return the maximal runs of unmasked pixels, row by row and left to right within a row, so that run order is
///         the row-major ("slim") order of the unmasked pixels. Empty when every pixel is masked.
std::vector<PixelRun> runs_from_mask(const uint8_t* mask, int64_t ny, int64_t nx);

/// \brief Runs covering every pixel of an ny x nx image: one run [0, nx) per row, in row order.
/// \param ny,nx image shape in pixels.
/// \return ny runs; with them the convolutions write a full ny x nx row-major image.
std::vector<PixelRun> runs_full(int64_t ny, int64_t nx);

/// \brief Validates the arguments of a convolution.
/// \param ny,nx image shape in pixels (must be positive).
/// \param ky,kx kernel shape in pixels (must be odd and positive, so the kernel has a central pixel).
/// \param runs   output runs; each must satisfy 0 <= row < ny and 0 <= col_begin <= col_end <= nx.
/// \param n_runs number of runs.
/// \throws ConvolutionError naming the first violated rule (kernel shape first, then image shape, then the first
///         bad run by its index).
void check_convolution_arguments(int64_t ny, int64_t nx, int64_t ky, int64_t kx, const PixelRun* runs,
                                 int64_t n_runs);

/// \brief True when every kernel footprint of every non-empty run lies inside the image, so no zero padding is
///        needed (rows row - ky/2 .. row + ky/2 and columns col_begin - kx/2 .. col_end - 1 + kx/2 all exist).
/// \param ny,nx  image shape in pixels.
/// \param ky,kx  kernel shape in pixels (odd).
/// \param runs   runs to inspect.
/// \param n_runs number of runs.
/// \return whether convolve_direct can skip zero padding for these runs.
bool runs_are_interior(int64_t ny, int64_t nx, int64_t ky, int64_t kx, const PixelRun* runs, int64_t n_runs);

/// \brief Direct convolution written at runs [run_begin, run_end).
///
/// Cost: ky * kx multiply-adds per output pixel. Single-threaded; callers split the run range across threads. The
/// inner loop is compiled for x86-64 baseline, v3 (AVX2 + FMA) and v4 (AVX-512) and the best one this CPU supports
/// is picked when the library is loaded.
///
/// \param image  ny x nx, row-major.
/// \param ny,nx  image shape in pixels.
/// \param kernel ky x kx, row-major; ky and kx odd (not checked here: see check_convolution_arguments).
/// \param ky,kx  kernel shape in pixels.
/// \param runs   all runs of the output; only [run_begin, run_end) are computed.
/// \param run_begin,run_end range of run indices to compute.
/// \param out    points at the first output of run run_begin (i.e. at offset run_pixel_count(runs, run_begin) of
///               the full output); receives run_pixel_count(runs + run_begin, run_end - run_begin) values.
/// Arguments are not validated (undefined behaviour for runs outside the image); convolve() validates.
void convolve_direct(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky, int64_t kx,
                     const PixelRun* runs, int64_t run_begin, int64_t run_end, double* out);

/// \brief The kernel rotated by 180 degrees, k'[i, j] = kernel[ky-1-i, kx-1-j]: the kernel whose convolution is the
///        correlation with `kernel` (and vice versa).
/// \param kernel ky x kx, row-major.
/// \param ky,kx  kernel shape.
/// \return the rotated kernel, ky x kx, row-major.
std::vector<double> flip_kernel(const double* kernel, int64_t ky, int64_t kx);

/// \brief Zero an ny x nx image and write `values` (in run order) at the pixels of `runs`.
/// \param values run_pixel_count(runs, n_runs) values in run order.
/// \param runs   the runs (not validated).
/// \param n_runs number of runs.
/// \param ny,nx  image shape in pixels.
/// \param image  output, ny x nx row-major, fully overwritten.
void scatter_runs(const double* values, const PixelRun* runs, int64_t n_runs, int64_t ny, int64_t nx, double* image);

/// \brief Adjoint of convolve_direct over all runs: grad = C^T cotangent.
///
/// C^T y is the correlation of the cotangent (scattered to its pixels, zero elsewhere) with the kernel, evaluated
/// at every image pixel. Satisfies <C x, y> = <x, C^T y> exactly up to rounding. Used for reverse-mode derivatives
/// with respect to the image (python/galaxyfit/kernels/convolution.py, `psf_convolve_adjoint`).
///
/// \param cotangent run_pixel_count(runs, n_runs) values in run order.
/// \param runs   the runs of the forward convolution.
/// \param n_runs number of runs.
/// \param kernel ky x kx row-major (odd sizes), the forward kernel (not flipped).
/// \param ky,kx  kernel shape in pixels.
/// \param ny,nx  image shape in pixels.
/// \param grad   output, ny x nx row-major, overwritten.
/// Arguments are not validated.
void convolve_direct_adjoint(const double* cotangent, const PixelRun* runs, int64_t n_runs, const double* kernel,
                             int64_t ky, int64_t kx, int64_t ny, int64_t nx, double* grad);

/// \brief FFT convolution, written at the runs.
///
/// Linear convolution, zero-padded to next_fast_length(ny + ky - 1) x next_fast_length(nx + kx - 1), with Eigen's
/// FFT module (kissfft backend, BSD-3). Same convention and result as convolve_direct to rounding (the rounding
/// error is relative to the largest values of the image, so faint pixels far from bright ones agree less well
/// relative to their own size).
/// Arguments are not validated.
/// \param image  ny x nx, row-major.
/// \param ny,nx  image shape in pixels.
/// \param kernel ky x kx, row-major, odd sizes.
/// \param ky,kx  kernel shape in pixels.
/// \param runs   output pixels.
/// \param n_runs number of runs.
/// \param out    run_pixel_count(runs, n_runs) values, in run order.
void convolve_fft(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky, int64_t kx,
                  const PixelRun* runs, int64_t n_runs, double* out);

/// \brief Cost estimate of convolve_direct in direct multiply-adds: n_out * ky * kx.
///
/// Together with fft_cost (calibrated on x86-64 with AVX2; bench/README.md) it is used by convolve() to pick a
/// method.
/// \param n_out number of output pixels.
/// \param ky,kx kernel shape in pixels.
/// \return the estimated cost.
double direct_cost(int64_t n_out, int64_t ky, int64_t kx);
/// \brief Cost estimate of convolve_fft's transforms on an fft_ny x fft_nx grid, in the same units as direct_cost:
///        120 n log2(n), n = fft_ny * fft_nx (measured: 0.83 ms for a 108 x 108 transform pair against 0.07 ns per
///        direct multiply-add).
/// \param fft_ny,fft_nx the padded transform size (next_fast_length of the linear convolution's size).
/// \return the estimated cost.
double fft_cost(int64_t fft_ny, int64_t fft_nx);

/// \brief Smallest n' >= max(n, 1) whose only prime factors are 2, 3, 5 and 7 (fast FFT lengths).
/// \param n a transform length. \return the fast length.
int64_t next_fast_length(int64_t n);

/// \brief How convolve() computes the result.
enum class ConvolutionMethod {
  kAuto,    ///< kDirect when direct_cost <= fft_cost of the padded grid, else kFFT
  kDirect,  ///< convolve_direct
  kFFT      ///< convolve_fft
};

/// \brief Convolution at the runs with the method chosen by cost (kAuto) or forced; the checked entry point.
///
/// \param image  ny x nx, row-major.
/// \param ny,nx  image shape in pixels.
/// \param kernel ky x kx, row-major, odd sizes.
/// \param ky,kx  kernel shape in pixels.
/// \param runs   output pixels (see PixelRun).
/// \param n_runs number of runs.
/// \param out    run_pixel_count(runs, n_runs) values, in run order.
/// \param method kAuto, kDirect or kFFT.
/// \throws ConvolutionError for an even or non-positive kernel size, an empty image or a run outside the image
///         (check_convolution_arguments).
void convolve(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky, int64_t kx,
              const PixelRun* runs, int64_t n_runs, double* out, ConvolutionMethod method = ConvolutionMethod::kAuto);

}  // namespace galaxyfit
