// XLA FFI handlers for the linear inversion (galaxyfit/inversion.hpp): the solve with its evidence terms, and the
// gradient matrices of its implicit derivative. Batch elements are spread over XLA's intra-op thread pool; a batch
// element's result never depends on the others.
#include <algorithm>
#include <cstdint>
#include <string>

#include "ffi_handlers.hpp"
#include "ffi_signatures.hpp"
#include "ffi_inversion_layout.hpp"
#include "ffi_parallel.hpp"
#include "galaxyfit/inversion.hpp"

namespace ffi = xla::ffi;

using galaxyfit::inversion_ffi::gram_layout_of;
using galaxyfit::inversion_ffi::GramLayout;
using galaxyfit::inversion_ffi::Layout;
using galaxyfit::inversion_ffi::layout_of;

namespace {

galaxyfit::InversionSettings settings_of(bool positive_only, double diag_value, int64_t max_iterations) {
  galaxyfit::InversionSettings s;
  s.positive_only = positive_only;
  s.no_regularization_add_to_curvature_diag_value = diag_value;
  s.max_iterations = max_iterations;
  return s;
}

ffi::Error InversionImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F64> columns, ffi::Buffer<ffi::F64> data,
                         ffi::Buffer<ffi::F64> regularization, ffi::Buffer<ffi::S32> flags, bool positive_only,
                         double diag_value, int64_t max_iterations, ffi::ResultBuffer<ffi::F64> reconstruction,
                         ffi::ResultBuffer<ffi::F64> adjoint, ffi::ResultBuffer<ffi::F64> terms,
                         ffi::ResultBuffer<ffi::S32> status) {
  Layout l;
  if (auto e = layout_of("inversion", columns.dimensions(), data.dimensions(), regularization.dimensions(),
                         static_cast<int64_t>(flags.element_count()), &l);
      e.failure())
    return e;
  const auto settings = settings_of(positive_only, diag_value, max_iterations);
  const double* c = columns.typed_data();
  const double* d = data.typed_data();
  const double* h = regularization.typed_data();
  const int32_t* f = flags.typed_data();
  double* s = reconstruction->typed_data();
  double* a = adjoint->typed_data();
  double* t = terms->typed_data();
  int32_t* st = status->typed_data();
  const int64_t k = l.k, n = l.n;
  galaxyfit::ffi_parallel_for(pool, l.batch, [&](int64_t b) {
    const auto out = galaxyfit::invert(c + b * k * n, d + (l.data_batched ? b * n : 0), n, k,
                                       l.has_regularization ? h + (l.regularization_batched ? b * k * k : 0) : nullptr,
                                       f, settings, s + b * k, a + b * k);
    double* tb = t + b * 5;
    tb[0] = out.chi_squared;
    tb[1] = out.regularization_term;
    tb[2] = out.log_det_curvature_reg;
    tb[3] = out.log_det_regularization;
    tb[4] = static_cast<double>(out.iterations);
    st[b] = static_cast<int32_t>(out.status);
  });
  return ffi::Error::Success();
}

ffi::Error InversionGradientImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F64> columns, ffi::Buffer<ffi::F64> data,
                                 ffi::Buffer<ffi::F64> regularization, ffi::Buffer<ffi::S32> flags,
                                 ffi::Buffer<ffi::F64> reconstruction, ffi::Buffer<ffi::F64> adjoint, bool positive_only,
                                 double diag_value, int64_t max_iterations, ffi::ResultBuffer<ffi::F64> grad_columns,
                                 ffi::ResultBuffer<ffi::F64> grad_data, ffi::ResultBuffer<ffi::F64> grad_regularization) {
  Layout l;
  if (auto e = layout_of("inversion_gradient", columns.dimensions(), data.dimensions(), regularization.dimensions(),
                         static_cast<int64_t>(flags.element_count()), &l);
      e.failure())
    return e;
  const auto settings = settings_of(positive_only, diag_value, max_iterations);
  const int64_t k = l.k, n = l.n;
  if (static_cast<int64_t>(reconstruction.element_count()) != l.batch * k ||
      static_cast<int64_t>(adjoint.element_count()) != l.batch * k)
    return ffi::Error::InvalidArgument("inversion_gradient: reconstruction and adjoint must be (..., k)");
  const double* c = columns.typed_data();
  const double* d = data.typed_data();
  const double* h = regularization.typed_data();
  const int32_t* f = flags.typed_data();
  const double* s = reconstruction.typed_data();
  const double* a = adjoint.typed_data();
  double* gc = grad_columns->typed_data();
  double* gd = grad_data->typed_data();
  double* gh = grad_regularization->typed_data();
  galaxyfit::ffi_parallel_for(pool, l.batch, [&](int64_t b) {
    const auto status = galaxyfit::inversion_gradient(
        c + b * k * n, d + (l.data_batched ? b * n : 0), n, k,
        l.has_regularization ? h + (l.regularization_batched ? b * k * k : 0) : nullptr, f, settings, s + b * k,
        a + b * k, gc + b * k * n, gd + b * n, l.has_regularization ? gh + b * k * k : nullptr);
    if (status != galaxyfit::InversionStatus::kOk) {  // a rejected sample: zero derivatives (the value is -1e99)
      std::fill(gc + b * k * n, gc + (b + 1) * k * n, 0.0);
      std::fill(gd + b * n, gd + (b + 1) * n, 0.0);
    }
  });
  return ffi::Error::Success();
}

