// Host entry points of galaxyfit's CUDA kernels (cpp/cuda/*.cu): plain functions that enqueue work on a stream and
// return the launch's cudaError_t; all pointers are device pointers unless said otherwise. No Python, no XLA: the
// FFI handlers (cpp/bindings/ffi_cuda.cpp) and the CuPy-level functions (cpp/bindings/cuda_module.cpp) call these.
// Conventions and formulas: galaxyfit/profile_image.hpp, galaxyfit/convolution.hpp, galaxyfit/statistics.hpp.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "inversion_small.hpp"
#include "inversion_team.hpp"
#include "profile_pixel.hpp"

namespace galaxyfit {
namespace cuda {

/// Blocks along the batch, grid y (at most 65535 there; the kernels stride over the batch elements beyond it).
inline unsigned batch_blocks(int64_t n_batch) {
  return static_cast<unsigned>(n_batch < 65535 ? n_batch : 65535);
}

/// The Gauss-Legendre table of scalar::PixelRules (scalar::fill_rule_table) on the current device, made on first use
/// (one cudaMalloc per device for the life of the process). Returns null if the copy failed (then *error says why).
const double* rule_table(cudaError_t* error);

/// At most this many profiles per launch of render_profiles (more are added in further launches).
constexpr int kMaxProfilesPerLaunch = 16;

/// Sum of n_profiles profile images for n_batch parameter sets: out (n_batch, height, width) row-major. params[i]
/// points at (n_batch, n_params[i]) values of profile i (its law laws[i]), or at one set used for every batch
/// element when batch_stride[i] is 0 (else n_params[i]). rules: gl_node / gl_weight from rule_table, spans on the
/// device or null.
cudaError_t render_profiles(cudaStream_t stream, const scalar::PixelRules& rules, int64_t n_batch, int n_profiles,
                            const int32_t* laws, const double* const* params, const int32_t* n_params,
                            const int64_t* batch_stride, double* out);

/// One profile with its Jacobian: image (n_batch, H, W), jacobian (n_batch, n_params, H, W) with
/// n_params = 5 + law_parameter_count(law) (7, 8 or 11; anything else returns cudaErrorInvalidValue).
cudaError_t render_profile_jacobian(cudaStream_t stream, const scalar::PixelRules& rules, int64_t n_batch, int32_t law,
                                    int n_params, const double* params, double* image, double* jacobian);

/// Direct convolution at the runs (n_runs x {row, col_begin, col_end} int32), out (n_batch, n_out) in run order.
/// offsets: scratch of n_runs + 1 int64 (run start offsets, computed here). image / kernel batch: 1 or n_batch.
cudaError_t psf_convolve(cudaStream_t stream, const double* image, int64_t image_batch, int64_t ny, int64_t nx,
                         const double* kernel, int64_t kernel_batch, int64_t ky, int64_t kx, const int32_t* runs,
                         int64_t n_runs, int64_t n_out, int64_t n_batch, int64_t* offsets, double* out);

/// Its adjoint: grad (n_batch, ny, nx) from cotangent (cotangent_batch in {1, n_batch}, n_out). offsets: scratch of
/// n_runs + 1 int64; index: scratch of ny * nx int32 (pixel -> output, or -1).
cudaError_t psf_convolve_adjoint(cudaStream_t stream, const double* cotangent, int64_t cotangent_batch,
                                 const double* kernel, int64_t kernel_batch, int64_t ky, int64_t kx,
                                 const int32_t* runs, int64_t n_runs, int64_t n_out, int64_t ny, int64_t nx,
                                 int64_t n_batch, int64_t* offsets, int32_t* index, double* grad);

/// chi^2 = sum(((data - model) * inverse_noise)^2) over n pixels for each of n_batch models (n_batch, n) -> out
/// (n_batch); a fixed summation order, so repeated calls give identical bits.
cudaError_t chi_squared(cudaStream_t stream, const double* model, const double* data, const double* inverse_noise,
                        int64_t n, int64_t n_batch, double* out);

/// The columns form of the inversion (galaxyfit/inversion.hpp's invert), k <= scalar::kMaxSmallInversion. Strides
/// are in doubles between batch elements (0: one array shared by all).
struct InversionBatch {
  int64_t k, n, batch;
  const double* columns;         // (batch, k, n): B_w
  const double* data;            // y, stride data_stride (n or 0)
  int64_t data_stride;
  const double* regularization;  // H (k x k), stride h_stride (k * k or 0); null: none
  int64_t h_stride;
  const int32_t* flags;          // (k,) InversionColumnFlag bits
};

/// The Gram form (invert_gram): F (f_stride), D (d_stride), y^T y (norm_stride), H, flags, guess (or null).
struct GramBatch {
  int64_t k, batch;
  const double* curvature;
  int64_t f_stride;
  const double* data_vector;
  int64_t d_stride;
  const double* data_norm;
  int64_t norm_stride;
  const double* regularization;
  int64_t h_stride;
  const int32_t* flags;
  const double* guess;
  int64_t guess_stride;
};

/// Scratch sizes (elements) of the inversion calls for k parameters and a batch.
struct InversionScratch {
  int64_t gram_doubles, work_doubles, work_ints, inverse_doubles;
};
InversionScratch inversion_scratch(int64_t k, int64_t batch);

/// s, lambda (batch, k), terms (batch, 5) [chi^2, s^T H s, ln det A_RR, ln det H_RR, iterations], status (batch)
/// as the CPU handler; scratch: gram, work, iwork of inversion_scratch's sizes.
cudaError_t inversion(cudaStream_t stream, const InversionBatch& in, const scalar::SmallSettings& settings,
                      double* gram, double* work, int32_t* iwork, double* s, double* lambda, double* terms,
                      int32_t* status);

/// The Gram form for k <= scalar::kMaxSmallInversion (one thread per batch element): outputs as inversion(); scratch
/// work and iwork of inversion_scratch's sizes.
cudaError_t inversion_gram(cudaStream_t stream, const GramBatch& in, const scalar::SmallSettings& settings,
                           double* work, int32_t* iwork, double* s, double* lambda, double* terms, int32_t* status);

/// The most workspace the team inversion takes at once (its batch is solved in chunks that fit).
constexpr int64_t kTeamWorkspaceBytes = int64_t(2) << 30;

/// Batch elements the team inversion solves per launch for k parameters (>= 1 for batch >= 1): its scratch is that
/// many times scalar::team_work_doubles(k) doubles and scalar::team_work_ints(k) ints.
int64_t team_inversion_chunk(int64_t k, int64_t batch);

/// The Gram form for scalar::kMaxSmallInversion < k <= scalar::kMaxTeamInversion (pixelizations; any k >= 1 works):
/// one thread block per batch element (cpp/cuda/inversion_team.hpp); outputs as inversion(); scratch work and iwork
/// for team_inversion_chunk(k, batch) elements.
cudaError_t inversion_gram_team(cudaStream_t stream, const GramBatch& in, const scalar::SmallSettings& settings,
                                double* work, int32_t* iwork, double* s, double* lambda, double* terms,
                                int32_t* status);

/// dE/dB_w (batch, k, n), dE/dy (batch, n), dE/dH (batch, k, k; only with a regularization) at inversion()'s s and
/// lambda; zero for a batch element whose inverses fail (a rejected sample). Scratch: gram, work, iwork, a_inv and
/// h_inv (inverse_doubles each), status (batch).
cudaError_t inversion_gradient(cudaStream_t stream, const InversionBatch& in, double diag_value, const double* s,
                               const double* lambda, double* gram, double* work, int32_t* iwork, double* a_inv,
                               double* h_inv, int32_t* status, double* grad_columns, double* grad_data,
                               double* grad_regularization);

}  // namespace cuda
}  // namespace galaxyfit
