// Internal: one mini-batch of the emulator network's training (forward pass, back-propagation, Adam step), written
// as plain loops over the batch so that they vectorise, and compiled per instruction set by
// mlp_<isa>.cpp. No Eigen here: its code would be compiled for several instruction sets under one name (an ODR
// violation that can put AVX-512 code on a CPU without it). Entry points carry the instruction set (GALAXYFIT_ISA).
#pragma once

#include <cmath>
#include <cstdint>
#include <utility>

#include "mlp_layout.hpp"

#ifndef GALAXYFIT_ISA
#error "define GALAXYFIT_ISA (entry-point suffix) before including mlp_kernel.hpp"
#endif

namespace galaxyfit {
namespace detail {
#define GALAXYFIT_MLP_CAT2(a, b) a##b
#define GALAXYFIT_MLP_CAT(a, b) GALAXYFIT_MLP_CAT2(a, b)

namespace {

constexpr int kLanes = 8;  // one AVX-512 vector of doubles (two AVX2 ones)

inline double lane_sum(const double* v) {  // pairwise, so the additions do not wait on each other
  return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}

// sum_r a[r] * b[r] over n values in kLanes interleaved partial sums (the loop vectorises).
inline double dot(const double* __restrict a, const double* __restrict b, int64_t n) {
  double acc[kLanes] = {};
  int64_t r = 0;
  for (; r + kLanes <= n; r += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[r + l] * b[r + l];
  double total = lane_sum(acc);
  for (; r < n; ++r) total += a[r] * b[r];
  return total;
}

// o[r] += sum_i w[i * stride] * a[i * nb + r] over n_terms rows of a: four rows per pass, so each element of o is
// loaded and stored once per four multiply-adds.
inline void accumulate_rows(double* __restrict o, const double* __restrict w, int64_t stride,
                            const double* __restrict a, int n_terms, int64_t nb) {
  int i = 0;
  for (; i + 4 <= n_terms; i += 4) {
    const double w0 = w[i * stride], w1 = w[(i + 1) * stride], w2 = w[(i + 2) * stride], w3 = w[(i + 3) * stride];
    const double* __restrict a0 = a + i * nb;
    const double* __restrict a1 = a0 + nb;
    const double* __restrict a2 = a1 + nb;
    const double* __restrict a3 = a2 + nb;
    for (int64_t r = 0; r < nb; ++r) o[r] += (w0 * a0[r] + w1 * a1[r]) + (w2 * a2[r] + w3 * a3[r]);
  }
  for (; i < n_terms; ++i) {
    const double wi = w[i * stride];
    const double* __restrict ai = a + i * nb;
    for (int64_t r = 0; r < nb; ++r) o[r] += wi * ai[r];
  }
}

// gw (si x so, row-major) = in (si x nb) times delta (so x nb) transposed. Blocks of 4 x 4 weights share each
// vector load of the inputs and deltas, and their 16 vector sums stay in registers.
inline void weight_gradient(const double* __restrict in, const double* __restrict delta, int si, int so, int64_t nb,
                            double* __restrict gw) {
  constexpr int kBlock = 4;
  int i = 0;
  for (; i + kBlock <= si; i += kBlock) {
    int j = 0;
    for (; j + kBlock <= so; j += kBlock) {
      double acc[kBlock][kBlock][kLanes] = {};
      int64_t r = 0;
      for (; r + kLanes <= nb; r += kLanes)
        for (int a = 0; a < kBlock; ++a)
          for (int c = 0; c < kBlock; ++c)
            for (int l = 0; l < kLanes; ++l)
              acc[a][c][l] += in[(i + a) * nb + r + l] * delta[(j + c) * nb + r + l];
      for (int a = 0; a < kBlock; ++a)
        for (int c = 0; c < kBlock; ++c) {
          double total = lane_sum(acc[a][c]);
          for (int64_t t = r; t < nb; ++t) total += in[(i + a) * nb + t] * delta[(j + c) * nb + t];
          gw[static_cast<int64_t>(i + a) * so + j + c] = total;
        }
    }
    for (; j < so; ++j)
      for (int a = 0; a < kBlock; ++a)
        gw[static_cast<int64_t>(i + a) * so + j] = dot(in + (i + a) * nb, delta + static_cast<int64_t>(j) * nb, nb);
  }
  for (; i < si; ++i)
    for (int j = 0; j < so; ++j)
      gw[static_cast<int64_t>(i) * so + j] = dot(in + static_cast<int64_t>(i) * nb, delta + static_cast<int64_t>(j) * nb, nb);
}

}  // namespace

double GALAXYFIT_MLP_CAT(mlp_batch_step_, GALAXYFIT_ISA)(const MlpLayout& lay, const double* __restrict x,
                                                        const double* __restrict y, const int64_t* __restrict rows,
                                                        int64_t nb, double* __restrict params,
                                                        MlpWorkspace& ws, const AdamStep& adam) {
  // Activations are stored unit-major (act[k] is sizes[k] x nb: one row of the batch's values per unit), so every
  // inner loop runs over the batch: long, contiguous and independent from one element to the next.
  const int n_layers = lay.n_layers;
  const int* sizes = lay.sizes;
  double* __restrict grads = ws.grads;
  const int d0 = sizes[0];
  double* __restrict a0 = ws.act[0];
  for (int64_t r = 0; r < nb; ++r) {
    const double* xr = x + rows[r] * d0;
    for (int f = 0; f < d0; ++f) a0[f * nb + r] = xr[f];
  }
  for (int k = 0; k < n_layers; ++k) {
    const int si = sizes[k], so = sizes[k + 1];
    const double* __restrict w = params + lay.w_offset[k];
    const double* __restrict b = params + lay.b_offset[k];
    const double* __restrict in = ws.act[k];
    double* __restrict out = ws.act[k + 1];
    const bool hidden = k + 1 < n_layers;
    for (int j = 0; j < so; ++j) {
      double* __restrict o = out + static_cast<int64_t>(j) * nb;
      const double bj = b[j];
      for (int64_t r = 0; r < nb; ++r) o[r] = bj;
      accumulate_rows(o, w + j, so, in, si, nb);
      if (hidden)
        for (int64_t r = 0; r < nb; ++r) o[r] = o[r] > 0.0 ? o[r] : 0.0;
    }
  }
  // One output unit: delta = (prediction - y) / nb, loss = mean squared error / 2.
  double* __restrict delta = ws.delta;
  const double* __restrict pred = ws.act[n_layers];
  double loss = 0.0;
  for (int64_t r = 0; r < nb; ++r) {
    const double e = pred[r] - y[rows[r]];
    loss += e * e;
    delta[r] = e / static_cast<double>(nb);
  }
  loss *= 0.5 / static_cast<double>(nb);
  for (int k = n_layers - 1; k >= 0; --k) {
    const int si = sizes[k], so = sizes[k + 1];
    const double* __restrict w = params + lay.w_offset[k];
    double* __restrict gw = grads + lay.w_offset[k];
    double* __restrict gb = grads + lay.b_offset[k];
    const double* __restrict in = ws.act[k];
    for (int j = 0; j < so; ++j) {
      const double* __restrict dj = delta + static_cast<int64_t>(j) * nb;
      double sum = 0.0;
      for (int64_t r = 0; r < nb; ++r) sum += dj[r];
      gb[j] = sum;
    }
    weight_gradient(in, delta, si, so, nb, gw);
    if (k == 0) break;
    // delta of layer k's input: W delta where that input was positive (ReLU).
    double* __restrict next = ws.next_delta;
    for (int i = 0; i < si; ++i) {
      double* __restrict nd = next + static_cast<int64_t>(i) * nb;
      for (int64_t r = 0; r < nb; ++r) nd[r] = 0.0;
      accumulate_rows(nd, w + static_cast<int64_t>(i) * so, 1, delta, so, nb);
      const double* __restrict a = in + static_cast<int64_t>(i) * nb;
      for (int64_t r = 0; r < nb; ++r) nd[r] = a[r] > 0.0 ? nd[r] : 0.0;
    }
    std::swap(ws.delta, ws.next_delta);
    delta = ws.delta;
  }
  if (adam.alpha != 0.0) {
    double w2 = 0.0;
    for (int k = 0; k < n_layers; ++k) {
      const double* __restrict w = params + lay.w_offset[k];
      double* __restrict gw = grads + lay.w_offset[k];
      const int64_t nw = static_cast<int64_t>(sizes[k]) * sizes[k + 1];
      for (int64_t i = 0; i < nw; ++i) {
        w2 += w[i] * w[i];
        gw[i] += adam.alpha / static_cast<double>(nb) * w[i];
      }
    }
    loss += 0.5 * adam.alpha * w2 / static_cast<double>(nb);
  }
  // Adam (Kingma & Ba 2015) in scikit-learn's form: bias correction folded into the step size.
  double* __restrict m1 = ws.m1;
  double* __restrict m2 = ws.m2;
  const double b1 = adam.beta_1, b2 = adam.beta_2, rate = adam.rate, eps = adam.epsilon;
  for (int64_t i = 0; i < lay.total; ++i) {
    const double g = grads[i];
    m1[i] = b1 * m1[i] + (1.0 - b1) * g;
    m2[i] = b2 * m2[i] + (1.0 - b2) * (g * g);
    params[i] -= rate * m1[i] / (std::sqrt(m2[i]) + eps);
  }
  return loss;
}

#undef GALAXYFIT_MLP_CAT
#undef GALAXYFIT_MLP_CAT2
}  // namespace detail
}  // namespace galaxyfit
