// Pixel runs and the argument checks of the convolutions (galaxyfit/convolution.hpp): no kernels here, so the CUDA
// extension links this file alone.
#include <string>
#include <vector>

#include "galaxyfit/convolution.hpp"

namespace galaxyfit {

int64_t run_pixel_count(const PixelRun* runs, int64_t n_runs) {
  int64_t n = 0;
  for (int64_t r = 0; r < n_runs; ++r) n += runs[r].col_end - runs[r].col_begin;
  return n;
}

std::vector<PixelRun> runs_from_mask(const uint8_t* mask, int64_t ny, int64_t nx) {
  std::vector<PixelRun> runs;
  for (int64_t r = 0; r < ny; ++r) {
    int64_t c = 0;
    while (c < nx) {
      while (c < nx && mask[r * nx + c]) ++c;
      const int64_t begin = c;
      while (c < nx && !mask[r * nx + c]) ++c;
      if (c > begin)
        runs.push_back({static_cast<int32_t>(r), static_cast<int32_t>(begin), static_cast<int32_t>(c)});
    }
  }
  return runs;
}

std::vector<PixelRun> runs_full(int64_t ny, int64_t nx) {
  std::vector<PixelRun> runs;
  runs.reserve(static_cast<size_t>(ny));
  for (int64_t r = 0; r < ny; ++r) runs.push_back({static_cast<int32_t>(r), 0, static_cast<int32_t>(nx)});
  return runs;
}

void check_convolution_arguments(int64_t ny, int64_t nx, int64_t ky, int64_t kx, const PixelRun* runs,
                                 int64_t n_runs) {
  if (ky <= 0 || kx <= 0 || ky % 2 == 0 || kx % 2 == 0)
    throw ConvolutionError("kernel shape (" + std::to_string(ky) + ", " + std::to_string(kx) +
                           ") must be odd in both dimensions");
  if (ny <= 0 || nx <= 0)
    throw ConvolutionError("image shape (" + std::to_string(ny) + ", " + std::to_string(nx) + ") is empty");
  for (int64_t r = 0; r < n_runs; ++r) {
    const PixelRun& run = runs[r];
    if (run.row < 0 || run.row >= ny || run.col_begin < 0 || run.col_end > nx || run.col_begin > run.col_end)
      throw ConvolutionError("pixel run " + std::to_string(r) + " (row " + std::to_string(run.row) + ", columns " +
                             std::to_string(run.col_begin) + ".." + std::to_string(run.col_end) +
                             ") lies outside the image");
  }
}

bool runs_are_interior(int64_t ny, int64_t nx, int64_t ky, int64_t kx, const PixelRun* runs, int64_t n_runs) {
  const int64_t hy = ky / 2, hx = kx / 2;
  for (int64_t r = 0; r < n_runs; ++r) {
    const PixelRun& run = runs[r];
    if (run.col_end == run.col_begin) continue;
    if (run.row - hy < 0 || run.row + hy >= ny || run.col_begin - hx < 0 || run.col_end + hx > nx) return false;
  }
  return true;
}

}  // namespace galaxyfit
