"""Thin Python faces of the C++ kernels: FFI registration (at import), JAX primitives and their AD/vmap rules."""

from galaxyfit import _jax_config  # noqa: F401  (float64 before any galaxyfit array exists)
from galaxyfit.kernels.convolution import (
    psf_convolve,
    psf_convolve_adjoint,
    runs_from_mask,
)

__all__ = ["psf_convolve", "psf_convolve_adjoint", "runs_from_mask"]
