#include "galaxyfit/statistics.hpp"

#include <algorithm>
#include <cmath>

namespace galaxyfit {

namespace {

// Eight interleaved partial sums (the loop vectorises), combined pairwise.
double block_sum(const double* model, const double* data, const double* inverse_noise, int64_t n) {
  constexpr int kLanes = 8;
  double acc[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      const double r = (data[i + k] - model[i + k]) * inverse_noise[i + k];
      acc[k] += r * r;
    }
  for (int k = 0; i < n; ++i, ++k) {
    const double r = (data[i] - model[i]) * inverse_noise[i];
    acc[k] += r * r;
  }
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}

}  // namespace

double chi_squared(const double* model, const double* data, const double* inverse_noise, int64_t n) {
  constexpr int64_t kBlock = 1024;
  double sum = 0.0, compensation = 0.0;  // Kahan (1965) summation of the block sums
  for (int64_t start = 0; start < n; start += kBlock) {
    const double block = block_sum(model + start, data + start, inverse_noise + start, std::min(kBlock, n - start));
    if (!std::isfinite(sum) || !std::isfinite(block)) {  // an overflow (inf) or NaN: no compensation, which would make inf - inf
      sum += block;
      compensation = 0.0;
      continue;
    }
    const double y = block - compensation;
    const double t = sum + y;
    compensation = (t - sum) - y;
    sum = t;
  }
  return sum;
}

}  // namespace galaxyfit
