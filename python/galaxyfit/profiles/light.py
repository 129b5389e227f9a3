"""Standard light profiles with PyAutoGalaxy's parameter definitions.

Every profile is a frozen dataclass and a JAX pytree (its numbers are leaves), so profiles, galaxies and model
instances pass through ``jax.jit``, ``jax.vmap`` and ``jax.grad``. A profile defines

* ``quadratic_form()`` -> ``(A_yy, A_xx, A_xy)``: the squared radius its law uses, ``s = A_yy dy^2 + A_xx dx^2 +
  2 A_xy dy dx`` for offsets (arcsec) from ``centre`` (geometry.py);
* ``brightness(s)``: surface brightness at squared radius ``s`` in data units per pixel (e.g. e-/s/pixel), the unit
  PyAutoGalaxy's ``intensity`` carries (a model pixel is the mean brightness over the pixel);
* ``total_flux(pixel_scales)``: the analytic sum over an infinite image, ``(integral of I dA) / pixel area``.

Radii: most laws use the circularised radius ``R = sqrt(q x'^2 + y'^2/q)`` (so ``effective_radius`` is a circular
half-light radius); ``Chameleon`` uses the elliptical radius ``r = R / sqrt(q)``. Formulas and defaults follow
PyAutoGalaxy 2026.10.26.1 (``autogalaxy/profiles/light/standard/*.py``); references are given per class.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Tuple

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from galaxyfit.numbers import real_number
from galaxyfit.profiles.geometry import axis_ratio_from, circular_quadratic_form

Pair = Tuple[float, float]

# Law identifiers of the C++ kernel (cpp/include/galaxyfit/profile_image.hpp, enum Law).
LAW_SERSIC, LAW_SERSIC_CORE, LAW_GAUSSIAN, LAW_POWER_CORE, LAW_CHAMELEON, LAW_EXPONENTIAL, LAW_DEV_VAUCOULEURS = range(7)

#: Squared radii are floored at this fraction of the profile's scale squared, so laws with a cusp (and their
#: gradients) stay finite at a sample that falls exactly on the centre.
_S_FLOOR = 1e-24


def _as_float(value, name):
    # Python ints (e.g. centre=(0, 0)) become floats so the leaves are differentiable; numpy values of any real dtype
    # and byte order become native float64 (numbers.py); JAX arrays and tracers pass through.
    if isinstance(value, (tuple, list)):
        return tuple(_as_float(v, f"{name}[{i}]") for i, v in enumerate(value))
    return real_number(value, name)


def _post_init(self):
    for field in dataclasses.fields(self):
        object.__setattr__(self, field.name, _as_float(getattr(self, field.name), f"{type(self).__name__}.{field.name}"))


def light_profile(cls):
    """Class decorator: a frozen dataclass registered as a JAX pytree whose fields are all data leaves."""
    cls.__post_init__ = _post_init
    cls = dataclasses.dataclass(frozen=True)(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    return jax.tree_util.register_dataclass(cls, data_fields=names, meta_fields=[])


class LightProfile:
    """Shared behaviour; concrete profiles are ``@light_profile`` dataclasses below."""

    #: Already convolved with the PSF: added to the model after convolution (PyAutoGalaxy's ``lp_operated``).
    operated: ClassVar[bool] = False
    #: The law is not smooth at the centre (a cusp or kink): the central pixels need the cusp-resolving rule.
    has_cusp: ClassVar[bool] = False
    #: Fields that must be strictly positive for the law to make sense (sizes, indices, slopes).
    positive_parameters: ClassVar[tuple] = ()

    def quadratic_form(self):
        return circular_quadratic_form(self.ell_comps)

    def brightness(self, s):  # pragma: no cover - every profile overrides it
        raise NotImplementedError

    def law(self):
        """``(law id, law parameters)`` of the C++ kernel, whose brightness(s) equals this profile's."""
        raise NotImplementedError(f"{type(self).__name__} has no C++ kernel law")

    def total_flux(self, pixel_scales):  # pragma: no cover
        raise NotImplementedError

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self))

    def brightness_at(self, y, x):
        """Surface brightness at the points (y, x) (arcsec), without any pixel integration."""
        a_yy, a_xx, a_xy = self.quadratic_form()
        dy = jnp.asarray(y) - self.centre[0]
        dx = jnp.asarray(x) - self.centre[1]
        return self.brightness(a_yy * dy * dy + a_xx * dx * dx + 2.0 * a_xy * dy * dx)


