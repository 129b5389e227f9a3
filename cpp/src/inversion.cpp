#include "galaxyfit/inversion.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "cholesky_kernel.hpp"
#include "gram_kernel.hpp"

namespace galaxyfit {
namespace {

using Eigen::Index;
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
using Vector = Eigen::VectorXd;
using RowMajorConst = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

#if defined(GALAXYFIT_X86_DISPATCH)
// The kernel compiled for the best x86-64 level this CPU supports (v4: AVX-512; v3: AVX2 + FMA), else the baseline.
template <class Fn>
Fn pick_isa(Fn v4, Fn v3, Fn baseline) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return v4;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return v3;
  return baseline;
}
#define GALAXYFIT_PICK(NAME) pick_isa(detail::NAME##_x86_v4, detail::NAME##_x86_v3, detail::NAME##_baseline)
#else
#define GALAXYFIT_PICK(NAME) detail::NAME##_baseline
#endif

const detail::GramFn gram_kernel = GALAXYFIT_PICK(gram_lower);
const detail::CholeskyFn cholesky_kernel = GALAXYFIT_PICK(cholesky_lower);
const detail::LowerSolveFn lower_solve_kernel = GALAXYFIT_PICK(lower_solve);
const detail::CholeskyStridedFn cholesky_strided_kernel = GALAXYFIT_PICK(cholesky_strided);
// The passive factor's triangular solves, in Eigen compiled for this machine (this file is compiled for the baseline
// instruction set).
const detail::VectorSolveFn vector_solve_kernel = GALAXYFIT_PICK(vector_solve);

// A Cholesky factor L (lower triangle of `l`) of a symmetric positive definite block, from the kernel compiled for
// this machine's instruction set, and solves with it.
struct Factor {
  Matrix l;
  template <typename Rhs>
  Matrix solve(const Rhs& b) const {
    Matrix y = l.triangularView<Eigen::Lower>().solve(b);
    return l.triangularView<Eigen::Lower>().transpose().solve(y);
  }
  Vector solve(const Vector& b) const {
    Vector y = l.triangularView<Eigen::Lower>().solve(b);
    return l.triangularView<Eigen::Lower>().transpose().solve(y);
  }
};

// Memory a thread keeps from one solve to the next for the k x k matrices of the active-set solve (the passive factor;
// A itself in the Gram form): at a 900-pixel mesh each is 6.5 MB, and a fresh allocation
// of that size costs page faults and zeroing on every call (a fifth of a positive-only solve's time, perf). Beyond
// kKeptDoubles the O(k^3) work dwarfs that, and the memory is given back after the call.
constexpr size_t kKeptDoubles = size_t(2048) * 2048;

struct ThreadScratch {
  Matrix a;        // A = F + H + J (invert_gram)
  Matrix passive;  // the passive factor's storage, k x k (blocks of A are factored in it, in place)
  void trim() {
    if (static_cast<size_t>(a.size()) > kKeptDoubles) a.resize(0, 0);
    if (static_cast<size_t>(passive.size()) > kKeptDoubles) passive.resize(0, 0);
  }
};

ThreadScratch& thread_scratch() {
  thread_local ThreadScratch scratch;
  return scratch;
}

// Gives the thread's scratch memory back at scope exit if it grew beyond kKeptDoubles.
struct TrimScratchOnExit {
  ~TrimScratchOnExit() { thread_scratch().trim(); }
};

bool regularized(int32_t flag) { return (flag & kColumnRegularized) != 0; }
bool free_sign(int32_t flag) { return (flag & kColumnFreeSign) != 0; }

// A factor L of A restricted to an ordered index set P (A_PP = L L^T), kept up to date as P gains and loses indices
// (Golub & Van Loan, Matrix Computations, 4th ed., 6.5.4: appending a row; deleting one by Givens rotations), so
// each change of the active-set iteration costs O(p^2) instead of a new O(p^3) factorization.
class PassiveFactor {
 public:
  // The factor lives in the thread's scratch (only its lower triangle over P is ever read: rows appended, moved and
  // rotated in place write every entry that is read later).
  PassiveFactor(const Eigen::Ref<const Matrix>& a, Index k) : a_(a), l_(thread_scratch().passive) { l_.resize(k, k); }

  const std::vector<Index>& indices() const { return p_; }
  Index size() const { return static_cast<Index>(p_.size()); }
  const Eigen::Ref<const Matrix>& matrix() const { return a_; }

