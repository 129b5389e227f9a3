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
PyAutoGalaxy 2026.10.26.1 (``autogalaxy/profiles/light/standard/*.py``); references are given per class. One
departure: for Sersic indices n <= 0.36, where PyAutoGalaxy's b_n is wrong (negative below n = 0.149), b_n is Imfit's
(``sersic_constant``), and indices below ``SERSIC_INDEX_MIN`` are invalid.

``centre`` and ``ell_comps`` are always stored as tuples of two numbers (an array of length 2 is split), so a
likelihood is a scalar and every instance of a class has the same pytree structure.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import ClassVar, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, logsumexp

from galaxyfit.errors import ModelError
from galaxyfit.numbers import real_number
from galaxyfit.profiles.geometry import axis_ratio_from, circular_quadratic_form
from galaxyfit._precision import float64_api, in_float64

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


#: Fields holding a pair of numbers: (y, x) arcsec, or (e_y, e_x).
PAIR_FIELDS = ("centre", "ell_comps")


def _as_pair(value, name):
    """A pair field as a tuple of its two entries. A numpy or JAX array (a tracer too) of length 2, e.g. shape (2,),
    is split into its entries: left whole, it would broadcast through the model and give a vector likelihood, and
    the JAX pytree of the profile would have one leaf where every other instance has two. Raises ModelError, naming
    ``name``, for a sequence or array of another length and for a single number. Anything else (None, the
    placeholder objects JAX's tree utilities put in pytrees) passes untouched, as JAX rebuilds profiles from such
    leaves."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ModelError(f"{name} must be a pair of two numbers, got {len(value)} entries: {value!r}")
        return tuple(_as_float(v, f"{name}[{i}]") for i, v in enumerate(value))
    if isinstance(value, (np.ndarray, np.generic, jax.Array, int, float, complex)) and not isinstance(value, (bool, np.bool_)):
        shape = np.shape(value)
        if len(shape) == 0 or shape[0] != 2:
            raise ModelError(f"{name} must be a pair of two numbers (an array of length 2), got a value of shape {shape}: {value!r}")
        return (_as_float(value[0], f"{name}[0]"), _as_float(value[1], f"{name}[1]"))
    return value


def _post_init(self):
    for field in dataclasses.fields(self):
        name = f"{type(self).__name__}.{field.name}"
        value = getattr(self, field.name)
        value = _as_pair(value, name) if field.name in PAIR_FIELDS else _as_float(value, name)
        object.__setattr__(self, field.name, value)


def light_profile(cls):
    """Class decorator: a frozen dataclass registered as a JAX pytree whose fields are all data leaves."""
    cls.__post_init__ = _post_init
    cls = dataclasses.dataclass(frozen=True)(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    return jax.tree_util.register_dataclass(cls, data_fields=names, meta_fields=[])


@float64_api
class LightProfile:
    """Shared behaviour; concrete profiles are ``@light_profile`` dataclasses below."""

    #: Already convolved with the PSF: added to the model after convolution (PyAutoGalaxy's ``lp_operated``).
    operated: ClassVar[bool] = False
    #: The law is not smooth at the centre (a cusp or kink): the central pixels need the cusp-resolving rule.
    has_cusp: ClassVar[bool] = False
    #: Fields that must be strictly positive for the law to make sense (sizes, indices, slopes).
    positive_parameters: ClassVar[tuple] = ()
    #: Fields with a larger lower bound than positivity, {name: smallest valid value} (validate.py).
    lower_limits: ClassVar[dict] = {}

    def quadratic_form(self):
        return circular_quadratic_form(self.ell_comps)

    def brightness(self, s):  # pragma: no cover - every profile overrides it
        raise NotImplementedError

    def law(self):
        """``(law id, law parameters)`` of the C++ kernel, whose brightness(s) equals this profile's."""
        raise NotImplementedError(f"{type(self).__name__} has no C++ kernel law")

    def total_flux(self, pixel_scales):
        """The analytic (or, where the class says so, numerical) sum over an infinite image of this profile's pixels:
        ``(integral of I dA) / pixel area``, in data units (``intensity`` x pixels). NaN where the parameters lie
        outside the domain the likelihood accepts (galaxyfit.profiles.validate), inf where the integral diverges or
        exceeds float64; never raises for parameter values. Raises ModelError for non-positive ``pixel_scales``."""
        return _with_domain(self, type(self)._flux, pixel_scales)

    def _flux(self, area):  # pragma: no cover - every profile with a law overrides it
        raise NotImplementedError

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self))

    def image_2d_from(self, grid):
        """PyAutoGalaxy's ``image_2d_from``: the surface brightness (data units per pixel area, as ``intensity``)
        at each (y, x) arcsec point of ``grid`` -- a ``galaxyfit.structures.Grid2D`` (returns an ``Array2D``,
        FITS order: ``.native`` row 0 is the bottom row, where PyAutoGalaxy's is the top) or an array (..., 2)
        (returns an array (...)). The points are not integrated over pixels, as PyAutoGalaxy's default grid
        (``over_sample_size=1``); fits integrate (``galaxyfit.integration``). Raises DatasetError for another
        ``grid``."""
        from galaxyfit.structures import points_of

        y, x, wrap = points_of(grid)
        return wrap(self.brightness_at(y, x))

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
    """Pixel area (arcsec^2) of ``pixel_scales``, a number or a (y, x) pair. Raises ModelError unless positive and
    finite: total fluxes are integrals divided by it."""
    scales = (pixel_scales, pixel_scales) if np.ndim(pixel_scales) == 0 else tuple(pixel_scales)
    try:
        if len(scales) != 2:
            raise ValueError
        area = float(scales[0]) * float(scales[1])
        ok = all(math.isfinite(float(v)) and float(v) > 0 for v in scales)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ModelError(f"pixel_scales must be a positive finite number or (y, x) pair of them (arcsec), got {pixel_scales!r}")
    return area


_LN2 = math.log(2.0)


def _scaled_flux(direct, sign, log_magnitude):
    """``direct`` (the plain product formula of a total flux) where it is finite and not a spurious zero, else
    ``sign * exp(log_magnitude)``, the same value from its logarithm: factors such as ``R_e^2`` or ``exp(b)`` may
    overflow on their own for valid parameters whose flux is representable. inf only where the flux exceeds float64."""
    fine = jnp.isfinite(direct) & ((direct != 0.0) | (sign == 0.0))
    return jnp.where(fine, direct, sign * jnp.exp(jnp.where(fine, 0.0, log_magnitude)))


def _safe_log(value):
    # log|value|, 0 at value = 0 (whose flux is 0 through its sign): keeps the unused branch of _scaled_flux finite
    magnitude = jnp.abs(value)
    return jnp.log(jnp.where(magnitude > 0.0, magnitude, 1.0))


def _with_domain(profile, flux_of, pixel_scales):
    """``flux_of(safe_profile, area)`` where ``profile`` lies in the domain the likelihood accepts
    (validate.sanitized), NaN elsewhere. Total fluxes are derived from posterior samples, so they must not raise:
    the sanitised copy holds JAX arrays (never Python-float arithmetic, which raises on overflow or a zero divisor)
    with harmless values where the parameters are invalid."""
    return _flux_in_domain(profile, flux_of, _pixel_area(pixel_scales))


# (the pixel area is a Python float in the formulas; jax < 0.8.1 has no jax.jit(**options) decorator factory)
@functools.partial(jax.jit, static_argnums=(1, 2))
def _flux_in_domain(profile, flux_of, area):
    # One compiled function per profile class (its pytree structure) rather than dozens of operations dispatched one
    # by one: computed eagerly, the first total flux of each class cost ~0.3 s, and a fit reports several.
    from galaxyfit.profiles.validate import sanitized  # validate imports this module

    safe, valid = sanitized(profile)
    return jnp.where(valid, flux_of(safe, area), jnp.nan)


# ---- Sersic family ---------------------------------------------------------------------------------------------

#: Below this index Imfit (and galaxyfit) take b_n from MacArthur et al.'s polynomial instead of Ciotti & Bertin's
#: expansion, which is asymptotic in n and turns negative below n = 0.1486 (a profile rising outwards).
MACARTHUR_MAX_INDEX = 0.36
#: Smallest valid Sersic index (validate.py). The C++ kernel computes b_n itself with Ciotti & Bertin's expansion;
#: ``_kernel_sersic`` rescales R_e and I_e so that it evaluates the MacArthur law, which needs that expansion to be
#: positive (n > 0.1486). MacArthur et al.'s polynomial itself turns negative near n = 0.045.
SERSIC_INDEX_MIN = 0.15


def _ciotti_bertin_terms(n):
    return (
        2.0 * n,
        -1.0 / 3.0,
        4.0 / (405.0 * n),
        46.0 / (25515.0 * n**2),
        131.0 / (1148175.0 * n**3),
        -2194697.0 / (30690717750.0 * n**4),
    )


def _ciotti_bertin(n):
    # summed left to right, as PyAutoGalaxy writes the expression (the same rounding)
    first, *rest = _ciotti_bertin_terms(n)
    for term in rest:
        first = first + term
    return first


def _macarthur(n):
    return 0.01945 - 0.8902 * n + 10.95 * n**2 - 19.67 * n**3 + 13.43 * n**4


@in_float64
def sersic_constant(sersic_index):
    """``b_n`` with ``Gamma(2n) = 2 gamma(2n, b_n)`` (half the light inside ``R_e``), as Imfit computes it: for
    n > 0.36 the asymptotic expansion of Ciotti & Bertin (1999, A&A 352, 447), eq. 18 (as PyAutoGalaxy, for every
    n), for n <= 0.36 the polynomial fit of MacArthur, Courteau & Holtzman (2003, ApJ 582, 689), eq. A2, which halves
    the light to 0.4% for 0.07 <= n <= 0.36 where the expansion fails (it is negative for n < 0.1486)."""
    n = sersic_index
    if isinstance(n, (int, float)) and not isinstance(n, bool):
        n = float(n)
        return _ciotti_bertin(n) if n > MACARTHUR_MAX_INDEX else _macarthur(n)
    # Each branch sees an index inside its own range, so neither overflows nor divides by zero (no NaN gradients);
    # where, not minimum/maximum, whose derivative is 1/2 at a tie (n = 0.36 exactly).
    above = n > MACARTHUR_MAX_INDEX
    large = _ciotti_bertin(jnp.where(above, n, 1.0))
    small = _macarthur(jnp.where(above, MACARTHUR_MAX_INDEX, n))
    return jnp.where(above, large, small)


def _kernel_sersic(intensity, effective_radius, sersic_index):
    """``(I', R', n)`` for which the C++ kernel's Sersic law, whose b_n is always Ciotti & Bertin's ``b'``, equals
    ours: ``b' ((R/R')^(1/n) - 1) = b ((R/R_e)^(1/n) - 1) + b' - b`` with ``R' = R_e (b'/b)^n``, hence
    ``I' = I_e exp(b - b')``. The identity for n > 0.36 (bit for bit); for n <= 0.36 it needs b' > 0
    (:data:`SERSIC_INDEX_MIN`). Core-Sersic takes ``R'`` alone (its normalisation at the break radius absorbs the
    rest)."""
    if isinstance(sersic_index, (int, float)) and sersic_index > MACARTHUR_MAX_INDEX:
        return intensity, effective_radius, sersic_index
    small = sersic_index <= MACARTHUR_MAX_INDEX
    # The unused branch gets an index where it is finite; where, not clip, keeps the derivative 1 at the bounds.
    n = jnp.where(small & (sersic_index >= SERSIC_INDEX_MIN), sersic_index, MACARTHUR_MAX_INDEX)
    cpp_b, b = _ciotti_bertin(n), _macarthur(n)
    radius = jnp.where(small, effective_radius * jnp.exp(n * jnp.log(cpp_b / b)), effective_radius)
    return jnp.where(small, intensity * jnp.exp(b - cpp_b), intensity), radius, sersic_index


def _sersic_brightness(s, intensity, effective_radius, sersic_index):
    re2 = effective_radius * effective_radius
    x = jnp.maximum(s / re2, _S_FLOOR)
    # (R / R_e)^(1/n) = exp(log(s / R_e^2) / (2 n))
    return intensity * jnp.exp(-sersic_constant(sersic_index) * (jnp.exp(jnp.log(x) / (2.0 * sersic_index)) - 1.0))


#: Above this index the Sersic flux uses Stirling's series: the plain formula's terms (~2n log b) cancel to 1e-13
#: relative here and to nothing at n ~ 1e16.
_STIRLING_INDEX = 100.0


def _log_sersic_flux_factor(n):
    """``log(2 pi n e^b b^(-2n) Gamma(2n))``, the Sersic flux over ``I_e R_e^2`` (Graham & Driver 2005, PASA 22, 118,
    eq. 2). For large n, with ``b = 2n + c`` and Stirling's series for ``log Gamma(2n)`` (Abramowitz & Stegun 6.1.41),
    ``log(2 pi n) + c - 2n log1p(c / 2n) + log(2 pi / 2n) / 2 + 1/(24 n) - 1/(2880 n^3) + 1/(40320 n^5)``: no large
    terms cancel, and it tends to ``log(2 pi sqrt(pi n))``."""
    b = sersic_constant(n)
    plain = jnp.log(2.0 * jnp.pi * n) + b - 2.0 * n * jnp.log(b) + gammaln(2.0 * n)
    m = jnp.where(n > _STIRLING_INDEX, n, _STIRLING_INDEX)
    _, c, *rest = _ciotti_bertin_terms(m)
    for term in rest:
        c = c + term  # b - 2n, without the rounding of 2n
    z = 2.0 * m
    stirling = 1.0 / (12.0 * z) - 1.0 / (360.0 * z**3) + 1.0 / (1260.0 * z**5)
    large = jnp.log(2.0 * jnp.pi * m) + c - z * jnp.log1p(c / z) + 0.5 * jnp.log(2.0 * jnp.pi / z) + stirling
    return jnp.where(n > _STIRLING_INDEX, large, plain)


def _sersic_total_flux(intensity, effective_radius, sersic_index, area):
    # integral of I_e exp(-b[(R/R_e)^(1/n) - 1]) 2 pi R dR = 2 pi n R_e^2 I_e e^b b^(-2n) Gamma(2n)  (Graham & Driver 2005, eq. 2)
    log_factor = _log_sersic_flux_factor(sersic_index)
    direct = intensity * effective_radius**2 * jnp.exp(log_factor) / area
    log_magnitude = _safe_log(intensity) + 2.0 * jnp.log(effective_radius) + log_factor - math.log(area)
    return _scaled_flux(direct, jnp.sign(intensity), log_magnitude)


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
    lower_limits: ClassVar[dict] = {'sersic_index': SERSIC_INDEX_MIN}

    def law(self):
        return LAW_SERSIC, _kernel_sersic(self.intensity, self.effective_radius, self.sersic_index)

    def brightness(self, s):
        return _sersic_brightness(s, self.intensity, self.effective_radius, self.sersic_index)

    def _flux(self, area):
        return _sersic_total_flux(self.intensity, self.effective_radius, self.sersic_index, area)


@light_profile
class SersicSph(_Spherical, LightProfile):
    """Spherical :class:`Sersic`."""

    centre: Pair = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6
    sersic_index: float = 4.0

    has_cusp: ClassVar[bool] = True

    positive_parameters: ClassVar[tuple] = ('effective_radius', 'sersic_index')
    lower_limits: ClassVar[dict] = {'sersic_index': SERSIC_INDEX_MIN}

    def law(self):
        return LAW_SERSIC, _kernel_sersic(self.intensity, self.effective_radius, self.sersic_index)

    def brightness(self, s):
        return _sersic_brightness(s, self.intensity, self.effective_radius, self.sersic_index)

    def _flux(self, area):
        return _sersic_total_flux(self.intensity, self.effective_radius, self.sersic_index, area)


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

    def _flux(self, area):
        return _sersic_total_flux(self.intensity, self.effective_radius, 1.0, area)


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

    def _flux(self, area):
        return _sersic_total_flux(self.intensity, self.effective_radius, 1.0, area)


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

    def _flux(self, area):
        return _sersic_total_flux(self.intensity, self.effective_radius, 4.0, area)


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

    def _flux(self, area):
        return _sersic_total_flux(self.intensity, self.effective_radius, 4.0, area)


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


def _log_half_one_plus_exp(s):
    """``log((1 + e^s) / 2)``: accurate where it is ~ s/2 (|s| small, as for a tiny core sharpness) and finite where
    ``e^s`` overflows."""
    near = jnp.abs(s) < 1.0
    return jnp.where(near, jnp.log1p(0.5 * jnp.expm1(jnp.where(near, s, 0.0))), jnp.logaddexp(0.0, s) - _LN2)


def _sersic_core_log_shape(radius, effective_radius, sersic_index, radius_break, gamma, alpha):
    """``log(I(R) / I_b)`` of :func:`_sersic_core_brightness`, rearranged so that no factor overflows on its own:
    with ``t = log(R / r_b)``, ``log I/I_b = (gamma/alpha) log((1 + e^(-alpha t))/2) + k (1 - ((1 + e^(alpha t))/2)
    ^(1/(alpha n)))``, ``k = b (2^(1/alpha) r_b / R_e)^(1/n)`` (the normalisation's exponent; 2^(1/alpha) alone
    overflows for alpha < 1e-3). The bracket is computed with expm1, so it is exact near ``R = r_b``."""
    t = jnp.log(radius / radius_break)
    inner = gamma / alpha * _log_half_one_plus_exp(-alpha * t)
    k = jnp.exp(jnp.log(sersic_constant(sersic_index)) + (_LN2 / alpha + jnp.log(radius_break / effective_radius)) / sersic_index)
    outer = -k * jnp.expm1(_log_half_one_plus_exp(alpha * t) / (alpha * sersic_index))
    return inner + outer


def _sersic_core_total_flux(profile, area):
    """``(integral of I(R) 2 pi R dR) / pixel area`` (no closed form) by Gauss-Legendre quadrature in log R over
    1e-8..1e4 ``R_e`` (relative accuracy ~1e-10 for ordinary parameters), summed in log space
    (:func:`_sersic_core_log_shape`) so that valid extreme parameters give the flux or inf, not NaN."""
    nodes, weights = np.polynomial.legendre.leggauss(96)
    edges = np.linspace(np.log(1e-8), np.log(1e4), 33)
    t = np.concatenate([(b - a) / 2 * nodes + (a + b) / 2 for a, b in zip(edges[:-1], edges[1:])])
    w = np.concatenate([(b - a) / 2 * weights for a, b in zip(edges[:-1], edges[1:])])
    log_radius = jnp.log(profile.effective_radius) + t
    shape = _sersic_core_log_shape(
        jnp.exp(log_radius), profile.effective_radius, profile.sersic_index, profile.radius_break, profile.gamma, profile.alpha
    )
    # I(R) 2 pi R dR with dR = R dt
    log_integral = logsumexp(shape + 2.0 * log_radius + np.log(2.0 * np.pi * w)) - math.log(area)
    intensity = profile.intensity
    return _scaled_flux(intensity * jnp.exp(log_integral), jnp.sign(intensity), _safe_log(intensity) + log_integral)


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
    lower_limits: ClassVar[dict] = {'sersic_index': SERSIC_INDEX_MIN}

    def law(self):
        radius = _kernel_sersic(self.intensity, self.effective_radius, self.sersic_index)[1]
        return LAW_SERSIC_CORE, (self.intensity, radius, self.sersic_index, self.radius_break, self.gamma, self.alpha)

    def brightness(self, s):
        return _sersic_core_brightness(
            s, self.intensity, self.effective_radius, self.sersic_index, self.radius_break, self.gamma, self.alpha
        )

    def _flux(self, area):
        """Numerical (no closed form): see :func:`_sersic_core_total_flux`."""
        return _sersic_core_total_flux(self, area)


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
    lower_limits: ClassVar[dict] = {'sersic_index': SERSIC_INDEX_MIN}

    def law(self):
        radius = _kernel_sersic(self.intensity, self.effective_radius, self.sersic_index)[1]
        return LAW_SERSIC_CORE, (self.intensity, radius, self.sersic_index, self.radius_break, self.gamma, self.alpha)

    def brightness(self, s):
        return _sersic_core_brightness(
            s, self.intensity, self.effective_radius, self.sersic_index, self.radius_break, self.gamma, self.alpha
        )

    def _flux(self, area):
        """Numerical (no closed form): see :func:`_sersic_core_total_flux`."""
        return _sersic_core_total_flux(self, area)


class _ExponentialCoreLaw:
    """The law of the core-Sersic with ``n = 1`` (fields from the classes that use it)."""

    has_cusp: ClassVar[bool] = True
    sersic_index: ClassVar[float] = 1.0

    positive_parameters: ClassVar[tuple] = ('effective_radius', 'radius_break', 'alpha')

    def law(self):
        return LAW_SERSIC_CORE, (self.intensity, self.effective_radius, 1.0, self.radius_break, self.gamma, self.alpha)

    def brightness(self, s):
        return _sersic_core_brightness(
            s, self.intensity, self.effective_radius, 1.0, self.radius_break, self.gamma, self.alpha
        )

    def _flux(self, area):
        """Numerical (no closed form): see :func:`_sersic_core_total_flux`."""
        return _sersic_core_total_flux(self, area)


@light_profile
class ExponentialCore(_ExponentialCoreLaw, LightProfile):
    """:class:`SersicCore` with ``n = 1``. PyAutoGalaxy ``lp.ExponentialCore``."""

    centre: Pair = (0.0, 0.0)
    ell_comps: Pair = (0.0, 0.0)
    effective_radius: float = 0.6
    radius_break: float = 0.01
    intensity: float = 0.05
    gamma: float = 0.25
    alpha: float = 3.0


@light_profile
class ExponentialCoreSph(_Spherical, _ExponentialCoreLaw, LightProfile):
    """Spherical :class:`ExponentialCore` (:class:`SersicCoreSph` with ``n = 1``). PyAutoGalaxy
    ``lp.ExponentialCoreSph``."""

    centre: Pair = (0.0, 0.0)
    effective_radius: float = 0.6
    radius_break: float = 0.01
    intensity: float = 0.05
    gamma: float = 0.25
    alpha: float = 3.0


# ---- Gaussian, Moffat, Elson-Fall-Freeman, Chameleon ----------------------------------------------------------------


def _gaussian_brightness(s, intensity, sigma, q):
    # exp(-R^2 / (2 (sigma/sqrt(q))^2)) = exp(-(q^2 x'^2 + y'^2) / (2 sigma^2)): sigma is the minor-axis width.
    return intensity * jnp.exp(-0.5 * q * s / (sigma * sigma))


def _gaussian_total_flux(intensity, sigma, q, area):
    # integral = I_0 2 pi sigma^2 / q
    direct = intensity * 2.0 * jnp.pi * sigma**2 / q / area
    log_magnitude = _safe_log(intensity) + math.log(2.0 * math.pi) + 2.0 * jnp.log(sigma) - jnp.log(q) - math.log(area)
    return _scaled_flux(direct, jnp.sign(intensity), log_magnitude)


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

    def _flux(self, area):
        return _gaussian_total_flux(self.intensity, self.sigma, axis_ratio_from(self.ell_comps), area)


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

    def _flux(self, area):
        return _gaussian_total_flux(self.intensity, self.sigma, 1.0, area)


def _moffat_brightness(s, intensity, alpha, beta, q):
    # [1 + (R / (alpha/sqrt(q)))^2]^(-beta), Moffat (1969)
    return intensity * jnp.exp(-beta * jnp.log1p(q * s / (alpha * alpha)))


def _power_core_total_flux(intensity, width, power, q, area):
    """``I_0 pi w^2 / (q (p - 1))``, the integral of ``I_0 (1 + q R^2 / w^2)^(-p)`` over the plane, over the pixel
    area; +-inf (the sign of ``I_0``) for ``p <= 1``, where it diverges."""
    converges = power > 1.0
    excess = jnp.where(converges, power - 1.0, 1.0)  # (the divergent branch kept finite)
    direct = intensity * jnp.pi * width**2 / (q * excess) / area
    log_magnitude = _safe_log(intensity) + math.log(math.pi) + 2.0 * jnp.log(width) - jnp.log(q) - jnp.log(excess) - math.log(area)
    sign = jnp.sign(intensity)
    return jnp.where(converges, _scaled_flux(direct, sign, log_magnitude), sign * jnp.inf)


def _moffat_total_flux(intensity, alpha, beta, q, area):
    # integral = I_0 pi alpha^2 / (q (beta - 1)) for beta > 1 (diverges otherwise)
    return _power_core_total_flux(intensity, alpha, beta, q, area)


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

    def _flux(self, area):
        return _moffat_total_flux(self.intensity, self.alpha, self.beta, axis_ratio_from(self.ell_comps), area)


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

    def _flux(self, area):
        return _moffat_total_flux(self.intensity, self.alpha, self.beta, 1.0, area)


def _eff_brightness(s, intensity, effective_radius, eta):
    # Elson, Fall & Freeman (1987, ApJ 323, 54): I_0 (1 + R^2 / a^2)^(-eta)
    return intensity * jnp.exp(-eta * jnp.log1p(s / (effective_radius * effective_radius)))


def _eff_total_flux(intensity, effective_radius, eta, area):
    # integral = I_0 pi a^2 / (eta - 1) for eta > 1 (diverges otherwise)
    return _power_core_total_flux(intensity, effective_radius, eta, 1.0, area)


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

    def _flux(self, area):
        return _eff_total_flux(self.intensity, self.effective_radius, self.eta, area)

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

    def _flux(self, area):
        return _eff_total_flux(self.intensity, self.effective_radius, self.eta, area)


_CHAMELEON_Q_MAX = 0.99999


def _chameleon_brightness(s_elliptical, intensity, core_radius_0, core_radius_1, q):
    # Dutton et al. (2011, MNRAS 417, 1621) "Chameleon": difference of two non-singular isothermal profiles in the
    # elliptical radius r; PyAutoGalaxy caps q at 0.99999.
    f = (1.0 + q) ** 2
    a0 = 4.0 * core_radius_0**2 / f
    a1 = 4.0 * core_radius_1**2 / f
    return intensity / (1.0 + q) * (jax.lax.rsqrt(s_elliptical + a0) - jax.lax.rsqrt(s_elliptical + a1))


def _chameleon_total_flux(intensity, core_radius_0, core_radius_1, q, area):
    # integral over the ellipse = q * 2 pi I_0/(1+q) * (b - a) with a, b = 2 c_{0,1} / (1 + q)
    difference = core_radius_1 - core_radius_0
    direct = 4.0 * jnp.pi * q * intensity * difference / (1.0 + q) ** 2 / area
    log_magnitude = (
        math.log(4.0 * math.pi) + jnp.log(q) + _safe_log(intensity) + _safe_log(difference) - 2.0 * jnp.log1p(q) - math.log(area)
    )
    return _scaled_flux(direct, jnp.sign(intensity) * jnp.sign(difference), log_magnitude)


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

    def _flux(self, area):
        return _chameleon_total_flux(self.intensity, self.core_radius_0, self.core_radius_1, self._q(), area)


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

    def _flux(self, area):
        return _chameleon_total_flux(self.intensity, self.core_radius_0, self.core_radius_1, _CHAMELEON_Q_MAX, area)


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
        """``intensity`` (the PSF sums to one), NaN outside the domain the likelihood accepts; ``pixel_scales`` is
        not used."""
        from galaxyfit.profiles.validate import sanitized

        safe, valid = sanitized(self)
        return jnp.where(valid, safe.intensity, jnp.nan)


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
        ExponentialCoreSph,
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
