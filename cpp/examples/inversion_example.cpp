// Fit the amplitudes of three overlapping linear light profiles to noisy data with galaxyfit's installed inversion
// kernel, and check the result against an independent dense solve written here (normal equations and a Cholesky
// factorization in plain loops): first without the positivity constraint, then with a smoothing regularization
// and its log-determinant, as a pixelization's evidence needs.
#include <galaxyfit/inversion.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {

// Solves a x = rhs for a symmetric positive definite k x k row-major a by Cholesky (a = L L^T); returns ln det a.
double cholesky_solve(std::vector<double> a, int k, const std::vector<double>& rhs, std::vector<double>& x) {
  double log_det = 0.0;
  for (int j = 0; j < k; ++j) {
    for (int p = 0; p < j; ++p) a[j * k + j] -= a[j * k + p] * a[j * k + p];
    a[j * k + j] = std::sqrt(a[j * k + j]);
    log_det += 2.0 * std::log(a[j * k + j]);
    for (int i = j + 1; i < k; ++i) {
      for (int p = 0; p < j; ++p) a[i * k + j] -= a[i * k + p] * a[j * k + p];
      a[i * k + j] /= a[j * k + j];
    }
  }
  x = rhs;
  for (int i = 0; i < k; ++i) {  // L z = rhs
    for (int p = 0; p < i; ++p) x[i] -= a[i * k + p] * x[p];
    x[i] /= a[i * k + i];
  }
  for (int i = k - 1; i >= 0; --i) {  // L^T x = z
    for (int p = i + 1; p < k; ++p) x[i] -= a[p * k + i] * x[p];
    x[i] /= a[i * k + i];
  }
  return log_det;
}

}  // namespace

int main() {
  // Three Gaussian blobs on a 24 x 24 image (n = 576 pixels), unit amplitude each; noise sigma = 0.5 counts.
  const int k = 3, side = 24, n = side * side;
  const double sigma = 0.5, truth[k] = {4.0, 2.5, 1.0};
  std::vector<double> columns(k * n), data(n);  // columns: k x n row-major, each blob divided by sigma
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0.0, sigma);
  for (int i = 0; i < n; ++i) {
    double model = 0.0;
    for (int j = 0; j < k; ++j) {
      const double dy = i / side - (9.0 + 2.0 * j), dx = i % side - (10.0 + 1.5 * j), w = 2.0 + j;
      const double blob = std::exp(-(dy * dy + dx * dx) / (2.0 * w * w));
      columns[j * n + i] = blob / sigma;
      model += truth[j] * blob;
    }
    data[i] = (model + noise(rng)) / sigma;  // the weighted data y = d / sigma
  }

  // The independent solve: A = B_w^T B_w + J, D = B_w^T y, with J the kernel's default diagonal 1e-3 on
  // unregularized columns (PyAutoArray's no_regularization_add_to_curvature_diag_value).
  auto normal_equations = [&](std::vector<double>& a, std::vector<double>& d) {
    a.assign(k * k, 0.0);
    d.assign(k, 0.0);
    for (int p = 0; p < k; ++p) {
      for (int i = 0; i < n; ++i) d[p] += columns[p * n + i] * data[i];
      for (int q = 0; q < k; ++q)
        for (int i = 0; i < n; ++i) a[p * k + q] += columns[p * n + i] * columns[q * n + i];
    }
  };
  auto chi_squared = [&](const std::vector<double>& s) {
    double chi2 = 0.0;
    for (int i = 0; i < n; ++i) {
      double r = data[i];
      for (int j = 0; j < k; ++j) r -= s[j] * columns[j * n + i];
      chi2 += r * r;
    }
    return chi2;
  };
  bool ok = true;

  // 1. Unregularized, free sign.
  galaxyfit::InversionSettings settings;
  settings.positive_only = false;
  std::vector<int32_t> flags(k, 0);
  std::vector<double> s(k), adjoint(k);
  galaxyfit::InversionTerms terms =
      galaxyfit::invert(columns.data(), data.data(), n, k, nullptr, flags.data(), settings, s.data(), adjoint.data());
  std::vector<double> a, d, expected;
  normal_equations(a, d);
  for (int j = 0; j < k; ++j) a[j * k + j] += settings.no_regularization_add_to_curvature_diag_value;
  cholesky_solve(a, k, d, expected);
  double worst = 0.0;
  for (int j = 0; j < k; ++j) worst = std::fmax(worst, std::fabs(s[j] - expected[j]));
  std::printf("amplitudes %.4f %.4f %.4f (true %.1f %.1f %.1f), chi^2 %.2f for %d pixels, max |kernel - dense| %.1e\n",
              s[0], s[1], s[2], truth[0], truth[1], truth[2], terms.chi_squared, n, worst);
  ok = ok && terms.status == galaxyfit::InversionStatus::kOk && worst < 1e-10 &&
       std::fabs(terms.chi_squared - chi_squared(expected)) < 1e-8 * terms.chi_squared;

  // 2. All three regularized by H = lambda (G^T G + 0.01 I), G the first difference, with positivity on: the
  // amplitudes stay positive here, so the solution is A s = D with A = F + H, and ln det A and ln det H enter the
  // evidence.
  const double lambda = 2.0;
  std::vector<double> h(k * k, 0.0);
  for (int j = 0; j + 1 < k; ++j) {
    h[j * k + j] += lambda;
    h[(j + 1) * k + j + 1] += lambda;
    h[j * k + j + 1] -= lambda;
    h[(j + 1) * k + j] -= lambda;
  }
  for (int j = 0; j < k; ++j) h[j * k + j] += 0.01 * lambda;
  settings.positive_only = true;
  flags.assign(k, galaxyfit::kColumnRegularized);
  terms = galaxyfit::invert(columns.data(), data.data(), n, k, h.data(), flags.data(), settings, s.data(),
                            adjoint.data());
  normal_equations(a, d);
  for (int j = 0; j < k * k; ++j) a[j] += h[j];
  const double log_det_a = cholesky_solve(a, k, d, expected);
  std::vector<double> unused;
  const double log_det_h = cholesky_solve(h, k, d, unused);
  worst = 0.0;
  for (int j = 0; j < k; ++j) worst = std::fmax(worst, std::fabs(s[j] - expected[j]));
  double s_h_s = 0.0;
  for (int p = 0; p < k; ++p)
    for (int q = 0; q < k; ++q) s_h_s += expected[p] * h[p * k + q] * expected[q];
  const double evidence_terms =
      terms.chi_squared + terms.regularization_term + terms.log_det_curvature_reg - terms.log_det_regularization;
  const double dense_terms = chi_squared(expected) + s_h_s + log_det_a - log_det_h;
  std::printf("regularized: amplitudes %.4f %.4f %.4f, -2 ln(evidence) + const %.6f (dense %.6f)\n", s[0], s[1], s[2],
              evidence_terms, dense_terms);
  ok = ok && terms.status == galaxyfit::InversionStatus::kOk && worst < 1e-10 &&
       std::fabs(evidence_terms - dense_terms) < 1e-8 * std::fabs(dense_terms);

  std::printf(ok ? "ok\n" : "FAILED\n");
  return ok ? 0 : 1;
}