  // The right-hand side d of solve_d(): the factor then keeps y = L^-1 d_P up to date through its changes (a new
  // entry per appended row; the down-dates' rotations applied to y), so that each solve_d() costs one triangular
  // solve instead of two.
  void track(const Vector& d) {
    d_ = &d;
    y_valid_ = false;
  }

  // Replaces P by `indices` whose factor L (A_PP = L L^T, P in this order) is already known.
  void adopt(const std::vector<Index>& indices, const Matrix& l) {
    const Index p = static_cast<Index>(indices.size());
    l_.topLeftCorner(p, p) = l.triangularView<Eigen::Lower>();
    p_ = indices;
    y_valid_ = false;
  }

  // Replaces P by `indices` with one blocked factorization (the instruction-set kernel), far faster than appending
  // them one by one; false (P then empty) when A_PP is not numerically positive definite.
  bool assign(const std::vector<Index>& indices) {
    const Index p = static_cast<Index>(indices.size());
    p_.clear();
    y_valid_ = false;
    for (Index j = 0; j < p; ++j)  // A_PP's lower triangle, factored where the factor is kept
      for (Index i = j; i < p; ++i) l_(i, j) = a_(indices[i], indices[j]);
    if (p > 0 && !cholesky_strided_kernel(l_.data(), p, l_.rows())) return false;
    for (Index i = 0; i < p; ++i)
      if (!(l_(i, i) > 0.0) || !std::isfinite(l_(i, i))) return false;
    p_ = indices;
    return true;
  }

  // Appends index j; false (and no change) when A_PP would not stay numerically positive definite.
  bool append(Index j) {
    const Index p = size();
    Vector row(p);
    for (Index i = 0; i < p; ++i) row(i) = a_(p_[i], j);
    if (p > 0) vector_solve_kernel(l_.data(), p, l_.rows(), row.data(), false);
    const double pivot = a_(j, j) - row.squaredNorm();
    if (!(pivot > 1e-14 * std::abs(a_(j, j))) || !std::isfinite(pivot)) return false;
    l_.row(p).head(p) = row.transpose();
    l_(p, p) = std::sqrt(pivot);
    p_.push_back(j);
    if (y_valid_) y_(p) = ((*d_)(j) - row.dot(y_.head(p))) / l_(p, p);
    return true;
  }

  // Removes the index at position q of P.
  void remove_at(Index q) {
    const Index p = size();
    // Drop row q: in each column the rows below it move up one, a contiguous move in column-major storage (only the
    // lower triangle is ever read, so column c moves from row max(q, c - 1) on).
    for (Index c = 0; c < p; ++c) {
      const Index start = std::max(q, c - 1);
      if (start + 1 < p) std::memmove(&l_(start, c), &l_(start + 1, c), sizeof(double) * static_cast<size_t>(p - 1 - start));
    }
    l_.row(p - 1).setZero();
    // Rows q .. p-2 now reach one column past the diagonal; rotate column pairs (r, r+1) to clear it.
    for (Index r = q; r + 1 < p; ++r) {
      const double x = l_(r, r), y = l_(r, r + 1);
      const double h = std::hypot(x, y);
      if (h == 0.0) continue;
      const double c = x / h, s = y / h;
      for (Index i = r; i + 1 < p; ++i) {
        const double u = l_(i, r), v = l_(i, r + 1);
        l_(i, r) = c * u + s * v;
        l_(i, r + 1) = -s * u + c * v;
      }
      if (y_valid_) {  // L y = d_P holds with the rotated columns and G^T y
        const double u = y_(r), v = y_(r + 1);
        y_(r) = c * u + s * v;
        y_(r + 1) = -s * u + c * v;
      }
      if (l_(r, r) < 0.0) {
        for (Index i = r; i + 1 < p; ++i) l_(i, r) = -l_(i, r);
        if (y_valid_) y_(r) = -y_(r);
      }
    }
    l_.col(p - 1).setZero();
    p_.erase(p_.begin() + q);
  }

  // z_P = A_PP^-1 d_P for the tracked d, returned on the full index range (0 outside P).
  Vector solve_d() {
    const Index p = size();
    if (!y_valid_) {
      if (y_.size() < l_.rows()) y_.resize(l_.rows());
      for (Index i = 0; i < p; ++i) y_(i) = (*d_)(p_[i]);
      if (p > 0) vector_solve_kernel(l_.data(), p, l_.rows(), y_.data(), false);
      y_valid_ = true;
    }
    Vector w = y_.head(p);
    if (p > 0) vector_solve_kernel(l_.data(), p, l_.rows(), w.data(), true);
    Vector z = Vector::Zero(d_->size());
    for (Index i = 0; i < p; ++i) z(p_[i]) = w(i);
    return z;
  }

