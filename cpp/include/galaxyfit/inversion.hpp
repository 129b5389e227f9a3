/// \file galaxyfit/inversion.hpp
/// \brief The regularized linear inversion shared by linear light profiles, multi-Gaussian expansions and pixelized
///        reconstructions: plain C++17, no Python, no XLA.
///
/// Notation (Warren & Dye 2003, ApJ 590, 673; Suyu et al. 2006, MNRAS 371, 983; PyAutoArray's names): n unmasked
/// pixels, k linear parameters. The caller hands over the *weighted* blurred columns b_j = B_j / sigma (each a linear
/// object's PSF-convolved image at unit amplitude, divided by the noise) and the weighted data y = d / sigma (the data
/// minus any non-linear model, divided by the noise). Then
///
///     data vector      D = B_w^T y                         (D_j = sum_i B_ij d_i / sigma_i^2)
///     curvature matrix F = B_w^T B_w                        (F_jk = sum_i B_ij B_ik / sigma_i^2)
///     A = F + H + J,   J = diag(no_regularization_add_to_curvature_diag_value) on unregularized columns, 0 elsewhere
///     reconstruction s: A s = D (unconstrained), or min 1/2 s^T A s - D^T s subject to s_j >= 0 for every column
///                       that is not free-sign (positive-only: an active-set NNLS, Lawson & Hanson 1974, ch. 23, on
///                       the Gram form as Bro & de Jong 1997, J. Chemometrics 11, 393)
///     chi^2 = |y - B_w s|^2,   regularization term = s^T H s,
///     log det terms over the regularized columns R only: ln det A_RR and ln det H_RR (both 0 when R is empty),
///
/// so that the log evidence is -1/2 [chi^2 + s^T H s + ln det A_RR - ln det H_RR + sum ln(2 pi sigma^2)] with
/// PyAutoGalaxy 2026.10.26.1's conventions (autoarray/fit/fit_util.py, function log_evidence_from): J changes s but is not
/// penalized, and with nothing regularized the evidence is the log likelihood.
///
/// Units: s is in the data's unit per unit of column (with columns at unit amplitude, the linear objects' fitted
/// amplitudes); chi^2, the regularization term and the log-determinant differences are dimensionless when sigma
/// is in the data's unit. All matrices are row-major float64.
///
/// Python reference: python/galaxyfit/kernels/inversion.py (`invert`, `invert_gram` and their derivative rules);
/// tests/test_inversion.py compares the kernel with dense numpy solves and scipy's NNLS.
#pragma once

#include <cstdint>