class _Spherical:
    """Spherical variants: ``ell_comps`` fixed to (0, 0)."""

    @property
    def ell_comps(self) -> Pair:
        return (0.0, 0.0)

    def quadratic_form(self):
        return (1.0, 1.0, 0.0)


def _pixel_area(pixel_scales) -> float:
    if isinstance(pixel_scales, (int, float)):
        return float(pixel_scales) ** 2
    return float(pixel_scales[0]) * float(pixel_scales[1])


# ---- Sersic family ---------------------------------------------------------------------------------------------


def sersic_constant(sersic_index):
    """``b_n`` with ``Gamma(2n) = 2 gamma(2n, b_n)`` (half light inside ``R_e``): the asymptotic expansion of Ciotti &
    Bertin (1999, A&A 352, 447), eq. 18, as PyAutoGalaxy and Imfit (for n > 0.36) use it."""
    n = sersic_index
    return (
        2.0 * n
        - 1.0 / 3.0
        + 4.0 / (405.0 * n)
        + 46.0 / (25515.0 * n**2)
        + 131.0 / (1148175.0 * n**3)
        - 2194697.0 / (30690717750.0 * n**4)
    )


def _sersic_brightness(s, intensity, effective_radius, sersic_index):
    re2 = effective_radius * effective_radius
    x = jnp.maximum(s / re2, _S_FLOOR)
    # (R / R_e)^(1/n) = exp(log(s / R_e^2) / (2 n))
    return intensity * jnp.exp(-sersic_constant(sersic_index) * (jnp.exp(jnp.log(x) / (2.0 * sersic_index)) - 1.0))


def _sersic_total_flux(intensity, effective_radius, sersic_index, pixel_scales):
    n = sersic_index
    b = sersic_constant(n)
    # integral of I_e exp(-b[(R/R_e)^(1/n) - 1]) 2 pi R dR = 2 pi n R_e^2 I_e e^b b^(-2n) Gamma(2n)  (Graham & Driver 2005, eq. 2)
    log_flux = jnp.log(2.0 * jnp.pi * n) + b - 2.0 * n * jnp.log(b) + gammaln(2.0 * n)
    return intensity * effective_radius**2 * jnp.exp(log_flux) / _pixel_area(pixel_scales)


@light_profile
class Sersic(LightProfile):
    """``I(R) = I_e exp(-b_n [(R/R_e)^(1/n) - 1])`` (Sersic 1963), ``R`` circularised; ``intensity = I_e`` is the
    brightness at ``R_e`` (data units per pixel). PyAutoGalaxy ``lp.Sersic``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6
    sersic_index: float = 4.0

    has_cusp: ClassVar[bool] = True

    positive_parameters: ClassVar[tuple] = ('effective_radius', 'sersic_index')

    def law(self):
        return LAW_SERSIC, (self.intensity, self.effective_radius, self.sersic_index)

    def brightness(self, s):
        return _sersic_brightness(s, self.intensity, self.effective_radius, self.sersic_index)

    def total_flux(self, pixel_scales):
        return _sersic_total_flux(self.intensity, self.effective_radius, self.sersic_index, pixel_scales)


@light_profile
class SersicSph(_Spherical, LightProfile):
    """Spherical :class:`Sersic`."""

    centre: Pair = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6
    sersic_index: float = 4.0

    has_cusp: ClassVar[bool] = True

    positive_parameters: ClassVar[tuple] = ('effective_radius', 'sersic_index')

    def law(self):
        return LAW_SERSIC, (self.intensity, self.effective_radius, self.sersic_index)

    def brightness(self, s):
        return _sersic_brightness(s, self.intensity, self.effective_radius, self.sersic_index)

    def total_flux(self, pixel_scales):
        return _sersic_total_flux(self.intensity, self.effective_radius, self.sersic_index, pixel_scales)


@light_profile
class Exponential(LightProfile):
    """:class:`Sersic` with ``n = 1`` (its ``b_1`` from the same expansion, 1.67838...). PyAutoGalaxy ``lp.Exponential``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6

    has_cusp: ClassVar[bool] = True
    sersic_index: ClassVar[float] = 1.0

    positive_parameters: ClassVar[tuple] = ('effective_radius',)

    def law(self):
        return LAW_EXPONENTIAL, (self.intensity, self.effective_radius)

    def brightness(self, s):
        return _sersic_brightness(s, self.intensity, self.effective_radius, 1.0)

    def total_flux(self, pixel_scales):
        return _sersic_total_flux(self.intensity, self.effective_radius, 1.0, pixel_scales)


