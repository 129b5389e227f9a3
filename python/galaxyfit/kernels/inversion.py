"""The linear inversion (cpp/include/galaxyfit/inversion.hpp) as JAX primitives, with derivatives by implicit
differentiation.

``invert(columns, data, regularization, flags, settings)`` takes the weighted blurred columns ``B_w`` (..., k, n),
the weighted data ``y`` (..., n) and the regularization matrix ``H`` (..., k, k) (or None), and returns an
:class:`InversionOutput`: the reconstruction ``s`` (..., k), ``evidence_term`` E = chi^2 + s^T H s + ln det A_RR -
ln det H_RR (so that the log evidence is -(E + sum ln 2 pi sigma^2) / 2), its parts, and the status (0 = solved;
anything else means the sample is rejected). ``flags`` (a tuple of InversionColumnFlag values, one per column) and
``settings`` (:class:`SolverSettings`) are static.

Derivatives (``jit``, ``vmap``, ``grad``, ``jacfwd``, ``jacrev``; no second derivatives):

* E by the envelope theorem on the passive set plus one adjoint solve for the diagonal jitter J (the C++ gradient
  kernel returns dE/dB_w, dE/dy, dE/dH; the tangent is their contraction with the input tangents), so a gradient of
  the log evidence costs O(n k) beyond the solve and never forms ds;
* s, chi^2 and s^T H s through ds_P = A_PP^-1 (dD - dA s)_P with the active set held fixed, formed in JAX only when
  one of them is differentiated;
* the log-determinant parts through tr(A_RR^-1 dA_RR) and tr(H_RR^-1 dH_RR), likewise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import dispatch  # eager evaluation of a custom primitive has no public entry point in jax 0.10
from jax.core import ShapedArray
from jax.extend.core import Primitive
from jax.interpreters import batching, mlir

from galaxyfit.kernels import convolution as _registers_ffi_targets  # noqa: F401  (FFI registration at import)
from galaxyfit._precision import in_float64
from galaxyfit.kernels import cuda

#: Column flags (cpp/include/galaxyfit/inversion.hpp, InversionColumnFlag).
REGULARIZED = 1
FREE_SIGN = 2
HELD_ZERO = 4  # held at 0 by the positive-only solve (a mesh's edge-zeroed pixel), still in the log-determinants

#: Status codes (InversionStatus).
STATUS_TEXT = {0: "solved", 1: "a matrix is not positive definite", 2: "the positive-only solve did not converge",
               3: "a value is not finite", 4: "inconsistent sizes or flags",
               5: "a regularization is degenerate (e.g. a kernel scale far beyond the mesh)"}
#: Set on the Python side (the C++ solve never reports it): the regularization's own validity check failed.
STATUS_DEGENERATE_REGULARIZATION = 5


@dataclass(frozen=True)
class SolverSettings:
    """Static settings of the solve (hashable: they are primitive parameters).

    positive_only : amplitudes >= 0 except free-sign columns (PyAutoGalaxy's default).
    no_regularization_add_to_curvature_diag_value : added to F's diagonal at unregularized columns; changes s (it
        keeps near-degenerate systems solvable) but enters no term of the evidence.
    max_iterations : passive-set changes of the positive-only solve (0: 3 k + 100).
    """

    positive_only: bool = True
    no_regularization_add_to_curvature_diag_value: float = 1e-3
    max_iterations: int = 0


class InversionOutput(NamedTuple):
    reconstruction: jax.Array  # s (..., k)
    evidence_term: jax.Array  # E (...)
    chi_squared: jax.Array
    regularization_term: jax.Array
    log_det_curvature_reg: jax.Array
    log_det_regularization: jax.Array
    status: jax.Array  # int32 (...)


inversion_p = Primitive("galaxyfit_inversion")
inversion_p.multiple_results = True
inversion_gradient_p = Primitive("galaxyfit_inversion_gradient")
inversion_gradient_p.multiple_results = True
inversion_gram_p = Primitive("galaxyfit_inversion_gram")
inversion_gram_p.multiple_results = True


def _abstract(columns, data, regularization, flags, *, positive_only, diag_value, max_iterations):
    lead, k = columns.shape[:-2], columns.shape[-2]
    return [ShapedArray(lead + (k,), jnp.float64), ShapedArray(lead + (k,), jnp.float64),
            ShapedArray(lead + (5,), jnp.float64), ShapedArray(lead, jnp.int32)]


def _abstract_gradient(columns, data, regularization, flags, reconstruction, adjoint, **_):
    lead, k, n = columns.shape[:-2], columns.shape[-2], columns.shape[-1]
    return [ShapedArray(lead + (k, n), jnp.float64), ShapedArray(lead + (n,), jnp.float64),
            ShapedArray(lead + (k, k), jnp.float64)]


def _abstract_gram(curvature, data_vector, data_norm, regularization, flags, guess, **_):
    lead = jnp.broadcast_shapes(curvature.shape[:-2], data_vector.shape[:-1], data_norm.shape,
                                regularization.shape[:-2] if regularization.shape[-1] else ())
    k = curvature.shape[-1]
    return [ShapedArray(lead + (k,), jnp.float64), ShapedArray(lead + (k,), jnp.float64),
            ShapedArray(lead + (5,), jnp.float64), ShapedArray(lead, jnp.int32)]


inversion_gram_p.def_abstract_eval(_abstract_gram)
inversion_gram_p.def_impl(partial(dispatch.apply_primitive, inversion_gram_p))
inversion_p.def_abstract_eval(_abstract)
inversion_p.def_impl(partial(dispatch.apply_primitive, inversion_p))
inversion_gradient_p.def_abstract_eval(_abstract_gradient)
inversion_gradient_p.def_impl(partial(dispatch.apply_primitive, inversion_gradient_p))


def _lowering(target):
    def lowering(ctx, *args, positive_only, diag_value, max_iterations):
        return jax.ffi.ffi_lowering(target)(ctx, *args, positive_only=bool(positive_only), diag_value=float(diag_value),
                                            max_iterations=np.int64(max_iterations))

    return lowering


mlir.register_lowering(inversion_p, _lowering("galaxyfit_inversion_f64"), platform="cpu")
mlir.register_lowering(inversion_gradient_p, _lowering("galaxyfit_inversion_gradient_f64"), platform="cpu")
def _gram_lowering(ctx, *args, positive_only, diag_value, max_iterations, log_det_regularization, log_det_curvature_reg):
    return jax.ffi.ffi_lowering("galaxyfit_inversion_gram_f64")(
        ctx, *args, positive_only=bool(positive_only), diag_value=float(diag_value), max_iterations=np.int64(max_iterations),
        log_det_regularization=bool(log_det_regularization), log_det_curvature_reg=bool(log_det_curvature_reg))


mlir.register_lowering(inversion_gram_p, _gram_lowering, platform="cpu")
cuda.register_gpu_lowering(inversion_p, _lowering("galaxyfit_inversion_f64"), "the linear inversion",
                           check=lambda ctx: cuda.check_inversion_size(ctx.avals_in[0].shape[-2]))
cuda.register_gpu_lowering(inversion_gradient_p, _lowering("galaxyfit_inversion_gradient_f64"),
                           "the linear inversion's gradient",
                           check=lambda ctx: cuda.check_inversion_size(ctx.avals_in[0].shape[-2]))
cuda.register_gpu_lowering(inversion_gram_p, _gram_lowering, "the linear inversion (Gram form)",
                           check=lambda ctx: cuda.check_inversion_size(ctx.avals_in[0].shape[-1], gram=True))


def _moved(args, dims, batched_rank):
    """Move each batched argument's batch axis to the front; broadcast the columns (the batch carrier)."""
    size = next(a.shape[d] for a, d in zip(args, dims) if d is not None)
    out = []
    for index, (a, d) in enumerate(zip(args, dims)):
        if d is not None:
            out.append(jnp.moveaxis(a, d, 0))
        elif index in batched_rank:  # must carry the batch (columns, reconstruction, adjoint)
            out.append(jnp.broadcast_to(a, (size,) + a.shape))
        else:
            out.append(a)
    return out


