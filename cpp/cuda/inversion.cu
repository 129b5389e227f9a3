// CUDA linear inversion for small systems (k <= scalar::kMaxSmallInversion: linear light profiles, MGE): the Gram
// matrix [B_w; y][B_w; y]^T by block reductions, the solve by one thread per batch element (scalar::solve_small, the
// code cpp/tests/test_cuda_host.cpp checks against the CPU kernel), chi^2 from the residual by block reductions, and
// the gradient of the evidence term pixel by pixel. Fixed summation orders: repeated calls give identical bits.
#include "cuda_kernels.hpp"
#include "inversion_small.hpp"

namespace galaxyfit {
namespace cuda {

namespace {

constexpr int kReduce = 128;

// Row r of [B_w; y] for batch element b (r = k: the data).
__device__ const double* gram_row(const InversionBatch& in, int64_t b, int64_t r) {
  return r < in.k ? in.columns + (b * in.k + r) * in.n : in.data + b * in.data_stride;
}

// gram (batch, m, m), m = k + 1: both triangles of [B_w; y][B_w; y]^T; one block per (pair, batch element).
__global__ void gram_kernel(InversionBatch in, double* gram) {
  __shared__ double partial[kReduce];
  const int64_t m = in.k + 1;
  const int64_t q = blockIdx.x;
  int64_t i = static_cast<int64_t>((::sqrt(8.0 * static_cast<double>(q) + 1.0) - 1.0) / 2.0);
  while (i * (i + 1) / 2 > q) --i;
  while ((i + 1) * (i + 2) / 2 <= q) ++i;
  const int64_t j = q - i * (i + 1) / 2;
  for (int64_t b = blockIdx.y; b < in.batch; b += gridDim.y) {  // uniform over the block
    const double* x = gram_row(in, b, i);
    const double* y = gram_row(in, b, j);
    double sum = 0.0;
    for (int64_t p = threadIdx.x; p < in.n; p += kReduce) sum += x[p] * y[p];
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int step = kReduce / 2; step > 0; step /= 2) {
      if (threadIdx.x < step) partial[threadIdx.x] += partial[threadIdx.x + step];
      __syncthreads();
    }
    if (threadIdx.x == 0) gram[b * m * m + i * m + j] = gram[b * m * m + j * m + i] = partial[0];
    __syncthreads();  // partial is rewritten for the next batch element
  }
}

__host__ __device__ int64_t work_doubles(int64_t k) { return scalar::small_work_doubles(k) + k * k + k; }

// One thread per batch element: the solve from the Gram matrix (columns form; chi^2 is the residual kernel's).
__global__ void solve_columns_kernel(InversionBatch in, scalar::SmallSettings settings, const double* gram,
                                     double* work, int32_t* iwork, double* s, double* lambda, double* terms,
                                     int32_t* status) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= in.batch) return;
  const int64_t k = in.k, m = k + 1;
  double* w = work + b * work_doubles(k);
  double* f = w + scalar::small_work_doubles(k);
  double* d = f + k * k;
  const double* g = gram + b * m * m;
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j) f[i * k + j] = g[i * m + j];
    d[i] = g[k * m + i];
  }
  const double* h = in.regularization != nullptr ? in.regularization + b * in.h_stride : nullptr;
  const scalar::SmallTerms t = scalar::solve_small(f, d, g[k * m + k], static_cast<int>(k), h, in.flags, settings,
                                                   nullptr, false, s + b * k, lambda + b * k, w,
                                                   iwork + b * scalar::small_work_ints(k));
  scalar::store_terms(t, terms + b * 5);
  status[b] = t.status;
}

