// XLA FFI handlers for PSF convolution. Work is split across XLA's intra-op thread pool (ffi::ThreadPool);
// no second pool is created. With a single-threaded pool the tasks run inline.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "ffi_handlers.hpp"
#include "ffi_signatures.hpp"
#include "ffi_parallel.hpp"
#include "galaxyfit/convolution.hpp"

namespace ffi = xla::ffi;
using galaxyfit::PixelRun;

namespace {

int64_t product(ffi::Span<const int64_t> dims, size_t drop_last) {
  int64_t p = 1;
  for (size_t i = 0; i + drop_last < dims.size(); ++i) p *= dims[i];
  return p;
}

const PixelRun* as_runs(const ffi::Buffer<ffi::S32>& runs, int64_t* n_runs) {
  *n_runs = runs.dimensions().size() == 2 ? runs.dimensions()[0] : 0;
  return reinterpret_cast<const PixelRun*>(runs.typed_data());
}

ffi::Error check_batch(const char* name, int64_t batch, int64_t n_batch) {
  if (batch == 1 || batch == n_batch) return ffi::Error::Success();
  return ffi::Error::InvalidArgument(std::string(name) + " batch " + std::to_string(batch) +
                                     " must be 1 or the output batch " + std::to_string(n_batch));
}

ffi::Error PsfConvolveImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F64> image, ffi::Buffer<ffi::F64> kernel,
                           ffi::Buffer<ffi::S32> runs_buffer, ffi::ResultBuffer<ffi::F64> out) {
  const auto idims = image.dimensions(), kdims = kernel.dimensions(), odims = out->dimensions();
  if (idims.size() < 2 || kdims.size() < 2 || odims.size() < 1 || runs_buffer.dimensions().size() != 2 ||
      runs_buffer.dimensions()[1] != 3)
    return ffi::Error::InvalidArgument("psf_convolve: image (..., ny, nx), kernel (..., ky, kx), runs (n, 3)");
  const int64_t ny = idims[idims.size() - 2], nx = idims[idims.size() - 1];
  const int64_t ky = kdims[kdims.size() - 2], kx = kdims[kdims.size() - 1];
  const int64_t n_out = odims[odims.size() - 1];
  int64_t n_runs = 0;
  const PixelRun* runs = as_runs(runs_buffer, &n_runs);
  try {
    galaxyfit::check_convolution_arguments(ny, nx, ky, kx, runs, n_runs);
  } catch (const galaxyfit::ConvolutionError& e) {
    return ffi::Error::InvalidArgument(std::string("psf_convolve: ") + e.what());
  }
  if (galaxyfit::run_pixel_count(runs, n_runs) != n_out)
    return ffi::Error::InvalidArgument("psf_convolve: output length does not match the pixel runs");
  const int64_t n_batch = product(odims, 1), i_batch = product(idims, 2), k_batch = product(kdims, 2);
  if (auto e = check_batch("image", i_batch, n_batch); e.failure()) return e;
  if (auto e = check_batch("kernel", k_batch, n_batch); e.failure()) return e;

  std::vector<int64_t> offset(static_cast<size_t>(n_runs) + 1, 0);
  for (int64_t r = 0; r < n_runs; ++r) offset[r + 1] = offset[r] + runs[r].col_end - runs[r].col_begin;
  // Chunks of about 2^20 multiply-adds keep tasks large against the cost of waking a pool thread (~10-50 us).
  const int64_t chunk_pixels = std::max<int64_t>(1024, (int64_t{1} << 20) / std::max<int64_t>(ky * kx, 1));
  std::vector<int64_t> chunk_start{0};
  for (int64_t r = 0; r < n_runs; ++r)
    if (offset[r + 1] - offset[chunk_start.back()] >= chunk_pixels && r + 1 < n_runs) chunk_start.push_back(r + 1);
  chunk_start.push_back(n_runs);
  const int64_t n_chunks = static_cast<int64_t>(chunk_start.size()) - 1;

  const double* img = image.typed_data();
  const double* ker = kernel.typed_data();
  double* res = out->typed_data();
  galaxyfit::ffi_parallel_for(pool, n_batch * n_chunks, [&](int64_t task) {
    const int64_t b = task / n_chunks, c = task % n_chunks;
    const int64_t r0 = chunk_start[c], r1 = chunk_start[c + 1];
    galaxyfit::convolve_direct(img + (i_batch == 1 ? 0 : b) * ny * nx, ny, nx,
                               ker + (k_batch == 1 ? 0 : b) * ky * kx, ky, kx, runs, r0, r1,
                               res + b * n_out + offset[r0]);
  });
  return ffi::Error::Success();
}

