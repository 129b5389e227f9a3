// The nested sampler's kernels: the enclosing ellipsoid's weights (Khachiyan's optimality: every point inside, the
// support on the surface), a network that learns a smooth function, and argument errors.
#include <galaxyfit/nested_support.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"

namespace {

void ellipsoid() {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int n_dim = 3;
  const int64_t n = 300;
  std::vector<double> points(n * n_dim);
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < n_dim; ++d) points[i * n_dim + d] = normal(rng) * (1.0 + d);
  std::vector<double> u(n);
  galaxyfit::mvee_weights(points.data(), n, n_dim, 2000, 0, u.data());
  double total = 0.0;
  Eigen::MatrixXd v = Eigen::MatrixXd::Zero(n_dim + 1, n_dim + 1);
  for (int64_t i = 0; i < n; ++i) {
    CHECK(u[i] >= 0.0);
    total += u[i];
    Eigen::VectorXd q(n_dim + 1);
    for (int d = 0; d < n_dim; ++d) q(d) = points[i * n_dim + d];
    q(n_dim) = 1.0;
    v += u[i] * q * q.transpose();
  }
  CHECK_CLOSE(total, 1.0, 1e-12, 0.0);
  // max_j g_j >= n_dim + 1 for any weights (their u-weighted mean is n_dim + 1); at the optimum it is n_dim + 1
  // (Khachiyan 1996), i.e. every point lies within the ellipsoid the weights define.
  const Eigen::MatrixXd v_inv = v.inverse();
  double largest = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    Eigen::VectorXd q(n_dim + 1);
    for (int d = 0; d < n_dim; ++d) q(d) = points[i * n_dim + d];
    q(n_dim) = 1.0;
    largest = std::fmax(largest, q.dot(v_inv * q));
  }
  CHECK_CLOSE(largest, n_dim + 1.0, 0.0, 0.01);

  CHECK_THROWS(std::invalid_argument, "need more points", galaxyfit::mvee_weights(points.data(), 3, 3, 10, 0, u.data()));
  CHECK_THROWS(std::invalid_argument, "must not be negative",
               galaxyfit::mvee_weights(points.data(), n, n_dim, -1, 0, u.data()));
  std::vector<double> flat(n * n_dim, 0.0);  // every point at the origin: V is singular
  CHECK_THROWS(std::runtime_error, "not positive definite", galaxyfit::mvee_weights(flat.data(), n, n_dim, 5, 0, u.data()));
}

void network() {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  const int64_t n = 400;
  std::vector<double> x(2 * n), y(n);
  for (int64_t i = 0; i < n; ++i) {
    x[2 * i] = uniform(rng);
    x[2 * i + 1] = uniform(rng);
    y[i] = x[2 * i] * x[2 * i] + 0.5 * x[2 * i + 1];
  }
  galaxyfit::MlpSettings s;
  s.hidden_layer_sizes = {32, 32};
  s.max_iter = 300;
  s.learning_rate = 3e-3;
  s.seed = 1;
  const galaxyfit::Mlp net = galaxyfit::train_mlp_regressor(x.data(), y.data(), n, 2, s);
  CHECK((net.layer_sizes == std::vector<int>{2, 32, 32, 1}));
  CHECK(net.weights.size() == 3 && net.weights[0].size() == 64 && net.biases[2].size() == 1);
  std::vector<double> prediction(n);
  galaxyfit::mlp_predict(net, x.data(), n, prediction.data());
  double mse = 0.0, variance = 0.0, mean = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += y[i] / n;
  for (int64_t i = 0; i < n; ++i) {
    mse += (prediction[i] - y[i]) * (prediction[i] - y[i]) / n;
    variance += (y[i] - mean) * (y[i] - mean) / n;
  }
  std::printf("network: %d epochs, mse %.3g of variance %.3g\n", net.n_iter, mse, variance);
  CHECK(mse < 0.02 * variance);
  // The reported loss is the last epoch's mean of mse / 2 + the L2 term, near the fit's own mse / 2.
  CHECK(net.loss > 0.0 && net.loss < 0.02 * variance);
  // The same seed gives the same network.
  const galaxyfit::Mlp again = galaxyfit::train_mlp_regressor(x.data(), y.data(), n, 2, s);
  CHECK(again.weights == net.weights && again.n_iter == net.n_iter);

  CHECK_THROWS(std::invalid_argument, "at least one sample", galaxyfit::train_mlp_regressor(x.data(), y.data(), 0, 2, s));
  s.hidden_layer_sizes = {4, 0};
  CHECK_THROWS(std::invalid_argument, "hidden layer sizes must be positive",
               galaxyfit::train_mlp_regressor(x.data(), y.data(), n, 2, s));
  s.hidden_layer_sizes = {4};
  s.learning_rate = 0.0;
  CHECK_THROWS(std::invalid_argument, "must be positive", galaxyfit::train_mlp_regressor(x.data(), y.data(), n, 2, s));
}

}  // namespace

int main() {
  ellipsoid();
  network();
  return check::finish("test_nested_support");
}
