// XLA FFI handlers for profile images (values, and values with the Jacobian). Batch elements, row blocks and patches
// are spread over XLA's intra-op thread pool; the value handlers apply patches after the rows they overwrite.
#include <cstdint>
#include <string>
#include <vector>

#include "ffi_handlers.hpp"
#include "ffi_signatures.hpp"
#include "ffi_parallel.hpp"
#include "ffi_render_config.hpp"
#include "galaxyfit/profile_image.hpp"

namespace ffi = xla::ffi;

namespace {

int64_t leading(ffi::Span<const int64_t> dims, size_t core) {
  int64_t p = 1;
  for (size_t i = 0; i + core < dims.size(); ++i) p *= dims[i];
  return p;
}

// Rows per task: enough work (~16k pixels, ~100 us) to amortise waking a pool thread. (Measured: equal halves of a
// 160-row box, or single-threaded rows, were slower at 200x200 and 400x400 than these blocks, whose last one is
// smaller: a pool thread starts late.)
int64_t rows_per_task(int64_t width) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(width, 1)); }

// Patches computed as separate tasks beside the row blocks (a pool thread that wakes late then has the small task,
// and the caller takes it if the thread has not started), applied once the rows are written.
class PatchStore {
 public:
  PatchStore(const galaxyfit::RenderConfig& c, int64_t count)
      : area_(static_cast<int64_t>(galaxyfit::patch_size(c)) * galaxyfit::patch_size(c)),
        values_(static_cast<size_t>(count * area_)),
        origins_(static_cast<size_t>(2 * count)) {}
  void compute(galaxyfit::Law law, const double* params, const galaxyfit::RenderConfig& c, int64_t k) {
    galaxyfit::compute_patch(law, params, c, &values_[k * area_], &origins_[2 * k]);
  }
  void apply(const galaxyfit::RenderConfig& c, int64_t k, double* image) const {
    galaxyfit::apply_patch(c, &values_[k * area_], &origins_[2 * k], image);
  }

 private:
  int64_t area_;
  std::vector<double> values_;
  std::vector<int64_t> origins_;
};

// Shapes params (..., P) and image (..., H, W) against each other and the law; fills the config, P and the batch size.
ffi::Error prepare(const std::string& name, ffi::Span<const int64_t> pd, ffi::Span<const int64_t> id, int32_t law,
                   double y0, double x0, double hy, double hx, ffi::Span<const int32_t> ring_distance,
                   ffi::Span<const int32_t> ring_order, int32_t cusp_radial, int32_t cusp_tangential,
                   ffi::Span<const int32_t> span_begin, ffi::Span<const int32_t> span_end, galaxyfit::RenderConfig* c,
                   int* n_params, int64_t* n_batch) {
  if (pd.size() < 1 || id.size() < 2) return ffi::Error::InvalidArgument(name + ": params (..., P), image (..., H, W)");
  const int64_t height = id[id.size() - 2], width = id[id.size() - 1];
  if (auto e = galaxyfit::make_config(law, y0, x0, hy, hx, ring_distance, ring_order, cusp_radial, cusp_tangential,
                                      span_begin, span_end, height, width, c, n_params);
      e.failure())
    return e;
  if (pd[pd.size() - 1] != *n_params) return ffi::Error::InvalidArgument(name + ": wrong parameter count");
  *n_batch = leading(id, 2);
  if (leading(pd, 1) != *n_batch) return ffi::Error::InvalidArgument(name + ": batch mismatch");
  return ffi::Error::Success();
}

// The sum of n profiles (n = 1: one profile) for each of n_batch parameter sets, into out (n_batch, H, W): the rows
// of every profile are added block by block, each leaving out its own patch pixels; the patches are computed as tasks
// beside the row blocks and added once the rows are written.
void render_sum(ffi::ThreadPool& pool, const galaxyfit::RenderConfig& c, int64_t n_batch, const galaxyfit::Law* laws,
                const double* const* params, const int* n_params, int64_t n, double* out) {
  const int64_t height = c.height, plane = c.height * c.width;
  const int64_t step = rows_per_task(c.width), blocks = (height + step - 1) / step, n_row_tasks = n_batch * blocks;
  PatchStore patches(c, n_batch * n);
  galaxyfit::ffi_parallel_for(pool, n_row_tasks + n_batch * n, [&](int64_t task) {
    if (task >= n_row_tasks) {  // one task per profile's patch: the caller takes the last ones if a worker is late
      const int64_t k = task - n_row_tasks, b = k / n, i = k % n;
      patches.compute(laws[i], params[i] + b * n_params[i], c, k);
      return;
    }
    const int64_t b = task / blocks, r0 = (task % blocks) * step, r1 = std::min(height, r0 + step);
    for (int64_t i = 0; i < n; ++i) {
      if (i == 0)
        galaxyfit::render_rows(laws[i], params[i] + b * n_params[i], c, r0, r1, out + b * plane);
      else
        galaxyfit::render_rows_accumulate(laws[i], params[i] + b * n_params[i], c, r0, r1, out + b * plane);
    }
  });
  for (int64_t b = 0; b < n_batch; ++b)
    for (int64_t i = 0; i < n; ++i) patches.apply(c, b * n + i, out + b * plane);
}

