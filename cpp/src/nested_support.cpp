#include "galaxyfit/nested_support.hpp"

#include "galaxyfit/profile_image.hpp"
#include "mlp_layout.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace galaxyfit {

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapConstRow = Eigen::Map<const RowMatrix>;

// splitmix64 (Steele, Lea & Flood 2014): a small generator whose stream is the same on every platform, unlike the
// standard library's distributions.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  // Uniform integer in [0, n) by Lemire's multiply-shift with rejection (no modulo bias).
  uint64_t below(uint64_t n) {
    __uint128_t m = static_cast<__uint128_t>(next()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
};

detail::MlpBatchStepFn pick_batch_step() {
  const std::string isa = kernel_instruction_set();  // the profile kernels' run-time choice
#if defined(GALAXYFIT_X86_DISPATCH)
  if (isa == "x86-64-v4") return detail::mlp_batch_step_x86_v4;
  if (isa == "x86-64-v3") return detail::mlp_batch_step_x86_v3;
#endif
  return detail::mlp_batch_step_baseline;
}

}  // namespace

Mlp train_mlp_regressor(const double* x, const double* y, int64_t n_samples, int n_features, const MlpSettings& s) {
  if (n_samples < 1) throw std::invalid_argument("train_mlp_regressor: need at least one sample");
  if (n_features < 1) throw std::invalid_argument("train_mlp_regressor: need at least one feature");
  if (s.batch_size < 1 || s.max_iter < 1 || !(s.learning_rate > 0))
    throw std::invalid_argument("train_mlp_regressor: batch_size, max_iter and learning_rate must be positive");
  if (static_cast<int>(s.hidden_layer_sizes.size()) + 1 > detail::kMaxMlpLayers)
    throw std::invalid_argument("train_mlp_regressor: at most " + std::to_string(detail::kMaxMlpLayers - 1) +
                                " hidden layers");
  detail::MlpLayout lay;
  lay.sizes[0] = n_features;
  int widest = n_features;
  for (int h : s.hidden_layer_sizes) {
    if (h < 1) throw std::invalid_argument("train_mlp_regressor: hidden layer sizes must be positive");
    lay.sizes[++lay.n_layers] = h;
    widest = std::max(widest, h);
  }
  lay.sizes[++lay.n_layers] = 1;
  for (int k = 0; k < lay.n_layers; ++k) {
    lay.w_offset[k] = lay.total;
    lay.total += static_cast<int64_t>(lay.sizes[k]) * lay.sizes[k + 1];
    lay.b_offset[k] = lay.total;
    lay.total += lay.sizes[k + 1];
  }

  SplitMix64 rng{s.seed};
  std::vector<double> params(lay.total);
  for (int k = 0; k < lay.n_layers; ++k) {
    const double bound = std::sqrt(6.0 / (lay.sizes[k] + lay.sizes[k + 1]));
    for (int64_t i = lay.w_offset[k]; i < lay.b_offset[k] + lay.sizes[k + 1]; ++i)
      params[i] = bound * (2.0 * rng.uniform() - 1.0);
  }

  const int64_t batch = std::min<int64_t>(s.batch_size, n_samples);
  std::vector<std::vector<double>> act(lay.n_layers + 1);
  detail::MlpWorkspace ws{};
  for (int k = 0; k <= lay.n_layers; ++k) {
    act[k].resize(batch * lay.sizes[k]);
    ws.act[k] = act[k].data();
  }
  std::vector<double> delta(batch * widest), next_delta(batch * widest),
      grads(lay.total), m1(lay.total, 0.0), m2(lay.total, 0.0);
  ws.delta = delta.data();
  ws.next_delta = next_delta.data();
  ws.grads = grads.data();
  ws.m1 = m1.data();
  ws.m2 = m2.data();
  const detail::MlpBatchStepFn step_fn = pick_batch_step();

  std::vector<int64_t> order(n_samples);
  std::iota(order.begin(), order.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  int no_improvement = 0;
  int64_t step = 0;
  Mlp net;
  for (int epoch = 0; epoch < s.max_iter; ++epoch) {
    for (int64_t i = n_samples - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint64_t>(i) + 1)]);
    double accumulated = 0.0;
    for (int64_t start = 0; start < n_samples; start += batch) {
      const int64_t nb = std::min(batch, n_samples - start);
      ++step;
      const detail::AdamStep adam{s.learning_rate * std::sqrt(1.0 - std::pow(s.beta_2, static_cast<double>(step))) /
                                      (1.0 - std::pow(s.beta_1, static_cast<double>(step))),
                                  s.beta_1, s.beta_2, s.epsilon, s.alpha};
      accumulated += step_fn(lay, x, y, order.data() + start, nb, params.data(), ws, adam) * nb;
    }
    const double epoch_loss = accumulated / n_samples;
    net.n_iter = epoch + 1;
    net.loss = epoch_loss;
    // scikit-learn's rule (_update_no_improvement_count without early stopping).
    no_improvement = epoch_loss > best - s.tol ? no_improvement + 1 : 0;
    best = std::min(best, epoch_loss);
    if (no_improvement > s.n_iter_no_change) break;
  }

  net.layer_sizes.assign(lay.sizes, lay.sizes + lay.n_layers + 1);
  for (int k = 0; k < lay.n_layers; ++k) {
    net.weights.emplace_back(params.data() + lay.w_offset[k], params.data() + lay.b_offset[k]);
    net.biases.emplace_back(params.data() + lay.b_offset[k], params.data() + lay.b_offset[k] + lay.sizes[k + 1]);
  }
  return net;
}

