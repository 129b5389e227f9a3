"""Conversions between galaxyfit's (PyAutoGalaxy's) parameters and Imfit's and pysersic's.

galaxyfit: ``centre = (y, x)`` arcsec from the image centre (row 0 at the bottom), ``ell_comps`` (geometry.py), angle
``phi`` counter-clockwise from +x, sizes in arcsec, *circularised* radii for Sersic-type laws, *minor-axis* widths
for Gaussian/Moffat, intensities in data units per pixel.

Imfit (Erwin 2015, ApJ 799, 226; its documentation for the function definitions): 1-based pixel centres
``(X0, Y0) = (column + 1, row + 1)``, ``PA`` in degrees counter-clockwise from +y, ``ell = 1 - b/a``, sizes in pixels
along the *major* axis, elliptical radius ``r = sqrt(x'^2 + (y'/q)^2)``. Hence, for an N_y x N_x image with square
pixels of side ``ps``:

    x = (X0 - (N_x + 1)/2) ps,  y = (Y0 - (N_y + 1)/2) ps,  phi = PA + 90 (mod 180),  q = 1 - ell,
    Sersic:       R_e = sqrt(q) r_e ps,                 intensity = I_e
    Exponential:  R_e = b_1 sqrt(q) h ps,               intensity = I_0 exp(-b_1)   (I_0 exp(-r/h) = Sersic n = 1)
    Gaussian:     sigma = q sigma_Imfit ps,             intensity = I_0
    Moffat:       alpha = q fwhm / (2 sqrt(2^(1/beta) - 1)) ps,  beta = beta,  intensity = I_0

(``R = sqrt(q) r`` converts the major-axis radius to the circularised one; Gaussian/Moffat widths are minor-axis
widths, ``q`` times the major-axis ones; ``b_1`` is ``sersic_constant(1)``, the same expansion our Exponential uses.)
pysersic (Pasha & Miller 2023, JOSS 8, 5703) uses 0-based pixel centres, so its ``xc = X0 - 1``.
"""

from __future__ import annotations

import math

import numpy as np

from galaxyfit.errors import ModelError
from galaxyfit.profiles import light
from galaxyfit.profiles.geometry import axis_ratio_and_angle_from, ell_comps_to_numpy


def _square_pixel(pixel_scales) -> float:
    if np.ndim(pixel_scales) == 0:
        return float(pixel_scales)
    ps_y, ps_x = (float(p) for p in pixel_scales)
    if not math.isclose(ps_y, ps_x, rel_tol=1e-12):
        raise ModelError(f"Imfit conversions need square pixels, got pixel_scales {pixel_scales!r}")
    return ps_x


def centre_from_imfit(x0: float, y0: float, shape, pixel_scales) -> tuple[float, float]:
    """(y, x) arcsec of Imfit's 1-based pixel position (X0, Y0) in an image of ``shape`` (N_y, N_x)."""
    ps = _square_pixel(pixel_scales)
    ny, nx = shape
    return (y0 - (ny + 1) / 2.0) * ps, (x0 - (nx + 1) / 2.0) * ps


def centre_to_imfit(centre, shape, pixel_scales) -> tuple[float, float]:
    """Imfit's (X0, Y0) of a galaxyfit centre (y, x)."""
    ps = _square_pixel(pixel_scales)
    ny, nx = shape
    return float(centre[1]) / ps + (nx + 1) / 2.0, float(centre[0]) / ps + (ny + 1) / 2.0


def ell_comps_from_imfit(pa: float, ell: float) -> tuple[float, float]:
    """``ell_comps`` from Imfit's position angle (degrees from +y) and ellipticity ``1 - b/a``."""
    return ell_comps_to_numpy(1.0 - ell, pa + 90.0)


def imfit_angle_and_ellipticity(ell_comps) -> tuple[float, float]:
    """Imfit's (PA, ell) from ``ell_comps``; PA in [0, 180)."""
    q, phi = (float(v) for v in axis_ratio_and_angle_from(ell_comps))
    return (phi - 90.0) % 180.0, 1.0 - q


def _b1() -> float:
    return float(light.sersic_constant(1.0))


def sersic_from_imfit(x0, y0, pa, ell, n, i_e, r_e, shape, pixel_scales) -> light.Sersic:
    ps = _square_pixel(pixel_scales)
    q = 1.0 - ell
    return light.Sersic(centre_from_imfit(x0, y0, shape, ps), ell_comps_from_imfit(pa, ell), float(i_e), math.sqrt(q) * r_e * ps, float(n))


