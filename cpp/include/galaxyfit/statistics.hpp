/// \file galaxyfit/statistics.hpp
/// \brief Fit statistics over the unmasked ("slim") pixels: plain C++17, no Python, no XLA.
///
/// Python reference: python/galaxyfit/kernels/statistics.py (`chi_squared`, whose plain-JAX `_reference` is
/// `sum(((data - model) * inverse_noise) ** 2)`).
#pragma once

#include <cstdint>

namespace galaxyfit {

/// \brief chi^2 = sum_i ((data[i] - model[i]) * inverse_noise[i])^2 over n pixels.
///
/// The chi^2 of the Gaussian log likelihood (e.g. PyAutoGalaxy's autoarray/fit/fit_util.py). Blocks of 1024 pixels
/// are summed in eight interleaved partial sums (the loop vectorises) and the block sums are added with Kahan's
/// compensation (Kahan 1965, CACM 8, 40), so the rounding error stays near that of a 128-term sum whatever n is.
/// Once the running sum or a block sum is not finite, the compensation is dropped so that the result is +inf for
/// an overflow and NaN for a NaN input, never inf - inf.
///
/// \param model         n model values (e.g. counts), in slim order.
/// \param data          n data values, same unit and order as model.
/// \param inverse_noise n values of 1 / sigma (inverse of the noise standard deviation, per unit of data);
///                      0 gives a pixel no weight.
/// \param n             number of pixels (n <= 0 gives 0).
/// \return chi^2 (dimensionless). Never throws; no argument is checked.
double chi_squared(const double* model, const double* data, const double* inverse_noise, int64_t n);

}  // namespace galaxyfit
