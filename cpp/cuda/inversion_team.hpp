// The Gram-form inversion of galaxyfit/inversion.hpp (invert_gram) for large systems -- a pixelization's hundreds or
// thousands of mesh pixels, with any linear profiles beside them -- as code that a *team* of threads runs together on
// one batch element: a CUDA thread block on the GPU (cpp/cuda/inversion_large.cu), and std::threads in
// cpp/tests/test_cuda_host.cpp, which checks it against galaxyfit::invert_gram. One team per batch element means the
// elements of a jax.vmap batch are solved concurrently, one per multiprocessor, and the active-set iterations, whose
// path depends on the data, never wait on the host.
//
// The algorithm is cpp/src/inversion.cpp's (and inversion_small.hpp's): the Cholesky solve of A = F + H + J on the
// columns not held at zero; with positivity and a negative amplitude (or a warm-start guess), the Lawson-Hanson
// active-set iterations on the Gram form (Lawson & Hanson 1974, ch. 23; Bro & de Jong 1997, J. Chemometrics 11, 393)
// with the same tolerances and order of passive-set changes, the factor of A_PP kept up to date by appending a row
// and by Givens down-dates (Golub & Van Loan, Matrix Computations, 4th ed., 6.5.4); lambda = A_PP^-1 (J s)_P; s^T H s;
// ln det A_RR and ln det H_RR by their own factorizations (the CPU kernel's Schur-complement shortcut for held-zero
// columns is the same number); chi^2 = y^T y - 2 D^T s + s^T F s. Results agree with the CPU kernel to rounding (the
// summation orders differ).
//
// A Team provides rank(), size(), sync() (a barrier for the whole team, making every earlier write to the workspace
// visible to every member), and the team-wide reductions sum(v), max(v) and argmax(v, i) (largest v, lowest i among
// equal v), which every member calls with its own part and which return the combined value to every member. Every
// member runs every function here with the same arguments; the scalars (set sizes, decisions) are replicated, and the
// arrays live in the caller's workspace. Matrices: F, H and A row-major k x k (symmetric, so also column-major);
// factors column-major with leading dimension k (L_ij at l[i + j * k]) so that a column is contiguous.
#pragma once

#include <cmath>
#include <cstdint>

#include "inversion_small.hpp"

