// The linear inversion of galaxyfit/inversion.hpp for small systems (k <= kMaxSmallInversion linear parameters: linear
// light profiles, multi-Gaussian expansions), in scalar code that one CUDA thread runs per batch element and that
// cpp/tests/test_cuda_host.cpp runs on the CPU against galaxyfit::invert / invert_gram / inversion_gradient.
//
// The same algorithm as cpp/src/inversion.cpp -- the Cholesky solve of A = F + H + J on the columns not held at zero;
// with positivity and a negative amplitude, the Lawson-Hanson active-set iterations on the Gram form started from
// that solution (Lawson & Hanson 1974, ch. 23; Bro & de Jong 1997), with the same tolerances and the same order of
// passive-set changes; the adjoint lambda = A_PP^-1 (J s)_P; s^T H s, ln det A_RR, ln det H_RR -- except that a
// variable leaving the passive set refactors A_PP instead of down-dating its factor by Givens rotations, and ln det
// A_RR is always its own factorization. Results agree with the CPU kernel to rounding. Header-only; all matrices are
// row-major k x k in caller-provided workspace.
#pragma once

#include <cmath>
#include <cstdint>

#include "scalar_math.hpp"

namespace galaxyfit {
namespace scalar {

/// Largest k the small inversion takes (its workspace per batch element: small_work_doubles(k) and
/// small_work_ints(k)).
constexpr int kMaxSmallInversion = 128;
GALAXYFIT_HD int64_t small_work_doubles(int64_t k) { return 3 * k * k + 6 * k; }
GALAXYFIT_HD int64_t small_work_ints(int64_t k) { return 6 * k; }

/// Status codes: galaxyfit::InversionStatus.
enum SmallStatus : int32_t {
  kSmallOk = 0,
  kSmallNotPD = 1,
  kSmallNnls = 2,
  kSmallNotFinite = 3,
  kSmallBadArgument = 4
};
/// Column flags: galaxyfit::InversionColumnFlag.
enum SmallFlag : int32_t { kSmallRegularized = 1, kSmallFreeSign = 2, kSmallHeldZero = 4 };

struct SmallSettings {
  bool positive_only;
  double diag_value;       // J on the unregularized diagonal
  int64_t max_iterations;  // 0: 3k + 100
  bool log_det_regularization;
  bool log_det_curvature_reg;
};

struct SmallTerms {
  int32_t status;
  double chi_squared, regularization_term, log_det_curvature_reg, log_det_regularization;
  int64_t iterations;
};

GALAXYFIT_HD bool finite(double x) { return x - x == 0.0; }

/// The five terms of a batch element as the FFI handlers return them: [chi^2, s^T H s, ln det A_RR, ln det H_RR,
/// iterations].
GALAXYFIT_HD void store_terms(const SmallTerms& t, double* out) {
  out[0] = t.chi_squared;
  out[1] = t.regularization_term;
  out[2] = t.log_det_curvature_reg;
  out[3] = t.log_det_regularization;
  out[4] = static_cast<double>(t.iterations);
}

// In-place lower Cholesky of the p x p matrix at l (leading dimension ld; the upper triangle is not read); false if
// it is not numerically positive definite.
GALAXYFIT_HD bool cholesky(double* l, int p, int ld) {
  for (int j = 0; j < p; ++j) {
    double pivot = l[j * ld + j];
    for (int q = 0; q < j; ++q) pivot -= l[j * ld + q] * l[j * ld + q];
    if (!(pivot > 0.0) || !finite(pivot)) return false;
    const double root = ::sqrt(pivot);
    l[j * ld + j] = root;
    for (int i = j + 1; i < p; ++i) {
      double v = l[i * ld + j];
      for (int q = 0; q < j; ++q) v -= l[i * ld + q] * l[j * ld + q];
      l[i * ld + j] = v / root;
    }
  }
  return true;
}

// x := (L L^T)^-1 x.
GALAXYFIT_HD void cholesky_solve(const double* l, int p, int ld, double* x) {
  for (int i = 0; i < p; ++i) {
    double v = x[i];
    for (int q = 0; q < i; ++q) v -= l[i * ld + q] * x[q];
    x[i] = v / l[i * ld + i];
  }
  for (int i = p - 1; i >= 0; --i) {
    double v = x[i];
    for (int q = i + 1; q < p; ++q) v -= l[q * ld + i] * x[q];
    x[i] = v / l[i * ld + i];
  }
}

// l := the factor of m restricted to index[0..p) (in that order); m is k x k.
GALAXYFIT_HD bool factor_subset(const double* m, int k, const int32_t* index, int p, double* l) {
  for (int i = 0; i < p; ++i)
    for (int j = 0; j <= i; ++j) l[i * k + j] = m[index[i] * k + index[j]];
  return cholesky(l, p, k);
}

GALAXYFIT_HD double log_det(const double* l, int p, int ld) {
  double sum = 0.0;
  for (int i = 0; i < p; ++i) sum += ::log(l[i * ld + i]);
  return 2.0 * sum;
}

// Orders the warm start's passive set as the CPU kernel does: free-sign columns first, then by decreasing guess (a
// stable insertion sort: equal keys keep their order), so the likeliest to leave P sit last in its factor.
GALAXYFIT_HD void order_warm_start(int32_t* list, int n, const int32_t* constrained, const double* guess) {
  for (int i = 1; i < n; ++i) {
    const int32_t j = list[i];
    const double key = constrained[j] ? guess[j] : INFINITY;
    int m = i - 1;
    for (; m >= 0 && (constrained[list[m]] ? guess[list[m]] : INFINITY) < key; --m) list[m + 1] = list[m];
    list[m + 1] = j;
  }
}

// The active set's state: the passive set P (ordered), its factor, and the solve on it.
struct Passive {
  const double* a;
  const double* d;
  int k;
  int32_t* p;     // P, in factor order
  int size;
  double* l;      // factor of A_PP, k x k storage
  double* w;      // k scratch