  // z_P = A_PP^-1 rhs_P, returned on the full index range (0 outside P).
  Vector solve(const Vector& rhs) const {
    const Index p = size();
    Vector w(p);
    for (Index i = 0; i < p; ++i) w(i) = rhs(p_[i]);
    if (p > 0) {
      vector_solve_kernel(l_.data(), p, l_.rows(), w.data(), false);
      vector_solve_kernel(l_.data(), p, l_.rows(), w.data(), true);
    }
    Vector z = Vector::Zero(rhs.size());
    for (Index i = 0; i < p; ++i) z(p_[i]) = w(i);
    return z;
  }

 private:
  Eigen::Ref<const Matrix> a_;
  Matrix& l_;
  std::vector<Index> p_;
  const Vector* d_ = nullptr;
  Vector y_;               // L^-1 d_P (its first |P| entries) while y_valid_
  bool y_valid_ = false;
};

// Lawson-Hanson active-set NNLS on the Gram form: min 1/2 s^T A s - D^T s with s_j >= 0 for constrained j, started
// from the passive set `initial` (made feasible by dropping the indices whose solution is not positive). Returns
// the passive set at the optimum (KKT: (A s - D)_j = 0 on it, >= -tol off it) or an empty optional on failure.
struct NnlsOutcome {
  bool ok = false;
  InversionStatus status = InversionStatus::kOk;
  int64_t iterations = 0;
};

// At the optimum `factor` holds the passive set and the factor of A_PP (A = factor.matrix()).
NnlsOutcome active_set_nnls(PassiveFactor& factor, const Vector& d, const std::vector<bool>& constrained,
                            const std::vector<Index>& initial, int64_t max_iterations, const std::vector<bool>& excluded,
                            const Matrix* initial_factor = nullptr) {
  const Eigen::Ref<const Matrix>& a = factor.matrix();
  const Index k = a.rows();
  NnlsOutcome out;
  factor.track(d);
  std::vector<bool> in_p(static_cast<size_t>(k), false);
  if (initial_factor != nullptr) {  // the caller's factor of A over `initial`: no factorization here
    factor.adopt(initial, *initial_factor);
    for (Index j : initial) in_p[j] = true;
  } else if (factor.assign(initial)) {
    for (Index j : initial) in_p[j] = true;
  } else {  // a dependent column among them: build P one index at a time, skipping those
    for (Index j : initial)
      if (!in_p[j] && factor.append(j)) in_p[j] = true;
  }
  auto infeasible = [&](const Vector& z) {
    for (Index j : factor.indices())
      if (constrained[j] && !(z(j) > 0.0)) return true;
    return false;
  };
  Vector z = factor.solve_d();
  while (infeasible(z)) {  // the warm start's negatives leave, until the solution on P is feasible
    std::vector<Index> staying, leaving;  // leaving: positions in P
    for (Index q = 0; q < factor.size(); ++q) {
      const Index j = factor.indices()[q];
      if (constrained[j] && !(z(j) > 0.0)) {
        in_p[j] = false;
        leaving.push_back(q);
      } else {
        staying.push_back(j);
      }
    }
    // Down-dates where they cost less than a new factorization: a removal at position q moves and rotates the
    // O(p (p - q)) entries below it, a factorization is p^3 / 3 multiply-adds at several times the rate (the warm
    // start orders P so that the likeliest to leave come last, where removals are cheap).
    const double p = static_cast<double>(factor.size());
    double removal_cost = 0.0;
    for (Index q : leaving) removal_cost += 4.0 * p * (p - static_cast<double>(q));
    if (removal_cost < p * p * p / 3.0) {
      for (auto q = leaving.rbegin(); q != leaving.rend(); ++q) factor.remove_at(*q);
    } else if (!factor.assign(staying)) {  // cannot happen for a principal block of a positive definite A_PP
      for (Index j : staying) in_p[j] = false;
      factor.assign({});
    }
    z = factor.solve_d();
  }
  Vector s = z;
  const double scale = std::max(d.lpNorm<Eigen::Infinity>(), std::numeric_limits<double>::min());
  std::vector<bool> blocked(static_cast<size_t>(k), false);
  for (int64_t iteration = 0;; ++iteration) {
    if (iteration > max_iterations) {
      out.status = InversionStatus::kNnlsNotConverged;
      return out;
    }
    // The (negative) gradient of the objective, d_j - A_jP s_P, and the size |A_jP| |s_P| of its terms (the
    // tolerance), only where a variable may enter: off P (on P it is 0 to rounding). A is symmetric, so row j is
    // the contiguous column j.
    // s is 0 off P, so the sums over P are whole-column dot products (contiguous and vectorized; a sum over P alone
    // gathers s through the index list, ~10x slower at a 900-pixel mesh).
    Index best = -1;
    double best_value = 0.0, largest_term = scale;
    std::vector<std::pair<Index, double>> candidates;
    const Vector abs_s = s.cwiseAbs();
    for (Index j = 0; j < k; ++j) {
      if (in_p[j] || blocked[j] || excluded[j]) continue;
      const double g = d(j) - a.col(j).dot(s);
      const double magnitude = a.col(j).cwiseAbs().dot(abs_s);
      largest_term = std::max(largest_term, magnitude);
      candidates.emplace_back(j, g);
    }
    const double tolerance = 1e-11 * largest_term;
    best_value = tolerance;
    for (const auto& [j, g] : candidates)
      if (g > best_value) {
        best = j;
        best_value = g;
      }
    if (best < 0) {
      out.iterations = iteration;
      break;
    }
    if (!factor.append(best)) {  // numerically dependent on the passive columns: cannot move along it
      blocked[best] = true;
      continue;
    }
    in_p[best] = true;
    z = factor.solve_d();
    if (!(z(best) > 0.0)) {  // round-off: the new direction does not improve; leave it out until P changes again
      factor.remove_at(factor.size() - 1);
      in_p[best] = false;
      blocked[best] = true;
      continue;
    }
    std::fill(blocked.begin(), blocked.end(), false);
    while (infeasible(z)) {  // step from s towards z until the first passive variable reaches 0; drop those at 0
      double alpha = 1.0;
      Index first = -1;  // the variable that reaches 0 first leaves P even if rounding leaves it a hair above 0
      for (Index j : factor.indices())
        if (constrained[j] && !(z(j) > 0.0)) {
          const double ratio = s(j) / (s(j) - z(j));
          if (ratio < alpha) {
            alpha = ratio;
            first = j;
          }
        }
      s += alpha * (z - s);
      if (first >= 0) s(first) = 0.0;
      for (Index q = factor.size() - 1; q >= 0; --q) {
        const Index j = factor.indices()[q];
        if (constrained[j] && !(s(j) > 0.0) ) {
          factor.remove_at(q);
          in_p[j] = false;
          s(j) = 0.0;
        }
      }
      z = factor.solve_d();
    }
    s = z;
  }
  out.ok = true;
  return out;
}

// Cholesky of the symmetric matrix `m` restricted to `index`; false if it is not numerically positive definite.
bool factor_block(const Matrix& m, const std::vector<Index>& index, Factor& factor) {
  const Index p = static_cast<Index>(index.size());
  factor.l.resize(p, p);
  for (Index j = 0; j < p; ++j)
    for (Index i = j; i < p; ++i) factor.l(i, j) = m(index[i], index[j]);
  if (!cholesky_kernel(factor.l.data(), p)) return false;
  for (Index i = 0; i < p; ++i)
    if (!(factor.l(i, i) > 0.0) || !std::isfinite(factor.l(i, i))) return false;
  return true;
}

double log_det(const Factor& factor) { return 2.0 * factor.l.diagonal().array().log().sum(); }

// Everything the solve and the gradient share: A, D, the index sets.
struct System {
  Matrix a;      // F + H + J
  Vector d;      // D
  double yy = 0;  // y^T y
  std::vector<Index> regularized_index;
  std::vector<bool> constrained;
  InversionStatus status = InversionStatus::kOk;
};

void finish_flags(System& sys, int64_t k, const double* regularization, const int32_t* flags,
                  const InversionSettings& settings);

System build_system(const double* columns, const double* data, int64_t n, int64_t k, const double* regularization,
                    const int32_t* flags, const InversionSettings& settings) {
  System sys;
  if (n < 0 || k < 1) {
    sys.status = InversionStatus::kBadArgument;
    return sys;
  }
  std::vector<const double*> rows(static_cast<size_t>(k + 1));
  for (int64_t j = 0; j < k; ++j) rows[j] = columns + j * n;
  rows[k] = data;
  std::vector<double> gram(static_cast<size_t>((k + 1) * (k + 1)), 0.0);
  gram_lower(rows.data(), k + 1, n, gram.data());
  sys.a.resize(k, k);
  sys.d.resize(k);
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j <= i; ++j) sys.a(i, j) = sys.a(j, i) = gram[i * (k + 1) + j];
    sys.d(i) = gram[k * (k + 1) + i];
  }
  sys.yy = gram[k * (k + 1) + k];
  finish_flags(sys, k, regularization, flags, settings);
  return sys;
}