namespace galaxyfit {
namespace scalar {

/// Largest k the team inversion takes (the FFI handler's limit; its workspace per element is
/// team_work_doubles(k) + team_work_ints(k) values: 220 MB at k = 3000).
constexpr int kMaxTeamInversion = 16384;
GALAXYFIT_HD int64_t team_work_doubles(int64_t k) { return 3 * k * k + 6 * k; }
GALAXYFIT_HD int64_t team_work_ints(int64_t k) { return 7 * k + 1; }

namespace team_detail {

constexpr int kTile = 16;   // columns of a triangular solve handled serially by one member
constexpr int kPanel = 8;   // columns of a factorization's left-looking panel (accumulated in registers)

GALAXYFIT_HD int imin(int a, int b) { return a < b ? a : b; }
GALAXYFIT_HD int imax(int a, int b) { return a > b ? a : b; }

// The diagonal tiles of the triangular solves are one member's serial work (the others wait at the barrier): the
// tile's entries of w stay in registers (fully unrolled loops over kTile) so that only L is read from memory.

// w := L^-1 w (p entries; L column-major, leading dimension ld).
template <class Team>
GALAXYFIT_HD void forward_solve(Team& team, const double* l, int p, int ld, double* w) {
  for (int t0 = 0; t0 < p; t0 += kTile) {
    const int n = imin(kTile, p - t0);
    if (team.rank() == 0) {
      const double* lt = l + t0 + static_cast<int64_t>(t0) * ld;  // the tile's top-left entry
      double x[kTile];
#pragma unroll
      for (int c = 0; c < kTile; ++c) x[c] = c < n ? w[t0 + c] : 0.0;
#pragma unroll
      for (int c = 0; c < kTile; ++c) {
        if (c < n) x[c] /= lt[c + static_cast<int64_t>(c) * ld];
#pragma unroll
        for (int r = c + 1; r < kTile; ++r)
          if (r < n) x[r] -= lt[r + static_cast<int64_t>(c) * ld] * x[c];
      }
#pragma unroll
      for (int c = 0; c < kTile; ++c)
        if (c < n) w[t0 + c] = x[c];
    }
    team.sync();
    const int t1 = t0 + n;
    for (int r = t1 + team.rank(); r < p; r += team.size()) {
      double v = w[r];
      for (int c = t0; c < t1; ++c) v -= l[r + static_cast<int64_t>(c) * ld] * w[c];
      w[r] = v;
    }
    team.sync();
  }
}

// w := L^-T w.
template <class Team>
GALAXYFIT_HD void backward_solve(Team& team, const double* l, int p, int ld, double* w) {
  for (int t1 = p; t1 > 0; t1 -= kTile) {
    const int t0 = imax(t1 - kTile, 0), n = t1 - t0;
    if (team.rank() == 0) {
      const double* lt = l + t0 + static_cast<int64_t>(t0) * ld;
      double x[kTile];
#pragma unroll
      for (int c = 0; c < kTile; ++c) x[c] = c < n ? w[t0 + c] : 0.0;
#pragma unroll
      for (int c = kTile - 1; c >= 0; --c) {
        double v = x[c];
#pragma unroll
        for (int r = c + 1; r < kTile; ++r)
          if (r < n) v -= lt[r + static_cast<int64_t>(c) * ld] * x[r];
        if (c < n) x[c] = v / lt[c + static_cast<int64_t>(c) * ld];
      }
#pragma unroll
      for (int c = 0; c < kTile; ++c)
        if (c < n) w[t0 + c] = x[c];
    }
    team.sync();
    for (int c = team.rank(); c < t0; c += team.size()) {
      double v = w[c];
      for (int r = t0; r < t1; ++r) v -= l[r + static_cast<int64_t>(c) * ld] * w[r];
      w[c] = v;
    }
    team.sync();
  }
}

// l := the lower Cholesky factor of m (row-major k x k, symmetric) restricted to idx[0..p), in that order; false (for
// every member) if that block is not numerically positive definite. Left-looking by panels of kPanel columns: each
// member accumulates its rows' panel entries over the columns already factored, then the panel is factored column
// by column.
template <class Team>
GALAXYFIT_HD bool factor(Team& team, const double* m, int k, const int32_t* idx, int p, double* l) {
  const int64_t ld = k;
  for (int64_t q = team.rank(); q < static_cast<int64_t>(p) * p; q += team.size()) {
    const int i = static_cast<int>(q % p), j = static_cast<int>(q / p);
    if (i >= j) l[i + j * ld] = m[static_cast<int64_t>(idx[j]) * k + idx[i]];
  }
  team.sync();
  for (int j0 = 0; j0 < p; j0 += kPanel) {
    const int nb = imin(kPanel, p - j0);
    for (int i = j0 + team.rank(); i < p; i += team.size()) {
      double acc[kPanel];
      for (int c = 0; c < kPanel; ++c) acc[c] = 0.0;
      for (int q = 0; q < j0; ++q) {
        const double liq = l[i + q * ld];
        for (int c = 0; c < kPanel; ++c)
          if (c < nb) acc[c] += liq * l[j0 + c + q * ld];
      }
      for (int c = 0; c < nb && j0 + c <= i; ++c) l[i + (j0 + c) * ld] -= acc[c];
    }
    team.sync();
    for (int c = 0; c < nb; ++c) {
      const int j = j0 + c;
      const double pivot = l[j + j * ld];
      double below[kPanel];  // the panel's rows below j in column j, read before anyone scales them
      for (int c2 = 0; c2 < kPanel; ++c2) below[c2] = c2 > c && c2 < nb ? l[j0 + c2 + j * ld] : 0.0;
      team.sync();
      if (!(pivot > 0.0) || !finite(pivot)) return false;
      const double root = ::sqrt(pivot);
      for (int i = j + team.rank(); i < p; i += team.size()) {
        if (i == j) {
          l[j + j * ld] = root;
          continue;
        }
        const double lij = l[i + j * ld] / root;
        l[i + j * ld] = lij;
        for (int c2 = c + 1; c2 < nb && j0 + c2 <= i; ++c2) l[i + (j0 + c2) * ld] -= lij * (below[c2] / root);
      }
      team.sync();
    }
  }
  return true;
}

template <class Team>
GALAXYFIT_HD double log_det(Team& team, const double* l, int p, int ld) {
  double sum = 0.0;
  for (int i = team.rank(); i < p; i += team.size()) sum += ::log(l[i + static_cast<int64_t>(i) * ld]);
  return 2.0 * team.sum(sum);
}

// The passive set P (ordered as the factor's rows) and the factor L of A_PP (column-major, leading dimension k).
struct TeamPassive {
  const double* a;  // A, k x k
  const double* d;  // D
  int k;
  int32_t* p;       // P
  int size;         // |P| (replicated)
  double* l;
  double* w;        // k scratch
  double* t;        // k scratch