  // z (k values) := A_PP^-1 d_P on P, 0 elsewhere.
  GALAXYFIT_HD void solve(double* z) const {
    for (int i = 0; i < size; ++i) w[i] = d[p[i]];
    cholesky_solve(l, size, k, w);
    for (int j = 0; j < k; ++j) z[j] = 0.0;
    for (int i = 0; i < size; ++i) z[p[i]] = w[i];
  }
  // Appends j if A_PP stays numerically positive definite (cpp/src/inversion.cpp's PassiveFactor::append).
  GALAXYFIT_HD bool append(int j) {
    double* row = l + size * k;
    for (int i = 0; i < size; ++i) {
      double v = a[p[i] * k + j];
      for (int q = 0; q < i; ++q) v -= l[i * k + q] * row[q];
      row[i] = v / l[i * k + i];
    }
    double pivot = a[j * k + j];
    for (int i = 0; i < size; ++i) pivot -= row[i] * row[i];
    if (!(pivot > 1e-14 * ::fabs(a[j * k + j])) || !finite(pivot)) return false;
    row[size] = ::sqrt(pivot);
    p[size++] = j;
    return true;
  }
  // Removes position q and refactors (a principal block of a positive definite matrix stays one).
  GALAXYFIT_HD bool remove_at(int q) {
    for (int i = q; i + 1 < size; ++i) p[i] = p[i + 1];
    --size;
    return factor_subset(a, k, p, size, l);
  }
};

/// The inversion of A = F + H + J (built here from the curvature F, the regularization H or null, and the flags)
/// with data vector D: s (reconstruction) and lambda (adjoint), k values each, and the terms. With
/// chi_squared_from_gram, chi^2 = y^T y - 2 D^T s + s^T F s (invert_gram); else it is left 0 for the caller (the
/// columns form sums it from the residual, as invert does). guess: null, or the positive-only warm start of
/// invert_gram. work / iwork: small_work_doubles(k) and small_work_ints(k) entries.
GALAXYFIT_HD SmallTerms solve_small(const double* curvature, const double* data_vector, double data_norm, int k,
                                    const double* h, const int32_t* flags, const SmallSettings& settings,
                                    const double* guess, bool chi_squared_from_gram, double* s, double* lambda,
                                    double* work, int32_t* iwork) {
  SmallTerms t{kSmallOk, 0.0, 0.0, 0.0, 0.0, 0};
  const double nan = ::nan("");
  auto fail = [&](int32_t status) {
    for (int j = 0; j < k; ++j) s[j] = lambda[j] = 0.0;
    SmallTerms f{status, nan, nan, nan, nan, 0};
    return f;
  };
  if (k < 1 || k > kMaxSmallInversion) return fail(kSmallBadArgument);
  double* a = work;          // A
  double* l = a + k * k;     // a factor
  double* l2 = l + k * k;    // a second factor (A_RR, H_RR)
  double* z = l2 + k * k;
  double* x = z + k;
  double* w = x + k;
  double* g = w + k;
  int32_t* kept = iwork;
  int32_t* pset = kept + k;
  int32_t* in_p = pset + k;
  int32_t* blocked = in_p + k;
  int32_t* constrained = blocked + k;
  int32_t* reg = constrained + k;

  // A = F + H + J, the index sets, finiteness (cpp/src/inversion.cpp's finish_flags).
  int n_reg = 0, n_kept = 0;
  bool any_constrained = false, all_finite = finite(data_norm);
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) a[i * k + j] = curvature[i * k + j] + (h != nullptr ? h[i * k + j] : 0.0);
  for (int j = 0; j < k; ++j) {
    const bool regularized = (flags[j] & kSmallRegularized) != 0;
    if (regularized) {
      if (h == nullptr) return fail(kSmallBadArgument);
      reg[n_reg++] = j;
    } else {
      a[j * k + j] += settings.diag_value;
    }
    constrained[j] = settings.positive_only && (flags[j] & kSmallFreeSign) == 0;
    if (!(settings.positive_only && (flags[j] & kSmallHeldZero) != 0)) {
      kept[n_kept++] = j;
      any_constrained = any_constrained || constrained[j];  // over the kept columns, as the CPU kernel
    }
    all_finite = all_finite && finite(data_vector[j]);
  }
  for (int i = 0; i < k * k; ++i) all_finite = all_finite && finite(a[i]);
  if (!all_finite) return fail(kSmallNotFinite);
  if (n_kept == 0) return fail(kSmallBadArgument);