Vector jitter_times(const Vector& s, const int32_t* flags, const InversionSettings& settings) {
  Vector js = Vector::Zero(s.size());
  for (Index j = 0; j < s.size(); ++j)
    if (!regularized(flags[j])) js(j) = settings.no_regularization_add_to_curvature_diag_value * s(j);
  return js;
}

InversionTerms fail(InversionStatus status, int64_t k, double* reconstruction, double* adjoint) {
  std::fill(reconstruction, reconstruction + k, 0.0);
  std::fill(adjoint, adjoint + k, 0.0);
  InversionTerms terms;
  terms.status = status;
  terms.chi_squared = terms.regularization_term = terms.log_det_curvature_reg = terms.log_det_regularization =
      std::numeric_limits<double>::quiet_NaN();
  return terms;
}

}  // namespace

void gram_lower(const double* const* rows, int64_t m, int64_t n, double* gram) { gram_kernel(rows, m, n, gram); }

namespace {

// The solve shared by invert() and invert_gram(): s and the adjoint from A = F + H + J and D, with the
// regularization and log-determinant terms (chi^2 is the caller's: from the residual, or from the Gram form).
// Columns flagged kColumnHeldZero are kept at 0 (never in the passive set) under the positive-only solver, but stay
// in the regularized block of the log-determinants (PyAutoArray's edge-zeroed pixels).
InversionTerms solve(const System& sys, int64_t k, const double* regularization, const int32_t* flags,
                     const InversionSettings& settings, double* reconstruction, double* adjoint,
                     const double* guess = nullptr) {
  std::vector<bool> held(static_cast<size_t>(k), false);
  std::vector<Index> kept;
  for (Index j = 0; j < k; ++j) {
    held[j] = settings.positive_only && (flags[j] & kColumnHeldZero) != 0;
    if (!held[j]) kept.push_back(j);
  }
  if (kept.empty()) return fail(InversionStatus::kBadArgument, k, reconstruction, adjoint);
  const bool any_held = kept.size() < static_cast<size_t>(k);
  // Over the kept columns only: held-zero ones never enter the solve, so with every kept column free in sign a failed
  // factorization of A_KK must fail the solve rather than fall through to the unconstrained branch.
  const bool any_constrained = std::any_of(kept.begin(), kept.end(), [&](Index j) { return sys.constrained[j]; });

  // A caller's guess replaces the unconstrained factorization as the positive-only warm start.
  const bool warm = guess != nullptr && any_constrained;
  // The unconstrained solution on the kept set (the answer without positivity, and the positive-only warm start).
  Factor full;
  const bool full_ok = warm ? false : factor_block(sys.a, kept, full);
  // Without positivity the whole system must be solvable; with it, a singular A (e.g. MGE Gaussians that coincide
  // after the PSF, without the diagonal jitter) can still have a positive-only optimum: the active-set iterations
  // then start from the free-sign columns alone.
  if (!full_ok && !any_constrained) return fail(InversionStatus::kNotPositiveDefinite, k, reconstruction, adjoint);
  Vector s = Vector::Zero(k);
  if (warm) {
    for (Index j : kept) s(j) = sys.constrained[j] ? guess[j] : 1.0;
  } else if (full_ok) {
    Vector rhs(static_cast<Index>(kept.size()));
    for (size_t i = 0; i < kept.size(); ++i) rhs(static_cast<Index>(i)) = sys.d(kept[i]);
    const Vector sk = full.solve(rhs);
    for (size_t i = 0; i < kept.size(); ++i) s(kept[i]) = sk(static_cast<Index>(i));
  } else {
    for (Index j : kept) s(j) = -1.0;
  }
  InversionTerms terms;
  bool negative = false;
  for (Index j : kept)
    if (sys.constrained[j] && !(s(j) > 0.0)) negative = true;
  // With a guess, s is not yet a solution of anything: the active-set iterations always run (from the guess's
  // positive entries), and they end at the optimum whatever the guess.
  if (any_constrained && (negative || warm)) {
    // Warm start: the unconstrained solution's factor over every kept column (its negative amplitudes leave in the
    // first step of the iterations), so no second factorization of nearly the same matrix is made.
    std::vector<Index> initial;  // without that factor: the guess's positive entries, or the free-sign columns alone
    for (Index j : kept)
      if (!sys.constrained[j] || (warm && guess[j] > 0.0)) initial.push_back(j);
    if (warm)  // free-sign columns first, then by decreasing guess: the likeliest to leave P sit last in its factor
      std::stable_sort(initial.begin(), initial.end(), [&](Index i, Index j) {
        const double gi = sys.constrained[i] ? guess[i] : std::numeric_limits<double>::infinity();
        const double gj = sys.constrained[j] ? guess[j] : std::numeric_limits<double>::infinity();
        return gi > gj;
      });
    const int64_t max_iterations = settings.max_iterations > 0 ? settings.max_iterations : 3 * k + 100;
    PassiveFactor factor(sys.a, k);
    NnlsOutcome nnls = active_set_nnls(factor, sys.d, sys.constrained, full_ok ? kept : initial, max_iterations, held,
                                       full_ok ? &full.l : nullptr);
    if (!nnls.ok) return fail(nnls.status, k, reconstruction, adjoint);
    terms.iterations = nnls.iterations;
    // The solution on P from the active-set iterations' own factor of A_PP (kept up to date by exact up- and
    // down-dates; the same path, and so the same numbers, for the same problem whatever else is in a batch).
    const Vector z = factor.solve(sys.d);
    s.setZero();
    for (Index j : factor.indices()) s(j) = sys.constrained[j] ? std::max(z(j), 0.0) : z(j);
    const Vector lp = factor.solve(jitter_times(s, flags, settings));
    for (Index j = 0; j < k; ++j) adjoint[j] = lp(j);  // 0 off P
  } else {
    const Vector js = jitter_times(s, flags, settings);
    Vector rhs(static_cast<Index>(kept.size()));
    for (size_t i = 0; i < kept.size(); ++i) rhs(static_cast<Index>(i)) = js(kept[i]);
    const Vector lambda = full.solve(rhs);
    std::fill(adjoint, adjoint + k, 0.0);
    for (size_t i = 0; i < kept.size(); ++i) adjoint[kept[i]] = lambda(static_cast<Index>(i));
  }
  for (Index j = 0; j < k; ++j) reconstruction[j] = s(j);

  if (regularization != nullptr) terms.regularization_term = s.dot(RowMajorConst(regularization, k, k) * s);
  if (!sys.regularized_index.empty() && settings.compute_log_det_curvature_reg) {
    Factor a_rr;
    const bool all_regularized = sys.regularized_index.size() == static_cast<size_t>(k);
    if (!any_held && all_regularized && full_ok) {
      terms.log_det_curvature_reg = log_det(full);  // every column regularized: A_RR is the matrix already factored
    } else if (all_regularized && full_ok) {
      // Held-zero columns Z: ln det A = ln det A_KK + ln det (A_ZZ - A_ZK A_KK^-1 A_KZ), reusing A_KK's factor (the
      // Schur complement is |Z| x |Z|, e.g. a 30 x 30 mesh's ring of 116 pixels against its 784 interior ones).
      std::vector<Index> zeroed;
      for (Index j = 0; j < k; ++j)
        if (held[j]) zeroed.push_back(j);
      const Index nk = static_cast<Index>(kept.size()), nz = static_cast<Index>(zeroed.size());
      Matrix a_kz(nk, nz), schur(nz, nz);
      for (Index j = 0; j < nz; ++j) {
        for (Index i = 0; i < nk; ++i) a_kz(i, j) = sys.a(kept[i], zeroed[j]);
        for (Index i = 0; i < nz; ++i) schur(i, j) = sys.a(zeroed[i], zeroed[j]);
      }
      lower_solve_kernel(full.l.data(), nk, a_kz.data(), nz);  // a_kz := L_KK^-1 A_KZ
      schur.noalias() -= a_kz.transpose() * a_kz;
      std::vector<Index> all_z(static_cast<size_t>(nz));
      for (Index i = 0; i < nz; ++i) all_z[i] = i;
      Factor schur_factor;
      if (!factor_block(schur, all_z, schur_factor))
        return fail(InversionStatus::kNotPositiveDefinite, k, reconstruction, adjoint);
      terms.log_det_curvature_reg = log_det(full) + log_det(schur_factor);
    } else {
      if (!factor_block(sys.a, sys.regularized_index, a_rr))
        return fail(InversionStatus::kNotPositiveDefinite, k, reconstruction, adjoint);
      terms.log_det_curvature_reg = log_det(a_rr);
    }
  }
  if (!sys.regularized_index.empty()) {
    Factor h_rr;
    if (settings.compute_log_det_regularization) {
      const Matrix h = RowMajorConst(regularization, k, k);
      if (!factor_block(h, sys.regularized_index, h_rr))
        return fail(InversionStatus::kNotPositiveDefinite, k, reconstruction, adjoint);
      terms.log_det_regularization = log_det(h_rr);
    }
  }
  return terms;
}

void finish_flags(System& sys, int64_t k, const double* regularization, const int32_t* flags,
                  const InversionSettings& settings) {
  sys.constrained.assign(static_cast<size_t>(k), false);
  for (int64_t j = 0; j < k; ++j) {
    if (regularized(flags[j])) {
      if (regularization == nullptr) {
        sys.status = InversionStatus::kBadArgument;
        return;
      }
      sys.regularized_index.push_back(j);
    } else {
      sys.a(j, j) += settings.no_regularization_add_to_curvature_diag_value;
    }
    sys.constrained[j] = settings.positive_only && !free_sign(flags[j]);
  }
  // H is symmetric (inversion.hpp), so its row-major layout is its column-major one: read contiguously.
  if (regularization != nullptr) sys.a += Eigen::Map<const Matrix>(regularization, k, k);
  if (!sys.a.allFinite() || !sys.d.allFinite() || !std::isfinite(sys.yy)) sys.status = InversionStatus::kNotFinite;
}

}  // namespace

