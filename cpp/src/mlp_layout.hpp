// Internal: the emulator network's parameter layout and scratch buffers, shared by nested_support.cpp and the
// per-instruction-set mini-batch kernels (mlp_kernel.hpp).
#pragma once

#include <cstdint>

namespace galaxyfit {
namespace detail {

constexpr int kMaxMlpLayers = 16;

// Layer k maps sizes[k] inputs to sizes[k + 1] outputs; its weights (row-major, sizes[k] x sizes[k + 1]) start at
// w_offset[k] of the flat parameter vector and its biases at b_offset[k].
struct MlpLayout {
  int n_layers = 0;
  int sizes[kMaxMlpLayers + 1] = {};
  int64_t w_offset[kMaxMlpLayers] = {};
  int64_t b_offset[kMaxMlpLayers] = {};
  int64_t total = 0;
};

struct MlpWorkspace {
  double* act[kMaxMlpLayers + 1];  // each batch x sizes[k]
  double* delta;                   // batch x max size
  double* next_delta;              // batch x max size
  double* grads;                   // total
  double* m1;                      // total: Adam's first moment
  double* m2;                      // total: Adam's second moment
};

struct AdamStep {
  double rate, beta_1, beta_2, epsilon, alpha;
};

using MlpBatchStepFn = double (*)(const MlpLayout&, const double*, const double*, const int64_t*, int64_t, double*,
                                  MlpWorkspace&, const AdamStep&);
double mlp_batch_step_baseline(const MlpLayout&, const double*, const double*, const int64_t*, int64_t, double*,
                               MlpWorkspace&, const AdamStep&);
double mlp_batch_step_x86_v3(const MlpLayout&, const double*, const double*, const int64_t*, int64_t, double*,
                             MlpWorkspace&, const AdamStep&);
double mlp_batch_step_x86_v4(const MlpLayout&, const double*, const double*, const int64_t*, int64_t, double*,
                             MlpWorkspace&, const AdamStep&);

}  // namespace detail
}  // namespace galaxyfit
