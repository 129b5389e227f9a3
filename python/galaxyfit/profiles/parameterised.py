"""Light profiles in the parameters Imfit and GALFIT fit, so that their limits and constraints are boxes.

Imfit limits ``PA`` and ``ell`` with boxes, GALFIT constrains ``q``, ``pa``, ``mag`` and radii with ranges; neither
is a box in PyAutoGalaxy's ``ell_comps`` (nor, with a free axis ratio, in circularised radii). These classes take
the other tools' quantities as constructor arguments, so ``UniformPrior(lo, hi)`` on one of them is exactly the
other tool's box, and they evaluate as the standard profile they stand for (``standard()``, light.py): the same
law, kernel, quadratic form and total flux, through ``jax.jit``, ``vmap`` and ``grad`` (the conversion is a few
traceable operations, done in numpy when every argument is a plain number, so fixed values stay Python floats).

Shared conventions (DESIGN.md): ``centre = (y, x)`` arcsec from the image centre; ``position_angle`` in degrees
counter-clockwise from +y (Imfit's ``PA``; GALFIT's "Up = 0, Left = 90" in the FITS/DS9 orientation), so the
galaxyfit angle is ``phi = position_angle + 90``; ``axis_ratio`` ``q = b/a = 1 - ell`` (a box on Imfit's ``ell`` is
the box ``[1 - hi, 1 - lo]`` on ``q``); sizes in arcsec along the *major* axis (pixels x pixel scale), with the
elliptical radius ``r = sqrt(x'^2 + (y'/q)^2)`` of both tools. Conversions (as profiles/convert.py, b_1 from
light.sersic_constant):

    ImfitSersic:       R_e = sqrt(q) r_e,          intensity = I_e
    ImfitExponential:  R_e = b_1 sqrt(q) h,        intensity = I_0 exp(-b_1)
    ImfitGaussian:     sigma = q sigma_major,      intensity = I_0
    ImfitMoffat:       alpha = q fwhm / (2 sqrt(2^(1/beta) - 1)),  intensity = I_0

GALFIT classes carry the integrated magnitude ``m`` (Peng et al. 2002, AJ 124, 266; 2010, AJ 139, 2097): the total
flux in data units summed over pixels is ``F = 10^(-0.4 (m - magnitude_zero_point))`` (GALFIT's
``m = -2.5 log10(F / t_exp) + J``, so ``magnitude_zero_point = J + 2.5 log10(t_exp)``), and the peak/effective
brightness follows from the analytic integral of the law over the plane divided by the pixel area
``pixel_scale^2``:

    Sersic:       F = I_e q r_e^2 2 pi n e^b b^(-2n) Gamma(2n) / area   (Graham & Driver 2005, PASA 22, 118, eq. 2)
    expdisk:      F = I_0 2 pi q r_s^2 / area
    gaussian:     F = I_0 2 pi q sigma^2 / area,  sigma = FWHM / (2 sqrt(2 ln 2))
    moffat:       F = I_0 pi q r_d^2 / ((beta - 1) area),  r_d = FWHM / (2 sqrt(2^(1/beta) - 1))   (beta > 1)

with galaxyfit's b_n (light.sersic_constant), so the total flux of the standard profile is exactly ``F``.
``magnitude_zero_point`` and ``pixel_scale`` are constants of the dataset: models fix them.
"""

from __future__ import annotations

import functools
import math
from typing import ClassVar, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit.profiles import light
from galaxyfit.profiles.light import LightProfile, light_profile

Pair = Tuple[float, float]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_LN10 = math.log(10.0)


def _xp(*values):
    """numpy for plain numbers (fixed values stay Python floats), jax.numpy when any value is a JAX array or tracer."""
    return jnp if any(isinstance(v, jax.Array) for v in values) else np


def _num(value):
    return float(value) if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0) else value


def _ell_comps(position_angle, axis_ratio):
    # ell_comps = f (sin 2 phi, cos 2 phi), f = (1 - q)/(1 + q), phi = PA + 90 deg (geometry.py)
    xp = _xp(position_angle, axis_ratio)
    phi = xp.deg2rad(position_angle + 90.0)
    fac = (1.0 - axis_ratio) / (1.0 + axis_ratio)
    return _num(fac * xp.sin(2.0 * phi)), _num(fac * xp.cos(2.0 * phi))


def _moffat_width_factor(beta):
    """``FWHM / alpha = 2 sqrt(2^(1/beta) - 1)`` (Moffat 1969); expm1 keeps it exact for large beta."""
    xp = _xp(beta)
    return 2.0 * xp.sqrt(xp.expm1(math.log(2.0) / beta))


def _flux_from_magnitude(magnitude, zero_point):
    xp = _xp(magnitude, zero_point)
    return xp.exp(-0.4 * _LN10 * (magnitude - zero_point))