InversionTerms invert(const double* columns, const double* data, int64_t n, int64_t k, const double* regularization,
                      const int32_t* flags, const InversionSettings& settings, double* reconstruction, double* adjoint) {
  TrimScratchOnExit trim;  // the active-set solve's passive factor lives in the thread's scratch
  System sys = build_system(columns, data, n, k, regularization, flags, settings);
  if (sys.status != InversionStatus::kOk) return fail(sys.status, std::max<int64_t>(k, 0), reconstruction, adjoint);
  InversionTerms terms = solve(sys, k, regularization, flags, settings, reconstruction, adjoint);
  if (terms.status != InversionStatus::kOk) return terms;

  // chi^2 from the residual itself (not y^T y - 2 D^T s + s^T F s, which loses digits to cancellation at high S/N).
  double chi2 = 0.0;
  {
    std::vector<double> r(data, data + n);
    for (Index j = 0; j < k; ++j) {
      const double sj = reconstruction[j];
      if (sj == 0.0) continue;
      const double* b = columns + j * n;
      for (int64_t i = 0; i < n; ++i) r[i] -= sj * b[i];
    }
    for (int64_t i = 0; i < n; ++i) chi2 += r[i] * r[i];
  }
  terms.chi_squared = chi2;
  if (!std::isfinite(terms.chi_squared) || !std::isfinite(terms.regularization_term))
    return fail(InversionStatus::kNotFinite, k, reconstruction, adjoint);
  return terms;
}