// chi^2 = |y - B_w s|^2 per batch element, and the final finiteness check (invert()'s last step).
__global__ void residual_kernel(InversionBatch in, double* s, double* lambda, double* terms, int32_t* status) {
  __shared__ double partial[kReduce];
  const int64_t b = blockIdx.x, k = in.k, n = in.n;
  if (status[b] != scalar::kSmallOk) return;  // uniform over the block
  const double* y = in.data + b * in.data_stride;
  const double* sb = s + b * k;
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += kReduce) {
    double r = y[i];
    for (int64_t j = 0; j < k; ++j) r -= sb[j] * in.columns[(b * k + j) * n + i];
    sum += r * r;
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int step = kReduce / 2; step > 0; step /= 2) {
    if (threadIdx.x < step) partial[threadIdx.x] += partial[threadIdx.x + step];
    __syncthreads();
  }
  if (threadIdx.x != 0) return;
  double* tb = terms + b * 5;
  tb[0] = partial[0];
  if (!scalar::finite(tb[0]) || !scalar::finite(tb[1])) {
    status[b] = scalar::kSmallNotFinite;
    for (int q = 0; q < 4; ++q) tb[q] = ::nan("");
    tb[4] = 0.0;
    for (int64_t j = 0; j < k; ++j) s[b * k + j] = lambda[b * k + j] = 0.0;
  }
}

__global__ void solve_gram_kernel(GramBatch in, scalar::SmallSettings settings, double* work, int32_t* iwork,
                                  double* s, double* lambda, double* terms, int32_t* status) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= in.batch) return;
  const int64_t k = in.k;
  const double* h = in.regularization != nullptr ? in.regularization + b * in.h_stride : nullptr;
  const double* guess = in.guess != nullptr ? in.guess + b * in.guess_stride : nullptr;
  const scalar::SmallTerms t = scalar::solve_small(
      in.curvature + b * in.f_stride, in.data_vector + b * in.d_stride, in.data_norm[b * in.norm_stride],
      static_cast<int>(k), h, in.flags, settings, guess, true, s + b * k, lambda + b * k, work + b * work_doubles(k),
      iwork + b * scalar::small_work_ints(k));
  scalar::store_terms(t, terms + b * 5);
  status[b] = t.status;
}

// One thread per batch element: A_RR^-1 and H_RR^-1 from the Gram matrix.
__global__ void inverses_kernel(InversionBatch in, double diag_value, const double* gram, double* work,
                                int32_t* iwork, double* a_inv, double* h_inv, int32_t* status) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= in.batch) return;
  const int64_t k = in.k, m = k + 1;
  double* w = work + b * work_doubles(k);
  double* f = w + scalar::small_work_doubles(k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) f[i * k + j] = gram[b * m * m + i * m + j];
  const double* h = in.regularization != nullptr ? in.regularization + b * in.h_stride : nullptr;
  status[b] = scalar::regularized_inverses(f, static_cast<int>(k), h, in.flags, diag_value, a_inv + b * k * k,
                                           h_inv + b * k * k, w, iwork + b * scalar::small_work_ints(k));
  // With regularized columns the CPU kernel rebuilds the whole system and rejects a non-finite one (finish_flags).
  bool any_regularized = false, finite = true;
  for (int64_t j = 0; j < k; ++j) any_regularized = any_regularized || (in.flags[j] & scalar::kSmallRegularized) != 0;
  if (status[b] == scalar::kSmallOk && any_regularized) {
    for (int64_t q = 0; q < m * m; ++q) finite = finite && scalar::finite(gram[b * m * m + q]);
    for (int64_t q = 0; q < k * k && h != nullptr; ++q) finite = finite && scalar::finite(h[q]);
    if (!finite) status[b] = scalar::kSmallNotFinite;
  }
}

__global__ void gradient_pixels_kernel(InversionBatch in, const double* s, const double* lambda, const double* a_inv,
                                       const int32_t* status, double* grad_columns, double* grad_data) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t k = in.k, n = in.n;
  if (i >= n) return;
  for (int64_t b = blockIdx.y; b < in.batch; b += gridDim.y) {
    double* gc = grad_columns + b * k * n;
    if (status[b] != scalar::kSmallOk) {  // a rejected sample: zero derivatives
      for (int64_t j = 0; j < k; ++j) gc[j * n + i] = 0.0;
      grad_data[b * n + i] = 0.0;
      continue;
    }
    grad_data[b * n + i] = scalar::gradient_pixel(in.columns + b * k * n, n, static_cast<int>(k),
                                                  in.data[b * in.data_stride + i], i, s + b * k, lambda + b * k,
                                                  a_inv != nullptr ? a_inv + b * k * k : nullptr, gc);
  }
}

