"""Thin Python faces of the C++ kernels: FFI registration (at import), JAX primitives and their AD/vmap rules."""

from galaxyfit.kernels.convolution import (
    psf_convolve,
    psf_convolve_adjoint,
    runs_from_mask,
)

__all__ = ["psf_convolve", "psf_convolve_adjoint", "runs_from_mask"]
