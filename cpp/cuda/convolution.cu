// CUDA PSF convolution at pixel runs (direct sums; galaxyfit/convolution.hpp's convention) and its adjoint.
// The run offsets are a prefix sum computed on the device, so the runs never travel to the host.
#include "cuda_kernels.hpp"
#include "pixel_ops.hpp"

namespace galaxyfit {
namespace cuda {

namespace {

constexpr int kScanThreads = 1024;

// Python checks the runs against the image (kernels/convolution.py); the kernels check again, so that a bad run
// written by another caller is skipped instead of writing outside its buffer (the CPU handler reports it).
__device__ bool run_inside(int32_t row, int32_t begin, int32_t end, int64_t ny, int64_t nx) {
  return row >= 0 && row < ny && begin >= 0 && begin <= end && end <= nx;
}

// offsets[r] = pixels of runs 0..r-1 (offsets[n_runs] = all of them): one block; each thread sums a contiguous
// chunk of runs, the chunk totals are scanned in shared memory, and each thread writes its chunk's offsets.
__global__ void run_offsets_kernel(const int32_t* runs, int64_t n_runs, int64_t* offsets) {
  __shared__ int64_t total[kScanThreads];
  const int64_t t = threadIdx.x, chunk = (n_runs + kScanThreads - 1) / kScanThreads;
  const int64_t begin = t * chunk, end = begin + chunk < n_runs ? begin + chunk : n_runs;
  int64_t own = 0;
  for (int64_t r = begin; r < end; ++r) own += runs[3 * r + 2] - runs[3 * r + 1];
  total[t] = own;
  __syncthreads();
  for (int step = 1; step < kScanThreads; step *= 2) {  // inclusive Hillis-Steele scan
    const int64_t add = t >= step ? total[t - step] : 0;
    __syncthreads();
    total[t] += add;
    __syncthreads();
  }
  int64_t at = total[t] - own;
  for (int64_t r = begin; r < end; ++r) {
    offsets[r] = at;
    at += runs[3 * r + 2] - runs[3 * r + 1];
  }
  if (t == kScanThreads - 1) offsets[n_runs] = total[t];
}

// One block per (run, batch element); the threads stride along the run.
__global__ void convolve_kernel(const double* image, int64_t image_stride, int64_t ny, int64_t nx, const double* kernel,
                                int64_t kernel_stride, int64_t ky, int64_t kx, const int32_t* runs,
                                const int64_t* offsets, int64_t n_out, int64_t n_batch, double* out) {
  const int64_t r = blockIdx.x;
  const int32_t row = runs[3 * r], begin = runs[3 * r + 1], end = runs[3 * r + 2];
  if (!run_inside(row, begin, end, ny, nx) || offsets[r + 1] > n_out) return;  // bad runs: never out of bounds
  for (int64_t b = blockIdx.y; b < n_batch; b += gridDim.y)
    for (int32_t c = begin + threadIdx.x; c < end; c += blockDim.x)
      out[b * n_out + offsets[r] + (c - begin)] =
          scalar::convolve_at(image + b * image_stride, ny, nx, kernel + b * kernel_stride, ky, kx, row, c);
}

__global__ void fill_index_kernel(int32_t* index, int64_t count) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < count) index[k] = -1;
}

__global__ void scatter_index_kernel(const int32_t* runs, const int64_t* offsets, int64_t ny, int64_t nx,
                                     int64_t n_out, int32_t* index) {
  const int64_t r = blockIdx.x;
  const int32_t row = runs[3 * r], begin = runs[3 * r + 1], end = runs[3 * r + 2];
  if (!run_inside(row, begin, end, ny, nx) || offsets[r + 1] > n_out) return;
  for (int32_t c = begin + threadIdx.x; c < end; c += blockDim.x)
    index[row * nx + c] = static_cast<int32_t>(offsets[r] + (c - begin));
}

__global__ void adjoint_kernel(const double* cotangent, int64_t cotangent_stride, const int32_t* index, int64_t ny,
                               int64_t nx, const double* kernel, int64_t kernel_stride, int64_t ky, int64_t kx,
                               int64_t n_batch, double* grad) {
  const int64_t pixel = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (pixel >= ny * nx) return;
  for (int64_t b = blockIdx.y; b < n_batch; b += gridDim.y)
    grad[b * ny * nx + pixel] = scalar::convolve_adjoint_at(cotangent + b * cotangent_stride, index, ny, nx,
                                                            kernel + b * kernel_stride, ky, kx, pixel / nx,
                                                            pixel % nx);
}

}  // namespace

cudaError_t psf_convolve(cudaStream_t stream, const double* image, int64_t image_batch, int64_t ny, int64_t nx,
                         const double* kernel, int64_t kernel_batch, int64_t ky, int64_t kx, const int32_t* runs,
                         int64_t n_runs, int64_t n_out, int64_t n_batch, int64_t* offsets, double* out) {
  if (n_runs == 0 || n_batch == 0) return cudaSuccess;
  if (n_runs > 0x7fffffff) return cudaErrorInvalidConfiguration;
  run_offsets_kernel<<<1, kScanThreads, 0, stream>>>(runs, n_runs, offsets);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  convolve_kernel<<<dim3(static_cast<unsigned>(n_runs), batch_blocks(n_batch)), 64, 0, stream>>>(
      image, image_batch == 1 ? 0 : ny * nx, ny, nx, kernel, kernel_batch == 1 ? 0 : ky * kx, ky, kx, runs, offsets,
      n_out, n_batch, out);
  return cudaGetLastError();
}

cudaError_t psf_convolve_adjoint(cudaStream_t stream, const double* cotangent, int64_t cotangent_batch,
                                 const double* kernel, int64_t kernel_batch, int64_t ky, int64_t kx,
                                 const int32_t* runs, int64_t n_runs, int64_t n_out, int64_t ny, int64_t nx,
                                 int64_t n_batch, int64_t* offsets, int32_t* index, double* grad) {
  if (n_batch == 0 || ny * nx == 0) return cudaSuccess;
  if (n_runs > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const unsigned pixel_blocks = static_cast<unsigned>((ny * nx + 255) / 256);
  fill_index_kernel<<<pixel_blocks, 256, 0, stream>>>(index, ny * nx);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  if (n_runs > 0) {
    run_offsets_kernel<<<1, kScanThreads, 0, stream>>>(runs, n_runs, offsets);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    scatter_index_kernel<<<static_cast<unsigned>(n_runs), 64, 0, stream>>>(runs, offsets, ny, nx, n_out, index);
  }
  adjoint_kernel<<<dim3(pixel_blocks, batch_blocks(n_batch)), 256, 0, stream>>>(
      cotangent, cotangent_batch == 1 ? 0 : n_out, index, ny, nx, kernel, kernel_batch == 1 ? 0 : ky * kx, ky, kx,
      n_batch, grad);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace galaxyfit
