// XLA FFI handlers (CPU) of galaxyfit's kernels. Registered with JAX by python/galaxyfit/kernels/.
#pragma once

#include "xla/ffi/api/ffi.h"

// image (..., ny, nx) f64, kernel (..., ky, kx) f64, runs (n_runs, 3) s32 -> out (..., n_out) f64.
// Leading dimensions are batch: image and kernel each carry 1 or all of the output's batch elements.
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitPsfConvolve);

// cotangent (..., n_out) f64, kernel (..., ky, kx) f64, runs (n_runs, 3) s32 -> image (..., ny, nx) f64.
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitPsfConvolveAdjoint);

// params (..., 5 + n_law) f64 -> image (..., H, W) f64; attributes: law, y0, x0, hy, hx, ring_distance, ring_order,
// cusp_radial, cusp_tangential, span_begin, span_end (see galaxyfit/profile_image.hpp; empty spans: whole rows).
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitRenderProfile);

// As above, plus the Jacobian (..., 5 + n_law, H, W) f64.
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitRenderProfileJacobian);

// params_1 (..., P_1), ..., params_n (..., P_n) f64 -> the sum of the n profiles' images (..., H, W) f64 in one pass;
// attributes as above with `laws` (n entries) in place of `law`.
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitRenderProfiles);

// model (..., n) f64, data (n,) f64, inverse_noise (n,) f64 -> chi^2 (...) f64 (galaxyfit/statistics.hpp).
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitChiSquared);

// columns (..., k, n) f64, data (..., n) or (n,) f64, regularization (..., k, k), (k, k) or (0, 0) f64, flags (k,) s32
// -> reconstruction (..., k), adjoint (..., k), terms (..., 5) [chi^2, s^T H s, ln det A_RR, ln det H_RR, iterations]
// f64, status (...) s32; attributes positive_only, diag_value, max_iterations (galaxyfit/inversion.hpp).
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitInversion);

// As above plus reconstruction and adjoint -> d E / d columns (..., k, n), d E / d data (..., n), d E / d
// regularization (..., k, k) with E = -2 x (log evidence - its constant) (galaxyfit::inversion_gradient).
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitInversionGradient);

// The Gram form: curvature F (..., k, k), data_vector D (..., k), data_norm y^T y (...), regularization (..., k, k)
// or (0, 0), flags (k,), guess (..., k) or (0,) -> as GalaxyfitInversion (galaxyfit::invert_gram); attributes
// log_det_regularization and log_det_curvature_reg (false: that log-determinant is the caller's, reported as 0). Each operand carries 1 or all batch
// elements (a pixelization's F is a constant of the dataset while H follows the batch).
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitInversionGram);
