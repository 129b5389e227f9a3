"""chi^2 over the unmasked pixels as a JAX primitive backed by the C++ kernel (XLA FFI custom call).

``chi_squared(model, data, inverse_noise)``: model (..., n), data (n,) or (..., n), inverse_noise (n,) or (..., n)
-> (...) float64, ``sum(((data - model) * inverse_noise) ** 2, axis=-1)``.

Why a kernel for a sum: XLA's CPU backend turns this reduction into a fusion whose cost, on this project's 2-core
machines, reached ~0.5 ms per likelihood on a 256x256 image (bench/README.md), several times the sum itself. The
C++ loop runs on the calling thread. Derivatives are written with ordinary JAX operations (linear in the tangents,
so ``grad``, ``jacfwd``, ``jacrev`` and ``hessian`` all work); ``vmap`` over the model is one batched call, and a
batched ``data`` or ``inverse_noise`` (e.g. a fitted sky level) uses the same formula in plain JAX.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax._src import dispatch  # eager evaluation of a custom primitive has no public entry point in jax 0.10
from jax.core import ShapedArray
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from galaxyfit.kernels import convolution as _registers_ffi_targets  # noqa: F401  (FFI registration at import)
from galaxyfit._precision import in_float64
from galaxyfit.kernels import cuda

chi_squared_p = Primitive("galaxyfit_chi_squared")


def _reference(model, data, inverse_noise):
    return jnp.sum(((data - model) * inverse_noise) ** 2, axis=-1)


@in_float64
def chi_squared(model, data, inverse_noise):
    """sum(((data - model) * inverse_noise)^2) over the last axis, in float64.

    Raises ValueError when the last axes differ. Leading axes of ``data`` and ``inverse_noise`` (rare: a traced
    sky level under vmap) take the plain-JAX path; the model's leading axes are a batch of the C++ kernel.
    """
    model = jnp.asarray(model, dtype=jnp.float64)
    data = jnp.asarray(data, dtype=jnp.float64)
    inverse_noise = jnp.asarray(inverse_noise, dtype=jnp.float64)
    if model.ndim == 0 or data.ndim == 0 or inverse_noise.ndim == 0:
        raise ValueError("model, data and inverse_noise must be arrays over pixels (at least one axis), got shapes "
                         f"{model.shape}, {data.shape}, {inverse_noise.shape}")
    n = model.shape[-1]
    if data.shape[-1] != n or inverse_noise.shape[-1] != n:
        raise ValueError(f"model, data and inverse_noise must end in the same pixel count, got {model.shape}, "
                         f"{data.shape}, {inverse_noise.shape}")
    if data.ndim != 1 or inverse_noise.ndim != 1:
        return _reference(model, data, inverse_noise)
    return chi_squared_p.bind(model, data, inverse_noise)


chi_squared_p.def_abstract_eval(lambda model, data, inverse_noise: ShapedArray(model.shape[:-1], jnp.float64))
chi_squared_p.def_impl(partial(dispatch.apply_primitive, chi_squared_p))
mlir.register_lowering(chi_squared_p, jax.ffi.ffi_lowering("galaxyfit_chi_squared_f64"), platform="cpu")
cuda.register_gpu_lowering(chi_squared_p, jax.ffi.ffi_lowering("galaxyfit_chi_squared_f64"), "chi^2")


def _batch(args, dims):
    model, data, inverse_noise = args
    model_dim, data_dim, noise_dim = dims
    if data_dim is None and noise_dim is None:
        return chi_squared_p.bind(jnp.moveaxis(model, model_dim, 0), data, inverse_noise), 0
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    moved = [jnp.moveaxis(a, d, 0) if d is not None else jnp.broadcast_to(a, (size, *a.shape)) for a, d in zip(args, dims)]
    return jax.vmap(_reference)(*moved), 0


batching.primitive_batchers[chi_squared_p] = _batch


def _weighted_residual(model, data, inverse_noise):
    return (data - model) * inverse_noise**2


ad.defjvp(
    chi_squared_p,
    lambda t, model, data, inverse_noise: -2.0 * jnp.sum(_weighted_residual(model, data, inverse_noise) * t, axis=-1),
    lambda t, model, data, inverse_noise: 2.0 * jnp.sum(_weighted_residual(model, data, inverse_noise) * t, axis=-1),
    lambda t, model, data, inverse_noise: 2.0 * jnp.sum((data - model) ** 2 * inverse_noise * t, axis=-1),
)