@light_profile
class ExponentialSph(_Spherical, LightProfile):
    """Spherical :class:`Exponential`."""

    centre: Pair = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6

    has_cusp: ClassVar[bool] = True
    sersic_index: ClassVar[float] = 1.0

    positive_parameters: ClassVar[tuple] = ('effective_radius',)

    def law(self):
        return LAW_EXPONENTIAL, (self.intensity, self.effective_radius)

    def brightness(self, s):
        return _sersic_brightness(s, self.intensity, self.effective_radius, 1.0)

    def total_flux(self, pixel_scales):
        return _sersic_total_flux(self.intensity, self.effective_radius, 1.0, pixel_scales)


@light_profile
class DevVaucouleurs(LightProfile):
    """:class:`Sersic` with ``n = 4`` (de Vaucouleurs 1948). PyAutoGalaxy ``lp.DevVaucouleurs``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6

    has_cusp: ClassVar[bool] = True
    sersic_index: ClassVar[float] = 4.0

    positive_parameters: ClassVar[tuple] = ('effective_radius',)

    def law(self):
        return LAW_DEV_VAUCOULEURS, (self.intensity, self.effective_radius)

    def brightness(self, s):
        return _sersic_brightness(s, self.intensity, self.effective_radius, 4.0)

    def total_flux(self, pixel_scales):
        return _sersic_total_flux(self.intensity, self.effective_radius, 4.0, pixel_scales)


@light_profile
class DevVaucouleursSph(_Spherical, LightProfile):
    """Spherical :class:`DevVaucouleurs`."""

    centre: Pair = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6

    has_cusp: ClassVar[bool] = True
    sersic_index: ClassVar[float] = 4.0

    positive_parameters: ClassVar[tuple] = ('effective_radius',)

    def law(self):
        return LAW_DEV_VAUCOULEURS, (self.intensity, self.effective_radius)

    def brightness(self, s):
        return _sersic_brightness(s, self.intensity, self.effective_radius, 4.0)

    def total_flux(self, pixel_scales):
        return _sersic_total_flux(self.intensity, self.effective_radius, 4.0, pixel_scales)


# ---- core-Sersic ------------------------------------------------------------------------------------------------


def _sersic_core_brightness(s, intensity, effective_radius, sersic_index, radius_break, gamma, alpha):
    """Graham et al. (2003, AJ 125, 2951) core-Sersic, eq. 5, with ``intensity`` the brightness at the break radius
    (Trujillo et al. 2004 normalisation, as PyAutoGalaxy ``SersicCore.intensity_prime``)."""
    b = sersic_constant(sersic_index)
    r_alpha = jnp.exp(0.5 * alpha * jnp.log(jnp.maximum(s, _S_FLOOR * radius_break**2)))  # R^alpha
    rb_alpha = radius_break**alpha
    prime = intensity * 2.0 ** (-gamma / alpha) * jnp.exp(b * ((2.0 ** (1.0 / alpha)) * radius_break / effective_radius) ** (1.0 / sersic_index))
    inner = (1.0 + rb_alpha / r_alpha) ** (gamma / alpha)
    outer = jnp.exp(-b * ((r_alpha + rb_alpha) / effective_radius**alpha) ** (1.0 / (alpha * sersic_index)))
    return prime * inner * outer


def _numerical_total_flux(profile, scale, pixel_scales):
    """``(integral of I(R) 2 pi R dR) / pixel area`` by Gauss-Legendre quadrature in log R over 1e-8..1e4 ``scale``
    (used where no closed form exists; relative accuracy ~1e-10 for the laws here)."""
    import numpy as np

    nodes, weights = np.polynomial.legendre.leggauss(96)
    edges = np.linspace(np.log(1e-8), np.log(1e4), 33)
    t = np.concatenate([(b - a) / 2 * nodes + (a + b) / 2 for a, b in zip(edges[:-1], edges[1:])])
    w = np.concatenate([(b - a) / 2 * weights for a, b in zip(edges[:-1], edges[1:])])
    radius = scale * jnp.exp(t)
    integrand = profile.brightness(radius**2) * 2.0 * jnp.pi * radius**2  # I(R) 2 pi R dR with dR = R dt
    return jnp.sum(integrand * w) / _pixel_area(pixel_scales)


@light_profile
class SersicCore(LightProfile):
    """Core-Sersic: a Sersic outside ``radius_break`` and a power law of slope ``gamma`` inside (sharpness ``alpha``);
    ``intensity`` is the brightness at the break radius. PyAutoGalaxy ``lp.SersicCore``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    effective_radius: float = 0.6
    sersic_index: float = 4.0
    radius_break: float = 0.025
    intensity: float = 0.05
    gamma: float = 0.25
    alpha: float = 3.0

    has_cusp: ClassVar[bool] = True

    positive_parameters: ClassVar[tuple] = ('effective_radius', 'sersic_index', 'radius_break', 'alpha')

    def law(self):
        return LAW_SERSIC_CORE, (self.intensity, self.effective_radius, self.sersic_index, self.radius_break, self.gamma, self.alpha)

    def brightness(self, s):
        return _sersic_core_brightness(
            s, self.intensity, self.effective_radius, self.sersic_index, self.radius_break, self.gamma, self.alpha
        )

    def total_flux(self, pixel_scales):
        """Numerical (no closed form): see :func:`_numerical_total_flux`."""
        return _numerical_total_flux(self, self.effective_radius, pixel_scales)


