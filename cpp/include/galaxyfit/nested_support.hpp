/// \file galaxyfit/nested_support.hpp
/// \brief Numerical kernels of the nested sampler's bounds (nautilus; Lange 2023, MNRAS 525, 3181): the emulator
///        network's training and the minimum-volume enclosing ellipsoid.
///
/// Plain C++17, no Python: the same algorithms nautilus runs in scikit-learn and numpy, which cost most of a fit's
/// time when a likelihood takes ~0.05 ms. The random stream (splitmix64; Steele, Lea & Flood 2014) is the same on
/// every platform; the arithmetic may differ in the last bits between instruction sets (fused multiply-adds), as
/// XLA's does. Inputs are dimensionless here (nautilus works in the unit cube and standardises what it fits).
///
/// Python reference: python/galaxyfit/search/nautilus_kernels.py, which puts these in place of nautilus' own
/// functions.
#pragma once

#include <cstdint>
#include <vector>

namespace galaxyfit {

/// \brief Settings of a multilayer-perceptron regressor trained as scikit-learn's MLPRegressor(solver='adam',
///        activation='relu', shuffle=True, early_stopping=False) trains one.
///
/// Weights and biases drawn uniformly in +-sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010), loss = mean squared
/// error / 2 + alpha/2 |W|^2 / batch, Adam (Kingma & Ba 2015) in scikit-learn's form (bias correction folded into
/// the step size), mini-batches of a fresh random permutation each epoch, stopping after more than n_iter_no_change
/// epochs whose mean loss is not below the best so far minus tol, or after max_iter epochs.
struct MlpSettings {
  std::vector<int> hidden_layer_sizes{100};  ///< neurons per hidden layer (each >= 1; at most 15 layers)
  double alpha = 1e-4;          ///< L2 penalty
  double learning_rate = 1e-3;  ///< Adam's step size (> 0)
  int batch_size = 200;  ///< >= 1; min(batch_size, n_samples) is used, as scikit-learn's 'auto'
  int max_iter = 200;    ///< most epochs (>= 1)
  int n_iter_no_change = 10;  ///< epochs without improvement before stopping
  double tol = 1e-4;          ///< improvement that counts
  double beta_1 = 0.9;        ///< Adam's first-moment decay
  double beta_2 = 0.999;      ///< Adam's second-moment decay
  double epsilon = 1e-8;      ///< Adam's denominator guard
  uint64_t seed = 0;          ///< seed of the splitmix64 stream (initial weights and shuffles)
};

/// \brief A trained network: layer k maps fan_in(k) to fan_out(k); ReLU between layers, identity output (one value).
struct Mlp {
  std::vector<int> layer_sizes;  ///< n_features, hidden..., 1
  std::vector<std::vector<double>> weights;  ///< weights[k]: fan_in x fan_out row-major (scikit-learn's coefs_[k])
  std::vector<std::vector<double>> biases;   ///< biases[k]: fan_out values (scikit-learn's intercepts_[k])
  int n_iter = 0;      ///< epochs run
  double loss = 0.0;   ///< mean loss of the last epoch
};

/// \brief Trains the network of `settings` on (x, y).
/// \param x          n_samples x n_features, row-major.
/// \param y          n_samples targets.
/// \param n_samples  >= 1.
/// \param n_features >= 1.
/// \param settings   see MlpSettings.
/// \return the trained network.
/// \throws std::invalid_argument for n_samples < 1, n_features < 1, a non-positive layer size, batch size, learning
///         rate or max_iter, or more than 15 hidden layers.
Mlp train_mlp_regressor(const double* x, const double* y, int64_t n_samples, int n_features, const MlpSettings& settings);

/// \brief Network output for a batch of inputs. Nothing is checked.
/// \param network   a network from train_mlp_regressor.
/// \param x         n_samples x layer_sizes[0], row-major.
/// \param n_samples number of inputs.
/// \param out       output, n_samples values.
void mlp_predict(const Mlp& network, const double* x, int64_t n_samples, double* out);

/// \brief Weights of the minimum-volume enclosing ellipsoid of a point set, by nautilus' batched variant of
///        Khachiyan's algorithm (Khachiyan 1996; Todd & Yildirim 2007).
///
/// n_max rounds, each taking the n_batch points with the largest Mahalanobis distance g_j = q_j^T V^-1 q_j
/// (q_j = (x_j, 1), V = sum_j u_j q_j q_j^T, u starting at 1 / n_points) in decreasing order and, for each with
/// g_j >= n_dim + 1, moving weight a = (g_j - n_dim - 1) / ((n_dim + 1)(g_j - 1)) onto it. The first point of a round
/// uses the round's g_j, the others g_j under the updated V, as nautilus does.
///
/// \param points   n_points x n_dim, row-major.
/// \param n_points > n_dim.
/// \param n_dim    >= 1.
/// \param n_max    rounds (>= 0).
/// \param n_batch  points per round (>= 0; 0 takes every point).
/// \param u        output, n_points weights (sum 1).
/// \throws std::invalid_argument when n_dim < 1, n_points <= n_dim, or n_max or n_batch is negative;
///         std::runtime_error when V is not positive definite (points in a lower-dimensional subspace; standardising
///         the points first keeps V well conditioned otherwise).
void mvee_weights(const double* points, int64_t n_points, int n_dim, int n_max, int n_batch, double* u);

}  // namespace galaxyfit
