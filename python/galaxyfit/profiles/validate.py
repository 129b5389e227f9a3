"""Physical validity of profile parameters, and "sanitised" stand-ins that keep invalid models computable.

A sampler proposes parameters anywhere in its prior; some give no valid model (|ell_comps| >= 1, a non-positive
size, NaN). The likelihood must then return a value the search ignores -- with finite gradients, which
``jnp.where(valid, f(x), -1e99)`` alone does not give (the unused branch's NaNs leak into the gradient). So the
likelihood is evaluated on a sanitised copy (invalid fields replaced by harmless values) and the result selected.

Beyond the physical conditions, a parameter must lie in float64's workable range: |value| <= 1e50, a positive one
(a size, an index) >= 1e-50, and a centre coordinate within 1e6 arcsec (~280 degrees) of the image centre. Outside
it a squared radius, an inverse size or a pixel index overflows, and although the image can still be finite (a
profile 1e20" away is zero everywhere), its derivatives would be 0 * inf. Such values mean nothing for an image in
arcseconds, so they are invalid too. A few parameters have a larger lower bound (``LightProfile.lower_limits``): a
Sersic index below light.SERSIC_INDEX_MIN, where no formula for b_n that the C++ kernel can evaluate holds.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from galaxyfit.profiles.light import LightProfile

_SAFE_POSITIVE = 1.0
#: Largest |parameter| and smallest positive parameter accepted (see the module docstring).
MAX_MAGNITUDE = 1e50
MIN_POSITIVE = 1e-50
MAX_CENTRE = 1e6  # arcsec


def _workable(v):
    return jnp.isfinite(v) & (jnp.abs(v) <= MAX_MAGNITUDE)


def sanitized(profile: LightProfile):
    """``(safe_profile, valid)``: ``valid`` is a boolean scalar; ``safe_profile`` equals ``profile`` where valid.

    A field in ``profile.lower_limits`` must also be at least its limit there (e.g. the Sersic index,
    light.SERSIC_INDEX_MIN)."""
    valid = jnp.asarray(True)
    updates = {}
    lower_limits = getattr(profile, "lower_limits", {})  # (not every pytree component is a LightProfile)
    for field in dataclasses.fields(profile):
        value = getattr(profile, field.name)
        if field.name == "ell_comps":
            e_y, e_x = (jnp.asarray(v, dtype=jnp.float64) for v in value)
            ok = _workable(e_y) & _workable(e_x) & (e_y**2 + e_x**2 < 1.0)
            valid = valid & ok
            updates[field.name] = (jnp.where(ok, e_y, 0.0), jnp.where(ok, e_x, 0.0))
        elif isinstance(value, tuple):
            parts = tuple(jnp.asarray(v, dtype=jnp.float64) for v in value)
            within = [jnp.isfinite(v) & (jnp.abs(v) <= MAX_CENTRE) for v in parts]  # (the only pair besides ell_comps)
            for w in within:  # elementwise, so a profile of batched arrays is judged per element
                valid = valid & w
            updates[field.name] = tuple(jnp.where(w, v, 0.0) for v, w in zip(parts, within))
        elif type(value) is float:
            # A fixed number (e.g. an MGE's sigma) stays a Python float when valid: code that branches on a known
            # value (galaxyfit.integration's narrow Gaussians) still sees it, and no select is compiled for it.
            lower = max(MIN_POSITIVE, lower_limits.get(field.name, MIN_POSITIVE))
            needs_positive = field.name in profile.positive_parameters or field.name in lower_limits
            ok = math.isfinite(value) and abs(value) <= MAX_MAGNITUDE and (not needs_positive or value >= lower)
            updates[field.name] = value if ok else (_SAFE_POSITIVE if needs_positive else 0.0)
            valid = valid & ok
        else:
            v = jnp.asarray(value, dtype=jnp.float64)
            ok = _workable(v)
            if field.name in profile.positive_parameters or field.name in lower_limits:
                ok = ok & (v >= max(MIN_POSITIVE, lower_limits.get(field.name, MIN_POSITIVE)))
                updates[field.name] = jnp.where(ok, v, _SAFE_POSITIVE)
            else:
                updates[field.name] = jnp.where(ok, v, 0.0)
            valid = valid & ok
    return dataclasses.replace(profile, **updates), valid
