// CUDA linear inversion in the Gram form for large systems (scalar::kMaxSmallInversion < k <= kMaxTeamInversion:
// pixelizations): one thread block per batch element runs scalar::solve_team (cpp/cuda/inversion_team.hpp, the code
// cpp/tests/test_cuda_team.cpp checks against the CPU kernel with teams of std::threads). The workspace (3 k^2 + 6 k
// doubles per element) bounds how many elements one launch solves; larger batches take several launches on the
// stream. The block's reductions are warp shuffles combined in warp order: a fixed order, so repeated calls give
// identical bits. One block per multiprocessor by design (__launch_bounds__(kTeam, 1): ptxas then keeps the kernel's
// ~200 registers per thread without spilling, sm_90).
#include "cuda_kernels.hpp"
#include "inversion_team.hpp"

namespace galaxyfit {
namespace cuda {

namespace {

constexpr int kTeam = 256;
constexpr int kWarps = kTeam / 32;
constexpr unsigned kFull = 0xffffffffu;

// The Team of inversion_team.hpp for one thread block of kTeam threads.
struct BlockTeam {
  double* red;  // kWarps doubles of shared memory
  int* redi;    // kWarps ints of shared memory
  __device__ int rank() const { return static_cast<int>(threadIdx.x); }
  __device__ int size() const { return kTeam; }
  __device__ void sync() { __syncthreads(); }
  __device__ double sum(double v) {
    for (int o = 16; o > 0; o /= 2) v += __shfl_down_sync(kFull, v, o);
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    double total = 0.0;
    for (int w = 0; w < kWarps; ++w) total += red[w];
    __syncthreads();
    return total;
  }
  __device__ double max(double v) {
    for (int o = 16; o > 0; o /= 2) v = ::fmax(v, __shfl_down_sync(kFull, v, o));
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    double best = -INFINITY;
    for (int w = 0; w < kWarps; ++w) best = ::fmax(best, red[w]);
    __syncthreads();
    return best;
  }
  __device__ static bool better(double v, int i, double v0, int i0) { return v > v0 || (v == v0 && i < i0); }
  __device__ void argmax(double& v, int& i) {
    for (int o = 16; o > 0; o /= 2) {
      const double ov = __shfl_down_sync(kFull, v, o);
      const int oi = __shfl_down_sync(kFull, i, o);
      if (better(ov, oi, v, i)) v = ov, i = oi;
    }
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v, redi[threadIdx.x >> 5] = i;
    __syncthreads();
    v = red[0];
    i = redi[0];
    for (int w = 1; w < kWarps; ++w)
      if (better(red[w], redi[w], v, i)) v = red[w], i = redi[w];
    __syncthreads();
  }
};

__global__ void __launch_bounds__(kTeam, 1)
    solve_team_kernel(GramBatch in, scalar::SmallSettings settings, int64_t first, double* work, int32_t* iwork,
                      double* s, double* lambda, double* terms, int32_t* status) {
  __shared__ double red[kWarps];
  __shared__ int redi[kWarps];
  BlockTeam team{red, redi};
  const int64_t b = first + blockIdx.x, k = in.k;
  const double* h = in.regularization != nullptr ? in.regularization + b * in.h_stride : nullptr;
  const double* guess = in.guess != nullptr ? in.guess + b * in.guess_stride : nullptr;
  const scalar::SmallTerms t = scalar::solve_team(
      team, in.curvature + b * in.f_stride, in.data_vector + b * in.d_stride, in.data_norm[b * in.norm_stride],
      static_cast<int>(k), h, in.flags, settings, guess, s + b * k, lambda + b * k,
      work + blockIdx.x * scalar::team_work_doubles(k), iwork + blockIdx.x * scalar::team_work_ints(k));
  if (threadIdx.x == 0) {
    scalar::store_terms(t, terms + b * 5);
    status[b] = t.status;
  }
}

}  // namespace

int64_t team_inversion_chunk(int64_t k, int64_t batch) {
  const int64_t bytes = scalar::team_work_doubles(k) * 8 + scalar::team_work_ints(k) * 4;
  const int64_t fit = kTeamWorkspaceBytes / bytes;
  return batch < 1 ? 0 : fit < 1 ? 1 : (fit < batch ? fit : batch);
}

cudaError_t inversion_gram_team(cudaStream_t stream, const GramBatch& in, const scalar::SmallSettings& settings,
                                double* work, int32_t* iwork, double* s, double* lambda, double* terms,
                                int32_t* status) {
  if (in.batch == 0) return cudaSuccess;
  if (in.k < 1 || in.k > scalar::kMaxTeamInversion) return cudaErrorInvalidValue;
  const int64_t chunk = team_inversion_chunk(in.k, in.batch);
  for (int64_t first = 0; first < in.batch; first += chunk) {
    const int64_t count = in.batch - first < chunk ? in.batch - first : chunk;
    solve_team_kernel<<<static_cast<unsigned>(count), kTeam, 0, stream>>>(in, settings, first, work, iwork, s, lambda,
                                                                           terms, status);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

}  // namespace cuda
}  // namespace galaxyfit