ffi::Error PsfConvolveAdjointImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F64> cotangent,
                                  ffi::Buffer<ffi::F64> kernel, ffi::Buffer<ffi::S32> runs_buffer,
                                  ffi::ResultBuffer<ffi::F64> grad) {
  const auto cdims = cotangent.dimensions(), kdims = kernel.dimensions(), gdims = grad->dimensions();
  if (cdims.size() < 1 || kdims.size() < 2 || gdims.size() < 2 || runs_buffer.dimensions().size() != 2 ||
      runs_buffer.dimensions()[1] != 3)
    return ffi::Error::InvalidArgument(
        "psf_convolve_adjoint: cotangent (..., n_out), kernel (..., ky, kx), runs (n, 3), image (..., ny, nx)");
  const int64_t ny = gdims[gdims.size() - 2], nx = gdims[gdims.size() - 1];
  const int64_t ky = kdims[kdims.size() - 2], kx = kdims[kdims.size() - 1];
  const int64_t n_out = cdims[cdims.size() - 1];
  int64_t n_runs = 0;
  const PixelRun* runs = as_runs(runs_buffer, &n_runs);
  try {
    galaxyfit::check_convolution_arguments(ny, nx, ky, kx, runs, n_runs);
  } catch (const galaxyfit::ConvolutionError& e) {
    return ffi::Error::InvalidArgument(std::string("psf_convolve_adjoint: ") + e.what());
  }
  if (galaxyfit::run_pixel_count(runs, n_runs) != n_out)
    return ffi::Error::InvalidArgument("psf_convolve_adjoint: cotangent length does not match the pixel runs");
  const int64_t n_batch = product(gdims, 2), c_batch = product(cdims, 1), k_batch = product(kdims, 2);
  if (auto e = check_batch("cotangent", c_batch, n_batch); e.failure()) return e;
  if (auto e = check_batch("kernel", k_batch, n_batch); e.failure()) return e;

  // Scatter every batch element, then correlate row blocks in parallel (outputs are disjoint).
  std::vector<double> scattered(static_cast<size_t>(n_batch * ny * nx));
  for (int64_t b = 0; b < n_batch; ++b)
    galaxyfit::scatter_runs(cotangent.typed_data() + (c_batch == 1 ? 0 : b) * n_out, runs, n_runs, ny, nx,
                            scattered.data() + b * ny * nx);
  std::vector<std::vector<double>> flipped;
  for (int64_t b = 0; b < k_batch; ++b)
    flipped.push_back(galaxyfit::flip_kernel(kernel.typed_data() + b * ky * kx, ky, kx));
  const std::vector<PixelRun> all = galaxyfit::runs_full(ny, nx);
  const int64_t rows_per_task = std::max<int64_t>(1, ((int64_t{1} << 20) / std::max<int64_t>(ky * kx, 1)) / std::max<int64_t>(nx, 1));
  const int64_t n_blocks = (ny + rows_per_task - 1) / rows_per_task;
  double* res = grad->typed_data();
  galaxyfit::ffi_parallel_for(pool, n_batch * n_blocks, [&](int64_t task) {
    const int64_t b = task / n_blocks, r0 = (task % n_blocks) * rows_per_task;
    const int64_t r1 = std::min(ny, r0 + rows_per_task);
    galaxyfit::convolve_direct(scattered.data() + b * ny * nx, ny, nx, flipped[k_batch == 1 ? 0 : b].data(), ky,
                               kx, all.data(), r0, r1, res + b * ny * nx + r0 * nx);
  });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitPsfConvolve, PsfConvolveImpl,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>() GALAXYFIT_FFI_PSF_CONVOLVE);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitPsfConvolveAdjoint, PsfConvolveAdjointImpl,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>() GALAXYFIT_FFI_PSF_CONVOLVE);