  const bool warm = guess != nullptr && any_constrained;
  const bool full_ok = warm ? false : factor_subset(a, k, kept, n_kept, l);
  if (!full_ok && !any_constrained) return fail(kSmallNotPD);
  for (int j = 0; j < k; ++j) s[j] = 0.0;
  if (warm) {
    for (int i = 0; i < n_kept; ++i) s[kept[i]] = constrained[kept[i]] ? guess[kept[i]] : 1.0;
  } else if (full_ok) {
    for (int i = 0; i < n_kept; ++i) w[i] = data_vector[kept[i]];
    cholesky_solve(l, n_kept, k, w);
    for (int i = 0; i < n_kept; ++i) s[kept[i]] = w[i];
  } else {
    for (int i = 0; i < n_kept; ++i) s[kept[i]] = -1.0;
  }
  bool negative = false;
  for (int i = 0; i < n_kept; ++i) negative = negative || (constrained[kept[i]] && !(s[kept[i]] > 0.0));

  Passive passive{a, data_vector, k, pset, 0, l, w};
  if (any_constrained && (negative || warm)) {
    // The passive set: every kept column with the unconstrained factor, else the free-sign columns (and the guess's
    // positive entries), factored at once or, if they are dependent, one at a time.
    for (int j = 0; j < k; ++j) in_p[j] = 0, blocked[j] = 0;
    if (full_ok) {
      for (int i = 0; i < n_kept; ++i) pset[i] = kept[i], in_p[kept[i]] = 1;
      passive.size = n_kept;
    } else {
      int n_initial = 0;
      for (int i = 0; i < n_kept; ++i) {
        const int j = kept[i];
        if (!constrained[j] || (warm && guess[j] > 0.0)) pset[n_initial++] = j;
      }
      if (warm) order_warm_start(pset, n_initial, constrained, guess);
      if (factor_subset(a, k, pset, n_initial, l)) {
        passive.size = n_initial;
        for (int i = 0; i < n_initial; ++i) in_p[pset[i]] = 1;
      } else {
        for (int i = 0; i < n_initial; ++i) blocked[i] = pset[i];  // a copy of the list (blocked is free until below)
        passive.size = 0;
        for (int i = 0; i < n_initial; ++i) {
          const int j = blocked[i];
          if (!in_p[j] && passive.append(j)) in_p[j] = 1;
        }
        for (int j = 0; j < k; ++j) blocked[j] = 0;
      }
    }
    auto infeasible = [&]() {
      for (int i = 0; i < passive.size; ++i)
        if (constrained[pset[i]] && !(z[pset[i]] > 0.0)) return true;
      return false;
    };
    passive.solve(z);
    while (infeasible()) {
      int kept_count = 0;
      for (int i = 0; i < passive.size; ++i) {
        const int j = pset[i];
        if (constrained[j] && !(z[j] > 0.0))
          in_p[j] = 0;
        else
          pset[kept_count++] = j;
      }
      passive.size = kept_count;
      if (!factor_subset(a, k, pset, kept_count, l)) {
        for (int i = 0; i < kept_count; ++i) in_p[pset[i]] = 0;
        passive.size = 0;
      }
      passive.solve(z);
    }
    for (int j = 0; j < k; ++j) x[j] = z[j];  // x: the current s of the iterations
    double scale = 0.0;
    for (int j = 0; j < k; ++j) scale = ::fmax(scale, ::fabs(data_vector[j]));
    scale = ::fmax(scale, 2.2250738585072014e-308);
    const int64_t max_iterations = settings.max_iterations > 0 ? settings.max_iterations : 3 * k + 100;
    for (int64_t iteration = 0;; ++iteration) {
      if (iteration > max_iterations) return fail(kSmallNnls);
      int best = -1;
      double largest_term = scale;
      for (int j = 0; j < k; ++j) {
        g[j] = 0.0;
        if (in_p[j] || blocked[j] || (settings.positive_only && (flags[j] & kSmallHeldZero) != 0)) continue;
        double value = data_vector[j], magnitude = 0.0;
        for (int i = 0; i < passive.size; ++i) {
          const double term = a[j * k + pset[i]] * x[pset[i]];
          value -= term;
          magnitude += ::fabs(term);
        }
        largest_term = ::fmax(largest_term, magnitude);
        g[j] = value;
      }
      double best_value = 1e-11 * largest_term;
      for (int j = 0; j < k; ++j) {
        if (in_p[j] || blocked[j] || (settings.positive_only && (flags[j] & kSmallHeldZero) != 0)) continue;
        if (g[j] > best_value) best = j, best_value = g[j];
      }
      if (best < 0) {
        t.iterations = iteration;
        break;
      }
      if (!passive.append(best)) {
        blocked[best] = 1;
        continue;
      }
      in_p[best] = 1;
      passive.solve(z);
      if (!(z[best] > 0.0)) {
        if (!passive.remove_at(passive.size - 1)) return fail(kSmallNotPD);
        in_p[best] = 0;
        blocked[best] = 1;
        continue;
      }
      for (int j = 0; j < k; ++j) blocked[j] = 0;
      while (infeasible()) {
        double alpha = 1.0;
        int first = -1;  // reaches 0 first: leaves P even if rounding leaves it a hair above 0 (as the CPU kernel)
        for (int i = 0; i < passive.size; ++i) {
          const int j = pset[i];
          if (constrained[j] && !(z[j] > 0.0)) {
            const double ratio = x[j] / (x[j] - z[j]);
            if (ratio < alpha) alpha = ratio, first = j;
          }
        }
        for (int j = 0; j < k; ++j) x[j] += alpha * (z[j] - x[j]);
        if (first >= 0) x[first] = 0.0;
        for (int q = passive.size - 1; q >= 0; --q) {
          const int j = pset[q];
          if (constrained[j] && !(x[j] > 0.0)) {
            for (int i = q; i + 1 < passive.size; ++i) pset[i] = pset[i + 1];
            --passive.size;
            in_p[j] = 0;
            x[j] = 0.0;
          }
        }
        if (!factor_subset(a, k, pset, passive.size, l)) return fail(kSmallNotPD);
        passive.solve(z);
      }
      for (int j = 0; j < k; ++j) x[j] = z[j];
    }
    // s on P from the factor of A_PP; lambda = A_PP^-1 (J s)_P.
    passive.solve(z);
    for (int j = 0; j < k; ++j) s[j] = 0.0;
    for (int i = 0; i < passive.size; ++i) {
      const int j = pset[i];
      s[j] = constrained[j] && z[j] < 0.0 ? 0.0 : z[j];  // std::max(z, 0.0): a NaN stays NaN (then kSmallNotFinite)
    }
    for (int i = 0; i < passive.size; ++i) {
      const int j = pset[i];
      w[i] = (flags[j] & kSmallRegularized) != 0 ? 0.0 : settings.diag_value * s[j];
    }
    cholesky_solve(l, passive.size, k, w);
    for (int j = 0; j < k; ++j) lambda[j] = 0.0;
    for (int i = 0; i < passive.size; ++i) lambda[pset[i]] = w[i];
  } else {
    for (int i = 0; i < n_kept; ++i) {
      const int j = kept[i];
      w[i] = (flags[j] & kSmallRegularized) != 0 ? 0.0 : settings.diag_value * s[j];
    }
    cholesky_solve(l, n_kept, k, w);
    for (int j = 0; j < k; ++j) lambda[j] = 0.0;
    for (int i = 0; i < n_kept; ++i) lambda[kept[i]] = w[i];
  }

