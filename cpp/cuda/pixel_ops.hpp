// Per-output-pixel arithmetic of the CUDA convolution and chi^2 kernels, shared with their host-side test
// (cpp/tests/test_cuda_host.cpp), in the conventions of galaxyfit/convolution.hpp and galaxyfit/statistics.hpp.
#pragma once

#include <cstdint>

#include "scalar_math.hpp"

namespace galaxyfit {
namespace scalar {

/// out[r, c] = sum_{i, j} kernel[i, j] image[r + ky/2 - i, c + kx/2 - j], zero outside the ny x nx image.
GALAXYFIT_HD double convolve_at(const double* image, int64_t ny, int64_t nx, const double* kernel, int64_t ky,
                                int64_t kx, int64_t r, int64_t c) {
  double sum = 0.0;
  for (int64_t i = 0; i < ky; ++i) {
    const int64_t y = r + ky / 2 - i;
    if (y < 0 || y >= ny) continue;
    for (int64_t j = 0; j < kx; ++j) {
      const int64_t x = c + kx / 2 - j;
      if (x < 0 || x >= nx) continue;
      sum += kernel[i * kx + j] * image[y * nx + x];
    }
  }
  return sum;
}

/// The adjoint at image pixel (y, x): sum over the outputs (r, c) that read it of kernel[i, j] cotangent(r, c), with
/// (r, c) = (y - ky/2 + i, x - kx/2 + j); `index` maps a pixel to its output (run order) or -1 if it is not one.
GALAXYFIT_HD double convolve_adjoint_at(const double* cotangent, const int32_t* index, int64_t ny, int64_t nx,
                                        const double* kernel, int64_t ky, int64_t kx, int64_t y, int64_t x) {
  double sum = 0.0;
  for (int64_t i = 0; i < ky; ++i) {
    const int64_t r = y - ky / 2 + i;
    if (r < 0 || r >= ny) continue;
    for (int64_t j = 0; j < kx; ++j) {
      const int64_t c = x - kx / 2 + j;
      if (c < 0 || c >= nx) continue;
      const int32_t o = index[r * nx + c];
      if (o >= 0) sum += kernel[i * kx + j] * cotangent[o];
    }
  }
  return sum;
}

/// One term of chi^2: ((data - model) * inverse_noise)^2.
GALAXYFIT_HD double chi_squared_term(double model, double data, double inverse_noise) {
  const double r = (data - model) * inverse_noise;
  return r * r;
}

}  // namespace scalar
}  // namespace galaxyfit
