// chi_squared against a long-double loop, and its handling of empty, infinite and NaN input.
#include <galaxyfit/statistics.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "check.hpp"

int main() {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (const int64_t n : {1, 7, 8, 1023, 1024, 1025, 100003}) {
    std::vector<double> model(n), data(n), inverse_noise(n);
    long double expected = 0.0L;
    for (int64_t i = 0; i < n; ++i) {
      model[i] = 100.0 + normal(rng);
      data[i] = model[i] + 3.0 * normal(rng);
      inverse_noise[i] = 1.0 / (2.0 + std::fabs(normal(rng)));
      const long double r = (static_cast<long double>(data[i]) - model[i]) * inverse_noise[i];
      expected += r * r;
    }
    // A 128-term sum's rounding error: a few 1e-15 relative (the Kahan-compensated block sums).
    CHECK_CLOSE(galaxyfit::chi_squared(model.data(), data.data(), inverse_noise.data(), n),
                static_cast<double>(expected), 0.0, 1e-14);
  }
  const double one = 1.0, two = 2.0, inf = std::numeric_limits<double>::infinity();
  CHECK(galaxyfit::chi_squared(&one, &two, &one, 0) == 0.0);
  std::vector<double> model(3000, 0.0), data(3000, 1.0), w(3000, 1.0);
  data[1500] = inf;
  CHECK(galaxyfit::chi_squared(model.data(), data.data(), w.data(), 3000) == inf);
  data[1500] = NAN;
  CHECK(std::isnan(galaxyfit::chi_squared(model.data(), data.data(), w.data(), 3000)));
  data[1500] = 1.0;
  w[10] = 0.0;  // a pixel without weight
  CHECK(galaxyfit::chi_squared(model.data(), data.data(), w.data(), 3000) == 2999.0);
  return check::finish("test_statistics");
}
