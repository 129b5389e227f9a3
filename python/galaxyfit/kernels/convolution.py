"""PSF convolution as JAX primitives backed by the C++ kernels (XLA FFI custom calls).

``psf_convolve(image, kernel, runs)`` returns, at the pixels listed by ``runs``, the "same"-size convolution

    out[r, c] = sum_{i, j} kernel[i, j] * image[r + ky // 2 - i, c + kx // 2 - j]

(image zero outside its bounds), i.e. ``scipy.signal.convolve(image, kernel, mode="same")`` for odd kernels.
``runs`` is an (n_runs, 3) int32 array of (row, col_begin, col_end) spans; outputs come in run order, which is
row-major "slim" order when the runs list the unmasked pixels of a mask.

The operation is linear in ``image``. Its JVP is the operation itself and its transpose is
``psf_convolve_adjoint`` (correlation with the same kernel), whose own transpose is ``psf_convolve``; with a
batching rule that turns a vmap into one batched C++ call, this gives ``jit``, ``vmap``, ``grad``, ``jacfwd``,
``jacrev`` and ``hessian`` with respect to the image. Derivatives with respect to the kernel are not provided and
raise ``NotImplementedError``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import dispatch  # eager evaluation of a custom primitive has no public entry point in jax 0.10
from jax.core import ShapedArray
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from galaxyfit import _core
from galaxyfit._precision import in_float64
from galaxyfit.kernels import cuda

for _name, _capsule in _core.registrations().items():
    jax.ffi.register_ffi_target(_name, _capsule, platform="cpu")

psf_convolve_p = Primitive("galaxyfit_psf_convolve")
psf_convolve_adjoint_p = Primitive("galaxyfit_psf_convolve_adjoint")


def runs_from_mask(mask) -> np.ndarray:
    """Horizontal runs (row, col_begin, col_end) of the unmasked pixels of ``mask`` (2-D, True/non-zero = masked).

    Returns an (n_runs, 3) int32 array; its pixels are the unmasked pixels in row-major order.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-dimensional, got shape {mask.shape}")
    return _core.runs_from_mask(np.ascontiguousarray(mask, dtype=np.uint8))


def _check_runs(runs, image_shape) -> np.ndarray:
    """The runs as a contiguous int32 (n_runs, 3) array, each inside the (ny, nx) image: the CPU handlers check
    them again, the CUDA handlers (which cannot read them without a copy to the host) rely on this."""
    if isinstance(runs, jax.core.Tracer):
        raise TypeError("runs must be a concrete (numpy) array: it fixes the output shape")
    runs = np.asarray(runs)
    if runs.ndim != 2 or runs.shape[1] != 3:
        raise ValueError(f"runs must have shape (n_runs, 3), got {runs.shape}")
    runs = np.ascontiguousarray(runs, dtype=np.int32)
    ny, nx = (int(n) for n in image_shape[-2:])
    row, begin, end = runs[:, 0], runs[:, 1], runs[:, 2]
    outside = (row < 0) | (row >= ny) | (begin < 0) | (end > nx) | (begin > end)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise ValueError(f"pixel run {first} (row {row[first]}, columns {begin[first]}..{end[first]}) lies outside "
                         f"the {ny} x {nx} image")
    return runs


def _check_kernel_shape(kernel_shape) -> None:
    ky, kx = kernel_shape[-2:]
    if ky % 2 == 0 or kx % 2 == 0:
        raise ValueError(f"kernel shape {tuple(kernel_shape[-2:])} must be odd in both dimensions")