def _log_sersic_flux_factor(n):
    """``log(2 pi n e^b b^(-2n) Gamma(2n))`` (light._log_sersic_flux_factor): in plain floats for a fixed index up to
    light's Stirling threshold, so a fixed value stays a Python float even inside a traced function."""
    if not isinstance(n, jax.Array) and float(n) <= light._STIRLING_INDEX:
        n = float(n)
        b = float(light.sersic_constant(n))
        return math.log(2.0 * math.pi * n) + b - 2.0 * n * math.log(b) + math.lgamma(2.0 * n)
    return light._log_sersic_flux_factor(n)


@functools.lru_cache(maxsize=None)
def _dev_vaucouleurs_flux_factor() -> float:
    return math.exp(_log_sersic_flux_factor(4.0))


class ReparameterisedProfile(LightProfile):
    """A light profile defined by another tool's parameters; it evaluates as ``standard()`` in every respect."""

    #: The galaxyfit class ``standard()`` returns.
    standard_class: ClassVar[type] = None

    def standard(self) -> LightProfile:  # pragma: no cover - every class overrides it
        """The equivalent galaxyfit profile (light.py) of these parameters."""
        raise NotImplementedError

    @property
    def ell_comps(self) -> Pair:
        """PyAutoGalaxy's ``ell_comps`` of ``position_angle`` and ``axis_ratio``."""
        return _ell_comps(self.position_angle, self.axis_ratio)

    def quadratic_form(self):
        return self.standard().quadratic_form()

    def brightness(self, s):
        return self.standard().brightness(s)

    def law(self):
        return self.standard().law()

    def _flux(self, area):
        standard = self.standard()
        return type(standard)._flux(standard, area)


# ---- Imfit ----------------------------------------------------------------------------------------------------------


@light_profile
class ImfitSersic(ReparameterisedProfile):
    """Imfit's ``Sersic``: ``intensity`` = ``I_e`` (data units per pixel), ``effective_radius_major`` = ``r_e`` x pixel
    scale (arcsec, along the major axis), ``sersic_index`` = ``n``. As light.Sersic with ``R_e = sqrt(q) r_e``."""

    centre: Pair = (0.0, 0.0)
    position_angle: float = 0.0
    axis_ratio: float = 1.0
    intensity: float = 0.1
    effective_radius_major: float = 0.6
    sersic_index: float = 4.0

    standard_class: ClassVar[type] = light.Sersic
    has_cusp: ClassVar[bool] = True
    positive_parameters: ClassVar[tuple] = ("axis_ratio", "effective_radius_major", "sersic_index")
    lower_limits: ClassVar[dict] = {"sersic_index": light.SERSIC_INDEX_MIN}

    def standard(self) -> light.Sersic:
        xp = _xp(self.axis_ratio, self.effective_radius_major)
        radius = _num(xp.sqrt(self.axis_ratio) * self.effective_radius_major)
        return light.Sersic(self.centre, self.ell_comps, self.intensity, radius, self.sersic_index)


@light_profile
class ImfitExponential(ReparameterisedProfile):
    """Imfit's ``Exponential`` ``I_0 exp(-r / h)``: ``intensity`` = ``I_0`` (the central brightness),
    ``scale_length`` = ``h`` x pixel scale (arcsec, major axis). As light.Exponential with ``R_e = b_1 sqrt(q) h``,
    ``intensity = I_0 exp(-b_1)``."""

    centre: Pair = (0.0, 0.0)
    position_angle: float = 0.0
    axis_ratio: float = 1.0
    intensity: float = 0.1
    scale_length: float = 0.6

    standard_class: ClassVar[type] = light.Exponential
    has_cusp: ClassVar[bool] = True
    sersic_index: ClassVar[float] = 1.0
    positive_parameters: ClassVar[tuple] = ("axis_ratio", "scale_length")

    def standard(self) -> light.Exponential:
        xp = _xp(self.axis_ratio, self.scale_length, self.intensity)
        b1 = float(light.sersic_constant(1.0))
        return light.Exponential(self.centre, self.ell_comps, _num(self.intensity * math.exp(-b1)),
                                 _num(b1 * xp.sqrt(self.axis_ratio) * self.scale_length))


