"""Ellipse geometry of light profiles: ``ell_comps`` <-> (axis ratio, angle), and profile radii.

Conventions (PyAutoGalaxy's, so parameters compare number for number):

* ``centre = (y, x)`` in arcsec; +y is up (FITS/DS9 orientation, see DESIGN.md).
* ``ell_comps = (e_y, e_x) = f * (sin 2phi, cos 2phi)`` with ``f = (1 - q) / (1 + q)``, ``q = b / a`` the axis ratio and
  ``phi`` the major-axis angle in degrees counter-clockwise from +x.
* In the frame rotated by ``phi`` (x' along the major axis) the *circularised* (eccentric) radius is
  ``R = sqrt(q x'^2 + y'^2 / q)`` and the *elliptical* (major-axis) radius is ``r = sqrt(x'^2 + (y'/q)^2) = R / sqrt(q)``.

``R^2`` is the quadratic form ``A_yy dy^2 + A_xx dx^2 + 2 A_xy dy dx`` with, in terms of ``ell_comps`` and without
trigonometric functions (as in PyAutoGalaxy's ``Sersic``),

    A_xx = (1 + f^2 - 2 e_x) / (1 - f^2),  A_yy = (1 + f^2 + 2 e_x) / (1 - f^2),  A_xy = -2 e_y / (1 - f^2),

whose determinant is 1: the circularising map preserves area, which is why a circularised radius makes total fluxes
independent of ``q``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from galaxyfit._precision import in_float64

#: |ell_comps| above this is unphysical (q -> 0). Evaluations clamp to it so arithmetic stays finite; the likelihood
#: separately flags such models as invalid.
ELL_COMPS_LIMIT = 0.999


@in_float64
def ell_comps_from(axis_ratio, angle):
    """``(e_y, e_x)`` from the axis ratio ``q`` (0 < q <= 1) and the angle ``phi`` in degrees (counter-clockwise from +x)."""
    phi = jnp.deg2rad(angle)
    fac = (1.0 - axis_ratio) / (1.0 + axis_ratio)
    return fac * jnp.sin(2.0 * phi), fac * jnp.cos(2.0 * phi)


def _magnitude(e_y, e_x):
    # |e| with zero (sub)derivatives of every order at e = 0 instead of NaN: sqrt has an infinite slope there, and a
    # floor such as max(e^2, 1e-300) still overflows in the second derivative (1e-300^-1.5), which reverse mode
    # multiplies by the zero it selects. Both branches of the select stay finite.
    mag2 = e_y**2 + e_x**2
    positive = mag2 > 0.0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, mag2, 1.0)), 0.0)


@in_float64
def axis_ratio_and_angle_from(ell_comps):
    """``(q, phi)`` from ``ell_comps``; ``phi`` in degrees in (-45, 135], as PyAutoGalaxy returns it."""
    e_y, e_x = ell_comps
    fac = jnp.minimum(_magnitude(e_y, e_x), ELL_COMPS_LIMIT)
    q = (1.0 - fac) / (1.0 + fac)
    phi = 0.5 * jnp.rad2deg(jnp.arctan2(e_y, e_x))
    phi = jnp.where(phi <= -45.0, phi + 180.0, phi)
    return q, phi


@in_float64
def axis_ratio_from(ell_comps):
    """The axis ratio ``q = (1 - f) / (1 + f)``, ``f = |ell_comps|`` clamped to :data:`ELL_COMPS_LIMIT`."""
    e_y, e_x = ell_comps
    fac = jnp.minimum(_magnitude(e_y, e_x), ELL_COMPS_LIMIT)
    return (1.0 - fac) / (1.0 + fac)


def ell_comps_are_valid(ell_comps):
    """True where ``|ell_comps| < 1`` (a real ellipse) and the components are finite."""
    e_y, e_x = ell_comps
    mag2 = e_y**2 + e_x**2
    return jnp.isfinite(mag2) & (mag2 < 1.0)


def circular_quadratic_form(ell_comps):
    """Coefficients ``(A_yy, A_xx, A_xy)`` of the circularised radius ``R^2`` (module docstring), with clamped ``|e|``."""
    e_y, e_x = ell_comps
    mag2 = e_y**2 + e_x**2
    # Rescale components whose magnitude exceeds the limit, keeping their direction (finite arithmetic for
    # invalid models; they are rejected by the likelihood anyway).
    beyond = mag2 > ELL_COMPS_LIMIT**2  # (the unused branch stays finite, so no derivative of any order is NaN)
    scale = jnp.where(beyond, ELL_COMPS_LIMIT / jnp.sqrt(jnp.where(beyond, mag2, 1.0)), 1.0)
    e_y, e_x = e_y * scale, e_x * scale
    f2 = e_y**2 + e_x**2
    inv = 1.0 / (1.0 - f2)
    return (1.0 + f2 + 2.0 * e_x) * inv, (1.0 + f2 - 2.0 * e_x) * inv, -2.0 * e_y * inv


def radius_squared(form, dy, dx):
    """``A_yy dy^2 + A_xx dx^2 + 2 A_xy dy dx`` for offsets ``(dy, dx)`` from the centre (arcsec)."""
    a_yy, a_xx, a_xy = form
    return a_yy * dy * dy + a_xx * dx * dx + 2.0 * a_xy * dy * dx


def ell_comps_to_numpy(axis_ratio: float, angle: float) -> tuple[float, float]:
    """Float version of :func:`ell_comps_from` for building models and conversions outside JAX."""
    phi = np.deg2rad(angle)
    fac = (1.0 - axis_ratio) / (1.0 + axis_ratio)
    return float(fac * np.sin(2.0 * phi)), float(fac * np.cos(2.0 * phi))
