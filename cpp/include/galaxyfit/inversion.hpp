// The regularized linear inversion shared by linear light profiles, multi-Gaussian expansions and (later) pixelized
// reconstructions: plain C++17, no Python, no XLA.
//
// Notation (Warren & Dye 2003, ApJ 590, 673; Suyu et al. 2006, MNRAS 371, 983; PyAutoArray's names): n unmasked
// pixels, k linear parameters. The caller hands over the *weighted* blurred columns b_j = B_j / sigma (each a linear
// object's PSF-convolved image at unit amplitude, divided by the noise) and the weighted data y = d / sigma (the data
// minus any non-linear model, divided by the noise). Then
//
//   data vector      D = B_w^T y                         (D_j = sum_i B_ij d_i / sigma_i^2)
//   curvature matrix F = B_w^T B_w                        (F_jk = sum_i B_ij B_ik / sigma_i^2)
//   A = F + H + J,   J = diag(no_regularization_add_to_curvature_diag_value) on unregularized columns, 0 elsewhere
//   reconstruction s: A s = D (unconstrained), or min 1/2 s^T A s - D^T s subject to s_j >= 0 for every column
//                     that is not free-sign (positive-only: an active-set NNLS, Lawson & Hanson 1974, ch. 23, on the
//                     Gram form as Bro & de Jong 1997, J. Chemometrics 11, 393)
//   chi^2 = |y - B_w s|^2,   regularization term = s^T H s,
//   log det terms over the regularized columns R only: ln det A_RR and ln det H_RR (both 0 when R is empty),
//
// so that the log evidence is -1/2 [chi^2 + s^T H s + ln det A_RR - ln det H_RR + sum ln(2 pi sigma^2)] with
// PyAutoGalaxy 2026.10.26.1's conventions (autoarray/fit/fit_util.py::log_evidence_from): J changes s but is not
// penalized, and with nothing regularized the evidence is the log likelihood.
#pragma once

#include <cstdint>

namespace galaxyfit {

/// Column flags (bit mask), one per linear parameter.
enum InversionColumnFlag : int32_t {
  kColumnRegularized = 1,  ///< part of the regularized block R (H has a block here; no J on the diagonal)
  kColumnFreeSign = 2,     ///< exempt from the positivity constraint (e.g. a linear sky level)
  kColumnHeldZero = 4,     ///< held at 0 by the positive-only solver (a mesh's edge-zeroed pixel); still in R's
                           ///< log-determinants, as PyAutoArray counts them; ignored without positivity
};

/// Outcome of an inversion; anything but kOk means the caller should reject the sample.
enum class InversionStatus : int32_t {
  kOk = 0,
  kNotPositiveDefinite = 1,  ///< A (or A_RR, A on the passive set, or H_RR) failed its Cholesky factorization
  kNnlsNotConverged = 2,     ///< the active-set iterations hit their limit (cycling on a degenerate problem)
  kNotFinite = 3,            ///< a non-finite value in the columns, data or regularization matrix
  kBadArgument = 4,          ///< inconsistent sizes or flags
};

struct InversionSettings {
  bool positive_only = true;                                   ///< s_j >= 0 except free-sign columns
  double no_regularization_add_to_curvature_diag_value = 1e-3;  ///< J: added to F_jj of unregularized columns
  int64_t max_iterations = 0;                                  ///< NNLS passive-set changes; 0: 3k + 100
  bool compute_log_det_regularization = true;  ///< false: ln det H_RR is the caller's (a closed form), reported as 0
  bool compute_log_det_curvature_reg = true;   ///< false: ln det A_RR is the caller's, reported as 0
};

/// Scalars of an inversion (definitions at the top of this file).
struct InversionTerms {
  InversionStatus status = InversionStatus::kOk;
  double chi_squared = 0.0;
  double regularization_term = 0.0;
  double log_det_curvature_reg = 0.0;  ///< ln det A_RR
  double log_det_regularization = 0.0;  ///< ln det H_RR
  int64_t iterations = 0;               ///< NNLS passive-set changes (0 for the unconstrained solve)
};

/// Solves the inversion.
///
/// columns: k x n, row-major (column j of B_w is columns[j * n .. j * n + n)); data: y (n); regularization: H, k x k
/// row-major, symmetric, zero outside the regularized block (nullptr: no regularization); flags: k entries of
/// InversionColumnFlag. Outputs: reconstruction s (k; exactly 0 on the active set of the positive-only solve) and
/// adjoint (k): lambda = A_PP^-1 (J s)_P on the passive set P (0 elsewhere), the one extra solve that the gradient
/// needs because J moves s away from the minimum of chi^2 + s^T H s (inversion_gradient). Never throws; failures
/// are reported in the status, with s and lambda set to 0.
InversionTerms invert(const double* columns, const double* data, int64_t n, int64_t k, const double* regularization,
                      const int32_t* flags, const InversionSettings& settings, double* reconstruction, double* adjoint);

/// The same solve from the Gram form, for linear objects whose columns are never formed densely (a pixelization's
/// sparse blurred mapping matrix): curvature F = B_w^T B_w (k x k row-major, symmetric, without H and J),
/// data_vector D = B_w^T y, data_norm y^T y. chi^2 = y^T y - 2 D^T s + s^T F s (exact in exact arithmetic; in floating
/// point its absolute error is ~1e-16 y^T y). Outputs and failures as invert().
///
/// guess (k, or nullptr): an approximate solution whose positive entries start the positive-only solve's passive set
/// instead of the unconstrained solve's factorization (e.g. a pixelization's unconstrained solution from a
/// decomposition computed once); the optimum does not depend on it.
InversionTerms invert_gram(const double* curvature, const double* data_vector, double data_norm, int64_t k,
                           const double* regularization, const int32_t* flags, const InversionSettings& settings,
                           double* reconstruction, double* adjoint, const double* guess = nullptr);

/// Gradient of E = chi^2 + s^T H s + ln det A_RR - ln det H_RR (i.e. -2 x the log evidence without its constant)
/// at a solution of invert(), by implicit differentiation: the envelope theorem for s on the passive set plus the
/// adjoint term for J, so no derivative of s is formed:
///
///   dE/dB_w = -2 [r (s + lambda)^T - (B_w lambda) s^T - B_wR A_RR^-1]    (B_wR A_RR^-1 placed in the R columns)
///   dE/dy   =  2 [r - B_w lambda]
///   dE/dH   =  s s^T + lambda s^T + s lambda^T + A_RR^-1 - H_RR^-1     (the last two in the R x R block)
///
/// with r = y - B_w s. The active set is held fixed (the evidence is piecewise smooth where it changes).
/// grad_columns: k x n row-major like columns; grad_data: n; grad_regularization: k x k (may be nullptr when
/// regularization is nullptr). Returns kOk, or the status of a failed factorization (outputs then 0).
InversionStatus inversion_gradient(const double* columns, const double* data, int64_t n, int64_t k,
                                   const double* regularization, const int32_t* flags, const InversionSettings& settings,
                                   const double* reconstruction, const double* adjoint, double* grad_columns,
                                   double* grad_data, double* grad_regularization);

/// The lower triangle of the Gram matrix of m rows of length n, gram[i * m + j] = rows[i] . rows[j] for j <= i
/// (m x m row-major; entries above the diagonal are not written). With rows = (b_1, ..., b_k, y) it gives F, D (the
/// last row) and y^T y in one pass over the columns. Compiled per x86-64 level and picked at run time.
void gram_lower(const double* const* rows, int64_t m, int64_t n, double* gram);

}  // namespace galaxyfit
