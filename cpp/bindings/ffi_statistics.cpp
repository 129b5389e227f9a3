// XLA FFI handler for chi^2 over the unmasked pixels. A reduction this small is cheaper on the calling thread than
// through XLA's reduce fusions, which on this project's machines cost up to ~0.5 ms per likelihood (bench/README.md);
// large batches are split over XLA's intra-op pool.
#include <algorithm>
#include <cstdint>
#include <string>

#include "ffi_handlers.hpp"
#include "ffi_signatures.hpp"
#include "ffi_parallel.hpp"
#include "galaxyfit/statistics.hpp"

namespace ffi = xla::ffi;

namespace {

ffi::Error ChiSquaredImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F64> model, ffi::Buffer<ffi::F64> data,
                          ffi::Buffer<ffi::F64> inverse_noise, ffi::ResultBuffer<ffi::F64> out) {
  const auto mdims = model.dimensions();
  if (mdims.size() < 1 || data.dimensions().size() != 1 || inverse_noise.dimensions().size() != 1)
    return ffi::Error::InvalidArgument("chi_squared: model (..., n), data (n,), inverse_noise (n,)");
  const int64_t n = mdims[mdims.size() - 1];
  if (data.dimensions()[0] != n || inverse_noise.dimensions()[0] != n)
    return ffi::Error::InvalidArgument("chi_squared: model, data and inverse_noise must have the same pixel count (" +
                                       std::to_string(n) + ")");
  const int64_t n_batch = static_cast<int64_t>(out->element_count());
  if (n_batch * n != static_cast<int64_t>(model.element_count()))
    return ffi::Error::InvalidArgument("chi_squared: output shape does not match the model's batch shape");
  const double* m = model.typed_data();
  const double* d = data.typed_data();
  const double* w = inverse_noise.typed_data();
  double* res = out->typed_data();
  // ~256k pixels per task: below that, waking a pool thread costs more than it saves.
  const int64_t per_task = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(n, 1));
  const int64_t n_tasks = (n_batch + per_task - 1) / per_task;
  galaxyfit::ffi_parallel_for(pool, n_tasks, [&](int64_t task) {
    const int64_t b1 = std::min(n_batch, (task + 1) * per_task);
    for (int64_t b = task * per_task; b < b1; ++b) res[b] = galaxyfit::chi_squared(m + b * n, d, w, n);
  });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitChiSquared, ChiSquaredImpl,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>() GALAXYFIT_FFI_CHI_SQUARED);