def _batch(args, dims, **params):
    columns, data, regularization, flags = _moved(args, dims, batched_rank={0})
    if dims[3] is not None:
        raise NotImplementedError("inversion flags cannot be batched")
    if data.ndim > 1 and dims[1] is None:  # data already had its own leading axes: broadcast to the batch
        data = jnp.broadcast_to(data, (columns.shape[0],) + data.shape)
    return inversion_p.bind(columns, data, regularization, flags, **params), [0, 0, 0, 0]


def _batch_gradient(args, dims, **params):
    columns, data, regularization, flags, reconstruction, adjoint = _moved(args, dims, batched_rank={0, 4, 5})
    return inversion_gradient_p.bind(columns, data, regularization, flags, reconstruction, adjoint, **params), [0, 0, 0]


def _batch_gram(args, dims, **params):
    """Operands keep their own batch (1 or all): a constant curvature matrix is not copied per batch element."""
    if dims[4] is not None:
        raise NotImplementedError("inversion flags cannot be batched")
    moved = [jnp.moveaxis(a, d, 0) if d is not None else a for a, d in zip(args, dims)]
    curvature, data_vector, data_norm, regularization, flags, guess = moved
    return _bind_gram(curvature, data_vector, data_norm, regularization, flags, guess, **params), [0, 0, 0, 0]