@in_float64
def psf_convolve(image, kernel, runs):
    """Convolve ``image`` (..., ny, nx) with ``kernel`` (..., ky, kx; odd sizes) at the pixels of ``runs``.

    Returns shape (..., n_out) float64 with n_out = sum(col_end - col_begin). Leading (batch) dimensions of image
    and kernel must be equal or absent. Raises ValueError for even kernels and TypeError for a traced ``runs``.
    """
    image = jnp.asarray(image, dtype=jnp.float64)
    kernel = jnp.asarray(kernel, dtype=jnp.float64)
    if image.ndim < 2 or kernel.ndim < 2:
        raise ValueError("image and kernel must be at least 2-dimensional")
    runs = _check_runs(runs, image.shape)
    _check_kernel_shape(kernel.shape)
    n_out = int((runs[:, 2] - runs[:, 1]).sum())
    return psf_convolve_p.bind(image, kernel, jnp.asarray(runs), n_out=n_out)


@in_float64
def psf_convolve_adjoint(values, kernel, runs, image_shape):
    """Transpose of :func:`psf_convolve`: values (..., n_out) -> image (..., ny, nx) with (ny, nx) = image_shape."""
    shape = tuple(int(s) for s in image_shape)
    runs = _check_runs(runs, shape)
    values = jnp.asarray(values, dtype=jnp.float64)
    kernel = jnp.asarray(kernel, dtype=jnp.float64)
    _check_kernel_shape(kernel.shape)
    n_out = int((runs[:, 2] - runs[:, 1]).sum())
    if values.ndim < 1 or values.shape[-1] != n_out:
        raise ValueError(f"values must end in the runs' {n_out} pixels, got shape {values.shape}")
    return psf_convolve_adjoint_p.bind(values, kernel, jnp.asarray(runs), image_shape=shape)


# ---- shape rules -------------------------------------------------------------------------------------------------


def _lead(x_shape, core: int) -> tuple:
    return tuple(x_shape[: len(x_shape) - core])


def _out_lead(a_lead: tuple, b_lead: tuple) -> tuple:
    if a_lead and b_lead and a_lead != b_lead:
        raise ValueError(f"batch dimensions {a_lead} and {b_lead} must be equal or one of them absent")
    return a_lead or b_lead


def _psf_convolve_abstract(image, kernel, runs, *, n_out):
    lead = _out_lead(_lead(image.shape, 2), _lead(kernel.shape, 2))
    return ShapedArray(lead + (n_out,), jnp.float64)


def _psf_convolve_adjoint_abstract(values, kernel, runs, *, image_shape):
    lead = _out_lead(_lead(values.shape, 1), _lead(kernel.shape, 2))
    return ShapedArray(lead + tuple(image_shape), jnp.float64)


psf_convolve_p.def_abstract_eval(_psf_convolve_abstract)
psf_convolve_adjoint_p.def_abstract_eval(_psf_convolve_adjoint_abstract)
psf_convolve_p.def_impl(partial(dispatch.apply_primitive, psf_convolve_p))
psf_convolve_adjoint_p.def_impl(partial(dispatch.apply_primitive, psf_convolve_adjoint_p))


def _lower(target):
    def lowering(ctx, x, kernel, runs, **_static):
        return jax.ffi.ffi_lowering(target)(ctx, x, kernel, runs)

    return lowering


mlir.register_lowering(psf_convolve_p, _lower("galaxyfit_psf_convolve_f64"), platform="cpu")
mlir.register_lowering(psf_convolve_adjoint_p, _lower("galaxyfit_psf_convolve_adjoint_f64"), platform="cpu")
cuda.register_gpu_lowering(psf_convolve_p, _lower("galaxyfit_psf_convolve_f64"), "the PSF convolution")
cuda.register_gpu_lowering(psf_convolve_adjoint_p, _lower("galaxyfit_psf_convolve_adjoint_f64"),
                           "the PSF convolution's adjoint")


# ---- vmap: one batched C++ call ------------------------------------------------------------------------------------


