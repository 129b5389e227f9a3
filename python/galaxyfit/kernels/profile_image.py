"""Pixel-integrated profile images from the C++ kernel (cpp/include/galaxyfit/profile_image.hpp) as JAX primitives.

``render_profile(law, params, config)``: ``params`` (..., 5 + n_law) = [c_y, c_x, A_yy, A_xx, A_xy, law parameters]
-> image (..., H, W). ``render_profiles(laws, params_list, config)``: the sum of several profiles' images, in one
pass over the box (one C++ call instead of one per profile plus XLA additions). Their JVPs use the kernel's exact
forward-mode Jacobian (``render_profile_jacobian``), so ``jit``, ``vmap``, ``grad``, ``jacfwd`` and ``jacrev`` work;
second derivatives with respect to the parameters are not provided (the Jacobian primitive has no derivative rule)
and raise. A vmap is one batched C++ call.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import dispatch  # eager evaluation of a custom primitive has no public entry point in jax 0.10
from jax.core import ShapedArray
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from galaxyfit import _core  # noqa: F401  (FFI targets are registered by galaxyfit.kernels.convolution)
from galaxyfit.kernels import convolution as _registration  # noqa: F401
from galaxyfit._precision import in_float64
from galaxyfit.kernels import cuda

N_LAW_PARAMETERS = {0: 3, 1: 6, 2: 2, 3: 3, 4: 3, 5: 2, 6: 2}


@dataclass(frozen=True)
class RenderConfig:
    """Static description of the box and the rules (hashable: it is a primitive parameter)."""

    y0: float
    x0: float
    hy: float
    hx: float
    height: int
    width: int
    rings: tuple
    cusp_radial: int
    cusp_tangential: int
    span_begin: tuple = ()  # per row: render columns [span_begin[r], span_end[r]) only (empty: whole rows)
    span_end: tuple = ()


render_p = Primitive("galaxyfit_render_profile")
render_jacobian_p = Primitive("galaxyfit_render_profile_jacobian")
render_sum_p = Primitive("galaxyfit_render_profiles")
render_jacobian_p.multiple_results = True


@in_float64
def render_profile(law: int, params, config: RenderConfig):
    """Image (..., H, W) of the law with parameters (..., 5 + n_law) over the box of ``config``."""
    params = jnp.asarray(params, dtype=jnp.float64)
    if params.shape[-1] != 5 + N_LAW_PARAMETERS[law]:
        raise ValueError(f"law {law} takes {5 + N_LAW_PARAMETERS[law]} parameters, got {params.shape[-1]}")
    return render_p.bind(params, law=int(law), config=config)


@in_float64
def render_profiles(laws, params_list, config: RenderConfig):
    """Sum (..., H, W) of the images of profiles with laws ``laws`` and parameters ``params_list`` (each (..., P_i))."""
    laws = tuple(int(law) for law in laws)
    if len(laws) != len(params_list) or not laws:
        raise ValueError("render_profiles needs one parameter array per law")
    params_list = [jnp.asarray(p, dtype=jnp.float64) for p in params_list]
    for law, params in zip(laws, params_list):
        if params.shape[-1] != 5 + N_LAW_PARAMETERS[law]:
            raise ValueError(f"law {law} takes {5 + N_LAW_PARAMETERS[law]} parameters, got {params.shape[-1]}")
    lead = jnp.broadcast_shapes(*(p.shape[:-1] for p in params_list))
    params_list = [jnp.broadcast_to(p, lead + p.shape[-1:]) for p in params_list]
    return render_sum_p.bind(*params_list, laws=laws, config=config)


@in_float64
def render_profile_jacobian(law: int, params, config: RenderConfig):
    """(image (..., H, W), d image / d params (..., P, H, W))."""
    params = jnp.asarray(params, dtype=jnp.float64)
    return tuple(render_jacobian_p.bind(params, law=int(law), config=config))


def _abstract(params, *, law, config):
    return ShapedArray(params.shape[:-1] + (config.height, config.width), jnp.float64)


def _abstract_jacobian(params, *, law, config):
    lead = params.shape[:-1]
    return [
        ShapedArray(lead + (config.height, config.width), jnp.float64),
        ShapedArray(lead + (params.shape[-1], config.height, config.width), jnp.float64),
    ]


def _abstract_sum(*params, laws, config):
    return ShapedArray(params[0].shape[:-1] + (config.height, config.width), jnp.float64)


render_p.def_abstract_eval(_abstract)
render_sum_p.def_abstract_eval(_abstract_sum)
render_sum_p.def_impl(partial(dispatch.apply_primitive, render_sum_p))
render_jacobian_p.def_abstract_eval(_abstract_jacobian)
render_p.def_impl(partial(dispatch.apply_primitive, render_p))
render_jacobian_p.def_impl(partial(dispatch.apply_primitive, render_jacobian_p))


def _attributes(law, config: RenderConfig) -> dict:
    return dict(
        law=np.int32(law),
        y0=float(config.y0),
        x0=float(config.x0),
        hy=float(config.hy),
        hx=float(config.hx),
        ring_distance=np.array([d for d, _ in config.rings], dtype=np.int32),
        ring_order=np.array([o for _, o in config.rings], dtype=np.int32),
        cusp_radial=np.int32(config.cusp_radial),
        cusp_tangential=np.int32(config.cusp_tangential),
        span_begin=np.array(config.span_begin, dtype=np.int32),
        span_end=np.array(config.span_end, dtype=np.int32),
    )


def _lowering(target):
    def lowering(ctx, params, *, law, config):
        return jax.ffi.ffi_lowering(target)(ctx, params, **_attributes(law, config))

    return lowering


mlir.register_lowering(render_p, _lowering("galaxyfit_render_profile_f64"), platform="cpu")


def _lowering_sum(ctx, *params, laws, config):
    attributes = _attributes(0, config)
    del attributes["law"]
    return jax.ffi.ffi_lowering("galaxyfit_render_profiles_f64")(ctx, *params, laws=np.array(laws, dtype=np.int32), **attributes)


mlir.register_lowering(render_sum_p, _lowering_sum, platform="cpu")
mlir.register_lowering(render_jacobian_p, _lowering("galaxyfit_render_profile_jacobian_f64"), platform="cpu")
cuda.register_gpu_lowering(render_p, _lowering("galaxyfit_render_profile_f64"), "the profile image")
cuda.register_gpu_lowering(render_sum_p, _lowering_sum, "the profile images")
cuda.register_gpu_lowering(render_jacobian_p, _lowering("galaxyfit_render_profile_jacobian_f64"),
                           "the profile image's Jacobian")


def _batch(args, dims, *, law, config):
    (params,), (dim,) = args, dims
    return render_p.bind(jnp.moveaxis(params, dim, 0), law=law, config=config), 0


def _batch_jacobian(args, dims, *, law, config):
    (params,), (dim,) = args, dims
    return render_jacobian_p.bind(jnp.moveaxis(params, dim, 0), law=law, config=config), (0, 0)


def _batch_sum(args, dims, *, laws, config):
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    moved = [
        jnp.broadcast_to(a, (size,) + a.shape) if d is None else jnp.moveaxis(a, d, 0)
        for a, d in zip(args, dims)
    ]
    return render_sum_p.bind(*moved, laws=laws, config=config), 0


batching.primitive_batchers[render_p] = _batch
batching.primitive_batchers[render_sum_p] = _batch_sum
batching.primitive_batchers[render_jacobian_p] = _batch_jacobian


def _image_and_tangent(params, dparams, law, config):
    """(image, its tangent or None for a symbolic-zero dparams) from the kernel's exact Jacobian."""
    image, jacobian = render_jacobian_p.bind(params, law=law, config=config)
    if type(dparams) is ad.Zero:
        return image, None
    return image, jnp.einsum("...p,...phw->...hw", dparams, jacobian)


