"""Zero derivatives, not NaN, for a model that cannot be evaluated.

A likelihood returns ``jnp.where(ok, value, -1e99)``; where ``ok`` is False the value is fine but its derivatives
are not. In forward mode the select discards the NaN tangent, but in reverse mode the zero cotangent of the unused
branch is pulled back through the model, and ``0 * inf`` (an overflowed exponent, a radius that underflowed)
becomes NaN at the parameters. ``guarded`` therefore also selects on the *input* tangent: its JVP linearises ``f``
once and feeds it ``where(ok, t, 0)``, so the transpose (reverse mode) ends in that same select, which drops the NaN
cotangent. A primal evaluation is unchanged, and a derivative costs what it did before (one linearisation).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


def _is_float0(x) -> bool:
    return getattr(x, "dtype", None) == jax.dtypes.float0


def _select(ok, tree):
    return jax.tree_util.tree_map(lambda t: t if _is_float0(t) else jnp.where(ok, t, jnp.zeros_like(t)), tree)


def guarded(f, x):
    """``f(x) -> (y, ok)`` (``y`` a pytree of float arrays, ``ok`` a boolean scalar), returned unchanged; every
    derivative of ``y`` (grad, jacfwd, jacrev, hessian, under vmap) is exactly zero where ``ok`` is False.

    Python numbers among the leaves of ``x`` (a model's fixed parameters) reach ``f`` as they are, not as traced
    arrays: ``f`` may take decisions on them while tracing (a fixed MGE sigma picks its integration rule; traced,
    every Gaussian would take the general path and a gradient would cost ~7 times more)."""
    leaves, treedef = jax.tree_util.tree_flatten(x)
    static = [isinstance(leaf, (bool, int, float)) for leaf in leaves]
    if not any(static):
        return _guarded(f, x)
    fixed = [leaf if s else None for leaf, s in zip(leaves, static)]

    def with_fixed(free):
        free = iter(free)
        return f(jax.tree_util.tree_unflatten(treedef, [leaf if s else next(free) for leaf, s in zip(fixed, static)]))

    return _guarded(with_fixed, [leaf for leaf, s in zip(leaves, static) if not s])


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _guarded(f, x):
    return f(x)


@_guarded.defjvp
def _guarded_jvp(f, primals, tangents):
    (x,), (t,) = primals, tangents
    y, linear, ok = jax.linearize(f, x, has_aux=True)  # f returns (y, ok): ok rides along as auxiliary data
    dy = _select(ok, linear(_select(ok, t)))
    return (y, ok), (dy, np.zeros(np.shape(ok), dtype=jax.dtypes.float0))
