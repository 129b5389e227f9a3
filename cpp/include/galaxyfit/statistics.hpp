// Fit statistics over the unmasked ("slim") pixels: plain C++17, no Python, no XLA.
#pragma once

#include <cstdint>

namespace galaxyfit {

/// chi^2 = sum_i ((data[i] - model[i]) * inverse_noise[i])^2 over n pixels (the Gaussian log likelihood's chi^2;
/// e.g. PyAutoGalaxy's autoarray/fit/fit_util.py). Blocks of 1024 pixels are summed in eight interleaved partial sums
/// (the loop vectorises) and the block sums are added with Kahan's compensation (Kahan 1965, CACM 8, 40), so the
/// rounding error stays near that of a 128-term sum whatever n is.
double chi_squared(const double* model, const double* data, const double* inverse_noise, int64_t n);

}  // namespace galaxyfit
