// The operands, attributes and results of each galaxyfit FFI target, shared by its CPU handler (ffi_*.cpp, after
// .Ctx<ThreadPool>()) and its CUDA handler (ffi_cuda.cpp, after the stream and scratch contexts), so that the two
// platforms' handlers of one target cannot drift apart: one lowering (python/galaxyfit/kernels/) serves both. The
// order is the handler functions' parameter order.
#pragma once

#include <cstdint>

#include "xla/ffi/api/ffi.h"

#define GALAXYFIT_F64 ::xla::ffi::Buffer<::xla::ffi::F64>
#define GALAXYFIT_S32 ::xla::ffi::Buffer<::xla::ffi::S32>
#define GALAXYFIT_SPAN ::xla::ffi::Span<const int32_t>

// image (or cotangent), kernel, runs -> out (or image)
#define GALAXYFIT_FFI_PSF_CONVOLVE \
  .Arg<GALAXYFIT_F64>()            \
      .Arg<GALAXYFIT_F64>()        \
      .Arg<GALAXYFIT_S32>()        \
      .Ret<GALAXYFIT_F64>()

// model, data, inverse_noise -> chi^2
#define GALAXYFIT_FFI_CHI_SQUARED \
  .Arg<GALAXYFIT_F64>()           \
      .Arg<GALAXYFIT_F64>()       \
      .Arg<GALAXYFIT_F64>()       \
      .Ret<GALAXYFIT_F64>()

// The box and the integration rules (galaxyfit/profile_image.hpp's RenderConfig).
#define GALAXYFIT_FFI_RENDER_RULES             \
  .Attr<double>("y0")                          \
      .Attr<double>("x0")                      \
      .Attr<double>("hy")                      \
      .Attr<double>("hx")                      \
      .Attr<GALAXYFIT_SPAN>("ring_distance")   \
      .Attr<GALAXYFIT_SPAN>("ring_order")      \
      .Attr<int32_t>("cusp_radial")            \
      .Attr<int32_t>("cusp_tangential")        \
      .Attr<GALAXYFIT_SPAN>("span_begin")      \
      .Attr<GALAXYFIT_SPAN>("span_end")

// params -> image
#define GALAXYFIT_FFI_RENDER_PROFILE \
  .Arg<GALAXYFIT_F64>().Ret<GALAXYFIT_F64>().Attr<int32_t>("law") GALAXYFIT_FFI_RENDER_RULES
// params -> image, Jacobian
#define GALAXYFIT_FFI_RENDER_PROFILE_JACOBIAN \
  .Arg<GALAXYFIT_F64>().Ret<GALAXYFIT_F64>().Ret<GALAXYFIT_F64>().Attr<int32_t>("law") GALAXYFIT_FFI_RENDER_RULES
// the parameters of each profile -> their summed image
#define GALAXYFIT_FFI_RENDER_PROFILES \
  .RemainingArgs().Ret<GALAXYFIT_F64>().Attr<GALAXYFIT_SPAN>("laws") GALAXYFIT_FFI_RENDER_RULES

#define GALAXYFIT_FFI_SOLVER_ATTRS \
  .Attr<bool>("positive_only").Attr<double>("diag_value").Attr<int64_t>("max_iterations")
// reconstruction, adjoint, terms, status
#define GALAXYFIT_FFI_INVERSION_RESULTS \
  .Ret<GALAXYFIT_F64>().Ret<GALAXYFIT_F64>().Ret<GALAXYFIT_F64>().Ret<GALAXYFIT_S32>()

// columns, data, regularization, flags -> reconstruction, adjoint, terms, status
#define GALAXYFIT_FFI_INVERSION                                                            \
  .Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_S32>()     \
      GALAXYFIT_FFI_SOLVER_ATTRS GALAXYFIT_FFI_INVERSION_RESULTS
// columns, data, regularization, flags, reconstruction, adjoint -> grad_columns, grad_data, grad_regularization
#define GALAXYFIT_FFI_INVERSION_GRADIENT                                                   \
  .Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_S32>()     \
      .Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_F64>()                                           \
      GALAXYFIT_FFI_SOLVER_ATTRS.Ret<GALAXYFIT_F64>().Ret<GALAXYFIT_F64>().Ret<GALAXYFIT_F64>()
// curvature, data_vector, data_norm, regularization, flags, guess -> reconstruction, adjoint, terms, status
#define GALAXYFIT_FFI_INVERSION_GRAM                                                       \
  .Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_F64>().Arg<GALAXYFIT_F64>()     \
      .Arg<GALAXYFIT_S32>().Arg<GALAXYFIT_F64>()                                           \
      GALAXYFIT_FFI_SOLVER_ATTRS.Attr<bool>("log_det_regularization")                      \
      .Attr<bool>("log_det_curvature_reg") GALAXYFIT_FFI_INVERSION_RESULTS