ffi::Error InversionGramImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F64> curvature, ffi::Buffer<ffi::F64> data_vector,
                             ffi::Buffer<ffi::F64> data_norm, ffi::Buffer<ffi::F64> regularization,
                             ffi::Buffer<ffi::S32> flags, ffi::Buffer<ffi::F64> guess, bool positive_only,
                             double diag_value, int64_t max_iterations, bool log_det_regularization,
                             bool log_det_curvature_reg, ffi::ResultBuffer<ffi::F64> reconstruction,
                             ffi::ResultBuffer<ffi::F64> adjoint, ffi::ResultBuffer<ffi::F64> terms,
                             ffi::ResultBuffer<ffi::S32> status) {
  GramLayout l;
  if (auto e = gram_layout_of(curvature.dimensions(), data_vector.dimensions(), data_norm.element_count(),
                              regularization.dimensions(), flags.element_count(), guess.dimensions(),
                              reconstruction->element_count(), &l);
      e.failure())
    return e;
  const int64_t k = l.k, batch = l.batch, fb = l.fb, db = l.db, nb = l.nb, hb = l.hb, gb = l.gb;
  const bool has_h = l.has_h, has_guess = l.has_guess;
  auto settings = settings_of(positive_only, diag_value, max_iterations);
  settings.compute_log_det_regularization = log_det_regularization;
  settings.compute_log_det_curvature_reg = log_det_curvature_reg;
  const double* g = guess.typed_data();
  const double* f = curvature.typed_data();
  const double* d = data_vector.typed_data();
  const double* yy = data_norm.typed_data();
  const double* h = regularization.typed_data();
  const int32_t* fl = flags.typed_data();
  double* s = reconstruction->typed_data();
  double* a = adjoint->typed_data();
  double* t = terms->typed_data();
  int32_t* st = status->typed_data();
  galaxyfit::ffi_parallel_for(pool, batch, [&](int64_t b) {
    const auto out = galaxyfit::invert_gram(f + (fb == 1 ? 0 : b * k * k), d + (db == 1 ? 0 : b * k),
                                            yy[nb == 1 ? 0 : b], k,
                                            has_h ? h + (hb == 1 ? 0 : b * k * k) : nullptr, fl, settings, s + b * k,
                                            a + b * k, has_guess ? g + (gb == 1 ? 0 : b * k) : nullptr);
    double* tb = t + b * 5;
    tb[0] = out.chi_squared;
    tb[1] = out.regularization_term;
    tb[2] = out.log_det_curvature_reg;
    tb[3] = out.log_det_regularization;
    tb[4] = static_cast<double>(out.iterations);
    st[b] = static_cast<int32_t>(out.status);
  });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitInversion, InversionImpl,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>() GALAXYFIT_FFI_INVERSION);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitInversionGradient, InversionGradientImpl,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>() GALAXYFIT_FFI_INVERSION_GRADIENT);

XLA_FFI_DEFINE_HANDLER_SYMBOL(GalaxyfitInversionGram, InversionGramImpl,
                              ffi::Ffi::Bind().Ctx<ffi::ThreadPool>() GALAXYFIT_FFI_INVERSION_GRAM);