  if (h != nullptr) {
    double sum = 0.0;
    for (int i = 0; i < k; ++i) {
      double row = 0.0;
      for (int j = 0; j < k; ++j) row += h[i * k + j] * s[j];
      sum += s[i] * row;
    }
    t.regularization_term = sum;
  }
  if (n_reg > 0 && settings.log_det_curvature_reg) {
    if (!factor_subset(a, k, reg, n_reg, l2)) return fail(kSmallNotPD);
    t.log_det_curvature_reg = log_det(l2, n_reg, k);
  }
  if (n_reg > 0 && settings.log_det_regularization) {
    if (!factor_subset(h, k, reg, n_reg, l2)) return fail(kSmallNotPD);
    t.log_det_regularization = log_det(l2, n_reg, k);
  }
  if (chi_squared_from_gram) {
    double fs = 0.0, ds = 0.0;
    for (int i = 0; i < k; ++i) {
      double row = 0.0;
      for (int j = 0; j < k; ++j) row += curvature[i * k + j] * s[j];
      fs += s[i] * row;
      ds += data_vector[i] * s[i];
    }
    t.chi_squared = data_norm - 2.0 * ds + fs;
    if (!finite(t.chi_squared)) return fail(kSmallNotFinite);
  }
  if (!finite(t.regularization_term)) return fail(kSmallNotFinite);
  return t;
}

/// The inverses the gradient's log-determinant terms need (cpp/src/inversion.cpp's inversion_gradient): a_inv and
/// h_inv (k x k, zero outside R x R) := A_RR^-1 and H_RR^-1, A = F + H + J. Returns a SmallStatus.
GALAXYFIT_HD int32_t regularized_inverses(const double* curvature, int k, const double* h, const int32_t* flags,
                                          double diag_value, double* a_inv, double* h_inv, double* work,
                                          int32_t* iwork) {
  double* a = work;
  double* l = a + k * k;
  double* col = l + k * k;
  int32_t* reg = iwork;
  int n_reg = 0;
  for (int j = 0; j < k; ++j)
    if ((flags[j] & kSmallRegularized) != 0) reg[n_reg++] = j;
  for (int i = 0; i < k * k; ++i) a_inv[i] = h_inv[i] = 0.0;
  if (n_reg == 0) return kSmallOk;
  if (h == nullptr) return kSmallBadArgument;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j)
      a[i * k + j] = curvature[i * k + j] + h[i * k + j] +
                     (i == j && (flags[j] & kSmallRegularized) == 0 ? diag_value : 0.0);
  for (int m = 0; m < 2; ++m) {
    double* inverse = m == 0 ? a_inv : h_inv;
    if (!factor_subset(m == 0 ? a : h, k, reg, n_reg, l)) return kSmallNotPD;
    for (int c = 0; c < n_reg; ++c) {
      for (int i = 0; i < n_reg; ++i) col[i] = i == c ? 1.0 : 0.0;
      cholesky_solve(l, n_reg, k, col);
      for (int i = 0; i < n_reg; ++i) inverse[reg[i] * k + reg[c]] = col[i];
    }
  }
  return kSmallOk;
}