  // z (k values) := A_PP^-1 d_P on P, 0 elsewhere.
  template <class Team>
  GALAXYFIT_HD void solve(Team& team, double* z) {
    for (int i = team.rank(); i < size; i += team.size()) w[i] = d[p[i]];
    team.sync();
    forward_solve(team, l, size, k, w);
    backward_solve(team, l, size, k, w);
    for (int j = team.rank(); j < k; j += team.size()) z[j] = 0.0;
    team.sync();
    for (int i = team.rank(); i < size; i += team.size()) z[p[i]] = w[i];
    team.sync();
  }

  // Appends j if A_PP stays numerically positive definite (cpp/src/inversion.cpp's PassiveFactor::append).
  template <class Team>
  GALAXYFIT_HD bool append(Team& team, int j) {
    const int64_t ld = k;
    for (int i = team.rank(); i < size; i += team.size()) t[i] = a[static_cast<int64_t>(j) * k + p[i]];
    team.sync();
    forward_solve(team, l, size, k, t);
    double part = 0.0;
    for (int i = team.rank(); i < size; i += team.size()) part += t[i] * t[i];
    const double ajj = a[static_cast<int64_t>(j) * k + j];
    const double pivot = ajj - team.sum(part);
    if (!(pivot > 1e-14 * ::fabs(ajj)) || !finite(pivot)) return false;
    for (int i = team.rank(); i < size; i += team.size()) l[size + i * ld] = t[i];
    if (team.rank() == 0) {
      l[size + size * ld] = ::sqrt(pivot);
      p[size] = j;
    }
    team.sync();
    ++size;
    return true;
  }

  // Removes position q: the rows below move up one, and Givens rotations of column pairs (r, r + 1) clear the entry
  // each moved row has beyond the diagonal.
  template <class Team>
  GALAXYFIT_HD void remove_at(Team& team, int q) {
    const int64_t ld = k;
    for (int c = team.rank(); c < size; c += team.size())
      for (int r = imax(q, c - 1); r + 1 < size; ++r) l[r + c * ld] = l[r + 1 + c * ld];
    team.sync();
    for (int r = q; r + 1 < size; ++r) {
      const double x = l[r + r * ld], y = l[r + (r + 1) * ld];
      team.sync();
      const double h = ::hypot(x, y);
      if (h == 0.0) continue;
      const double cs = x / h, sn = y / h;
      const double sign = cs * x + sn * y < 0.0 ? -1.0 : 1.0;  // the new diagonal, as the CPU kernel computes it
      for (int i = r + team.rank(); i + 1 < size; i += team.size()) {
        const double u = l[i + r * ld], v = l[i + (r + 1) * ld];
        l[i + r * ld] = sign * (cs * u + sn * v);
        l[i + (r + 1) * ld] = i == r ? 0.0 : -sn * u + cs * v;
      }
      team.sync();
    }
    if (team.rank() == 0)
      for (int i = q; i + 1 < size; ++i) p[i] = p[i + 1];
    team.sync();
    --size;
  }