def _bind_gram(curvature, data_vector, data_norm, regularization, flags, guess=None, **params):
    """Binds the primitive with every batched operand broadcast to the common leading shape (the FFI handler takes
    each operand with 1 or all batch elements); ``guess`` (..., k) or None."""
    guess = jnp.zeros((0,), dtype=jnp.float64) if guess is None else guess
    params = {"log_det_regularization": True, "log_det_curvature_reg": True, **params}
    has_h = regularization.shape[-1] != 0
    has_guess = guess.shape[-1] != 0
    leads = ([curvature.shape[:-2], data_vector.shape[:-1], data_norm.shape] + ([regularization.shape[:-2]] if has_h else [])
             + ([guess.shape[:-1]] if has_guess else []))
    lead = jnp.broadcast_shapes(*leads)
    cores = [curvature.shape[-2:], data_vector.shape[-1:], (), regularization.shape[-2:], guess.shape[-1:]]
    operands = [curvature, data_vector, data_norm, regularization, guess]
    used = [True, True, True, has_h, has_guess]
    for i, (operand, core) in enumerate(zip(operands, cores)):
        own = operand.shape[: operand.ndim - len(core)]
        if own and own != lead and used[i]:
            operands[i] = jnp.broadcast_to(operand, lead + tuple(core))
    curvature, data_vector, data_norm, regularization, guess = operands
    return inversion_gram_p.bind(curvature, data_vector, data_norm, regularization, flags, guess, **params)


batching.primitive_batchers[inversion_gram_p] = _batch_gram
batching.primitive_batchers[inversion_p] = _batch
batching.primitive_batchers[inversion_gradient_p] = _batch_gradient


def _params(settings: SolverSettings) -> dict:
    return dict(positive_only=bool(settings.positive_only),
                diag_value=float(settings.no_regularization_add_to_curvature_diag_value),
                max_iterations=int(settings.max_iterations))


def _regularization_operand(regularization, flags, k: int):
    """H as the primitives take it: (..., k, k) float64, or (0, 0) for none; ValueError for a wrong shape or
    regularized flags without H."""
    if regularization is None:
        if any(f & REGULARIZED for f in flags):
            raise ValueError("a column is flagged as regularized but no regularization matrix was given")
        return jnp.zeros((0, 0), dtype=jnp.float64)
    regularization = jnp.asarray(regularization, dtype=jnp.float64)
    if regularization.shape[-2:] != (k, k):
        raise ValueError(f"regularization must be (..., {k}, {k}), got {regularization.shape}")
    return regularization


@in_float64
def invert(columns, data, regularization, flags, settings: SolverSettings = SolverSettings()) -> InversionOutput:
    """The inversion (module docstring). ``columns`` (..., k, n), ``data`` (..., n) or (n,), ``regularization``
    (..., k, k), (k, k) or None, ``flags`` a tuple of k ints. Raises ValueError for inconsistent shapes."""
    columns = jnp.asarray(columns, dtype=jnp.float64)
    data = jnp.asarray(data, dtype=jnp.float64)
    k, n = columns.shape[-2:]
    flags = tuple(int(f) for f in flags)
    if len(flags) != k:
        raise ValueError(f"flags must have one entry per column ({k}), got {len(flags)}")
    if data.shape[-1] != n:
        raise ValueError(f"data must end in the columns' pixel count {n}, got shape {data.shape}")
    regularization = _regularization_operand(regularization, flags, k)
    lead = jnp.broadcast_shapes(columns.shape[:-2], data.shape[:-1],
                                regularization.shape[:-2] if regularization.shape[-1] else ())
    columns = jnp.broadcast_to(columns, lead + (k, n))
    return _invert(columns, data, regularization, flags, settings)


@partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def _invert(columns, data, regularization, flags, settings):
    s, _, terms, status = inversion_p.bind(columns, data, regularization, np.asarray(flags, dtype=np.int32), **_params(settings))
    chi2, reg, log_det_a, log_det_h = (terms[..., i] for i in range(4))
    e = chi2 + reg + log_det_a - log_det_h
    return InversionOutput(s, e, chi2, reg, log_det_a, log_det_h, status)


def _contract(a, b, axes):
    return jnp.sum(a * b, axis=axes)


@_invert.defjvp
def _invert_jvp(flags, settings, primals, tangents):
    columns, data, regularization = primals
    d_columns, d_data, d_regularization = tangents
    flag_array = np.asarray(flags, dtype=np.int32)
    s, adjoint, terms, status = inversion_p.bind(columns, data, regularization, flag_array, **_params(settings))
    chi2, reg, log_det_a, log_det_h = (terms[..., i] for i in range(4))
    e = chi2 + reg + log_det_a - log_det_h
    out = InversionOutput(s, e, chi2, reg, log_det_a, log_det_h, status)
    ok = status == 0

    grad_columns, grad_data, grad_regularization = inversion_gradient_p.bind(
        columns, data, regularization, flag_array, s, adjoint, **_params(settings))
    de = _contract(grad_columns, d_columns, (-2, -1)) + jnp.sum(grad_data * d_data, axis=-1)
    has_h = regularization.shape[-1] != 0
    if has_h:
        de = de + _contract(grad_regularization, d_regularization, (-2, -1))

    # s, chi^2, s^T H s and the log determinants: implicit derivatives formed in JAX (dropped when unused).
    k = columns.shape[-2]
    jitter = jnp.asarray([0.0 if f & REGULARIZED else settings.no_regularization_add_to_curvature_diag_value for f in flags])
    h = regularization if has_h else jnp.zeros((k, k))
    dh = d_regularization if has_h else jnp.zeros((k, k))
    a = jnp.einsum("...in,...jn->...ij", columns, columns) + h + jnp.diag(jitter)
    free = jnp.asarray([bool(f & FREE_SIGN) or not settings.positive_only for f in flags])
    passive = free | (s > 0.0)
    both = passive[..., :, None] & passive[..., None, :]
    a_pp = jnp.where(both, a, jnp.eye(k))  # the active set's rows and columns become identity: ds = 0 there
    bs = jnp.einsum("...kn,...k->...n", columns, s)
    dd = jnp.einsum("...kn,...n->...k", d_columns, data) + jnp.einsum("...kn,...n->...k", columns, d_data)
    da_s = (jnp.einsum("...kn,...n->...k", d_columns, bs) + jnp.einsum("...kn,...n->...k", columns,
                                                                       jnp.einsum("...kn,...k->...n", d_columns, s))
            + jnp.einsum("...ij,...j->...i", dh, s))
    rhs = jnp.where(passive, dd - da_s, 0.0)
    ds = jnp.linalg.solve(a_pp, rhs[..., None])[..., 0]
    residual = data - bs
    d_model = jnp.einsum("...kn,...k->...n", d_columns, s) + jnp.einsum("...kn,...k->...n", columns, ds)
    d_chi2 = 2.0 * jnp.sum(residual * (d_data - d_model), axis=-1)
    d_reg = 2.0 * jnp.einsum("...i,...ij,...j->...", s, h, ds) + jnp.einsum("...i,...ij,...j->...", s, dh, s)
    regularized = np.array([bool(f & REGULARIZED) for f in flags])
    if regularized.any():
        index = np.flatnonzero(regularized)
        a_rr = a[..., index[:, None], index[None, :]]
        h_rr = h[..., index[:, None], index[None, :]]
        dcr = d_columns[..., index, :]
        da_rr = (jnp.einsum("...in,...jn->...ij", dcr, columns[..., index, :])
                 + jnp.einsum("...in,...jn->...ij", columns[..., index, :], dcr) + dh[..., index[:, None], index[None, :]])
        d_log_det_a = jnp.trace(jnp.linalg.solve(a_rr, da_rr), axis1=-2, axis2=-1)
        d_log_det_h = jnp.trace(jnp.linalg.solve(h_rr, dh[..., index[:, None], index[None, :]]), axis1=-2, axis2=-1)
    else:
        d_log_det_a = d_log_det_h = jnp.zeros_like(e)

    def safe(t):  # a rejected sample has zero derivatives
        return jnp.where(ok[..., None] if t.ndim > ok.ndim else ok, t, 0.0)

    tangent = InversionOutput(safe(ds), safe(de), safe(d_chi2), safe(d_reg), safe(d_log_det_a), safe(d_log_det_h),
                              np.zeros(status.shape, dtype=jax.dtypes.float0))
    return out, tangent