namespace galaxyfit {

/// \brief Column flags (bit mask), one per linear parameter.
enum InversionColumnFlag : int32_t {
  kColumnRegularized = 1,  ///< part of the regularized block R (H has a block here; no J on the diagonal)
  kColumnFreeSign = 2,     ///< exempt from the positivity constraint (e.g. a linear sky level)
  kColumnHeldZero = 4,     ///< held at 0 by the positive-only solver (a mesh's edge-zeroed pixel); still in R's
                           ///< log-determinants, as PyAutoArray counts them; ignored without positivity
};

/// \brief Outcome of an inversion; anything but kOk means the caller should reject the sample.
enum class InversionStatus : int32_t {
  kOk = 0,                   ///< solved
  kNotPositiveDefinite = 1,  ///< A (or A_RR, A on the passive set, or H_RR) failed its Cholesky factorization
  kNnlsNotConverged = 2,     ///< the active-set iterations hit their limit (cycling on a degenerate problem)
  kNotFinite = 3,            ///< a non-finite value in the columns, data or regularization matrix (or in chi^2 or
                             ///< s^T H s)
  kBadArgument = 4,          ///< inconsistent sizes or flags: k < 1, n < 0, a regularized column without a
                             ///< regularization matrix, or every column held at zero
};

/// \brief Settings of the solve.
struct InversionSettings {
  bool positive_only = true;                                   ///< s_j >= 0 except free-sign columns
  double no_regularization_add_to_curvature_diag_value = 1e-3;  ///< J: added to F_jj of unregularized columns
                                                                ///< (PyAutoArray's setting of that name)
  int64_t max_iterations = 0;                                  ///< NNLS passive-set changes; 0: 3k + 100
  bool compute_log_det_regularization = true;  ///< false: ln det H_RR is the caller's (a closed form), reported as 0
  bool compute_log_det_curvature_reg = true;   ///< false: ln det A_RR is the caller's, reported as 0
};

/// \brief Scalars of an inversion (definitions in this file's description). On failure (status != kOk) the four
///        doubles are NaN.
struct InversionTerms {
  InversionStatus status = InversionStatus::kOk;  ///< kOk, or why the solve failed
  double chi_squared = 0.0;            ///< |y - B_w s|^2
  double regularization_term = 0.0;    ///< s^T H s (0 without a regularization matrix)
  double log_det_curvature_reg = 0.0;  ///< ln det A_RR
  double log_det_regularization = 0.0;  ///< ln det H_RR
  int64_t iterations = 0;               ///< NNLS passive-set changes (0 for the unconstrained solve)
};

/// \brief Solves the inversion from the weighted columns and data.
///
/// A = F + H + J and D are formed with gram_lower (one pass over the columns); the unconstrained solution is a
/// Cholesky solve of A; with positive_only and a negative amplitude among the constrained columns, the active-set
/// iterations start from that solution. chi^2 is summed from the residual y - B_w s (not from the Gram form, which
/// loses digits to cancellation at high signal-to-noise).
///
/// \param columns        B_w, k x n row-major: column j of B_w (object j's blurred image at unit amplitude divided by
///                       sigma, in slim pixel order) is columns[j * n .. j * n + n).
/// \param data           y = (d - non-linear model) / sigma, n values.
/// \param n              unmasked pixels (>= 0).
/// \param k              linear parameters (>= 1).
/// \param regularization H, k x k row-major, symmetric, zero outside the regularized block; nullptr: no
///                       regularization (then no column may carry kColumnRegularized).
/// \param flags          k entries of InversionColumnFlag bits.
/// \param settings       see InversionSettings.
/// \param reconstruction output s, k values (exactly 0 on the active set of the positive-only solve).
/// \param adjoint        output lambda, k values: lambda = A_PP^-1 (J s)_P on the passive set P (0 elsewhere), the
///                       one extra solve that the gradient needs because J moves s away from the minimum of
///                       chi^2 + s^T H s (inversion_gradient).
/// \return the terms; failures are reported in the status (kBadArgument, kNotFinite, kNotPositiveDefinite,
///         kNnlsNotConverged), with s and lambda set to 0 and the terms NaN. Throws nothing but std::bad_alloc.
InversionTerms invert(const double* columns, const double* data, int64_t n, int64_t k, const double* regularization,
                      const int32_t* flags, const InversionSettings& settings, double* reconstruction, double* adjoint);

/// \brief The same solve from the Gram form, for linear objects whose columns are never formed densely (a
///        pixelization's sparse blurred mapping matrix; see galaxyfit/mapping.hpp).
///
/// chi^2 = y^T y - 2 D^T s + s^T F s (exact in exact arithmetic; in floating point its absolute error is
/// ~1e-16 y^T y).
///
/// \param curvature      F = B_w^T B_w, k x k row-major, symmetric, without H and J.
/// \param data_vector    D = B_w^T y, k values.
/// \param data_norm      y^T y.
/// \param k, regularization, flags, settings, reconstruction, adjoint as invert().
/// \param guess          k values, or nullptr: an approximate solution whose positive entries start the
///                       positive-only solve's passive set instead of the unconstrained solve's factorization (e.g. a
///                       pixelization's unconstrained solution from a decomposition computed once); the optimum does
///                       not depend on it. Ignored when no column is constrained.
/// \return as invert() (kBadArgument for k < 1).
InversionTerms invert_gram(const double* curvature, const double* data_vector, double data_norm, int64_t k,
                           const double* regularization, const int32_t* flags, const InversionSettings& settings,
                           double* reconstruction, double* adjoint, const double* guess = nullptr);

/// \brief Gradient of E = chi^2 + s^T H s + ln det A_RR - ln det H_RR (i.e. -2 x the log evidence without its
///        constant) at a solution of invert(), by implicit differentiation.
///
/// The envelope theorem for s on the passive set plus the adjoint term for J, so no derivative of s is formed:
///
///     dE/dB_w = -2 [r (s + lambda)^T - (B_w lambda) s^T - B_wR A_RR^-1]    (B_wR A_RR^-1 placed in the R columns)
///     dE/dy   =  2 [r - B_w lambda]
///     dE/dH   =  s s^T + lambda s^T + s lambda^T + A_RR^-1 - H_RR^-1     (the last two in the R x R block)
///
/// with r = y - B_w s. The active set is held fixed (the evidence is piecewise smooth where it changes).
///
/// \param columns, data, n, k, regularization, flags, settings as given to invert().
/// \param reconstruction, adjoint invert()'s outputs s and lambda (k values each).
/// \param grad_columns   output, k x n row-major like columns.
/// \param grad_data      output, n values.
/// \param grad_regularization output, k x k row-major (may be nullptr when regularization is nullptr).
/// \return kOk; kBadArgument for a regularized column without a regularization matrix (outputs then 0); or the
///         status of a failed rebuild of A or factorization of A_RR or H_RR, in which case the outputs hold only the
///         terms computed before it (the log-determinant terms are missing) and must be discarded. Throws nothing
///         but std::bad_alloc.
InversionStatus inversion_gradient(const double* columns, const double* data, int64_t n, int64_t k,
                                   const double* regularization, const int32_t* flags, const InversionSettings& settings,
                                   const double* reconstruction, const double* adjoint, double* grad_columns,
                                   double* grad_data, double* grad_regularization);

/// \brief The lower triangle of the Gram matrix of m rows of length n.
///
/// gram[i * m + j] = rows[i] . rows[j] for j <= i (m x m row-major; entries above the diagonal are not written).
/// With rows = (b_1, ..., b_k, y) it gives F, D (the last row) and y^T y in one pass over the columns. Compiled per
/// x86-64 level and picked at run time.
/// \param rows m pointers to arrays of n values each.
/// \param m    number of rows.
/// \param n    length of each row.
/// \param gram output, m x m row-major (lower triangle written).
void gram_lower(const double* const* rows, int64_t m, int64_t n, double* gram);

}  // namespace galaxyfit
