// The inversion against dense Eigen solves written here: unconstrained, regularized (with its log-determinants),
// positive-only (against every passive set of a small problem), the Gram form, the gradient against finite
// differences, and the statuses of bad input.
#include <galaxyfit/inversion.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "check.hpp"

using Eigen::MatrixXd;
using Eigen::VectorXd;
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

struct Problem {
  int64_t n, k;
  RowMatrix columns;  // k x n: row j is column j of B_w
  VectorXd data;
};

// Blobs (Gaussians at different places and widths) as columns, data from known amplitudes plus noise.
Problem make_problem(int64_t k, const std::vector<double>& amplitudes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  Problem p{400, k, RowMatrix(k, 400), VectorXd(400)};
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < p.n; ++i) {
      const double x = static_cast<double>(i % 20) - (4.0 + 2.5 * j), y = static_cast<double>(i / 20) - (6.0 + 1.7 * j);
      p.columns(j, i) = 30.0 * std::exp(-(x * x + y * y) / (2.0 * (1.5 + 0.4 * j) * (1.5 + 0.4 * j)));
    }
  for (int64_t i = 0; i < p.n; ++i) {
    p.data(i) = noise(rng);
    for (int64_t j = 0; j < k; ++j) p.data(i) += amplitudes[j] * p.columns(j, i);
  }
  return p;
}

galaxyfit::InversionTerms run(const Problem& p, const double* h, const std::vector<int32_t>& flags,
                              const galaxyfit::InversionSettings& s, VectorXd& out, VectorXd& adjoint) {
  out.resize(p.k);
  adjoint.resize(p.k);
  return galaxyfit::invert(p.columns.data(), p.data.data(), p.n, p.k, h, flags.data(), s, out.data(), adjoint.data());
}

void unconstrained() {
  const Problem p = make_problem(4, {2.0, -1.0, 0.5, 3.0}, 1);
  galaxyfit::InversionSettings s;
  s.positive_only = false;
  const std::vector<int32_t> flags(4, 0);
  VectorXd sol, adjoint;
  const auto terms = run(p, nullptr, flags, s, sol, adjoint);
  CHECK(terms.status == galaxyfit::InversionStatus::kOk);
  const MatrixXd b = p.columns.transpose();  // n x k
  const MatrixXd a = b.transpose() * b + s.no_regularization_add_to_curvature_diag_value * MatrixXd::Identity(4, 4);
  const VectorXd expected = a.ldlt().solve(b.transpose() * p.data);
  for (int j = 0; j < 4; ++j) CHECK_CLOSE(sol(j), expected(j), 1e-12, 1e-10);
  CHECK_CLOSE(terms.chi_squared, (p.data - b * expected).squaredNorm(), 0.0, 1e-10);
  // The recovered amplitudes are near the true ones (30-count blobs, unit noise).
  CHECK_CLOSE(sol(1), -1.0, 0.05, 0.0);
  // lambda = A^-1 J s.
  const VectorXd lambda = a.ldlt().solve(s.no_regularization_add_to_curvature_diag_value * expected);
  for (int j = 0; j < 4; ++j) CHECK_CLOSE(adjoint(j), lambda(j), 1e-16, 1e-8);
  CHECK(terms.regularization_term == 0.0 && terms.log_det_curvature_reg == 0.0 && terms.iterations == 0);
}

MatrixXd smoothing(int64_t k, double coefficient) {
  // coefficient (G^T G + 1e-2 I) with G the first difference: symmetric positive definite.
  MatrixXd g = MatrixXd::Zero(k - 1, k);
  for (int64_t j = 0; j + 1 < k; ++j) {
    g(j, j) = -1.0;
    g(j, j + 1) = 1.0;
  }
  return coefficient * (g.transpose() * g + 1e-2 * MatrixXd::Identity(k, k));
}