# ---- the Gram form (pixelizations: columns never formed densely) ------------------------------------------------------


@in_float64
def invert_gram(curvature, data_vector, data_norm, regularization, flags,
                settings: SolverSettings = SolverSettings(), log_det_regularization: bool = True,
                guess=None, log_det_curvature_reg: bool = True) -> InversionOutput:
    """The inversion from the Gram form (``galaxyfit::invert_gram``): ``curvature`` F = B_w^T B_w (..., k, k) without H
    and the diagonal jitter J, ``data_vector`` D = B_w^T y (..., k), ``data_norm`` y^T y (...), ``regularization``
    H (..., k, k) or None; ``flags`` a tuple of k ints (REGULARIZED, FREE_SIGN, HELD_ZERO). Each operand may carry its
    own batch axes (broadcast): a pixelization's F is a constant of the dataset while H follows the parameters.
    Same output and derivatives as :func:`invert`, with D, F, y^T y and H as the inputs. ``log_det_regularization``
    False leaves ln det H_RR to the caller (a closed form): it is then 0 in the output, and in E; likewise
    ``log_det_curvature_reg`` for ln det A_RR. ``guess`` (..., k): an approximate solution (no derivative flows
    through it) whose positive entries start the positive-only solve, instead of a factorization of A. Raises
    ValueError for inconsistent shapes."""
    curvature = jnp.asarray(curvature, dtype=jnp.float64)
    data_vector = jnp.asarray(data_vector, dtype=jnp.float64)
    data_norm = jnp.asarray(data_norm, dtype=jnp.float64)
    k = curvature.shape[-1]
    flags = tuple(int(f) for f in flags)
    if curvature.ndim < 2 or curvature.shape[-2] != k:
        raise ValueError(f"curvature must be (..., k, k), got {curvature.shape}")
    if len(flags) != k:
        raise ValueError(f"flags must have one entry per column ({k}), got {len(flags)}")
    if data_vector.shape[-1:] != (k,):
        raise ValueError(f"data_vector must be (..., {k}), got {data_vector.shape}")
    regularization = _regularization_operand(regularization, flags, k)
    guess = jnp.zeros((0,), dtype=jnp.float64) if guess is None else jax.lax.stop_gradient(jnp.asarray(guess, dtype=jnp.float64))
    return _invert_gram(curvature, data_vector, data_norm, regularization, guess, flags,
                        (settings, bool(log_det_regularization), bool(log_det_curvature_reg)))


def _gram_outputs(curvature, data_vector, data_norm, regularization, guess, flags, options):
    settings, log_det_h, log_det_a = options
    s, adjoint, terms, status = _bind_gram(curvature, data_vector, data_norm, regularization,
                                           np.asarray(flags, dtype=np.int32), guess, **_params(settings),
                                           log_det_regularization=log_det_h, log_det_curvature_reg=log_det_a)
    chi2, reg, log_det_a, log_det_h = (terms[..., i] for i in range(4))
    return InversionOutput(s, chi2 + reg + log_det_a - log_det_h, chi2, reg, log_det_a, log_det_h, status), adjoint