def _batch_pair(x, x_dim, x_core, kernel, k_dim):
    """Move vmapped axes to the front and broadcast so both operands share the output's leading shape (or have none)."""
    size = x.shape[x_dim] if x_dim is not None else kernel.shape[k_dim]
    x = jnp.moveaxis(x, x_dim, 0) if x_dim is not None else x
    kernel = jnp.moveaxis(kernel, k_dim, 0) if k_dim is not None else kernel
    x_lead = _lead(x.shape, x_core)[1:] if x_dim is not None else _lead(x.shape, x_core)
    k_lead = _lead(kernel.shape, 2)[1:] if k_dim is not None else _lead(kernel.shape, 2)
    inner = _out_lead(x_lead, k_lead)
    full = (size,) + inner

    def fit(a, a_dim, a_lead, core):
        if a_dim is None and not a_lead:
            return a  # unbatched and unbroadcast: the C++ handler reuses it for every batch element
        core_shape = a.shape[a.ndim - core :]
        if a_dim is not None and a_lead != inner:
            a = a.reshape((size,) + (1,) * len(inner) + core_shape)
        return jnp.broadcast_to(a, full + core_shape)

    return fit(x, x_dim, x_lead, x_core), fit(kernel, k_dim, k_lead, 2)


def _psf_convolve_batch(args, dims, *, n_out):
    image, kernel, runs = args
    if dims[2] is not None:
        raise NotImplementedError("psf_convolve cannot be vmapped over runs")
    image, kernel = _batch_pair(image, dims[0], 2, kernel, dims[1])
    return psf_convolve_p.bind(image, kernel, runs, n_out=n_out), 0


def _psf_convolve_adjoint_batch(args, dims, *, image_shape):
    values, kernel, runs = args
    if dims[2] is not None:
        raise NotImplementedError("psf_convolve_adjoint cannot be vmapped over runs")
    values, kernel = _batch_pair(values, dims[0], 1, kernel, dims[1])
    return psf_convolve_adjoint_p.bind(values, kernel, runs, image_shape=image_shape), 0


batching.primitive_batchers[psf_convolve_p] = _psf_convolve_batch
batching.primitive_batchers[psf_convolve_adjoint_p] = _psf_convolve_adjoint_batch


# ---- differentiation: linear in the first operand -----------------------------------------------------------------


def _no_kernel_derivative(*_args, **_kwargs):
    raise NotImplementedError("galaxyfit's PSF convolution is not differentiable with respect to the kernel")


ad.defjvp(
    psf_convolve_p,
    lambda t, image, kernel, runs, *, n_out: psf_convolve_p.bind(t, kernel, runs, n_out=n_out),
    _no_kernel_derivative,
    None,
)
ad.defjvp(
    psf_convolve_adjoint_p,
    lambda t, values, kernel, runs, *, image_shape: psf_convolve_adjoint_p.bind(
        t, kernel, runs, image_shape=image_shape
    ),
    _no_kernel_derivative,
    None,
)


def _sum_to(x, shape):
    """Sum leading axes that broadcasting added, so a cotangent matches its primal's shape."""
    extra = x.ndim - len(shape)
    return x.sum(axis=tuple(range(extra))) if extra > 0 else x


def _psf_convolve_transpose(ct, image, kernel, runs, *, n_out):
    if ad.is_undefined_primal(kernel):
        _no_kernel_derivative()
    shape = image.aval.shape
    if type(ct) is ad.Zero:
        return [ad.Zero(image.aval), None, None]
    grad = psf_convolve_adjoint_p.bind(ct, kernel, runs, image_shape=tuple(shape[-2:]))
    return [_sum_to(grad, shape), None, None]


def _psf_convolve_adjoint_transpose(ct, values, kernel, runs, *, image_shape):
    if ad.is_undefined_primal(kernel):
        _no_kernel_derivative()
    shape = values.aval.shape
    if type(ct) is ad.Zero:
        return [ad.Zero(values.aval), None, None]
    out = psf_convolve_p.bind(ct, kernel, runs, n_out=shape[-1])
    return [_sum_to(out, shape), None, None]


ad.primitive_transposes[psf_convolve_p] = _psf_convolve_transpose
ad.primitive_transposes[psf_convolve_adjoint_p] = _psf_convolve_adjoint_transpose