void regularized() {
  // Columns 0-2 regularized, column 3 not (it gets J), column 3 free-sign; positivity off.
  const Problem p = make_problem(4, {1.0, 1.5, 0.8, -2.0}, 2);
  galaxyfit::InversionSettings s;
  s.positive_only = false;
  const std::vector<int32_t> flags = {1, 1, 1, 2};
  MatrixXd h = MatrixXd::Zero(4, 4);
  h.topLeftCorner(3, 3) = smoothing(3, 5.0);
  const RowMatrix h_rows = h;
  VectorXd sol, adjoint;
  const auto terms = run(p, h_rows.data(), flags, s, sol, adjoint);
  CHECK(terms.status == galaxyfit::InversionStatus::kOk);
  const MatrixXd b = p.columns.transpose();
  MatrixXd a = b.transpose() * b + h;
  a(3, 3) += s.no_regularization_add_to_curvature_diag_value;
  const VectorXd expected = a.ldlt().solve(b.transpose() * p.data);
  for (int j = 0; j < 4; ++j) CHECK_CLOSE(sol(j), expected(j), 1e-12, 1e-10);
  CHECK_CLOSE(terms.chi_squared, (p.data - b * expected).squaredNorm(), 0.0, 1e-10);
  CHECK_CLOSE(terms.regularization_term, expected.dot(h * expected), 0.0, 1e-10);
  CHECK_CLOSE(terms.log_det_curvature_reg, std::log(a.topLeftCorner(3, 3).determinant()), 1e-10, 0.0);
  CHECK_CLOSE(terms.log_det_regularization, std::log(h.topLeftCorner(3, 3).determinant()), 1e-10, 0.0);

  // The gradient of E = chi^2 + s^T H s + ln det A_RR - ln det H_RR against central differences of invert().
  RowMatrix grad_columns(4, p.n), grad_h(4, 4);
  VectorXd grad_data(p.n);
  const auto status = galaxyfit::inversion_gradient(p.columns.data(), p.data.data(), p.n, p.k, h_rows.data(),
                                                    flags.data(), s, sol.data(), adjoint.data(), grad_columns.data(),
                                                    grad_data.data(), grad_h.data());
  CHECK(status == galaxyfit::InversionStatus::kOk);
  auto energy = [&](const Problem& q, const RowMatrix& hh) {
    VectorXd s2, l2;
    const auto t = run(q, hh.data(), flags, s, s2, l2);
    return t.chi_squared + t.regularization_term + t.log_det_curvature_reg - t.log_det_regularization;
  };
  const double eps = 1e-6;
  for (int64_t i : {0, 57, 203}) {
    Problem up = p, down = p;
    up.data(i) += eps;
    down.data(i) -= eps;
    CHECK_CLOSE(grad_data(i), (energy(up, h_rows) - energy(down, h_rows)) / (2 * eps), 1e-5, 1e-5);
    for (int64_t j : {0, 3}) {
      up = p;
      down = p;
      up.columns(j, i) += eps;
      down.columns(j, i) -= eps;
      CHECK_CLOSE(grad_columns(j, i), (energy(up, h_rows) - energy(down, h_rows)) / (2 * eps), 1e-5, 1e-5);
    }
  }
  // H stays symmetric: moving H_01 and H_10 together changes E by (dE/dH_01 + dE/dH_10) eps.
  for (const auto& [u, v] : {std::pair<int, int>{0, 1}, {1, 1}, {0, 2}}) {
    RowMatrix h_up = h_rows, h_down = h_rows;
    h_up(u, v) += eps;
    h_down(u, v) -= eps;
    if (u != v) {
      h_up(v, u) += eps;
      h_down(v, u) -= eps;
    }
    const double analytic = u == v ? grad_h(u, v) : grad_h(u, v) + grad_h(v, u);
    CHECK_CLOSE(analytic, (energy(p, h_up) - energy(p, h_down)) / (2 * eps), 1e-5, 1e-5);
  }
}