InversionTerms invert_gram(const double* curvature, const double* data_vector, double data_norm, int64_t k,
                           const double* regularization, const int32_t* flags, const InversionSettings& settings,
                           double* reconstruction, double* adjoint, const double* guess) {
  if (k < 1) return fail(InversionStatus::kBadArgument, 0, reconstruction, adjoint);
  TrimScratchOnExit trim;
  System sys;
  // A in the thread's scratch matrix (swapped in and back out: no copy), so that repeated solves of one size reuse
  // its memory.
  struct SwapBack {
    Matrix& a;
    ~SwapBack() { a.swap(thread_scratch().a); }
  } swap_back{sys.a};
  sys.a.swap(thread_scratch().a);
  sys.a = Eigen::Map<const Matrix>(curvature, k, k);  // symmetric: its row-major layout is its column-major one
  sys.d = Eigen::Map<const Vector>(data_vector, k);
  sys.yy = data_norm;
  finish_flags(sys, k, regularization, flags, settings);
  if (sys.status != InversionStatus::kOk) return fail(sys.status, k, reconstruction, adjoint);
  InversionTerms terms = solve(sys, k, regularization, flags, settings, reconstruction, adjoint, guess);
  if (terms.status != InversionStatus::kOk) return terms;
  // chi^2 = y^T y - 2 D^T s + s^T F s, F = A - H - J (the Gram form has no residual to sum).
  const Vector s = Eigen::Map<const Vector>(reconstruction, k);
  const Eigen::Map<const Matrix> f(curvature, k, k);
  terms.chi_squared = data_norm - 2.0 * sys.d.dot(s) + s.dot(f * s);
  if (!std::isfinite(terms.chi_squared) || !std::isfinite(terms.regularization_term))
    return fail(InversionStatus::kNotFinite, k, reconstruction, adjoint);
  return terms;
}