/// Pixel i of the gradient of E = chi^2 + s^T H s + ln det A_RR - ln det H_RR (inversion.hpp's inversion_gradient):
/// dE/dB_w[j, i] for every column j (into grad_columns[j * n + i]) and dE/dy[i], from the columns (k x n), y_i,
/// s, lambda and a_inv = A_RR^-1 (k x k, zero outside R; regularized_inverses).
GALAXYFIT_HD double gradient_pixel(const double* columns, int64_t n, int k, double y_i, int64_t i, const double* s,
                                   const double* lambda, const double* a_inv, double* grad_columns) {
  double r = y_i, u = 0.0;
  for (int j = 0; j < k; ++j) {  // zero amplitudes skipped, as the CPU kernel does (a rejected sample: s = 0)
    const double b = columns[j * n + i];
    if (s[j] != 0.0) r -= s[j] * b;
    if (lambda[j] != 0.0) u += lambda[j] * b;
  }
  for (int j = 0; j < k; ++j) {
    double g = -2.0 * (r * (s[j] + lambda[j]) - u * s[j]);
    if (a_inv != nullptr)
      for (int l = 0; l < k; ++l) {
        const double w = a_inv[l * k + j];
        if (w != 0.0) g += 2.0 * w * columns[l * n + i];
      }
    grad_columns[j * n + i] = g;
  }
  return 2.0 * (r - u);
}

/// dE/dH (k x k) = s s^T + lambda s^T + s lambda^T + A_RR^-1 - H_RR^-1 (the last two from regularized_inverses).
GALAXYFIT_HD void gradient_regularization(int k, const double* s, const double* lambda, const double* a_inv,
                                          const double* h_inv, double* grad) {
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j)
      grad[i * k + j] = s[i] * s[j] + lambda[i] * s[j] + s[i] * lambda[j] + a_inv[i * k + j] - h_inv[i * k + j];
}

}  // namespace scalar
}  // namespace galaxyfit