@light_profile
class ImfitGaussian(ReparameterisedProfile):
    """Imfit's ``Gaussian``: ``intensity`` = ``I_0``, ``sigma_major`` = ``sigma`` x pixel scale (arcsec, major
    axis). As light.Gaussian with (minor-axis) ``sigma = q sigma_major``."""

    centre: Pair = (0.0, 0.0)
    position_angle: float = 0.0
    axis_ratio: float = 1.0
    intensity: float = 0.1
    sigma_major: float = 1.0

    standard_class: ClassVar[type] = light.Gaussian
    positive_parameters: ClassVar[tuple] = ("axis_ratio", "sigma_major")

    @property
    def sigma(self):
        """light.Gaussian's (minor-axis) sigma, arcsec."""
        return _num(self.axis_ratio * self.sigma_major)

    def standard(self) -> light.Gaussian:
        return light.Gaussian(self.centre, self.ell_comps, self.intensity, self.sigma)


@light_profile
class ImfitMoffat(ReparameterisedProfile):
    """Imfit's ``Moffat``: ``intensity`` = ``I_0``, ``fwhm_major`` = ``fwhm`` x pixel scale (arcsec, major axis),
    ``beta``. As light.Moffat with ``alpha = q fwhm / (2 sqrt(2^(1/beta) - 1))``."""

    centre: Pair = (0.0, 0.0)
    position_angle: float = 0.0
    axis_ratio: float = 1.0
    intensity: float = 0.1
    fwhm_major: float = 1.0
    beta: float = 2.0

    standard_class: ClassVar[type] = light.Moffat
    positive_parameters: ClassVar[tuple] = ("axis_ratio", "fwhm_major", "beta")

    def standard(self) -> light.Moffat:
        alpha = _num(self.axis_ratio * self.fwhm_major / _moffat_width_factor(self.beta))
        return light.Moffat(self.centre, self.ell_comps, self.intensity, alpha, self.beta)


# ---- GALFIT ---------------------------------------------------------------------------------------------------------


class _GalfitProfile(ReparameterisedProfile):
    """Shared: ``magnitude`` (GALFIT's integrated magnitude), ``magnitude_zero_point`` and ``pixel_scale`` (fixed)."""

    def _intensity(self, integral_per_intensity):
        """The normalisation whose profile has total flux ``10^(-0.4 (m - zp))`` given the integral over the plane
        (arcsec^2) of the law at unit normalisation."""
        flux = _flux_from_magnitude(self.magnitude, self.magnitude_zero_point)
        return _num(flux * self.pixel_scale * self.pixel_scale / integral_per_intensity)


@light_profile
class GalfitSersic(_GalfitProfile):
    """GALFIT's ``sersic``: ``magnitude`` (integrated), ``effective_radius_major`` = ``R_e`` x pixel scale (arcsec,
    major axis), ``sersic_index`` = ``n``. As light.Sersic with ``R_e = sqrt(q) r_e`` and ``I_e`` from the magnitude
    (module docstring)."""

    centre: Pair = (0.0, 0.0)
    position_angle: float = 0.0
    axis_ratio: float = 1.0
    magnitude: float = 20.0
    effective_radius_major: float = 0.6
    sersic_index: float = 4.0
    magnitude_zero_point: float = 0.0
    pixel_scale: float = 1.0

    standard_class: ClassVar[type] = light.Sersic
    has_cusp: ClassVar[bool] = True
    positive_parameters: ClassVar[tuple] = ("axis_ratio", "effective_radius_major", "sersic_index", "pixel_scale")
    lower_limits: ClassVar[dict] = {"sersic_index": light.SERSIC_INDEX_MIN}

    def standard(self) -> light.Sersic:
        log_factor = _log_sersic_flux_factor(self.sersic_index)
        xp = _xp(self.axis_ratio, self.effective_radius_major, self.sersic_index, log_factor)
        r2q = self.axis_ratio * self.effective_radius_major**2
        intensity = self._intensity(r2q * xp.exp(log_factor))
        return light.Sersic(self.centre, self.ell_comps, intensity, _num(xp.sqrt(r2q)), self.sersic_index)


@light_profile
class GalfitDevVaucouleurs(_GalfitProfile):
    """GALFIT's ``devauc``: :class:`GalfitSersic` with ``n = 4`` (light.DevVaucouleurs)."""

    centre: Pair = (0.0, 0.0)
    position_angle: float = 0.0
    axis_ratio: float = 1.0
    magnitude: float = 20.0
    effective_radius_major: float = 0.6
    magnitude_zero_point: float = 0.0
    pixel_scale: float = 1.0

    standard_class: ClassVar[type] = light.DevVaucouleurs
    has_cusp: ClassVar[bool] = True
    sersic_index: ClassVar[float] = 4.0
    positive_parameters: ClassVar[tuple] = ("axis_ratio", "effective_radius_major", "pixel_scale")

    def standard(self) -> light.DevVaucouleurs:
        xp = _xp(self.axis_ratio, self.effective_radius_major)
        r2q = self.axis_ratio * self.effective_radius_major**2
        intensity = self._intensity(r2q * _dev_vaucouleurs_flux_factor())
        return light.DevVaucouleurs(self.centre, self.ell_comps, intensity, _num(xp.sqrt(r2q)))