ffi::Error RenderImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F64> params, ffi::ResultBuffer<ffi::F64> image,
                      int32_t law, double y0, double x0, double hy, double hx, ffi::Span<const int32_t> ring_distance,
                      ffi::Span<const int32_t> ring_order, int32_t cusp_radial, int32_t cusp_tangential,
                      ffi::Span<const int32_t> span_begin, ffi::Span<const int32_t> span_end) {
  galaxyfit::RenderConfig c;
  int n_params = 0;
  int64_t n_batch = 0;
  if (auto e = prepare("render_profile", params.dimensions(), image->dimensions(), law, y0, x0, hy, hx, ring_distance,
                       ring_order, cusp_radial, cusp_tangential, span_begin, span_end, &c, &n_params, &n_batch);
      e.failure())
    return e;
  const galaxyfit::Law l = static_cast<galaxyfit::Law>(law);
  const double* p = params.typed_data();
  render_sum(pool, c, n_batch, &l, &p, &n_params, 1, image->typed_data());
  return ffi::Error::Success();
}

ffi::Error RenderJacobianImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F64> params, ffi::ResultBuffer<ffi::F64> image,
                              ffi::ResultBuffer<ffi::F64> jacobian, int32_t law, double y0, double x0, double hy,
                              double hx, ffi::Span<const int32_t> ring_distance, ffi::Span<const int32_t> ring_order,
                              int32_t cusp_radial, int32_t cusp_tangential, ffi::Span<const int32_t> span_begin,
                              ffi::Span<const int32_t> span_end) {
  galaxyfit::RenderConfig c;
  int n_params = 0;
  int64_t n_batch = 0;
  if (auto e = prepare("render_profile_jacobian", params.dimensions(), image->dimensions(), law, y0, x0, hy, hx,
                       ring_distance, ring_order, cusp_radial, cusp_tangential, span_begin, span_end, &c, &n_params,
                       &n_batch);
      e.failure())
    return e;
  const int64_t height = c.height, width = c.width;
  const auto l = static_cast<galaxyfit::Law>(law);
  const double* p = params.typed_data();
  double* out = image->typed_data();
  double* jac = jacobian->typed_data();
  const int64_t plane = height * width;
  const int64_t step = rows_per_task(width), blocks = (height + step - 1) / step;
  galaxyfit::ffi_parallel_for(pool, n_batch * blocks, [&](int64_t task) {
    const int64_t b = task / blocks, r0 = (task % blocks) * step;
    galaxyfit::render_rows_jacobian(l, p + b * n_params, c, r0, std::min(height, r0 + step), out + b * plane,
                                    jac + b * n_params * plane);
  });
  galaxyfit::ffi_parallel_for(pool, n_batch, [&](int64_t b) {
    galaxyfit::render_patch_jacobian(l, p + b * n_params, c, out + b * plane, jac + b * n_params * plane);
  });
  return ffi::Error::Success();
}

// Sum of several profiles in one pass over the box (render_sum). params: one buffer (..., P_i) per law.
ffi::Error RenderSumImpl(ffi::ThreadPool pool, ffi::RemainingArgs params, ffi::ResultBuffer<ffi::F64> image,
                         ffi::Span<const int32_t> laws, double y0, double x0, double hy, double hx,
                         ffi::Span<const int32_t> ring_distance, ffi::Span<const int32_t> ring_order, int32_t cusp_radial,
                         int32_t cusp_tangential, ffi::Span<const int32_t> span_begin, ffi::Span<const int32_t> span_end) {
  const size_t n_profiles = laws.size();
  if (n_profiles == 0 || params.size() != n_profiles)
    return ffi::Error::InvalidArgument("render_profiles: one parameter array per law is needed");
  galaxyfit::RenderConfig c;
  int64_t n_batch = 0;
  std::vector<const double*> p(n_profiles);
  std::vector<int> n_params(n_profiles);
  for (size_t i = 0; i < n_profiles; ++i) {
    auto buffer = params.get<ffi::Buffer<ffi::F64>>(i);
    if (!buffer.has_value()) return ffi::Error::InvalidArgument("render_profiles: parameters must be float64 arrays");
    int64_t batch_i = 0;
    if (auto e = prepare("render_profiles", buffer->dimensions(), image->dimensions(), laws[i], y0, x0, hy, hx,
                         ring_distance, ring_order, cusp_radial, cusp_tangential, span_begin, span_end, &c,
                         &n_params[i], &batch_i);
        e.failure())
      return e;
    n_batch = batch_i;
    p[i] = buffer->typed_data();
  }
  std::vector<galaxyfit::Law> l(n_profiles);
  for (size_t i = 0; i < n_profiles; ++i) l[i] = static_cast<galaxyfit::Law>(laws[i]);
  render_sum(pool, c, n_batch, l.data(), p.data(), n_params.data(), static_cast<int64_t>(n_profiles), image->typed_data());
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitRenderProfile, RenderImpl,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>() GALAXYFIT_FFI_RENDER_PROFILE);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitRenderProfileJacobian, RenderJacobianImpl,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>() GALAXYFIT_FFI_RENDER_PROFILE_JACOBIAN);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitRenderProfiles, RenderSumImpl,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>() GALAXYFIT_FFI_RENDER_PROFILES);
