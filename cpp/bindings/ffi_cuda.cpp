// XLA FFI handlers (platform "CUDA") of galaxyfit's CUDA kernels: the same targets, operands, results and attributes
// as the CPU handlers (ffi_handlers.hpp), so one lowering serves both platforms. Operands are device buffers; host
// data in attributes (column spans) is copied into XLA's scratch memory on the call's stream.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "../cuda/cuda_kernels.hpp"
#include "ffi_cuda_handlers.hpp"
#include "ffi_inversion_layout.hpp"
#include "ffi_signatures.hpp"
#include "ffi_render_config.hpp"

namespace ffi = xla::ffi;

namespace {

ffi::Error cuda_error(const char* what, cudaError_t e) {
  return ffi::Error::Internal(std::string(what) + ": " + cudaGetErrorString(e));
}

int64_t leading(ffi::Span<const int64_t> dims, size_t core) {
  int64_t p = 1;
  for (size_t i = 0; i + core < dims.size(); ++i) p *= dims[i];
  return p;
}

template <class T>
ffi::Error scratch_array(ffi::ScratchAllocator& scratch, size_t count, const char* name, T** out) {
  auto memory = scratch.Allocate(count * sizeof(T) + 1, alignof(int64_t));
  if (!memory.has_value()) return ffi::Error::Internal(std::string(name) + ": no scratch memory");
  *out = static_cast<T*>(*memory);
  return ffi::Error::Success();
}

// The render attributes -> validated kernel rules with the spans on the device.
ffi::Error device_rules(cudaStream_t stream, ffi::ScratchAllocator& scratch, const char* name, int32_t law, double y0,
                        double x0, double hy, double hx, ffi::Span<const int32_t> ring_distance,
                        ffi::Span<const int32_t> ring_order, int32_t cusp_radial, int32_t cusp_tangential,
                        ffi::Span<const int32_t> span_begin, ffi::Span<const int32_t> span_end, int64_t height,
                        int64_t width, galaxyfit::scalar::PixelRules* rules, int* n_params) {
  galaxyfit::RenderConfig c;
  if (auto e = galaxyfit::make_config(law, y0, x0, hy, hx, ring_distance, ring_order, cusp_radial, cusp_tangential,
                                      span_begin, span_end, height, width, &c, n_params);
      e.failure())
    return e;
  cudaError_t error = cudaSuccess;
  const double* table = galaxyfit::cuda::rule_table(&error);
  if (table == nullptr) return cuda_error(name, error);
  *rules = galaxyfit::scalar::pixel_rules(c, table, table + galaxyfit::scalar::kRuleTableSize);
  rules->span_begin = rules->span_end = nullptr;  // host memory: copied to the device below
  if (c.span_begin != nullptr) {
    int32_t* spans = nullptr;
    if (auto e = scratch_array(scratch, 2 * static_cast<size_t>(height), name, &spans); e.failure()) return e;
    const size_t bytes = static_cast<size_t>(height) * sizeof(int32_t);
    if ((error = cudaMemcpyAsync(spans, c.span_begin, bytes, cudaMemcpyHostToDevice, stream)) != cudaSuccess ||
        (error = cudaMemcpyAsync(spans + height, c.span_end, bytes, cudaMemcpyHostToDevice, stream)) != cudaSuccess)
      return cuda_error(name, error);
    rules->span_begin = spans;
    rules->span_end = spans + height;
  }
  return ffi::Error::Success();
}

// ---- profile images --------------------------------------------------------------------------------------------

ffi::Error RenderImpl(cudaStream_t stream, ffi::ScratchAllocator scratch, ffi::Buffer<ffi::F64> params,
                      ffi::ResultBuffer<ffi::F64> image, int32_t law, double y0, double x0, double hy, double hx,
                      ffi::Span<const int32_t> ring_distance, ffi::Span<const int32_t> ring_order, int32_t cusp_radial,
                      int32_t cusp_tangential, ffi::Span<const int32_t> span_begin, ffi::Span<const int32_t> span_end) {
  const auto pd = params.dimensions(), id = image->dimensions();
  if (pd.size() < 1 || id.size() < 2)
    return ffi::Error::InvalidArgument("render_profile: params (..., P), image (..., H, W)");
  galaxyfit::scalar::PixelRules rules;
  int n_params = 0;
  if (auto e = device_rules(stream, scratch, "render_profile", law, y0, x0, hy, hx, ring_distance, ring_order,
                            cusp_radial, cusp_tangential, span_begin, span_end, id[id.size() - 2], id[id.size() - 1],
                            &rules, &n_params);
      e.failure())
    return e;
  const int64_t n_batch = leading(id, 2);
  if (pd[pd.size() - 1] != n_params || leading(pd, 1) != n_batch)
    return ffi::Error::InvalidArgument("render_profile: parameter shape does not match the law or the batch");
  const double* p = params.typed_data();
  const int32_t count = n_params;
  const int64_t stride = n_params;
  if (cudaError_t e = galaxyfit::cuda::render_profiles(stream, rules, n_batch, 1, &law, &p, &count, &stride,
                                                       image->typed_data());
      e != cudaSuccess)
    return cuda_error("render_profile", e);
  return ffi::Error::Success();
}

ffi::Error RenderJacobianImpl(cudaStream_t stream, ffi::ScratchAllocator scratch, ffi::Buffer<ffi::F64> params,
                              ffi::ResultBuffer<ffi::F64> image, ffi::ResultBuffer<ffi::F64> jacobian, int32_t law,
                              double y0, double x0, double hy, double hx, ffi::Span<const int32_t> ring_distance,
                              ffi::Span<const int32_t> ring_order, int32_t cusp_radial, int32_t cusp_tangential,
                              ffi::Span<const int32_t> span_begin, ffi::Span<const int32_t> span_end) {
  const auto pd = params.dimensions(), id = image->dimensions();
  if (pd.size() < 1 || id.size() < 2)
    return ffi::Error::InvalidArgument("render_profile_jacobian: params (..., P), image (..., H, W)");
  galaxyfit::scalar::PixelRules rules;
  int n_params = 0;
  if (auto e = device_rules(stream, scratch, "render_profile_jacobian", law, y0, x0, hy, hx, ring_distance,
                            ring_order, cusp_radial, cusp_tangential, span_begin, span_end, id[id.size() - 2],
                            id[id.size() - 1], &rules, &n_params);
      e.failure())
    return e;
  const int64_t n_batch = leading(id, 2);
  if (pd[pd.size() - 1] != n_params || leading(pd, 1) != n_batch)
    return ffi::Error::InvalidArgument("render_profile_jacobian: parameter shape does not match the law or the batch");
  if (cudaError_t e = galaxyfit::cuda::render_profile_jacobian(stream, rules, n_batch, law, n_params,
                                                               params.typed_data(), image->typed_data(),
                                                               jacobian->typed_data());
      e != cudaSuccess)
    return cuda_error("render_profile_jacobian", e);
  return ffi::Error::Success();
}

ffi::Error RenderSumImpl(cudaStream_t stream, ffi::ScratchAllocator scratch, ffi::RemainingArgs params,
                         ffi::ResultBuffer<ffi::F64> image, ffi::Span<const int32_t> laws, double y0, double x0,
                         double hy, double hx, ffi::Span<const int32_t> ring_distance,
                         ffi::Span<const int32_t> ring_order, int32_t cusp_radial, int32_t cusp_tangential,
                         ffi::Span<const int32_t> span_begin, ffi::Span<const int32_t> span_end) {
  const size_t n = laws.size();
  const auto id = image->dimensions();
  if (n == 0 || params.size() != n || id.size() < 2)
    return ffi::Error::InvalidArgument("render_profiles: one parameter array per law, image (..., H, W)");
  const int64_t n_batch = leading(id, 2);
  galaxyfit::scalar::PixelRules rules;
  std::vector<const double*> p(n);
  std::vector<int32_t> n_params(n);
  std::vector<int64_t> stride(n);
  for (size_t i = 0; i < n; ++i) {
    auto buffer = params.get<ffi::Buffer<ffi::F64>>(i);
    if (!buffer.has_value()) return ffi::Error::InvalidArgument("render_profiles: parameters must be float64 arrays");
    int count = 0;
    if (i == 0) {
      if (auto e = device_rules(stream, scratch, "render_profiles", laws[0], y0, x0, hy, hx, ring_distance, ring_order,
                                cusp_radial, cusp_tangential, span_begin, span_end, id[id.size() - 2],
                                id[id.size() - 1], &rules, &count);
          e.failure())
        return e;
    } else {
      try {
        count = galaxyfit::kGeometryParameters + galaxyfit::law_parameter_count(static_cast<galaxyfit::Law>(laws[i]));
      } catch (const std::invalid_argument& e) {
        return ffi::Error::InvalidArgument(std::string("render_profiles: ") + e.what());
      }
    }
    const auto pd = buffer->dimensions();
    if (pd.size() < 1 || pd[pd.size() - 1] != count || leading(pd, 1) != n_batch)
      return ffi::Error::InvalidArgument("render_profiles: parameter shape does not match the law or the batch");
    p[i] = buffer->typed_data();
    n_params[i] = count;
    stride[i] = count;
  }
  if (cudaError_t e = galaxyfit::cuda::render_profiles(stream, rules, n_batch, static_cast<int>(n), laws.begin(),
                                                       p.data(), n_params.data(), stride.data(), image->typed_data());
      e != cudaSuccess)
    return cuda_error("render_profiles", e);
  return ffi::Error::Success();
}

// ---- convolution -----------------------------------------------------------------------------------------------

ffi::Error check_batch(const char* name, int64_t batch, int64_t n_batch) {
  if (batch == 1 || batch == n_batch) return ffi::Error::Success();
  return ffi::Error::InvalidArgument(std::string(name) + " batch must be 1 or the output batch");
}

ffi::Error PsfConvolveImpl(cudaStream_t stream, ffi::ScratchAllocator scratch, ffi::Buffer<ffi::F64> image,
                           ffi::Buffer<ffi::F64> kernel, ffi::Buffer<ffi::S32> runs, ffi::ResultBuffer<ffi::F64> out) {
  const auto idims = image.dimensions(), kdims = kernel.dimensions(), odims = out->dimensions();
  if (idims.size() < 2 || kdims.size() < 2 || odims.size() < 1 || runs.dimensions().size() != 2 ||
      runs.dimensions()[1] != 3)
    return ffi::Error::InvalidArgument("psf_convolve: image (..., ny, nx), kernel (..., ky, kx), runs (n, 3)");
  const int64_t ny = idims[idims.size() - 2], nx = idims[idims.size() - 1];
  const int64_t ky = kdims[kdims.size() - 2], kx = kdims[kdims.size() - 1];
  if (ky % 2 == 0 || kx % 2 == 0) return ffi::Error::InvalidArgument("psf_convolve: the kernel must be odd-sized");
  const int64_t n_out = odims[odims.size() - 1], n_runs = runs.dimensions()[0];
  const int64_t n_batch = leading(odims, 1), i_batch = leading(idims, 2), k_batch = leading(kdims, 2);
  if (auto e = check_batch("psf_convolve: image", i_batch, n_batch); e.failure()) return e;
  if (auto e = check_batch("psf_convolve: kernel", k_batch, n_batch); e.failure()) return e;
  int64_t* offsets = nullptr;
  if (auto e = scratch_array(scratch, n_runs + 1, "psf_convolve", &offsets); e.failure()) return e;
  if (cudaError_t e = galaxyfit::cuda::psf_convolve(stream, image.typed_data(), i_batch, ny, nx, kernel.typed_data(),
                                                    k_batch, ky, kx, runs.typed_data(), n_runs, n_out, n_batch, offsets,
                                                    out->typed_data());
      e != cudaSuccess)
    return cuda_error("psf_convolve", e);
  return ffi::Error::Success();
}

ffi::Error PsfConvolveAdjointImpl(cudaStream_t stream, ffi::ScratchAllocator scratch, ffi::Buffer<ffi::F64> cotangent,
                                  ffi::Buffer<ffi::F64> kernel, ffi::Buffer<ffi::S32> runs,
                                  ffi::ResultBuffer<ffi::F64> grad) {
  const auto cdims = cotangent.dimensions(), kdims = kernel.dimensions(), gdims = grad->dimensions();
  if (cdims.size() < 1 || kdims.size() < 2 || gdims.size() < 2 || runs.dimensions().size() != 2 ||
      runs.dimensions()[1] != 3)
    return ffi::Error::InvalidArgument(
        "psf_convolve_adjoint: cotangent (..., n_out), kernel (..., ky, kx), runs (n, 3), image (..., ny, nx)");
  const int64_t ny = gdims[gdims.size() - 2], nx = gdims[gdims.size() - 1];
  const int64_t ky = kdims[kdims.size() - 2], kx = kdims[kdims.size() - 1];
  if (ky % 2 == 0 || kx % 2 == 0)
    return ffi::Error::InvalidArgument("psf_convolve_adjoint: the kernel must be odd-sized");
  const int64_t n_out = cdims[cdims.size() - 1], n_runs = runs.dimensions()[0];
  const int64_t n_batch = leading(gdims, 2), c_batch = leading(cdims, 1), k_batch = leading(kdims, 2);
  if (auto e = check_batch("psf_convolve_adjoint: cotangent", c_batch, n_batch); e.failure()) return e;
  if (auto e = check_batch("psf_convolve_adjoint: kernel", k_batch, n_batch); e.failure()) return e;
  int64_t* offsets = nullptr;
  int32_t* index = nullptr;
  if (auto e = scratch_array(scratch, n_runs + 1, "psf_convolve_adjoint", &offsets); e.failure()) return e;
  if (auto e = scratch_array(scratch, ny * nx, "psf_convolve_adjoint", &index); e.failure()) return e;
  if (cudaError_t e = galaxyfit::cuda::psf_convolve_adjoint(stream, cotangent.typed_data(), c_batch,
                                                            kernel.typed_data(), k_batch, ky, kx, runs.typed_data(),
                                                            n_runs, n_out, ny, nx, n_batch, offsets, index,
                                                            grad->typed_data());
      e != cudaSuccess)
    return cuda_error("psf_convolve_adjoint", e);
  return ffi::Error::Success();
}

// ---- chi^2 -----------------------------------------------------------------------------------------------------

ffi::Error ChiSquaredImpl(cudaStream_t stream, ffi::Buffer<ffi::F64> model, ffi::Buffer<ffi::F64> data,
                          ffi::Buffer<ffi::F64> inverse_noise, ffi::ResultBuffer<ffi::F64> out) {
  const auto mdims = model.dimensions();
  if (mdims.size() < 1 || data.dimensions().size() != 1 || inverse_noise.dimensions().size() != 1)
    return ffi::Error::InvalidArgument("chi_squared: model (..., n), data (n,), inverse_noise (n,)");
  const int64_t n = mdims[mdims.size() - 1];
  if (data.dimensions()[0] != n || inverse_noise.dimensions()[0] != n)
    return ffi::Error::InvalidArgument("chi_squared: model, data and inverse_noise must have the same pixel count");
  const int64_t n_batch = static_cast<int64_t>(out->element_count());
  if (n_batch * n != static_cast<int64_t>(model.element_count()))
    return ffi::Error::InvalidArgument("chi_squared: output shape does not match the model's batch shape");
  if (cudaError_t e = galaxyfit::cuda::chi_squared(stream, model.typed_data(), data.typed_data(),
                                                   inverse_noise.typed_data(), n, n_batch, out->typed_data());
      e != cudaSuccess)
    return cuda_error("chi_squared", e);
  return ffi::Error::Success();
}

// ---- the linear inversion: columns form k <= kMaxSmallInversion, Gram form k <= kMaxTeamInversion ----------------

using galaxyfit::inversion_ffi::gram_layout_of;
using galaxyfit::inversion_ffi::GramLayout;
using galaxyfit::inversion_ffi::Layout;
using galaxyfit::inversion_ffi::layout_of;

ffi::Error too_large(const char* name, int64_t k) {
  return ffi::Error::InvalidArgument(std::string(name) + ": " + std::to_string(k) +
                                     " linear parameters; the CUDA inversion takes at most " +
                                     std::to_string(galaxyfit::scalar::kMaxSmallInversion) +
                                     " in the columns form (linear profiles, MGE; pixelizations use the Gram form)");
}

galaxyfit::cuda::InversionBatch batch_of_columns(const Layout& l, const double* columns, const double* data,
                                                 const double* regularization, const int32_t* flags) {
  galaxyfit::cuda::InversionBatch in{};
  in.k = l.k, in.n = l.n, in.batch = l.batch;
  in.columns = columns;
  in.data = data;
  in.data_stride = l.data_batched ? l.n : 0;
  in.regularization = l.has_regularization ? regularization : nullptr;
  in.h_stride = l.regularization_batched ? l.k * l.k : 0;
  in.flags = flags;
  return in;
}

template <class T>
ffi::Error scratch_arrays(ffi::ScratchAllocator& scratch, const char* name,
                          std::initializer_list<std::pair<T**, int64_t>> arrays) {
  for (const auto& [out, count] : arrays)
    if (auto e = scratch_array(scratch, static_cast<size_t>(count), name, out); e.failure()) return e;
  return ffi::Error::Success();
}

ffi::Error InversionImpl(cudaStream_t stream, ffi::ScratchAllocator scratch, ffi::Buffer<ffi::F64> columns,
                         ffi::Buffer<ffi::F64> data, ffi::Buffer<ffi::F64> regularization, ffi::Buffer<ffi::S32> flags,
                         bool positive_only, double diag_value, int64_t max_iterations,
                         ffi::ResultBuffer<ffi::F64> reconstruction, ffi::ResultBuffer<ffi::F64> adjoint,
                         ffi::ResultBuffer<ffi::F64> terms, ffi::ResultBuffer<ffi::S32> status) {
  Layout l;
  if (auto e = layout_of("inversion", columns.dimensions(), data.dimensions(), regularization.dimensions(),
                         static_cast<int64_t>(flags.element_count()), &l);
      e.failure())
    return e;
  if (l.k > galaxyfit::scalar::kMaxSmallInversion) return too_large("inversion", l.k);
  const auto sizes = galaxyfit::cuda::inversion_scratch(l.k, l.batch);
  double *gram = nullptr, *work = nullptr;
  int32_t* iwork = nullptr;
  if (auto e = scratch_arrays<double>(scratch, "inversion", {{&gram, sizes.gram_doubles}, {&work, sizes.work_doubles}});
      e.failure())
    return e;
  if (auto e = scratch_array(scratch, static_cast<size_t>(sizes.work_ints), "inversion", &iwork); e.failure()) return e;
  const galaxyfit::scalar::SmallSettings settings{positive_only, diag_value, max_iterations, true, true};
  const auto in = batch_of_columns(l, columns.typed_data(), data.typed_data(), regularization.typed_data(),
                                   flags.typed_data());
  if (cudaError_t e = galaxyfit::cuda::inversion(stream, in, settings, gram, work, iwork, reconstruction->typed_data(),
                                                 adjoint->typed_data(), terms->typed_data(), status->typed_data());
      e != cudaSuccess)
    return cuda_error("inversion", e);
  return ffi::Error::Success();
}

ffi::Error InversionGradientImpl(cudaStream_t stream, ffi::ScratchAllocator scratch, ffi::Buffer<ffi::F64> columns,
                                 ffi::Buffer<ffi::F64> data, ffi::Buffer<ffi::F64> regularization,
                                 ffi::Buffer<ffi::S32> flags, ffi::Buffer<ffi::F64> reconstruction,
                                 ffi::Buffer<ffi::F64> adjoint, bool positive_only, double diag_value,
                                 int64_t max_iterations, ffi::ResultBuffer<ffi::F64> grad_columns,
                                 ffi::ResultBuffer<ffi::F64> grad_data,
                                 ffi::ResultBuffer<ffi::F64> grad_regularization) {
  (void)positive_only, (void)max_iterations;  // the gradient holds the solve's active set: only J matters
  Layout l;
  if (auto e = layout_of("inversion_gradient", columns.dimensions(), data.dimensions(), regularization.dimensions(),
                         static_cast<int64_t>(flags.element_count()), &l);
      e.failure())
    return e;
  if (l.k > galaxyfit::scalar::kMaxSmallInversion) return too_large("inversion_gradient", l.k);
  if (static_cast<int64_t>(reconstruction.element_count()) != l.batch * l.k ||
      static_cast<int64_t>(adjoint.element_count()) != l.batch * l.k)
    return ffi::Error::InvalidArgument("inversion_gradient: reconstruction and adjoint must be (..., k)");
  const auto sizes = galaxyfit::cuda::inversion_scratch(l.k, l.batch);
  double *gram = nullptr, *work = nullptr, *a_inv = nullptr, *h_inv = nullptr;
  int32_t *iwork = nullptr, *status = nullptr;
  if (auto e = scratch_arrays<double>(scratch, "inversion_gradient",
                                      {{&gram, sizes.gram_doubles}, {&work, sizes.work_doubles},
                                       {&a_inv, sizes.inverse_doubles}, {&h_inv, sizes.inverse_doubles}});
      e.failure())
    return e;
  if (auto e = scratch_arrays<int32_t>(scratch, "inversion_gradient", {{&iwork, sizes.work_ints}, {&status, l.batch}});
      e.failure())
    return e;
  double* gh = grad_regularization->typed_data();
  if (!l.has_regularization) {  // no H: dE/dH is not used; zeros rather than whatever the buffer held
    if (cudaError_t e = cudaMemsetAsync(gh, 0, grad_regularization->size_bytes(), stream); e != cudaSuccess)
      return cuda_error("inversion_gradient", e);
  }
  const auto in = batch_of_columns(l, columns.typed_data(), data.typed_data(), regularization.typed_data(),
                                   flags.typed_data());
  if (cudaError_t e = galaxyfit::cuda::inversion_gradient(stream, in, diag_value, reconstruction.typed_data(),
                                                          adjoint.typed_data(), gram, work, iwork, a_inv, h_inv, status,
                                                          grad_columns->typed_data(), grad_data->typed_data(), gh);
      e != cudaSuccess)
    return cuda_error("inversion_gradient", e);
  return ffi::Error::Success();
}

ffi::Error InversionGramImpl(cudaStream_t stream, ffi::ScratchAllocator scratch, ffi::Buffer<ffi::F64> curvature,
                             ffi::Buffer<ffi::F64> data_vector, ffi::Buffer<ffi::F64> data_norm,
                             ffi::Buffer<ffi::F64> regularization, ffi::Buffer<ffi::S32> flags,
                             ffi::Buffer<ffi::F64> guess, bool positive_only, double diag_value,
                             int64_t max_iterations, bool log_det_regularization, bool log_det_curvature_reg,
                             ffi::ResultBuffer<ffi::F64> reconstruction, ffi::ResultBuffer<ffi::F64> adjoint,
                             ffi::ResultBuffer<ffi::F64> terms, ffi::ResultBuffer<ffi::S32> status) {
  GramLayout l;
  if (auto e = gram_layout_of(curvature.dimensions(), data_vector.dimensions(), data_norm.element_count(),
                              regularization.dimensions(), flags.element_count(), guess.dimensions(),
                              reconstruction->element_count(), &l);
      e.failure())
    return e;
  if (l.k > galaxyfit::scalar::kMaxTeamInversion)
    return ffi::Error::InvalidArgument("inversion_gram: " + std::to_string(l.k) +
                                       " linear parameters; the CUDA inversion takes at most " +
                                       std::to_string(galaxyfit::scalar::kMaxTeamInversion));
  const int64_t k = l.k;
  galaxyfit::cuda::GramBatch in{};
  in.k = k, in.batch = l.batch;
  in.curvature = curvature.typed_data(), in.f_stride = l.fb == 1 ? 0 : k * k;
  in.data_vector = data_vector.typed_data(), in.d_stride = l.db == 1 ? 0 : k;
  in.data_norm = data_norm.typed_data(), in.norm_stride = l.nb == 1 ? 0 : 1;
  in.regularization = l.has_h ? regularization.typed_data() : nullptr, in.h_stride = l.hb == 1 ? 0 : k * k;
  in.flags = flags.typed_data();
  in.guess = l.has_guess ? guess.typed_data() : nullptr, in.guess_stride = l.gb == 1 ? 0 : k;
  // Up to kMaxSmallInversion parameters one thread solves each batch element; beyond, a thread block does.
  const bool team = k > galaxyfit::scalar::kMaxSmallInversion;
  int64_t work_doubles = 0, work_ints = 0;
  if (team) {
    const int64_t chunk = galaxyfit::cuda::team_inversion_chunk(k, l.batch);
    work_doubles = chunk * galaxyfit::scalar::team_work_doubles(k);
    work_ints = chunk * galaxyfit::scalar::team_work_ints(k);
  } else {
    const auto sizes = galaxyfit::cuda::inversion_scratch(k, l.batch);
    work_doubles = sizes.work_doubles;
    work_ints = sizes.work_ints;
  }
  double* work = nullptr;
  int32_t* iwork = nullptr;
  if (auto e = scratch_array(scratch, static_cast<size_t>(work_doubles), "inversion_gram", &work); e.failure())
    return e;
  if (auto e = scratch_array(scratch, static_cast<size_t>(work_ints), "inversion_gram", &iwork); e.failure())
    return e;
  const galaxyfit::scalar::SmallSettings settings{positive_only, diag_value, max_iterations, log_det_regularization,
                                                  log_det_curvature_reg};
  const auto solve = team ? galaxyfit::cuda::inversion_gram_team : galaxyfit::cuda::inversion_gram;
  if (cudaError_t e = solve(stream, in, settings, work, iwork, reconstruction->typed_data(), adjoint->typed_data(),
                            terms->typed_data(), status->typed_data());
      e != cudaSuccess)
    return cuda_error("inversion_gram", e);
  return ffi::Error::Success();
}

}  // namespace

