// XLA FFI handlers (platform "CUDA") of galaxyfit's CUDA kernels, registered by python/galaxyfit/kernels/cuda.py
// under the same target names as the CPU handlers of ffi_handlers.hpp, with the same operands and attributes.
#pragma once

#include "xla/ffi/api/ffi.h"

XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitPsfConvolveCuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitPsfConvolveAdjointCuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitRenderProfileCuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitRenderProfileJacobianCuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitRenderProfilesCuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitChiSquaredCuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitInversionCuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitInversionGradientCuda);
XLA_FFI_DECLARE_HANDLER_SYMBOL(GalaxyfitInversionGramCuda);
