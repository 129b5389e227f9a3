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

Profiles whose *arguments* are Imfit's or GALFIT's quantities (so that those tools' limits are box priors) are in
parameterised.py; GALFIT input files in galaxyfit/galfit_feedme.py.

Every function checks its input and raises ModelError naming the argument and its value for anything outside the
domain of the conversion (a non-positive pixel scale or size, an ellipticity outside [0, 1), a Moffat beta <= 0,
NaN or inf, a profile without an equivalent); a silently wrong number would otherwise reach a model or an Imfit run.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from galaxyfit.errors import ModelError
from galaxyfit.profiles import light
from galaxyfit.profiles.geometry import axis_ratio_and_angle_from, ell_comps_to_numpy
from galaxyfit.profiles.parameterised import ReparameterisedProfile


def _number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ModelError(f"{name} must be finite, got {value!r}")
    return number


def _positive(value, name: str, unit: str) -> float:
    number = _number(value, name)
    if not number > 0:
        raise ModelError(f"{name} must be positive ({unit}), got {value!r}")
    return number


def _square_pixel(pixel_scales) -> float:
    """The pixel side (arcsec). Raises ModelError unless ``pixel_scales`` is a positive finite number or a (y, x) pair
    of equal ones."""
    if np.ndim(pixel_scales) == 0:
        return _positive(pixel_scales, "pixel_scales", "arcsec per pixel")
    if np.shape(pixel_scales) != (2,):
        raise ModelError(f"pixel_scales must be a number or a (y, x) pair (arcsec per pixel), got {pixel_scales!r}")
    ps_y, ps_x = (_positive(p, "pixel_scales", "arcsec per pixel") for p in pixel_scales)
    if not math.isclose(ps_y, ps_x, rel_tol=1e-12):
        raise ModelError(f"Imfit conversions need square pixels, got pixel_scales {pixel_scales!r}")
    return ps_x


def _shape(shape) -> tuple[int, int]:
    try:
        ny, nx = (int(n) for n in shape)
        ok = all(int(n) == n for n in shape) and ny >= 1 and nx >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ModelError(f"shape must be the image's (N_y, N_x), two positive integers, got {shape!r}")
    return ny, nx


def _axis_ratio_of_ell(ell) -> float:
    ell = _number(ell, "ell")
    if not 0.0 <= ell < 1.0:
        raise ModelError(f"ell must be Imfit's ellipticity 1 - b/a in [0, 1), got {ell!r}")
    return 1.0 - ell


def centre_from_imfit(x0: float, y0: float, shape, pixel_scales) -> tuple[float, float]:
    """(y, x) arcsec of Imfit's 1-based pixel position (X0, Y0) in an image of ``shape`` (N_y, N_x)."""
    ps = _square_pixel(pixel_scales)
    ny, nx = _shape(shape)
    return (_number(y0, "Y0") - (ny + 1) / 2.0) * ps, (_number(x0, "X0") - (nx + 1) / 2.0) * ps


def centre_to_imfit(centre, shape, pixel_scales) -> tuple[float, float]:
    """Imfit's (X0, Y0) of a galaxyfit centre (y, x)."""
    ps = _square_pixel(pixel_scales)
    ny, nx = _shape(shape)
    if np.shape(centre) != (2,):
        raise ModelError(f"centre must be a (y, x) pair (arcsec), got {centre!r}")
    return _number(centre[1], "centre[1]") / ps + (nx + 1) / 2.0, _number(centre[0], "centre[0]") / ps + (ny + 1) / 2.0


def ell_comps_from_imfit(pa: float, ell: float) -> tuple[float, float]:
    """``ell_comps`` from Imfit's position angle (degrees from +y) and ellipticity ``1 - b/a`` (in [0, 1))."""
    return ell_comps_to_numpy(_axis_ratio_of_ell(ell), _number(pa, "PA") + 90.0)


def imfit_angle_and_ellipticity(ell_comps) -> tuple[float, float]:
    """Imfit's (PA, ell) from ``ell_comps``; PA in [0, 180). Raises ModelError unless ``ell_comps`` is a finite pair
    with ``|ell_comps| < 1`` (outside it there is no ellipse: evaluations clamp it, a conversion must not)."""
    if np.shape(ell_comps) != (2,):
        raise ModelError(f"ell_comps must be an (e_y, e_x) pair, got {ell_comps!r}")
    e_y, e_x = _number(ell_comps[0], "ell_comps[0]"), _number(ell_comps[1], "ell_comps[1]")
    if not e_y * e_y + e_x * e_x < 1.0:
        raise ModelError(f"ell_comps must have magnitude < 1 (an ellipse), got {ell_comps!r} (magnitude {math.hypot(e_y, e_x):g})")
    q, phi = (float(v) for v in axis_ratio_and_angle_from((e_y, e_x)))
    return (phi - 90.0) % 180.0, 1.0 - q


def _b1() -> float:
    return float(light.sersic_constant(1.0))


def _moffat_width_factor(beta) -> float:
    # 2 sqrt(2^(1/beta) - 1) = FWHM / alpha (Moffat 1969); expm1 keeps it exact and positive for any finite beta > 0.
    beta = _positive(beta, "beta", "the Moffat power index")
    return 2.0 * math.sqrt(math.expm1(math.log(2.0) / beta))


def sersic_from_imfit(x0, y0, pa, ell, n, i_e, r_e, shape, pixel_scales) -> light.Sersic:
    """Raises ModelError for an index below light.SERSIC_INDEX_MIN (galaxyfit's smallest valid one)."""
    ps = _square_pixel(pixel_scales)
    q = _axis_ratio_of_ell(ell)
    n = _positive(n, "n", "the Sersic index")
    if n < light.SERSIC_INDEX_MIN:
        raise ModelError(f"n must be >= {light.SERSIC_INDEX_MIN} (galaxyfit's smallest valid Sersic index), got {n!r}")
    r_e = _positive(r_e, "r_e", "pixels")
    return light.Sersic(centre_from_imfit(x0, y0, shape, ps), ell_comps_from_imfit(pa, ell), _number(i_e, "I_e"), math.sqrt(q) * r_e * ps, n)


def exponential_from_imfit(x0, y0, pa, ell, i_0, h, shape, pixel_scales) -> light.Exponential:
    ps = _square_pixel(pixel_scales)
    q = _axis_ratio_of_ell(ell)
    h = _positive(h, "h", "pixels")
    b1 = _b1()
    return light.Exponential(
        centre_from_imfit(x0, y0, shape, ps), ell_comps_from_imfit(pa, ell), _number(i_0, "I_0") * math.exp(-b1), b1 * math.sqrt(q) * h * ps
    )


def gaussian_from_imfit(x0, y0, pa, ell, i_0, sigma, shape, pixel_scales) -> light.Gaussian:
    ps = _square_pixel(pixel_scales)
    q = _axis_ratio_of_ell(ell)
    sigma = _positive(sigma, "sigma", "pixels")
    return light.Gaussian(centre_from_imfit(x0, y0, shape, ps), ell_comps_from_imfit(pa, ell), _number(i_0, "I_0"), q * sigma * ps)


def moffat_from_imfit(x0, y0, pa, ell, i_0, fwhm, beta, shape, pixel_scales) -> light.Moffat:
    ps = _square_pixel(pixel_scales)
    q = _axis_ratio_of_ell(ell)
    fwhm = _positive(fwhm, "fwhm", "pixels")
    alpha = fwhm / _moffat_width_factor(beta)
    return light.Moffat(centre_from_imfit(x0, y0, shape, ps), ell_comps_from_imfit(pa, ell), _number(i_0, "I_0"), q * alpha * ps, float(beta))


#: Imfit's function for each galaxyfit class that has one (exact classes: subclasses such as the operated
#: profiles mean something else).
_IMFIT_FUNCTIONS = {
    light.Sersic: "Sersic",
    light.SersicSph: "Sersic",
    light.DevVaucouleurs: "Sersic",
    light.DevVaucouleursSph: "Sersic",
    light.Exponential: "Exponential",
    light.ExponentialSph: "Exponential",
    light.Gaussian: "Gaussian",
    light.GaussianSph: "Gaussian",
    light.Moffat: "Moffat",
    light.MoffatSph: "Moffat",
}
_SERSIC_FAMILY = (light.Sersic, light.SersicSph, light.Exponential, light.ExponentialSph, light.DevVaucouleurs, light.DevVaucouleursSph)


def _checked_profile(profile) -> dict:
    """The profile's fields as floats (pairs as tuples), or ModelError naming the first field outside its domain."""
    kind = type(profile).__name__
    values = {}
    for field in dataclasses.fields(profile):
        value, name = getattr(profile, field.name), f"{kind}.{field.name}"
        if field.name in light.PAIR_FIELDS:
            if np.shape(value) != (2,):
                raise ModelError(f"{name} must be a pair, got {value!r}")
            values[field.name] = (_number(value[0], f"{name}[0]"), _number(value[1], f"{name}[1]"))
        elif field.name in profile.positive_parameters:
            values[field.name] = _positive(value, name, "a size or index")
        else:
            values[field.name] = _number(value, name)
    return values


def to_imfit(profile, shape, pixel_scales) -> dict:
    """Imfit's function name and parameters of a Sersic, Exponential, DevVaucouleurs, Gaussian or Moffat (or their
    Sph variants), or of an Imfit- or GALFIT-parameterised profile (parameterised.py: its ``standard()`` profile's).

    Returns ``{"function": name, "X0": ..., "Y0": ..., "PA": ..., "ell": ..., <law parameters>}``; sizes in pixels.
    Raises ModelError for other profiles (among them the operated ones: Imfit convolves every function with the
    PSF, so an already-convolved Gaussian or Moffat would be convolved twice), and, naming the argument, for
    parameters outside the conversion's domain (NaN or inf, ``|ell_comps| >= 1``, a non-positive size or beta) and
    non-positive ``pixel_scales``.
    """
    if isinstance(profile, ReparameterisedProfile):
        # Imfit/GALFIT-parameterised classes (parameterised.py): their standard profile, so PA is in [0, 180) and ell
        # in [0, 1) whatever the angle's range or an axis ratio above 1
        return to_imfit(profile.standard(), shape, pixel_scales)
    function = _IMFIT_FUNCTIONS.get(type(profile))
    if function is None and isinstance(profile, tuple(_IMFIT_FUNCTIONS)) and getattr(profile, "operated", False):
        raise ModelError(
            f"{type(profile).__module__}.{type(profile).__name__} is an operated profile (already convolved with the PSF); "
            "Imfit convolves every function with the PSF, so as an Imfit function it would be blurred twice"
        )
    if function is None:
        raise ModelError(f"no Imfit equivalent is defined here for {type(profile).__name__} "
                         "(Sersic, Exponential, DevVaucouleurs, Gaussian, Moffat and their Sph variants have one)")
    ps = _square_pixel(pixel_scales)
    v = _checked_profile(profile)
    x0, y0 = centre_to_imfit(v["centre"], shape, ps)
    pa, ell = imfit_angle_and_ellipticity(v.get("ell_comps", (0.0, 0.0)))
    q = 1.0 - ell
    out = {"X0": x0, "Y0": y0, "PA": pa, "ell": ell, "function": function}
    name = type(profile).__name__.removesuffix("Sph")
    if name == "Sersic":
        out.update(n=v["sersic_index"], I_e=v["intensity"], r_e=v["effective_radius"] / math.sqrt(q) / ps)
    elif name == "Exponential":
        b1 = _b1()
        out.update(I_0=v["intensity"] * math.exp(b1), h=v["effective_radius"] / (b1 * math.sqrt(q)) / ps)
    elif name == "DevVaucouleurs":
        out.update(n=4.0, I_e=v["intensity"], r_e=v["effective_radius"] / math.sqrt(q) / ps)
    elif name == "Gaussian":
        out.update(I_0=v["intensity"], sigma=v["sigma"] / q / ps)
    else:  # Moffat
        alpha = v["alpha"] / q / ps
        out.update(I_0=v["intensity"], fwhm=alpha * _moffat_width_factor(v["beta"]), beta=v["beta"])
    return out


def sersic_to_pysersic(profile, shape, pixel_scales) -> dict:
    """pysersic's parameters of a Sersic (or Exponential or DevVaucouleurs, Sersics of fixed index): ``xc, yc``
    (0-based pixels), ``r_eff`` (major-axis half-light radius, pixels), ``ellip`` (1 - b/a), ``theta`` (radians, major
    axis counter-clockwise from +x, in [0, pi)), ``n``, and ``flux`` (total flux of the untruncated profile, data
    units: our analytic ``total_flux``). Raises ModelError for other profiles and, naming the argument, for
    parameters or ``pixel_scales`` outside the conversion's domain (as :func:`to_imfit`)."""
    if type(profile) not in _SERSIC_FAMILY:
        raise ModelError(f"sersic_to_pysersic needs a Sersic, Exponential or DevVaucouleurs (or Sph variant), got {type(profile).__name__}")
    ps = _square_pixel(pixel_scales)
    v = _checked_profile(profile)
    x0, y0 = centre_to_imfit(v["centre"], shape, ps)
    ell_comps = v.get("ell_comps", (0.0, 0.0))
    imfit_angle_and_ellipticity(ell_comps)  # (its checks)
    q, phi = (float(x) for x in axis_ratio_and_angle_from(ell_comps))
    return {
        "xc": x0 - 1.0,
        "yc": y0 - 1.0,
        "r_eff": v["effective_radius"] / math.sqrt(q) / ps,
        "ellip": 1.0 - q,
        "theta": math.radians(phi % 180.0),
        "n": float(profile.sersic_index),
        "flux": float(profile.total_flux(pixel_scales)),
    }