// Every CUDA handler but chi^2's gets the stream and XLA's scratch memory.
#define GALAXYFIT_CUDA_BIND ffi::Ffi::Bind().Ctx<ffi::PlatformStream<cudaStream_t>>().Ctx<ffi::ScratchAllocator>()

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitRenderProfileCuda, RenderImpl,
                              GALAXYFIT_CUDA_BIND GALAXYFIT_FFI_RENDER_PROFILE);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitRenderProfileJacobianCuda, RenderJacobianImpl,
                              GALAXYFIT_CUDA_BIND GALAXYFIT_FFI_RENDER_PROFILE_JACOBIAN);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitRenderProfilesCuda, RenderSumImpl,
                              GALAXYFIT_CUDA_BIND GALAXYFIT_FFI_RENDER_PROFILES);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitPsfConvolveCuda, PsfConvolveImpl,
                              GALAXYFIT_CUDA_BIND GALAXYFIT_FFI_PSF_CONVOLVE);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitPsfConvolveAdjointCuda, PsfConvolveAdjointImpl,
                              GALAXYFIT_CUDA_BIND GALAXYFIT_FFI_PSF_CONVOLVE);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitChiSquaredCuda, ChiSquaredImpl,
                              ffi::Ffi::Bind().Ctx<ffi::PlatformStream<cudaStream_t>>() GALAXYFIT_FFI_CHI_SQUARED);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitInversionCuda, InversionImpl,
                              GALAXYFIT_CUDA_BIND GALAXYFIT_FFI_INVERSION);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitInversionGradientCuda, InversionGradientImpl,
                              GALAXYFIT_CUDA_BIND GALAXYFIT_FFI_INVERSION_GRADIENT);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitInversionGramCuda, InversionGramImpl,
                              GALAXYFIT_CUDA_BIND GALAXYFIT_FFI_INVERSION_GRAM);