@light_profile
class SersicCoreSph(_Spherical, LightProfile):
    """Spherical :class:`SersicCore` (PyAutoGalaxy's default break radius 0.01)."""

    centre: Pair = (0.0, 0.0)
    effective_radius: float = 0.6
    sersic_index: float = 4.0
    radius_break: float = 0.01
    intensity: float = 0.05
    gamma: float = 0.25
    alpha: float = 3.0

    has_cusp: ClassVar[bool] = True

    positive_parameters: ClassVar[tuple] = ('effective_radius', 'sersic_index', 'radius_break', 'alpha')

    def law(self):
        return LAW_SERSIC_CORE, (self.intensity, self.effective_radius, self.sersic_index, self.radius_break, self.gamma, self.alpha)

    def brightness(self, s):
        return _sersic_core_brightness(
            s, self.intensity, self.effective_radius, self.sersic_index, self.radius_break, self.gamma, self.alpha
        )

    def total_flux(self, pixel_scales):
        """Numerical (no closed form): see :func:`_numerical_total_flux`."""
        return _numerical_total_flux(self, self.effective_radius, pixel_scales)


@light_profile
class ExponentialCore(LightProfile):
    """:class:`SersicCore` with ``n = 1``. PyAutoGalaxy ``lp.ExponentialCore``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    effective_radius: float = 0.6
    radius_break: float = 0.01
    intensity: float = 0.05
    gamma: float = 0.25
    alpha: float = 3.0

    has_cusp: ClassVar[bool] = True
    sersic_index: ClassVar[float] = 1.0

    positive_parameters: ClassVar[tuple] = ('effective_radius', 'radius_break', 'alpha')

    def law(self):
        return LAW_SERSIC_CORE, (self.intensity, self.effective_radius, 1.0, self.radius_break, self.gamma, self.alpha)

    def brightness(self, s):
        return _sersic_core_brightness(
            s, self.intensity, self.effective_radius, 1.0, self.radius_break, self.gamma, self.alpha
        )

    def total_flux(self, pixel_scales):
        """Numerical (no closed form): see :func:`_numerical_total_flux`."""
        return _numerical_total_flux(self, self.effective_radius, pixel_scales)


# ---- Gaussian, Moffat, Elson-Fall-Freeman, Chameleon ----------------------------------------------------------------


def _gaussian_brightness(s, intensity, sigma, q):
    # exp(-R^2 / (2 (sigma/sqrt(q))^2)) = exp(-(q^2 x'^2 + y'^2) / (2 sigma^2)): sigma is the minor-axis width.
    return intensity * jnp.exp(-0.5 * q * s / (sigma * sigma))


@light_profile
class Gaussian(LightProfile):
    """``I = I_0 exp(-R^2 / (2 (sigma/sqrt(q))^2))``: ``intensity`` is the peak and ``sigma`` the minor-axis width
    (major-axis width ``sigma / q``). PyAutoGalaxy ``lp.Gaussian``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    intensity: float = 0.1
    sigma: float = 1.0

    positive_parameters: ClassVar[tuple] = ('sigma',)

    def law(self):
        return LAW_GAUSSIAN, (self.intensity, 0.5 * axis_ratio_from(self.ell_comps) / self.sigma**2)

    def brightness(self, s):
        return _gaussian_brightness(s, self.intensity, self.sigma, axis_ratio_from(self.ell_comps))

    def total_flux(self, pixel_scales):
        # integral = I_0 2 pi sigma^2 / q
        return self.intensity * 2.0 * jnp.pi * self.sigma**2 / axis_ratio_from(self.ell_comps) / _pixel_area(pixel_scales)