@light_profile
class GalfitExponential(_GalfitProfile):
    """GALFIT's ``expdisk`` ``I_0 exp(-r / r_s)``: ``magnitude``, ``scale_length`` = ``r_s`` x pixel scale (arcsec,
    major axis). As light.Exponential with ``R_e = b_1 sqrt(q) r_s`` and ``intensity = I_0 exp(-b_1)``."""

    centre: Pair = (0.0, 0.0)
    position_angle: float = 0.0
    axis_ratio: float = 1.0
    magnitude: float = 20.0
    scale_length: float = 0.6
    magnitude_zero_point: float = 0.0
    pixel_scale: float = 1.0

    standard_class: ClassVar[type] = light.Exponential
    has_cusp: ClassVar[bool] = True
    sersic_index: ClassVar[float] = 1.0
    positive_parameters: ClassVar[tuple] = ("axis_ratio", "scale_length", "pixel_scale")

    def standard(self) -> light.Exponential:
        xp = _xp(self.axis_ratio, self.scale_length)
        b1 = float(light.sersic_constant(1.0))
        i_0 = self._intensity(2.0 * math.pi * self.axis_ratio * self.scale_length**2)
        return light.Exponential(self.centre, self.ell_comps, _num(i_0 * math.exp(-b1)),
                                 _num(b1 * xp.sqrt(self.axis_ratio) * self.scale_length))


@light_profile
class GalfitGaussian(_GalfitProfile):
    """GALFIT's ``gaussian``: ``magnitude``, ``fwhm_major`` = FWHM x pixel scale (arcsec, major axis). As
    light.Gaussian with ``sigma = q FWHM / (2 sqrt(2 ln 2))``."""

    centre: Pair = (0.0, 0.0)
    position_angle: float = 0.0
    axis_ratio: float = 1.0
    magnitude: float = 20.0
    fwhm_major: float = 1.0
    magnitude_zero_point: float = 0.0
    pixel_scale: float = 1.0

    standard_class: ClassVar[type] = light.Gaussian
    positive_parameters: ClassVar[tuple] = ("axis_ratio", "fwhm_major", "pixel_scale")

    @property
    def sigma(self):
        """light.Gaussian's (minor-axis) sigma, arcsec."""
        return _num(self.axis_ratio * self.fwhm_major / _FWHM_PER_SIGMA)

    def standard(self) -> light.Gaussian:
        sigma_major = self.fwhm_major / _FWHM_PER_SIGMA
        intensity = self._intensity(2.0 * math.pi * self.axis_ratio * sigma_major**2)
        return light.Gaussian(self.centre, self.ell_comps, intensity, self.sigma)


@light_profile
class GalfitMoffat(_GalfitProfile):
    """GALFIT's ``moffat``: ``magnitude``, ``fwhm_major`` = FWHM x pixel scale (arcsec, major axis), ``beta`` (GALFIT's
    "powerlaw", > 1 for a finite flux). As light.Moffat with ``alpha = q FWHM / (2 sqrt(2^(1/beta) - 1))``."""

    centre: Pair = (0.0, 0.0)
    position_angle: float = 0.0
    axis_ratio: float = 1.0
    magnitude: float = 20.0
    fwhm_major: float = 1.0
    beta: float = 2.0
    magnitude_zero_point: float = 0.0
    pixel_scale: float = 1.0

    standard_class: ClassVar[type] = light.Moffat
    positive_parameters: ClassVar[tuple] = ("axis_ratio", "fwhm_major", "beta", "pixel_scale")
    #: beta <= 1 has no finite flux, so no magnitude defines it.
    lower_limits: ClassVar[dict] = {"beta": math.nextafter(1.0, 2.0)}

    def standard(self) -> light.Moffat:
        width_major = self.fwhm_major / _moffat_width_factor(self.beta)
        intensity = self._intensity(math.pi * self.axis_ratio * width_major**2 / (self.beta - 1.0))
        return light.Moffat(self.centre, self.ell_comps, intensity, _num(self.axis_ratio * width_major), self.beta)


#: The classes, by the names model files and saved results use (model.CLASSES).
PROFILES = {
    "imfit.Sersic": ImfitSersic,
    "imfit.Exponential": ImfitExponential,
    "imfit.Gaussian": ImfitGaussian,
    "imfit.Moffat": ImfitMoffat,
    "galfit.Sersic": GalfitSersic,
    "galfit.DevVaucouleurs": GalfitDevVaucouleurs,
    "galfit.Exponential": GalfitExponential,
    "galfit.Gaussian": GalfitGaussian,
    "galfit.Moffat": GalfitMoffat,
}
