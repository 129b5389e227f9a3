// Gauss-Legendre rules, shared by the CPU profile kernels (profile_kernel.hpp) and the CUDA kernels' rule table
// (cpp/cuda/profile_pixel.hpp), so both integrate with identical nodes. Internal linkage: profile_kernel.hpp is
// compiled once per instruction set (see simd_math.hpp).
#pragma once

#include <cmath>

namespace galaxyfit {
namespace {

// The order-point rule mapped to [-1/2, 1/2], nodes ascending, weights summing to 1 (integration.gauss_legendre):
// Newton iteration on P_n from Chebyshev-like guesses (Press et al., Numerical Recipes 3rd ed., 4.6.1).
inline void gauss_legendre_nodes(int order, double* node, double* weight) {
  const double pi = 3.14159265358979323846;
  auto legendre = [order](double x, double* p_n, double* p_n1) {
    double p0 = 1.0, p1 = x;
    for (int k = 2; k <= order; ++k) {
      const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
      p0 = p1;
      p1 = p2;
    }
    *p_n = p1;
    *p_n1 = p0;
  };
  for (int i = 0; i < order; ++i) {
    double x = std::cos(pi * (i + 0.75) / (order + 0.5)), pn = 0.0, pn1 = 0.0;
    for (int it = 0; it < 100; ++it) {
      legendre(x, &pn, &pn1);
      const double dx = pn / (order * (x * pn - pn1) / (x * x - 1.0));
      x -= dx;
      if (std::fabs(dx) < 1e-16) break;
    }
    legendre(x, &pn, &pn1);
    const double dp = order * (x * pn - pn1) / (x * x - 1.0);
    node[order - 1 - i] = 0.5 * x;
    weight[order - 1 - i] = 1.0 / ((1.0 - x * x) * dp * dp);
  }
}

}  // namespace
}  // namespace galaxyfit
