// CUDA chi^2: one block per batch element; each thread sums a strided share of the pixels, then a tree reduction
// in shared memory (a fixed order: identical bits on every call).
#include "cuda_kernels.hpp"
#include "pixel_ops.hpp"

namespace galaxyfit {
namespace cuda {

namespace {

constexpr int kThreads = 256;

__global__ void chi_squared_kernel(const double* model, const double* data, const double* inverse_noise, int64_t n,
                                   double* out) {
  __shared__ double partial[kThreads];
  const int64_t b = blockIdx.x;
  double sum = 0.0;
  for (int64_t k = threadIdx.x; k < n; k += kThreads)
    sum += scalar::chi_squared_term(model[b * n + k], data[k], inverse_noise[k]);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step) partial[threadIdx.x] += partial[threadIdx.x + step];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[b] = partial[0];
}

}  // namespace

cudaError_t chi_squared(cudaStream_t stream, const double* model, const double* data, const double* inverse_noise,
                        int64_t n, int64_t n_batch, double* out) {
  if (n_batch == 0) return cudaSuccess;
  if (n_batch > 0x7fffffff) return cudaErrorInvalidConfiguration;
  chi_squared_kernel<<<static_cast<unsigned>(n_batch), kThreads, 0, stream>>>(model, data, inverse_noise, n, out);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace galaxyfit