def _jvp(primals, tangents, *, law, config):
    image, tangent = _image_and_tangent(primals[0], tangents[0], law, config)
    if tangent is None:
        return image, ad.Zero.from_primal_value(image) if hasattr(ad.Zero, "from_primal_value") else jnp.zeros_like(image)
    return image, tangent


def _no_second_derivatives(*_args, **_kwargs):
    raise NotImplementedError(
        "second derivatives of C++ profile images with respect to their parameters are not implemented; for Hessians "
        "use Settings(over_sampling=OverSampling(backend='jax'))"
    )


def _jvp_sum(primals, tangents, *, laws, config):
    # Per-profile Jacobians (the fused primitive has no Jacobian of its own); the primal is the sum of their images.
    image, tangent = None, None
    for law, params, dparams in zip(laws, primals, tangents):
        image_i, tangent_i = _image_and_tangent(params, dparams, law, config)
        image = image_i if image is None else image + image_i
        if tangent_i is not None:
            tangent = tangent_i if tangent is None else tangent + tangent_i
    return image, jnp.zeros_like(image) if tangent is None else tangent


ad.primitive_jvps[render_p] = _jvp
ad.primitive_jvps[render_sum_p] = _jvp_sum
ad.primitive_jvps[render_jacobian_p] = _no_second_derivatives