__global__ void gradient_regularization_kernel(InversionBatch in, const double* s, const double* lambda,
                                               const double* a_inv, const double* h_inv, const int32_t* status,
                                               double* grad) {
  const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= in.batch) return;
  const int64_t k = in.k;
  if (status[b] != scalar::kSmallOk) {  // a rejected sample: zero derivatives
    for (int64_t q = 0; q < k * k; ++q) grad[b * k * k + q] = 0.0;
    return;
  }
  scalar::gradient_regularization(static_cast<int>(k), s + b * k, lambda + b * k, a_inv + b * k * k,
                                  h_inv + b * k * k, grad + b * k * k);
}

unsigned blocks(int64_t count, int threads) { return static_cast<unsigned>((count + threads - 1) / threads); }

cudaError_t launch_gram(cudaStream_t stream, const InversionBatch& in, double* gram) {
  const int64_t m = in.k + 1;
  const dim3 grid(static_cast<unsigned>(m * (m + 1) / 2), batch_blocks(in.batch));
  gram_kernel<<<grid, kReduce, 0, stream>>>(in, gram);
  return cudaGetLastError();
}

}  // namespace

InversionScratch inversion_scratch(int64_t k, int64_t batch) {
  InversionScratch s;
  s.gram_doubles = batch * (k + 1) * (k + 1);
  s.work_doubles = batch * work_doubles(k);
  s.work_ints = batch * scalar::small_work_ints(k);
  s.inverse_doubles = batch * k * k;
  return s;
}

cudaError_t inversion(cudaStream_t stream, const InversionBatch& in, const scalar::SmallSettings& settings,
                      double* gram, double* work, int32_t* iwork, double* s, double* lambda, double* terms,
                      int32_t* status) {
  if (in.batch == 0) return cudaSuccess;
  if (in.k < 1 || in.k > scalar::kMaxSmallInversion) return cudaErrorInvalidValue;
  if (cudaError_t e = launch_gram(stream, in, gram); e != cudaSuccess) return e;
  solve_columns_kernel<<<blocks(in.batch, 64), 64, 0, stream>>>(in, settings, gram, work, iwork, s, lambda, terms,
                                                                  status);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  residual_kernel<<<static_cast<unsigned>(in.batch), kReduce, 0, stream>>>(in, s, lambda, terms, status);
  return cudaGetLastError();
}

cudaError_t inversion_gram(cudaStream_t stream, const GramBatch& in, const scalar::SmallSettings& settings,
                           double* work, int32_t* iwork, double* s, double* lambda, double* terms, int32_t* status) {
  if (in.batch == 0) return cudaSuccess;
  if (in.k < 1 || in.k > scalar::kMaxSmallInversion) return cudaErrorInvalidValue;
  solve_gram_kernel<<<blocks(in.batch, 64), 64, 0, stream>>>(in, settings, work, iwork, s, lambda, terms, status);
  return cudaGetLastError();
}

cudaError_t inversion_gradient(cudaStream_t stream, const InversionBatch& in, double diag_value, const double* s,
                               const double* lambda, double* gram, double* work, int32_t* iwork, double* a_inv,
                               double* h_inv, int32_t* status, double* grad_columns, double* grad_data,
                               double* grad_regularization) {
  if (in.batch == 0) return cudaSuccess;
  if (in.k < 1 || in.k > scalar::kMaxSmallInversion) return cudaErrorInvalidValue;
  if (cudaError_t e = launch_gram(stream, in, gram); e != cudaSuccess) return e;
  inverses_kernel<<<blocks(in.batch, 64), 64, 0, stream>>>(in, diag_value, gram, work, iwork, a_inv, h_inv, status);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  const bool regularized = in.regularization != nullptr;
  if (in.n > 0)  // no pixels: nothing to differentiate (and no zero-sized grid)
    gradient_pixels_kernel<<<dim3(blocks(in.n, 128), batch_blocks(in.batch)), 128, 0, stream>>>(
        in, s, lambda, regularized ? a_inv : nullptr, status, grad_columns, grad_data);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  if (regularized && grad_regularization != nullptr)
    gradient_regularization_kernel<<<blocks(in.batch, 64), 64, 0, stream>>>(in, s, lambda, a_inv, h_inv, status,
                                                                             grad_regularization);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace galaxyfit