@partial(jax.custom_jvp, nondiff_argnums=(5, 6))
def _invert_gram(curvature, data_vector, data_norm, regularization, guess, flags, options):
    return _gram_outputs(curvature, data_vector, data_norm, regularization, guess, flags, options)[0]


@_invert_gram.defjvp
def _invert_gram_jvp(flags, options, primals, tangents):
    """Implicit derivatives (module docstring), in the Gram form: with lambda = A_PP^-1 (J s)_P,

    dE = d(y^T y) - 2 (s + lambda)^T dD + (s + 2 lambda)^T (dF + dH) s + tr(A_RR^-1 dA_RR) - tr(H_RR^-1 dH_RR),

    and ds_P = A_PP^-1 (dD - (dF + dH) s)_P for the parts (formed only when they are differentiated)."""
    curvature, data_vector, data_norm, regularization, guess = primals
    d_f, d_d, d_yy, d_h, _ = tangents  # the guess only starts the solve: no derivative
    out, lam = _gram_outputs(curvature, data_vector, data_norm, regularization, guess, flags, options)
    settings, log_det_h, log_det_a = options
    s = out.reconstruction
    ok = out.status == 0
    k = curvature.shape[-1]
    has_h = regularization.shape[-1] != 0
    h = regularization if has_h else jnp.zeros((k, k))
    dh = d_h if has_h else jnp.zeros((k, k))
    d_a = d_f + dh

    def vec(m, v):
        return jnp.einsum("...ij,...j->...i", m, v)

    d_a_s = vec(d_a, s)
    de = d_yy - 2.0 * jnp.sum((s + lam) * d_d, axis=-1) + jnp.sum((s + 2.0 * lam) * d_a_s, axis=-1)

    jitter = jnp.asarray([0.0 if f & REGULARIZED else settings.no_regularization_add_to_curvature_diag_value for f in flags])
    a = curvature + h + jnp.diag(jitter)
    free = np.array([bool(f & FREE_SIGN) or not settings.positive_only for f in flags])
    held = np.array([bool(f & HELD_ZERO) and settings.positive_only for f in flags])
    passive = (jnp.asarray(free) | (s > 0.0)) & ~jnp.asarray(held)
    both = passive[..., :, None] & passive[..., None, :]
    a_pp = jnp.where(both, a, jnp.eye(k))
    rhs = jnp.where(passive, d_d - d_a_s, 0.0)
    ds = jnp.linalg.solve(a_pp, rhs[..., None])[..., 0]
    d_chi2 = (d_yy - 2.0 * jnp.sum(d_d * s, axis=-1) - 2.0 * jnp.sum(data_vector * ds, axis=-1)
              + jnp.einsum("...i,...ij,...j->...", s, d_f, s) + 2.0 * jnp.einsum("...i,...ij,...j->...", s, curvature, ds))
    d_reg = 2.0 * jnp.einsum("...i,...ij,...j->...", s, h, ds) + jnp.einsum("...i,...ij,...j->...", s, dh, s)
    regularized = np.array([bool(f & REGULARIZED) for f in flags])
    if regularized.any():
        index = np.flatnonzero(regularized)
        block = (..., index[:, None], index[None, :])
        d_log_det_a = (jnp.trace(jnp.linalg.solve(a[block], d_a[block]), axis1=-2, axis2=-1) if log_det_a
                       else jnp.zeros(out.evidence_term.shape))
        d_log_det_h = (jnp.trace(jnp.linalg.solve(h[block], dh[block]), axis1=-2, axis2=-1) if log_det_h
                       else jnp.zeros(out.evidence_term.shape))
        de = de + d_log_det_a - d_log_det_h
    else:
        d_log_det_a = d_log_det_h = jnp.zeros_like(out.evidence_term)

    def safe(t):  # a rejected sample has zero derivatives
        return jnp.where(ok[..., None] if t.ndim > ok.ndim else ok, t, 0.0)

    tangent = InversionOutput(safe(ds), safe(de), safe(d_chi2), safe(d_reg), safe(d_log_det_a), safe(d_log_det_h),
                              np.zeros(out.status.shape, dtype=jax.dtypes.float0))
    return out, tangent