@light_profile
class GaussianSph(_Spherical, LightProfile):
    """Spherical :class:`Gaussian`."""

    centre: Pair = (0.0, 0.0)
    intensity: float = 0.1
    sigma: float = 1.0

    positive_parameters: ClassVar[tuple] = ('sigma',)

    def law(self):
        return LAW_GAUSSIAN, (self.intensity, 0.5 / self.sigma**2)

    def brightness(self, s):
        return _gaussian_brightness(s, self.intensity, self.sigma, 1.0)

    def total_flux(self, pixel_scales):
        return self.intensity * 2.0 * jnp.pi * self.sigma**2 / _pixel_area(pixel_scales)


def _moffat_brightness(s, intensity, alpha, beta, q):
    # [1 + (R / (alpha/sqrt(q)))^2]^(-beta), Moffat (1969)
    return intensity * jnp.exp(-beta * jnp.log1p(q * s / (alpha * alpha)))


def _moffat_total_flux(intensity, alpha, beta, q, pixel_scales):
    # integral = I_0 pi alpha^2 / (q (beta - 1)) for beta > 1 (diverges otherwise)
    flux = intensity * jnp.pi * alpha**2 / (q * (beta - 1.0))
    return jnp.where(beta > 1.0, flux, jnp.inf) / _pixel_area(pixel_scales)


