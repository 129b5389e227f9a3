"""Physical validity of profile parameters, and "sanitised" stand-ins that keep invalid models computable.

A sampler proposes parameters anywhere in its prior; some give no valid model (|ell_comps| >= 1, a non-positive
size, NaN). The likelihood must then return a value the search ignores -- with finite gradients, which
``jnp.where(valid, f(x), -1e99)`` alone does not give (the unused branch's NaNs leak into the gradient). So the
likelihood is evaluated on a sanitised copy (invalid fields replaced by harmless values) and the result selected.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from galaxyfit.profiles.light import LightProfile

_SAFE_POSITIVE = 1.0


def sanitized(profile: LightProfile):
    """``(safe_profile, valid)``: ``valid`` is a boolean scalar; ``safe_profile`` equals ``profile`` where valid."""
    valid = jnp.asarray(True)
    updates = {}
    for field in dataclasses.fields(profile):
        value = getattr(profile, field.name)
        if field.name == "ell_comps":
            e_y, e_x = (jnp.asarray(v, dtype=jnp.float64) for v in value)
            ok = jnp.isfinite(e_y) & jnp.isfinite(e_x) & (e_y**2 + e_x**2 < 1.0)
            valid = valid & ok
            updates[field.name] = (jnp.where(ok, e_y, 0.0), jnp.where(ok, e_x, 0.0))
        elif isinstance(value, tuple):
            parts = tuple(jnp.asarray(v, dtype=jnp.float64) for v in value)
            ok = jnp.all(jnp.stack([jnp.isfinite(v) for v in parts]))
            valid = valid & ok
            updates[field.name] = tuple(jnp.where(jnp.isfinite(v), v, 0.0) for v in parts)
        else:
            v = jnp.asarray(value, dtype=jnp.float64)
            ok = jnp.isfinite(v)
            if field.name in profile.positive_parameters:
                ok = ok & (v > 0.0)
                updates[field.name] = jnp.where(ok, v, _SAFE_POSITIVE)
            else:
                updates[field.name] = jnp.where(ok, v, 0.0)
            valid = valid & ok
    return dataclasses.replace(profile, **updates), valid
