"""Circular FFT convolution of images with one kernel spectrum, as a JAX primitive that batches by looping.

``fft_convolve(image, kernel_fft, fft_shape)``: image (..., H, W), kernel_fft (L_y, L_x // 2 + 1) complex (the rfft2
of the kernel, already placed for circular convolution on L_y x L_x) -> (..., H, W): the image zero-padded to
``fft_shape``, convolved circularly, cropped back to (H, W). ``adjoint=True`` is the exact transpose (correlation:
the conjugate spectrum), so ``grad``, ``jacfwd``, ``jacrev`` and ``hessian`` all work.

Why a primitive rather than ``jnp.fft`` in place: on the CPU, XLA's batched FFT convolution costs 1.5-2x more per
image than the same convolutions one at a time (bench/README.md: a batch of 32 of a 306² box padded to 315² took
68 ms, a loop over them 39 ms). The batching rule keeps the batch in one primitive (``jax.vmap``: a sampler's batch of
points, or ``jacfwd``'s tangents), and the lowering decides: on the CPU a ``lax.map`` over the batch, on a GPU one
batched transform (cuFFT plans a batch at once; a loop would serialize it).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax._src import dispatch  # eager evaluation of a custom primitive has no public entry point in jax 0.10
from jax.core import ShapedArray
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir
from galaxyfit._precision import in_float64

fft_convolve_p = Primitive("galaxyfit_fft_convolve")


@in_float64
def fft_convolve(image, kernel_fft, fft_shape: tuple, adjoint: bool = False):
    """Circular convolution (``adjoint``: correlation) of image (..., H, W) on ``fft_shape``, cropped to (H, W)."""
    height, width = image.shape[-2:]
    if fft_shape[0] < height or fft_shape[1] < width:
        raise ValueError(f"fft_shape {fft_shape} is smaller than the image {(height, width)}")
    return fft_convolve_p.bind(jnp.asarray(image), jnp.asarray(kernel_fft), fft_shape=tuple(fft_shape), adjoint=bool(adjoint))


def _compute(image, kernel_fft, *, fft_shape, adjoint):
    spectrum = jnp.conj(kernel_fft) if adjoint else kernel_fft
    height, width = image.shape[-2:]
    full = jnp.fft.irfft2(jnp.fft.rfft2(image, s=fft_shape) * spectrum, s=fft_shape)
    return full[..., :height, :width]


def _compute_looped(image, kernel_fft, *, fft_shape, adjoint):
    """_compute one image at a time over the leading axes (the CPU lowering)."""
    if image.ndim == 2:
        return _compute(image, kernel_fft, fft_shape=fft_shape, adjoint=adjoint)
    flat = image.reshape((-1,) + image.shape[-2:])
    out = jax.lax.map(lambda one: _compute(one, kernel_fft, fft_shape=fft_shape, adjoint=adjoint), flat)
    return out.reshape(image.shape)


fft_convolve_p.def_abstract_eval(lambda image, kernel_fft, **_: ShapedArray(image.shape, image.dtype))
fft_convolve_p.def_impl(partial(dispatch.apply_primitive, fft_convolve_p))
mlir.register_lowering(fft_convolve_p, mlir.lower_fun(_compute_looped, multiple_results=False))
mlir.register_lowering(fft_convolve_p, mlir.lower_fun(_compute, multiple_results=False), platform="cuda")


def _batch(args, dims, *, fft_shape, adjoint):
    image, kernel_fft = args
    image_dim, kernel_dim = dims
    if kernel_dim is not None:  # a batch of kernels (not used by galaxyfit): XLA's batched FFT
        kernel_fft = jnp.moveaxis(kernel_fft, kernel_dim, 0)
        n = kernel_fft.shape[0]
        image = jnp.moveaxis(image, image_dim, 0) if image_dim is not None else jnp.broadcast_to(image, (n, *image.shape))
        return jax.vmap(partial(_compute, fft_shape=fft_shape, adjoint=adjoint))(image, kernel_fft), 0
    image = jnp.moveaxis(image, image_dim, 0)
    return fft_convolve_p.bind(image, kernel_fft, fft_shape=fft_shape, adjoint=adjoint), 0


batching.primitive_batchers[fft_convolve_p] = _batch


def _no_kernel_derivative(*_args, **_kwargs):
    raise NotImplementedError("galaxyfit's FFT convolution is not differentiable with respect to the kernel")


ad.defjvp(
    fft_convolve_p,
    lambda t, image, kernel_fft, *, fft_shape, adjoint: fft_convolve_p.bind(t, kernel_fft, fft_shape=fft_shape, adjoint=adjoint),
    _no_kernel_derivative,
)


def _transpose(ct, image, kernel_fft, *, fft_shape, adjoint):
    if ad.is_undefined_primal(kernel_fft):
        _no_kernel_derivative()
    if type(ct) is ad.Zero:
        return [ad.Zero(image.aval), None]
    return [fft_convolve_p.bind(ct, kernel_fft, fft_shape=fft_shape, adjoint=not adjoint), None]


ad.primitive_transposes[fft_convolve_p] = _transpose