@light_profile
class Moffat(LightProfile):
    """``I = I_0 [1 + (R / (alpha/sqrt(q)))^2]^(-beta)`` (Moffat 1969); ``alpha`` is the minor-axis core width.
    PyAutoGalaxy ``lp.Moffat``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    intensity: float = 0.1
    alpha: float = 0.5
    beta: float = 2.0

    positive_parameters: ClassVar[tuple] = ('alpha', 'beta')

    def law(self):
        return LAW_POWER_CORE, (self.intensity, axis_ratio_from(self.ell_comps) / self.alpha**2, self.beta)

    def brightness(self, s):
        return _moffat_brightness(s, self.intensity, self.alpha, self.beta, axis_ratio_from(self.ell_comps))

    def total_flux(self, pixel_scales):
        return _moffat_total_flux(self.intensity, self.alpha, self.beta, axis_ratio_from(self.ell_comps), pixel_scales)


@light_profile
class MoffatSph(_Spherical, LightProfile):
    """Spherical :class:`Moffat`."""

    centre: Pair = (0.0, 0.0)
    intensity: float = 0.1
    alpha: float = 0.5
    beta: float = 2.0

    positive_parameters: ClassVar[tuple] = ('alpha', 'beta')

    def law(self):
        return LAW_POWER_CORE, (self.intensity, 1.0 / self.alpha**2, self.beta)

    def brightness(self, s):
        return _moffat_brightness(s, self.intensity, self.alpha, self.beta, 1.0)

    def total_flux(self, pixel_scales):
        return _moffat_total_flux(self.intensity, self.alpha, self.beta, 1.0, pixel_scales)


def _eff_brightness(s, intensity, effective_radius, eta):
    # Elson, Fall & Freeman (1987, ApJ 323, 54): I_0 (1 + R^2 / a^2)^(-eta)
    return intensity * jnp.exp(-eta * jnp.log1p(s / (effective_radius * effective_radius)))


def _eff_total_flux(intensity, effective_radius, eta, pixel_scales):
    # integral = I_0 pi a^2 / (eta - 1) for eta > 1 (diverges otherwise)
    flux = intensity * jnp.pi * effective_radius**2 / (eta - 1.0)
    return jnp.where(eta > 1.0, flux, jnp.inf) / _pixel_area(pixel_scales)


@light_profile
class ElsonFreeFall(LightProfile):
    """Elson-Fall-Freeman profile ``I_0 (1 + (R/R_e)^2)^(-eta)`` (``effective_radius`` is the core scale ``a``, not a
    half-light radius). PyAutoGalaxy ``lp.ElsonFreeFall``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6
    eta: float = 1.5

    positive_parameters: ClassVar[tuple] = ('effective_radius', 'eta')

    def law(self):
        return LAW_POWER_CORE, (self.intensity, 1.0 / self.effective_radius**2, self.eta)

    def brightness(self, s):
        return _eff_brightness(s, self.intensity, self.effective_radius, self.eta)

    def total_flux(self, pixel_scales):
        return _eff_total_flux(self.intensity, self.effective_radius, self.eta, pixel_scales)

    def half_light_radius(self):
        return self.effective_radius * jnp.sqrt(0.5 ** (1.0 / (1.0 - self.eta)) - 1.0)


@light_profile
class ElsonFreeFallSph(_Spherical, LightProfile):
    """Spherical :class:`ElsonFreeFall`."""

    centre: Pair = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6
    eta: float = 1.5

    positive_parameters: ClassVar[tuple] = ('effective_radius', 'eta')

    def law(self):
        return LAW_POWER_CORE, (self.intensity, 1.0 / self.effective_radius**2, self.eta)

    def brightness(self, s):
        return _eff_brightness(s, self.intensity, self.effective_radius, self.eta)

    def total_flux(self, pixel_scales):
        return _eff_total_flux(self.intensity, self.effective_radius, self.eta, pixel_scales)


_CHAMELEON_Q_MAX = 0.99999


def _chameleon_brightness(s_elliptical, intensity, core_radius_0, core_radius_1, q):
    # Dutton et al. (2011, MNRAS 417, 1621) "Chameleon": difference of two non-singular isothermal profiles in the
    # elliptical radius r; PyAutoGalaxy caps q at 0.99999.
    f = (1.0 + q) ** 2
    a0 = 4.0 * core_radius_0**2 / f
    a1 = 4.0 * core_radius_1**2 / f
    return intensity / (1.0 + q) * (jax.lax.rsqrt(s_elliptical + a0) - jax.lax.rsqrt(s_elliptical + a1))


def _chameleon_total_flux(intensity, core_radius_0, core_radius_1, q, pixel_scales):
    # integral over the ellipse = q * 2 pi I_0/(1+q) * (b - a) with a, b = 2 c_{0,1} / (1 + q)
    return 4.0 * jnp.pi * q * intensity * (core_radius_1 - core_radius_0) / (1.0 + q) ** 2 / _pixel_area(pixel_scales)


