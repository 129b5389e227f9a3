// CUDA profile images: one thread per box pixel and batch element, each computing scalar::pixel_mean (the same
// source the host test checks against the CPU kernels) for every profile of the sum.
#include <mutex>
#include <vector>

#include "cuda_kernels.hpp"

namespace galaxyfit {
namespace cuda {

namespace {

struct ProfileSet {
  int32_t count;
  int32_t law[kMaxProfilesPerLaunch];
  int32_t n_params[kMaxProfilesPerLaunch];
  int64_t batch_stride[kMaxProfilesPerLaunch];
  const double* params[kMaxProfilesPerLaunch];
};

constexpr int kMaxParams = kGeometryParameters + 6;
constexpr int kThreads = 128;

__global__ void render_kernel(scalar::PixelRules rules, ProfileSet set, int64_t n_batch, bool accumulate,
                              double* out) {
  const int64_t plane = rules.height * rules.width;
  const int64_t pixel = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (pixel >= plane) return;
  const int64_t row = pixel / rules.width, col = pixel % rules.width;
  for (int64_t b = blockIdx.y; b < n_batch; b += gridDim.y) {
    double sum = accumulate ? out[b * plane + pixel] : 0.0;
    for (int i = 0; i < set.count; ++i) {
      double p[kMaxParams];
      const double* src = set.params[i] + b * set.batch_stride[i];
      for (int k = 0; k < set.n_params[i]; ++k) p[k] = src[k];
      sum += scalar::pixel_mean<double>(set.law[i], p, rules, row, col);
    }
    out[b * plane + pixel] = sum;
  }
}

template <int N>
__global__ void render_jacobian_kernel(scalar::PixelRules rules, int32_t law, const double* params, int64_t n_batch,
                                       double* image, double* jacobian) {
  const int64_t plane = rules.height * rules.width;
  const int64_t pixel = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (pixel >= plane) return;
  for (int64_t b = blockIdx.y; b < n_batch; b += gridDim.y) {
    scalar::Dual<N> p[N];
    for (int k = 0; k < N; ++k) p[k] = scalar::Dual<N>::variable(params[b * N + k], k);
    const scalar::Dual<N> v = scalar::pixel_mean(law, p, rules, pixel / rules.width, pixel % rules.width);
    image[b * plane + pixel] = v.v;
    for (int k = 0; k < N; ++k) jacobian[(b * N + k) * plane + pixel] = v.d[k];
  }
}

// Blocks over the pixels (x) and the batch (y).
dim3 grid_of(int64_t plane, int64_t n_batch) {
  return dim3(static_cast<unsigned>((plane + kThreads - 1) / kThreads), batch_blocks(n_batch));
}

}  // namespace

const double* rule_table(cudaError_t* error) {
  static std::mutex mutex;
  static std::vector<const double*> tables;
  int device = 0;
  if ((*error = cudaGetDevice(&device)) != cudaSuccess) return nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (tables.size() <= static_cast<size_t>(device)) tables.resize(device + 1, nullptr);
  if (tables[device] == nullptr) {
    std::vector<double> host(2 * scalar::kRuleTableSize);
    scalar::fill_rule_table(host.data(), host.data() + scalar::kRuleTableSize);
    double* table = nullptr;
    if ((*error = cudaMalloc(&table, host.size() * sizeof(double))) != cudaSuccess) return nullptr;
    // From pageable memory cudaMemcpy may return before the DMA is done, and XLA's and CuPy's non-blocking streams
    // do not wait for the legacy stream: wait for the table before any kernel can read it.
    *error = cudaMemcpy(table, host.data(), host.size() * sizeof(double), cudaMemcpyHostToDevice);
    if (*error == cudaSuccess) *error = cudaDeviceSynchronize();
    if (*error != cudaSuccess) {
      cudaFree(table);
      return nullptr;
    }
    tables[device] = table;
  }
  *error = cudaSuccess;
  return tables[device];
}

cudaError_t render_profiles(cudaStream_t stream, const scalar::PixelRules& rules, int64_t n_batch, int n_profiles,
                            const int32_t* laws, const double* const* params, const int32_t* n_params,
                            const int64_t* batch_stride, double* out) {
  const int64_t plane = rules.height * rules.width;
  if (plane == 0 || n_batch == 0) return cudaSuccess;
  for (int first = 0; first < n_profiles || first == 0; first += kMaxProfilesPerLaunch) {
    ProfileSet set{};
    set.count = std::min(kMaxProfilesPerLaunch, n_profiles - first);
    for (int i = 0; i < set.count; ++i) {
      if (n_params[first + i] > kMaxParams) return cudaErrorInvalidValue;
      set.law[i] = laws[first + i];
      set.n_params[i] = n_params[first + i];
      set.batch_stride[i] = batch_stride[first + i];
      set.params[i] = params[first + i];
    }
    render_kernel<<<grid_of(plane, n_batch), kThreads, 0, stream>>>(rules, set, n_batch, first > 0, out);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    if (n_profiles == 0) break;
  }
  return cudaSuccess;
}

cudaError_t render_profile_jacobian(cudaStream_t stream, const scalar::PixelRules& rules, int64_t n_batch, int32_t law,
                                    int n_params, const double* params, double* image, double* jacobian) {
  const int64_t plane = rules.height * rules.width;
  if (plane == 0 || n_batch == 0) return cudaSuccess;
  const dim3 grid = grid_of(plane, n_batch);
  switch (n_params) {
    case 7:
      render_jacobian_kernel<7><<<grid, kThreads, 0, stream>>>(rules, law, params, n_batch, image, jacobian);
      break;
    case 8:
      render_jacobian_kernel<8><<<grid, kThreads, 0, stream>>>(rules, law, params, n_batch, image, jacobian);
      break;
    case 11:
      render_jacobian_kernel<11><<<grid, kThreads, 0, stream>>>(rules, law, params, n_batch, image, jacobian);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace galaxyfit
