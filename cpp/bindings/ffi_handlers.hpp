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