@light_profile
class Chameleon(LightProfile):
    """Chameleon profile (elliptical radius ``r = R / sqrt(q)``). PyAutoGalaxy ``lp.Chameleon``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    intensity: float = 0.1
    core_radius_0: float = 0.01
    core_radius_1: float = 0.05

    has_cusp: ClassVar[bool] = True  # a 1/r cusp as core_radius_0 -> 0

    def _q(self):
        return jnp.minimum(axis_ratio_from(self.ell_comps), _CHAMELEON_Q_MAX)

    def quadratic_form(self):
        # r^2 = R^2 / q with PyAutoGalaxy's capped q.
        q = self._q()
        a_yy, a_xx, a_xy = circular_quadratic_form(self.ell_comps)
        return a_yy / q, a_xx / q, a_xy / q

    positive_parameters: ClassVar[tuple] = ('core_radius_0', 'core_radius_1')

    def law(self):
        q = self._q()
        f = (1.0 + q) ** 2
        return LAW_CHAMELEON, (self.intensity / (1.0 + q), 4.0 * self.core_radius_0**2 / f, 4.0 * self.core_radius_1**2 / f)

    def brightness(self, s):
        return _chameleon_brightness(s, self.intensity, self.core_radius_0, self.core_radius_1, self._q())

    def total_flux(self, pixel_scales):
        return _chameleon_total_flux(self.intensity, self.core_radius_0, self.core_radius_1, self._q(), pixel_scales)


@light_profile
class ChameleonSph(_Spherical, LightProfile):
    """Spherical :class:`Chameleon` (PyAutoGalaxy caps q at 0.99999 here too)."""

    centre: Pair = (0.0, 0.0)
    intensity: float = 0.1
    core_radius_0: float = 0.01
    core_radius_1: float = 0.05

    has_cusp: ClassVar[bool] = True

    def quadratic_form(self):
        inv_q = 1.0 / _CHAMELEON_Q_MAX
        return inv_q, inv_q, 0.0

    positive_parameters: ClassVar[tuple] = ('core_radius_0', 'core_radius_1')

    def law(self):
        q = _CHAMELEON_Q_MAX
        f = (1.0 + q) ** 2
        return LAW_CHAMELEON, (self.intensity / (1.0 + q), 4.0 * self.core_radius_0**2 / f, 4.0 * self.core_radius_1**2 / f)

    def brightness(self, s):
        return _chameleon_brightness(s, self.intensity, self.core_radius_0, self.core_radius_1, _CHAMELEON_Q_MAX)

    def total_flux(self, pixel_scales):
        return _chameleon_total_flux(self.intensity, self.core_radius_0, self.core_radius_1, _CHAMELEON_Q_MAX, pixel_scales)


# ---- point source ---------------------------------------------------------------------------------------------------


@light_profile
class PointSource(LightProfile):
    """An unresolved source: the PSF shifted to ``centre`` (sub-pixel, by cubic convolution interpolation of the PSF
    image, Keys 1981), scaled so its pixels sum to ``intensity`` (its total flux, for a unit-sum PSF). Because the
    shift is continuous, the centre has a gradient. Added after convolution. PyAutoGalaxy ``lp.PointSource`` places
    a delta on one sub-pixel instead."""

    centre: Pair = (0.0, 0.0)
    intensity: float = 0.1

    operated: ClassVar[bool] = True

    def quadratic_form(self):
        return (1.0, 1.0, 0.0)

    def brightness(self, s):
        raise TypeError("a PointSource has no surface-brightness law; it is the shifted PSF")

    def total_flux(self, pixel_scales=None):
        return self.intensity


#: The classes of this module, by name (used by model files and serialisation).
PROFILES = {
    cls.__name__: cls
    for cls in [
        Sersic,
        SersicSph,
        Exponential,
        ExponentialSph,
        DevVaucouleurs,
        DevVaucouleursSph,
        SersicCore,
        SersicCoreSph,
        ExponentialCore,
        Gaussian,
        GaussianSph,
        Moffat,
        MoffatSph,
        ElsonFreeFall,
        ElsonFreeFallSph,
        Chameleon,
        ChameleonSph,
        PointSource,
    ]
}