  // Replaces P by the first n entries of list (which may be p itself) with one factorization.
  template <class Team>
  GALAXYFIT_HD bool assign(Team& team, const int32_t* list, int n) {
    if (list != p) {
      for (int i = team.rank(); i < n; i += team.size()) p[i] = list[i];
      team.sync();
    }
    size = n;
    if (!factor(team, a, k, p, n, l)) {
      size = 0;
      return false;
    }
    return true;
  }
};

// s^T M s for a symmetric k x k M, by columns (reads coalesced across the team).
template <class Team>
GALAXYFIT_HD double quadratic(Team& team, const double* m, int k, const double* s) {
  double part = 0.0;
  for (int j = team.rank(); j < k; j += team.size()) {
    double row = 0.0;
    for (int i = 0; i < k; ++i) row += m[static_cast<int64_t>(i) * k + j] * s[i];
    part += s[j] * row;
  }
  return team.sum(part);
}

}  // namespace team_detail

/// The inversion of A = F + H + J with data vector D, y^T y = data_norm (invert_gram's arguments; h null: no
/// regularization; guess null or invert_gram's warm start), solved by the team: s (reconstruction) and lambda
/// (adjoint), k values each, and the terms (chi^2 from the Gram form), the same for every member. work / iwork:
/// team_work_doubles(k) and team_work_ints(k) entries of memory every member can read and write.
template <class Team>
GALAXYFIT_HD SmallTerms solve_team(Team& team, const double* curvature, const double* data_vector, double data_norm,
                                   int k, const double* h, const int32_t* flags, const SmallSettings& settings,
                                   const double* guess, double* s, double* lambda, double* work, int32_t* iwork) {
  using namespace team_detail;
  const int rank = team.rank(), size = team.size();
  const int64_t kk = static_cast<int64_t>(k) * k;
  const double nan = ::nan("");
  auto fail = [&](int32_t status) {
    for (int j = rank; j < k; j += size) s[j] = lambda[j] = 0.0;
    team.sync();
    SmallTerms f{status, nan, nan, nan, nan, 0};
    return f;
  };
  if (k < 1 || k > kMaxTeamInversion) return fail(kSmallBadArgument);
  double* a = work;
  double* l = a + kk;
  double* l2 = l + kk;
  double* z = l2 + kk;
  double* x = z + k;
  double* w = x + k;
  double* g = w + k;
  double* t = g + k;
  double* v = t + k;
  int32_t* kept = iwork;
  int32_t* pset = kept + k;
  int32_t* in_p = pset + k;
  int32_t* blocked = in_p + k;
  int32_t* constrained = blocked + k;
  int32_t* reg = constrained + k;
  int32_t* list = reg + k;
  int32_t* count_slot = list + k;

  // A = F + H + J and its finiteness, in parallel; the index sets by one member (O(k)).
  double bad = finite(data_norm) ? 0.0 : 1.0;
  for (int64_t q = rank; q < kk; q += size) {
    const int i = static_cast<int>(q / k), j = static_cast<int>(q % k);
    double value = curvature[q] + (h != nullptr ? h[q] : 0.0);
    if (i == j && (flags[j] & kSmallRegularized) == 0) value += settings.diag_value;
    a[q] = value;
    if (!finite(value)) bad += 1.0;
  }
  for (int j = rank; j < k; j += size)
    if (!finite(data_vector[j])) bad += 1.0;
  if (rank == 0) {
    int n_reg = 0, n_kept = 0;
    for (int j = 0; j < k; ++j) {
      if ((flags[j] & kSmallRegularized) != 0) reg[n_reg++] = j;
      constrained[j] = settings.positive_only && (flags[j] & kSmallFreeSign) == 0;
      if (!(settings.positive_only && (flags[j] & kSmallHeldZero) != 0)) kept[n_kept++] = j;
    }
  }
  bad = team.sum(bad);  // also the barrier after the index sets
  int n_reg = 0, n_kept = 0;
  bool any_constrained = false;
  for (int j = 0; j < k; ++j) {  // replicated counts (every member reads the same flags)
    n_reg += (flags[j] & kSmallRegularized) != 0;
    const bool kept_j = !(settings.positive_only && (flags[j] & kSmallHeldZero) != 0);
    n_kept += kept_j;
    // over the kept columns, as the CPU kernel
    any_constrained = any_constrained || (kept_j && settings.positive_only && (flags[j] & kSmallFreeSign) == 0);
  }
  if (n_reg > 0 && h == nullptr) return fail(kSmallBadArgument);
  if (bad != 0.0) return fail(kSmallNotFinite);
  if (n_kept == 0) return fail(kSmallBadArgument);

  const bool warm = guess != nullptr && any_constrained;
  const bool full_ok = warm ? false : factor(team, a, k, kept, n_kept, l);
  if (!full_ok && !any_constrained) return fail(kSmallNotPD);
  for (int j = rank; j < k; j += size) s[j] = 0.0;
  team.sync();
  if (warm) {
    for (int i = rank; i < n_kept; i += size) s[kept[i]] = constrained[kept[i]] ? guess[kept[i]] : 1.0;
    team.sync();
  } else if (full_ok) {
    for (int i = rank; i < n_kept; i += size) w[i] = data_vector[kept[i]];
    team.sync();
    forward_solve(team, l, n_kept, k, w);
    backward_solve(team, l, n_kept, k, w);
    for (int i = rank; i < n_kept; i += size) s[kept[i]] = w[i];
    team.sync();
  } else {
    for (int i = rank; i < n_kept; i += size) s[kept[i]] = -1.0;
    team.sync();
  }
  double negatives = 0.0;
  for (int i = rank; i < n_kept; i += size) negatives += constrained[kept[i]] && !(s[kept[i]] > 0.0) ? 1.0 : 0.0;
  const bool negative = team.sum(negatives) > 0.0;

  SmallTerms terms{kSmallOk, 0.0, 0.0, 0.0, 0.0, 0};
  TeamPassive passive{a, data_vector, k, pset, 0, l, w, t};
  const bool nnls = any_constrained && (negative || warm);
  if (nnls) {
    for (int j = rank; j < k; j += size) in_p[j] = 0, blocked[j] = 0;
    team.sync();
    if (full_ok) {
      for (int i = rank; i < n_kept; i += size) pset[i] = kept[i], in_p[kept[i]] = 1;
      team.sync();
      passive.size = n_kept;
    } else {  // the free-sign columns and the guess's positive entries, at once or, if dependent, one at a time
      if (rank == 0) {
        int n = 0;
        for (int i = 0; i < n_kept; ++i) {
          const int j = kept[i];
          if (!constrained[j] || (warm && guess[j] > 0.0)) list[n++] = j;
        }
        if (warm) order_warm_start(list, n, constrained, guess);  // the CPU kernel's order (inversion_small.hpp)
        *count_slot = n;
      }
      team.sync();
      const int count = *count_slot;
      if (passive.assign(team, list, count)) {
        for (int i = rank; i < count; i += size) in_p[list[i]] = 1;
        team.sync();
      } else {
        passive.size = 0;
        for (int i = 0; i < count; ++i) {
          const int j = list[i];
          if (!in_p[j] && passive.append(team, j)) {
            if (rank == 0) in_p[j] = 1;
            team.sync();
          }
        }
      }
    }
    auto infeasible = [&]() {
      double part = 0.0;
      for (int i = rank; i < passive.size; i += size) part += constrained[pset[i]] && !(z[pset[i]] > 0.0) ? 1.0 : 0.0;
      return team.sum(part) > 0.0;
    };
    passive.solve(team, z);
    while (infeasible()) {  // the warm start's negatives leave, refactoring what stays
      if (rank == 0) {
        int n = 0;
        for (int i = 0; i < passive.size; ++i) {
          const int j = pset[i];
          if (constrained[j] && !(z[j] > 0.0))
            in_p[j] = 0;
          else
            pset[n++] = j;
        }
        *count_slot = n;
      }
      team.sync();
      const int n = *count_slot;
      team.sync();
      if (!passive.assign(team, pset, n)) {
        for (int i = rank; i < n; i += size) in_p[pset[i]] = 0;
        team.sync();
      }
      passive.solve(team, z);
    }
    for (int j = rank; j < k; j += size) x[j] = z[j];
    double scale_part = 0.0;
    for (int j = rank; j < k; j += size) scale_part = ::fmax(scale_part, ::fabs(data_vector[j]));
    const double scale = ::fmax(team.max(scale_part), 2.2250738585072014e-308);  // the max is a barrier for x too
    const int64_t max_iterations = settings.max_iterations > 0 ? settings.max_iterations : 3 * int64_t(k) + 100;
    for (int64_t iteration = 0;; ++iteration) {
      if (iteration > max_iterations) return fail(kSmallNnls);
      // The gradient d_j - A_jP x_P off P, and the size of its terms (the tolerance): by columns of A (symmetric).
      double magnitude_max = 0.0;
      for (int j = rank; j < k; j += size) {
        g[j] = -INFINITY;
        if (in_p[j] || blocked[j] || (settings.positive_only && (flags[j] & kSmallHeldZero) != 0)) continue;
        double value = data_vector[j], magnitude = 0.0;
        for (int i = 0; i < passive.size; ++i) {
          const double term = a[static_cast<int64_t>(pset[i]) * k + j] * x[pset[i]];
          value -= term;
          magnitude += ::fabs(term);
        }
        magnitude_max = ::fmax(magnitude_max, magnitude);
        g[j] = value == value ? value : -INFINITY;
      }
      const double largest_term = ::fmax(scale, team.max(magnitude_max));
      double best_value = -INFINITY;
      int best = -1;
      for (int j = rank; j < k; j += size)
        if (g[j] > best_value) best_value = g[j], best = j;
      team.argmax(best_value, best);
      if (!(best_value > 1e-11 * largest_term)) {
        terms.iterations = iteration;
        break;
      }
      if (!passive.append(team, best)) {
        if (rank == 0) blocked[best] = 1;
        team.sync();
        continue;
      }
      if (rank == 0) in_p[best] = 1;
      team.sync();
      passive.solve(team, z);
      if (!(z[best] > 0.0)) {  // round-off: the new direction does not improve
        passive.remove_at(team, passive.size - 1);
        if (rank == 0) in_p[best] = 0, blocked[best] = 1;
        team.sync();
        continue;
      }
      for (int j = rank; j < k; j += size) blocked[j] = 0;
      team.sync();
      while (infeasible()) {  // step towards z until the first passive variable reaches 0; drop those at 0
        // alpha: the smallest ratio below 1, at the first position of P that has it (that variable leaves P even
        // if rounding leaves it a hair above 0, as in the CPU kernel)
        double neg_ratio = -1.0;
        int first = INT32_MAX;
        for (int i = rank; i < passive.size; i += size) {
          const int j = pset[i];
          if (constrained[j] && !(z[j] > 0.0)) {
            const double ratio = x[j] / (x[j] - z[j]);
            if (-ratio > neg_ratio) neg_ratio = -ratio, first = i;
          }
        }
        team.argmax(neg_ratio, first);
        const double alpha = -neg_ratio;
        const int leaving = first < passive.size && alpha < 1.0 ? pset[first] : -1;
        for (int j = rank; j < k; j += size) x[j] += alpha * (z[j] - x[j]);
        team.sync();
        if (rank == 0 && leaving >= 0) x[leaving] = 0.0;
        team.sync();
        for (int q = passive.size - 1; q >= 0; --q) {
          const int j = pset[q];
          if (constrained[j] && !(x[j] > 0.0)) {
            passive.remove_at(team, q);
            if (rank == 0) in_p[j] = 0, x[j] = 0.0;
            team.sync();
          }
        }
        passive.solve(team, z);
      }
      for (int j = rank; j < k; j += size) x[j] = z[j];
      team.sync();
    }
    // s on P from the factor of A_PP; lambda = A_PP^-1 (J s)_P.
    passive.solve(team, z);
    for (int j = rank; j < k; j += size) s[j] = lambda[j] = 0.0;
    team.sync();
    for (int i = rank; i < passive.size; i += size) {
      const int j = pset[i];
      const double sj = constrained[j] && z[j] < 0.0 ? 0.0 : z[j];  // std::max(z, 0.0): a NaN stays NaN
      s[j] = sj;
      v[i] = (flags[j] & kSmallRegularized) != 0 ? 0.0 : settings.diag_value * sj;
    }
    team.sync();
    forward_solve(team, l, passive.size, k, v);
    backward_solve(team, l, passive.size, k, v);
    for (int i = rank; i < passive.size; i += size) lambda[pset[i]] = v[i];
    team.sync();
  } else {
    for (int j = rank; j < k; j += size) lambda[j] = 0.0;
    for (int i = rank; i < n_kept; i += size) {
      const int j = kept[i];
      v[i] = (flags[j] & kSmallRegularized) != 0 ? 0.0 : settings.diag_value * s[j];
    }
    team.sync();
    forward_solve(team, l, n_kept, k, v);
    backward_solve(team, l, n_kept, k, v);
    for (int i = rank; i < n_kept; i += size) lambda[kept[i]] = v[i];
    team.sync();
  }

  if (h != nullptr) terms.regularization_term = quadratic(team, h, k, s);
  if (n_reg > 0 && settings.log_det_curvature_reg) {
    if (!nnls && full_ok && n_reg == k && n_kept == k) {
      terms.log_det_curvature_reg = log_det(team, l, k, k);  // A_RR is the matrix already factored
    } else {
      if (!factor(team, a, k, reg, n_reg, l2)) return fail(kSmallNotPD);
      terms.log_det_curvature_reg = log_det(team, l2, n_reg, k);
    }
  }
  if (n_reg > 0 && settings.log_det_regularization) {
    if (!factor(team, h, k, reg, n_reg, l2)) return fail(kSmallNotPD);
    terms.log_det_regularization = log_det(team, l2, n_reg, k);
  }
  double ds_part = 0.0;
  for (int j = rank; j < k; j += size) ds_part += data_vector[j] * s[j];
  const double ds = team.sum(ds_part);
  terms.chi_squared = data_norm - 2.0 * ds + quadratic(team, curvature, k, s);
  if (!finite(terms.chi_squared) || !finite(terms.regularization_term)) return fail(kSmallNotFinite);
  return terms;
}

}  // namespace scalar
}  // namespace galaxyfit