def exponential_from_imfit(x0, y0, pa, ell, i_0, h, shape, pixel_scales) -> light.Exponential:
    ps = _square_pixel(pixel_scales)
    q = 1.0 - ell
    b1 = _b1()
    return light.Exponential(
        centre_from_imfit(x0, y0, shape, ps), ell_comps_from_imfit(pa, ell), float(i_0) * math.exp(-b1), b1 * math.sqrt(q) * h * ps
    )


def gaussian_from_imfit(x0, y0, pa, ell, i_0, sigma, shape, pixel_scales) -> light.Gaussian:
    ps = _square_pixel(pixel_scales)
    q = 1.0 - ell
    return light.Gaussian(centre_from_imfit(x0, y0, shape, ps), ell_comps_from_imfit(pa, ell), float(i_0), q * sigma * ps)


def moffat_from_imfit(x0, y0, pa, ell, i_0, fwhm, beta, shape, pixel_scales) -> light.Moffat:
    ps = _square_pixel(pixel_scales)
    q = 1.0 - ell
    alpha = fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
    return light.Moffat(centre_from_imfit(x0, y0, shape, ps), ell_comps_from_imfit(pa, ell), float(i_0), q * alpha * ps, float(beta))


def to_imfit(profile, shape, pixel_scales) -> dict:
    """Imfit's function name and parameters of a Sersic, Exponential, Gaussian or Moffat (or their Sph variants).

    Returns ``{"function": name, "X0": ..., "Y0": ..., "PA": ..., "ell": ..., <law parameters>}``; sizes in pixels.
    Raises ModelError for other profiles.
    """
    ps = _square_pixel(pixel_scales)
    x0, y0 = centre_to_imfit(profile.centre, shape, ps)
    pa, ell = imfit_angle_and_ellipticity(profile.ell_comps)
    q = 1.0 - ell
    out = {"X0": x0, "Y0": y0, "PA": pa, "ell": ell}
    name = type(profile).__name__.removesuffix("Sph")
    if name == "Sersic":
        out.update(function="Sersic", n=float(profile.sersic_index), I_e=float(profile.intensity), r_e=float(profile.effective_radius) / math.sqrt(q) / ps)
    elif name == "Exponential":
        b1 = _b1()
        out.update(function="Exponential", I_0=float(profile.intensity) * math.exp(b1), h=float(profile.effective_radius) / (b1 * math.sqrt(q)) / ps)
    elif name == "DevVaucouleurs":
        out.update(function="Sersic", n=4.0, I_e=float(profile.intensity), r_e=float(profile.effective_radius) / math.sqrt(q) / ps)
    elif name == "Gaussian":
        out.update(function="Gaussian", I_0=float(profile.intensity), sigma=float(profile.sigma) / q / ps)
    elif name == "Moffat":
        beta = float(profile.beta)
        alpha = float(profile.alpha) / q / ps
        out.update(function="Moffat", I_0=float(profile.intensity), fwhm=2.0 * alpha * math.sqrt(2.0 ** (1.0 / beta) - 1.0), beta=beta)
    else:
        raise ModelError(f"no Imfit equivalent is defined here for {type(profile).__name__}")
    return out


def sersic_to_pysersic(profile, shape, pixel_scales) -> dict:
    """pysersic's parameters of a Sersic: ``xc, yc`` (0-based pixels), ``r_eff`` (major-axis half-light radius, pixels),
    ``ellip`` (1 - b/a), ``theta`` (radians, major axis counter-clockwise from +x, in [0, pi)), ``n``, and ``flux``
    (total flux of the untruncated profile, data units: our analytic ``total_flux``)."""
    x0, y0 = centre_to_imfit(profile.centre, shape, pixel_scales)
    q, phi = (float(v) for v in axis_ratio_and_angle_from(profile.ell_comps))
    ps = _square_pixel(pixel_scales)
    return {
        "xc": x0 - 1.0,
        "yc": y0 - 1.0,
        "r_eff": float(profile.effective_radius) / math.sqrt(q) / ps,
        "ellip": 1.0 - q,
        "theta": math.radians(phi % 180.0),
        "n": float(profile.sersic_index),
        "flux": float(profile.total_flux(pixel_scales)),
    }