void mlp_predict(const Mlp& net, const double* x, int64_t n_samples, double* out) {
  const int n_layers = static_cast<int>(net.weights.size());
  RowMatrix a = MapConstRow(x, n_samples, net.layer_sizes[0]), z;
  for (int k = 0; k < n_layers; ++k) {
    const MapConstRow W(net.weights[k].data(), net.layer_sizes[k], net.layer_sizes[k + 1]);
    z.noalias() = a * W;
    z.rowwise() += Eigen::Map<const Eigen::RowVectorXd>(net.biases[k].data(), net.layer_sizes[k + 1]);
    if (k + 1 < n_layers) z = z.cwiseMax(0.0);
    a.swap(z);
  }
  Eigen::Map<Eigen::VectorXd>(out, n_samples) = a.col(0);
}

void mvee_weights(const double* points, int64_t n_points, int n_dim, int n_max, int n_batch, double* u_out) {
  if (n_dim < 1 || n_points <= n_dim)
    throw std::invalid_argument("mvee_weights: need more points (" + std::to_string(n_points) + ") than dimensions (" +
                                std::to_string(n_dim) + ")");
  if (n_max < 0 || n_batch < 0)
    throw std::invalid_argument("mvee_weights: n_max and n_batch must not be negative");
  const int m = n_dim + 1;
  RowMatrix q(n_points, m);
  q.leftCols(n_dim) = MapConstRow(points, n_points, n_dim);
  q.col(n_dim).setOnes();
  Eigen::Map<Eigen::VectorXd> u(u_out, n_points);
  u.setConstant(1.0 / static_cast<double>(n_points));

  Eigen::MatrixXd v = q.transpose() * u.asDiagonal() * q, v_inv(m, m);
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(m, m);
  auto invert = [&]() {
    Eigen::LLT<Eigen::MatrixXd> llt(v);
    if (llt.info() != Eigen::Success)
      throw std::runtime_error("mvee_weights: the points' scatter matrix is not positive definite");
    v_inv = llt.solve(identity);
    v_inv = 0.5 * (v_inv + v_inv.transpose()).eval();
  };
  invert();

  Eigen::VectorXd g(n_points);
  RowMatrix qv;
  std::vector<int64_t> index(n_points);
  const int64_t take = n_batch == 0 ? n_points : std::min<int64_t>(n_batch, n_points);  // 0: all, as nautilus' [-0:]
  Eigen::VectorXd qj(m);
  for (int round = 0; round < n_max; ++round) {
    qv.noalias() = q * v_inv;
    g = qv.cwiseProduct(q).rowwise().sum();
    std::iota(index.begin(), index.end(), 0);
    std::partial_sort(index.begin(), index.begin() + take, index.end(),
                      [&](int64_t a, int64_t b) { return g[a] > g[b] || (g[a] == g[b] && a > b); });
    for (int64_t t = 0; t < take; ++t) {
      const int64_t j = index[t];
      qj = q.row(j).transpose();
      const double gj = t == 0 ? g[j] : qj.dot(v_inv * qj);
      if (gj < m) continue;
      const double a = (gj - m) / (m * (gj - 1.0));
      v = (1.0 - a) * v + a * qj * qj.transpose();
      invert();
      u *= 1.0 - a;
      u[j] += a;
    }
  }
}

}  // namespace galaxyfit