void positive_only() {
  // Two nearly identical columns with opposite true amplitudes: the unconstrained solution has negatives.
  const Problem p = make_problem(4, {3.0, -1.0, 2.0, 0.0}, 4);
  galaxyfit::InversionSettings s;
  const std::vector<int32_t> flags(4, 0);
  VectorXd sol, adjoint;
  const auto terms = run(p, nullptr, flags, s, sol, adjoint);
  CHECK(terms.status == galaxyfit::InversionStatus::kOk);
  const MatrixXd b = p.columns.transpose();
  const MatrixXd a = b.transpose() * b + s.no_regularization_add_to_curvature_diag_value * MatrixXd::Identity(4, 4);
  const VectorXd d = b.transpose() * p.data;
  // Brute force: the optimum of 1/2 s^T A s - D^T s over s >= 0 is the best feasible solution on some passive set.
  double best = INFINITY;
  VectorXd best_s;
  for (int mask = 0; mask < 16; ++mask) {
    std::vector<int> idx;
    for (int j = 0; j < 4; ++j)
      if (mask >> j & 1) idx.push_back(j);
    VectorXd z = VectorXd::Zero(4);
    if (!idx.empty()) {
      MatrixXd app(idx.size(), idx.size());
      VectorXd dp(idx.size());
      for (size_t u = 0; u < idx.size(); ++u) {
        dp(u) = d(idx[u]);
        for (size_t v = 0; v < idx.size(); ++v) app(u, v) = a(idx[u], idx[v]);
      }
      const VectorXd zp = app.ldlt().solve(dp);
      for (size_t u = 0; u < idx.size(); ++u) z(idx[u]) = zp(u);
    }
    if (z.minCoeff() < 0.0) continue;
    const double objective = 0.5 * z.dot(a * z) - d.dot(z);
    if (objective < best) {
      best = objective;
      best_s = z;
    }
  }
  CHECK(sol.minCoeff() >= 0.0);
  CHECK(best_s.minCoeff() == 0.0);  // the constraint is active: a test of the positive-only path
  for (int j = 0; j < 4; ++j) CHECK_CLOSE(sol(j), best_s(j), 1e-12, 1e-9);
  CHECK(terms.iterations >= 1);

  // The Gram form from F, D and y^T y gives the same solution and chi^2.
  const RowMatrix f = b.transpose() * b;
  VectorXd sol_gram(4), adj_gram(4);
  const auto gram = galaxyfit::invert_gram(f.data(), d.data(), p.data.squaredNorm(), 4, nullptr, flags.data(), s,
                                           sol_gram.data(), adj_gram.data());
  CHECK(gram.status == galaxyfit::InversionStatus::kOk);
  for (int j = 0; j < 4; ++j) CHECK_CLOSE(sol_gram(j), sol(j), 1e-12, 1e-9);
  CHECK_CLOSE(gram.chi_squared, terms.chi_squared, 1e-9, 1e-10);
  // A guess moves the start, not the optimum.
  const VectorXd guess = VectorXd::Constant(4, 1.0);
  galaxyfit::invert_gram(f.data(), d.data(), p.data.squaredNorm(), 4, nullptr, flags.data(), s, sol_gram.data(),
                         adj_gram.data(), guess.data());
  for (int j = 0; j < 4; ++j) CHECK_CLOSE(sol_gram(j), sol(j), 1e-12, 1e-9);

  // gram_lower: the lower triangle of the Gram matrix of (b_1 .. b_k, y).
  std::vector<const double*> rows = {&p.columns(0, 0), &p.columns(1, 0), &p.columns(2, 0), &p.columns(3, 0),
                                     p.data.data()};
  std::vector<double> g(25, -7.0);
  galaxyfit::gram_lower(rows.data(), 5, p.n, g.data());
  CHECK_CLOSE(g[2 * 5 + 1], f(2, 1), 0.0, 1e-13);
  CHECK_CLOSE(g[4 * 5 + 3], d(3), 0.0, 1e-13);
  CHECK_CLOSE(g[4 * 5 + 4], p.data.squaredNorm(), 0.0, 1e-13);
  CHECK(g[1 * 5 + 2] == -7.0);  // above the diagonal: untouched
}

void bad_input() {
  const Problem p = make_problem(3, {1.0, 1.0, 1.0}, 5);
  galaxyfit::InversionSettings s;
  VectorXd sol, adjoint;
  using galaxyfit::InversionStatus;
  // A regularized column without H.
  auto t = run(p, nullptr, {1, 0, 0}, s, sol, adjoint);
  CHECK(t.status == InversionStatus::kBadArgument);
  CHECK(std::isnan(t.chi_squared) && sol.cwiseAbs().maxCoeff() == 0.0);
  // k = 0.
  t = galaxyfit::invert(p.columns.data(), p.data.data(), p.n, 0, nullptr, nullptr, s, sol.data(), adjoint.data());
  CHECK(t.status == InversionStatus::kBadArgument);
  // Every column held at zero.
  t = run(p, nullptr, {4, 4, 4}, s, sol, adjoint);
  CHECK(t.status == InversionStatus::kBadArgument);
  // NaN data.
  Problem nan = p;
  nan.data(17) = NAN;
  t = run(nan, nullptr, {0, 0, 0}, s, sol, adjoint);
  CHECK(t.status == InversionStatus::kNotFinite);
  // An indefinite H on the regularized block.
  RowMatrix h = RowMatrix::Zero(3, 3);
  h(0, 0) = h(1, 1) = 1.0;
  h(0, 1) = h(1, 0) = 2.0;
  t = run(p, h.data(), {1, 1, 0}, s, sol, adjoint);
  CHECK(t.status == InversionStatus::kNotPositiveDefinite);
  // Unconstrained with a J that makes A indefinite.
  s.positive_only = false;
  s.no_regularization_add_to_curvature_diag_value = -1e9;
  t = run(p, nullptr, {0, 0, 0}, s, sol, adjoint);
  CHECK(t.status == InversionStatus::kNotPositiveDefinite);
}

}  // namespace

int main() {
  unconstrained();
  regularized();
  positive_only();
  bad_input();
  return check::finish("test_inversion");
}