InversionStatus inversion_gradient(const double* columns, const double* data, int64_t n, int64_t k,
                                   const double* regularization, const int32_t* flags, const InversionSettings& settings,
                                   const double* reconstruction, const double* adjoint, double* grad_columns,
                                   double* grad_data, double* grad_regularization) {
  std::fill(grad_columns, grad_columns + n * k, 0.0);
  std::fill(grad_data, grad_data + n, 0.0);
  if (grad_regularization != nullptr) std::fill(grad_regularization, grad_regularization + k * k, 0.0);
  std::vector<Index> reg_index;
  for (int64_t j = 0; j < k; ++j)
    if (regularized(flags[j])) reg_index.push_back(j);
  if (!reg_index.empty() && regularization == nullptr) return InversionStatus::kBadArgument;

  // r = y - B_w s and u = B_w lambda.
  std::vector<double> r(data, data + n), u(static_cast<size_t>(n), 0.0);
  for (int64_t j = 0; j < k; ++j) {
    const double* b = columns + j * n;
    const double sj = reconstruction[j], lj = adjoint[j];
    if (sj != 0.0)
      for (int64_t i = 0; i < n; ++i) r[i] -= sj * b[i];
    if (lj != 0.0)
      for (int64_t i = 0; i < n; ++i) u[i] += lj * b[i];
  }
  for (int64_t j = 0; j < k; ++j) {
    const double a = reconstruction[j] + adjoint[j], c = reconstruction[j];
    double* g = grad_columns + j * n;
    for (int64_t i = 0; i < n; ++i) g[i] = -2.0 * (r[i] * a - u[i] * c);
  }
  for (int64_t i = 0; i < n; ++i) grad_data[i] = 2.0 * (r[i] - u[i]);

  if (regularization != nullptr) {
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        grad_regularization[i * k + j] = reconstruction[i] * reconstruction[j] + adjoint[i] * reconstruction[j] +
                                         reconstruction[i] * adjoint[j];
  }
  if (reg_index.empty()) return InversionStatus::kOk;

  // The log-determinant terms: A_RR^-1 and H_RR^-1 (R is a basis' or mesh's block: small and dense here).
  const Index p = static_cast<Index>(reg_index.size());
  System sys = build_system(columns, data, n, k, regularization, flags, settings);
  if (sys.status != InversionStatus::kOk) return sys.status;
  Factor a_rr, h_rr;
  const Matrix h = RowMajorConst(regularization, k, k);
  if (!factor_block(sys.a, reg_index, a_rr) || !factor_block(h, reg_index, h_rr))
    return InversionStatus::kNotPositiveDefinite;
  const Matrix a_inv = a_rr.solve(Matrix::Identity(p, p));
  const Matrix h_inv = h_rr.solve(Matrix::Identity(p, p));
  for (Index i = 0; i < p; ++i)
    for (Index j = 0; j < p; ++j)
      grad_regularization[reg_index[i] * k + reg_index[j]] += a_inv(i, j) - h_inv(i, j);
  // d ln det A_RR / dB_w = 2 B_wR A_RR^-1 in the R columns.
  for (Index jj = 0; jj < p; ++jj) {
    double* g = grad_columns + reg_index[jj] * n;
    for (Index ll = 0; ll < p; ++ll) {
      const double w = 2.0 * a_inv(ll, jj);
      const double* b = columns + reg_index[ll] * n;
      for (int64_t i = 0; i < n; ++i) g[i] += w * b[i];
    }
  }
  return InversionStatus::kOk;
}

}  // namespace galaxyfit
