"""Latent variables: quantities derived from a fit's parameters (fluxes, magnitudes, shapes, sizes), evaluated over
posterior draws and summarised (PyAutoFit's ``compute_latent_variables`` / ``compute_latent_samples``, with
PyAutoGalaxy's catalogue widened).

The catalogue (each kind switched on or off in ``latent.yaml``, shipped with the package; ``LatentConfig`` merges
per-analysis overrides on top). Keys are ``galaxies.<galaxy>.<component>.<quantity>`` or
``galaxies.<galaxy>.<quantity>``:

==============================  ==================================  ===============================================
kind                            key suffix                          definition
==============================  ==================================  ===============================================
``profile_total_flux``          ``<component>.total_flux``          ``profile.total_flux(pixel_scales)``: the
                                                                    analytic integral over the plane over the pixel
                                                                    area, in data units (numerical for the
                                                                    core-Sersics, which have no closed form); a
                                                                    ``Basis`` is the sum of its members; linear
                                                                    profiles at their solved intensities
``profile_axis_ratio``          ``<component>.axis_ratio``          ``q = (1 - |e|) / (1 + |e|)`` of ``ell_comps``
``profile_position_angle``      ``<component>.position_angle``      ``phi = atan2(e_y, e_x) / 2`` in degrees,
                                                                    counter-clockwise from +x, in (-45, 135]
                                                                    (PyAutoGalaxy's ``convert``; geometry.py)
``profile_effective_radius_kpc`` ``<component>.effective_radius_kpc``  circularised half-light radius (below) x
                                                                    the proper kpc per arcsec at the galaxy's z
``galaxy_total_flux``           ``total_flux``                      sum of the component fluxes
``galaxy_magnitude``            ``magnitude``                       ``-2.5 log10(F) + zp`` (AB when ``zp`` is the
                                                                    image's AB zero point in its data units)
``galaxy_flux_mujy``            ``flux_mujy``                       ``10^((23.9 - magnitude) / 2.5)`` micro-Jansky
                                                                    (23.9 = the AB magnitude of 1 uJy, Oke & Gunn
                                                                    1983), computed as ``F 10^((23.9 - zp) / 2.5)``
``galaxy_effective_radius``     ``effective_radius``                half-light radius of all components together,
                                                                    arcsec (below)
``galaxy_effective_radius_kpc`` ``effective_radius_kpc``            the same in proper kpc
``galaxy_bulge_to_total``       ``bulge_to_total``                  flux of the component named ``bulge`` over the
                                                                    galaxy's total flux
==============================  ==================================  ===============================================

Definitions and rules:

* Component half-light radius (``<component>.effective_radius_kpc``): the radius of the circle of the same area as
  the isophote that holds half the profile's light (the "circularised" radius PyAutoGalaxy's laws use). It is
  ``effective_radius`` for the Sersic family (Sersic, Exponential, DevVaucouleurs and their Sph variants; exact up
  to the b_n formula, ``light.sersic_constant``); ``sigma sqrt(2 ln 2 / q)`` for a Gaussian; ``(alpha / sqrt(q))
  sqrt(2^(1/(beta-1)) - 1)`` for a Moffat and ``a sqrt(2^(1/(eta-1)) - 1)`` for an Elson-Fall-Freeman (NaN where the
  flux diverges, beta or eta <= 1); for a Chameleon ``sqrt(q) r`` with ``r^2 = u^2 - a_1``, ``u = ((a_1 - a_0)/D +
  D)/2``, ``D = (sqrt(a_1) - sqrt(a_0))/2`` (its enclosed flux integrates in closed form); numerical for the
  core-Sersics (Gauss-Legendre quadrature of ``2 pi R I(R)`` in ``log R`` and a root of the cubic Hermite
  interpolant of the cumulative over 1e-8..1e4 effective radii; relative accuracy ~1e-6). Point sources and bases
  have none.
* Galaxy half-light radius (``effective_radius``): the radius of the circular aperture about the galaxy's
  flux-weighted centre (``sum F_i c_i / sum F_i`` over its components) that encloses half the summed analytic total
  flux. The enclosed flux is the cumulative integral in ``log r`` of ``r^2 \\oint I(r, theta) d theta`` (the summed
  brightness of every component, point sources as steps of their flux at their distance from the centre): periodic
  trapezoid rule over 64 angles, 4-point Gauss-Legendre on 96 panels in ``log r`` between ``1e-8`` times the
  smallest component size and twice the largest ``distance + major-axis half-light radius`` (so the aperture holds
  at least half of every component), the light inside the innermost radius taken as flat, and a root of the cubic
  Hermite interpolant (values and exact derivatives at the panel edges). Its relative accuracy is ~1e-5 for
  concentric components (measured against the exact half-light radius of galaxyfit's Sersic: 2e-6 at n = 4 and 6,
  1.3e-5 at n = 1, 4e-5 at n = 0.5; tests/test_latent.py checks 1e-3 against a Sersic's R_e and against a
  brute-force pixel-grid integration of a bulge + disk); it degrades for a compact component far off the flux-weighted centre (the 64 angles then under-sample it)
  and near a point source's step. It is 0 when point sources alone hold half the light at the centre, NaN when
  the galaxy has no extended light or its total flux is not positive and finite. For one elliptical profile it
  exceeds the circularised radius (a circle is not the profile's isophote).
* Sizes in kpc: ``D_A(z) theta`` with ``D_A`` the analysis' astropy cosmology's angular diameter distance
  (``analysis.cosmology``) and ``theta`` in radians: proper kpc. NaN where ``z <= 0`` or not finite. A galaxy
  whose redshift was not given (``Galaxy(None, ...)``, the default of ``Model(Galaxy)`` and of ``galaxyfit fit``
  without ``--redshift``) has no ``*_kpc`` keys at all.
* Bulge-to-total: the key exists only for galaxies with a component named ``bulge`` (a profile or a basis); it is
  NaN when either flux is NaN or the total is zero.
* Magnitudes and uJy need ``LatentConfig.magnitude_zero_point``; without it they are NaN, with one warning per
  process; a non-positive flux has a NaN magnitude.
* Galaxies with a pixelization get no galaxy-level latents (their reconstruction's flux is not an analytic
  quantity); sky levels (``lp_linear.Sky``) are not galaxy light and enter nothing.
* Any value that cannot be computed (parameters outside the valid domain, a failed linear inversion, a divergent
  flux, an exception) is NaN, never an exception (except ``NotImplementedError`` when nothing is enabled, as in
  PyAutoFit).

Linear light profiles enter at the intensities solved at each draw's non-linear parameters; over posterior draws
(``compute_latent_samples``) each solve is perturbed by a draw from its own Gaussian uncertainty ``N(0, A_PP^-1)``
on the solved set (clipped at 0 where the positive-only solver holds), so flux errors include both.

Files (notes/lifecycle_spec.md): ``files/latent/samples.csv`` (``weight, <latent names>``), ``files/latent/
latent_summary.json`` ({name: {median, lower_1sigma, upper_1sigma, lower_3sigma, upper_3sigma, max_log_likelihood}})
and ``latent.results``.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import math
import warnings
import weakref
from types import MappingProxyType
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np
from galaxyfit import _precision as precision
from galaxyfit._precision import float64_api, in_float64

#: The kinds, in the order their keys appear for a component and for a galaxy.
PROFILE_KINDS = ("profile_total_flux", "profile_axis_ratio", "profile_position_angle", "profile_effective_radius_kpc")
GALAXY_KINDS = ("galaxy_total_flux", "galaxy_magnitude", "galaxy_flux_mujy", "galaxy_effective_radius",
                "galaxy_effective_radius_kpc", "galaxy_bulge_to_total")
KINDS = PROFILE_KINDS + GALAXY_KINDS
_SUFFIX = {
    "profile_total_flux": "total_flux", "profile_axis_ratio": "axis_ratio", "profile_position_angle": "position_angle",
    "profile_effective_radius_kpc": "effective_radius_kpc", "galaxy_total_flux": "total_flux",
    "galaxy_magnitude": "magnitude", "galaxy_flux_mujy": "flux_mujy", "galaxy_effective_radius": "effective_radius",
    "galaxy_effective_radius_kpc": "effective_radius_kpc", "galaxy_bulge_to_total": "bulge_to_total",
}
_ZERO_POINT_KINDS = ("galaxy_magnitude", "galaxy_flux_mujy")

#: AB magnitude of 1 micro-Jansky: -2.5 log10(1e-6 Jy / 3631 Jy) = 23.9 (Oke & Gunn 1983, ApJ 266, 713).
AB_MAGNITUDE_OF_ONE_MICROJANSKY = 23.9
_ARCSEC_IN_RADIANS = math.pi / (180.0 * 3600.0)

# Quadrature of the galaxy half-light radius (module docstring): 96 panels x (4 nodes + 1 edge) x 64 angles, i.e.
# ~31,000 brightness evaluations per component and draw.
_GALAXY_PANELS, _GALAXY_ANGLES = 96, 64
# The innermost radius is this fraction of the smallest component's size: a Sersic n = 6 holds 1e-5 of its light
# inside 1e-4 R_e (too much to neglect) and 1e-12 inside 1e-8 R_e.
_GALAXY_INNER, _GALAXY_OUTER = 1e-8, 2.0
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(4)
# One profile's numerical half-light radius (the core-Sersics): log R over 1e-8..1e4 effective radii, as the flux.
_RADIAL_PANELS, _RADIAL_RANGE = 256, (math.log(1e-8), math.log(1e4))
_BISECTIONS = 60


# ---- configuration -----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _shipped_defaults() -> tuple[tuple[str, bool], ...]:
    import importlib.resources

    import yaml

    text = importlib.resources.files("galaxyfit").joinpath("latent.yaml").read_text()
    data = yaml.safe_load(text) or {}
    unknown = sorted(set(data) - set(KINDS))
    missing = [k for k in KINDS if k not in data]
    if unknown or missing or not all(isinstance(v, bool) for v in data.values()):
        raise ValueError(f"galaxyfit/latent.yaml is damaged: it must set each of {', '.join(KINDS)} to true or false "
                         f"(unknown: {unknown}, missing: {missing})")
    return tuple((k, data[k]) for k in KINDS)


def default_enabled() -> dict[str, bool]:
    """{kind: enabled} as shipped in ``galaxyfit/latent.yaml``. Raises ValueError if that file is damaged."""
    return dict(_shipped_defaults())


def _checked_kinds(enabled: Mapping) -> None:
    unknown = sorted(str(k) for k in enabled if k not in KINDS)
    if unknown:
        raise ValueError(f"unknown latent variable kind(s) {', '.join(unknown)}; the known kinds are {', '.join(KINDS)}")
    for kind, value in enabled.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"latent kind {kind} must be set to True or False, got {value!r}")


@dataclass(frozen=True)
class LatentConfig:
    """Which latent variables to compute and how.

    enabled : {kind: bool}; the kinds given override the shipped defaults (``default_enabled()``), the others keep
        them. Raises ValueError for an unknown kind (listing the known ones) or a value that is not a bool.
    magnitude_zero_point : the image's AB zero point in its data units (mag = -2.5 log10(flux) + zp); None leaves
        magnitudes and micro-Jansky fluxes NaN (with one warning per process).
    draws : posterior draws for ``compute_latent_samples`` (PyAutoFit's default, 100); >= 1.
    batch_size : draws evaluated per compiled, vmapped call (None: 64); >= 1.
    seed : the seed of the draws (and of the linear solves' uncertainty draws).
    """

    enabled: Mapping[str, bool] = field(default_factory=dict)
    magnitude_zero_point: float | None = None
    draws: int = 100
    batch_size: int | None = None
    seed: int = 0

    def __post_init__(self):
        given = dict(self.enabled or {})
        _checked_kinds(given)
        merged = default_enabled()
        merged.update({k: bool(v) for k, v in given.items()})
        object.__setattr__(self, "enabled", MappingProxyType(merged))  # read-only, as the config is frozen
        zp = self.magnitude_zero_point
        if zp is not None:
            if isinstance(zp, bool) or not isinstance(zp, (int, float, np.integer, np.floating)) or not math.isfinite(float(zp)):
                raise ValueError(f"magnitude_zero_point must be a finite number (AB magnitudes) or None, got {zp!r}")
            object.__setattr__(self, "magnitude_zero_point", float(zp))
        if isinstance(self.draws, bool) or not isinstance(self.draws, (int, np.integer)) or self.draws < 1:
            raise ValueError(f"draws must be a positive integer, got {self.draws!r}")
        if self.batch_size is not None and (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer))
                                            or self.batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {self.batch_size!r}")

    def __hash__(self):
        return hash((tuple(sorted(self.enabled.items())), self.magnitude_zero_point, self.draws, self.batch_size, self.seed))

    def to_dict(self) -> dict:
        """Plain JSON-able form (for settings files and identifiers): {"enabled": {...}, "magnitude_zero_point",
        "draws", "batch_size", "seed"}; ``LatentConfig(**d)`` rebuilds it."""
        return {"enabled": dict(self.enabled), "magnitude_zero_point": self.magnitude_zero_point, "draws": self.draws,
                "batch_size": self.batch_size, "seed": self.seed}

    def is_enabled(self, kind: str) -> bool:
        """Whether ``kind`` is on; raises ValueError for an unknown kind."""
        _checked_kinds({kind: True})
        return bool(self.enabled[kind])

    def replace(self, **changes) -> "LatentConfig":
        """A copy with ``changes``; ``enabled`` given here is merged on top of this config's."""
        if "enabled" in changes:
            _checked_kinds(dict(changes["enabled"]))
            changes["enabled"] = {**self.enabled, **changes["enabled"]}
        return dataclasses.replace(self, **changes)


def latent_config_of(analysis, config=None) -> LatentConfig:
    """The LatentConfig to use: ``config`` when given (a LatentConfig, or a dict of {kind: bool} overrides), else
    ``analysis.latent_config`` (the same two forms) when the analysis has one, else the shipped defaults; a zero
    point not set there is taken from ``analysis.magnitude_zero_point`` (or PyAutoGalaxy's ``magzero``)."""
    if config is None:
        config = getattr(analysis, "latent_config", None)
    if config is None:
        config = LatentConfig()
    elif isinstance(config, Mapping):
        config = LatentConfig(enabled=dict(config))
    elif not isinstance(config, LatentConfig):
        raise TypeError(f"a latent config must be a galaxyfit.latent.LatentConfig, a dict of kind -> bool or None, got {type(config).__name__}")
    if config.magnitude_zero_point is None:
        for name in ("magnitude_zero_point", "magzero"):
            zp = getattr(analysis, name, None)
            if zp is not None:
                return config.replace(magnitude_zero_point=zp)
    return config


# ---- static plan: which quantities a model has --------------------------------------------------------------------


def _galaxy_items(galaxies):
    from galaxyfit.search.result import _galaxy_items as items

    return list(items(galaxies))


def _light_members(component) -> list | None:
    """The standard light profiles a galaxy component is made of (a basis: its members), None for anything else
    (a sky level, a pixelization)."""
    from galaxyfit.profiles.basis import Basis
    from galaxyfit.profiles.light import LightProfile

    if isinstance(component, LightProfile):
        return [component]
    if isinstance(component, Basis):
        members = [m for m in component.profile_list if isinstance(m, LightProfile)]
        return members or None
    return None


def _is_point(profile) -> bool:
    from galaxyfit.profiles.light import PointSource

    return isinstance(profile, PointSource)


def _has_ell(profile) -> bool:
    return any(f.name == "ell_comps" for f in dataclasses.fields(profile))


@dataclass(frozen=True)
class _ComponentPlan:
    path: str
    name: str
    is_basis: bool
    keys: dict  # {kind: key}


@dataclass(frozen=True)
class _GalaxyPlan:
    path: str
    components: tuple  # _ComponentPlan of the light components
    keys: dict  # {kind: key}
    bulge: str | None  # path of the component named "bulge"


def _template(model):
    """An instance of ``model`` with linear profiles replaced by standard ones (its structure is every instance's)."""
    from galaxyfit.search.result import linear_profile_paths, with_solved_linear_profiles

    instance = model.instance_from_prior_medians()
    k = len(linear_profile_paths(instance))
    return with_solved_linear_profiles(instance, np.ones(k)) if k else instance, k


def _plan_of(model, config: LatentConfig):
    from galaxyfit.pixelization import Pixelization

    template, n_linear = _template(model)
    on = config.enabled
    galaxies, keys = [], []
    for name, galaxy in _galaxy_items(template.galaxies):
        gpath = f"galaxies.{name}"
        components = []
        # no redshift given: no distance, so no sizes in kpc (rather than sizes at an assumed redshift)
        kpc = galaxy.redshift is not None
        for cname, component in galaxy.components.items():
            members = _light_members(component)
            if members is None:
                continue
            cpath = f"{gpath}.{cname}"
            single = None if len(members) != 1 or not isinstance(component, type(members[0])) else members[0]
            ckeys = {}
            if on["profile_total_flux"]:
                ckeys["profile_total_flux"] = f"{cpath}.total_flux"
            if single is not None and _has_ell(single):
                for kind in ("profile_axis_ratio", "profile_position_angle"):
                    if on[kind]:
                        ckeys[kind] = f"{cpath}.{_SUFFIX[kind]}"
            if kpc and single is not None and on["profile_effective_radius_kpc"] and _half_light_rule(single) not in (None, "point"):
                ckeys["profile_effective_radius_kpc"] = f"{cpath}.effective_radius_kpc"
            components.append(_ComponentPlan(cpath, cname, single is None, ckeys))
            keys.extend(ckeys.values())
        gkeys = {}
        pixelized = any(isinstance(c, Pixelization) for c in galaxy.components.values())
        bulge = f"{gpath}.bulge" if any(c.path == f"{gpath}.bulge" for c in components) else None
        if components and not pixelized:
            for kind in GALAXY_KINDS:
                if on[kind] and (kind != "galaxy_bulge_to_total" or bulge is not None) and (kpc or kind != "galaxy_effective_radius_kpc"):
                    gkeys[kind] = f"{gpath}.{_SUFFIX[kind]}"
        keys.extend(gkeys.values())
        galaxies.append(_GalaxyPlan(gpath, tuple(components), gkeys, bulge))
    return galaxies, keys, n_linear


# ---- profile geometry and sizes (JAX, jit- and vmap-able) --------------------------------------------------------


def _half_light_rule(profile) -> str | None:
    """Which rule gives the circularised half-light radius of ``profile`` (module docstring), None if none does."""
    from galaxyfit.profiles import light
    from galaxyfit.profiles.parameterised import ReparameterisedProfile

    if isinstance(profile, ReparameterisedProfile):  # Imfit's / GALFIT's parameters of a standard profile
        profile = profile.standard()

    if isinstance(profile, light.PointSource):
        return "point"
    if isinstance(profile, (light.Sersic, light.SersicSph, light.Exponential, light.ExponentialSph,
                            light.DevVaucouleurs, light.DevVaucouleursSph)):
        return "sersic"
    if isinstance(profile, (light.Gaussian, light.GaussianSph)):
        return "gaussian"
    if isinstance(profile, (light.Moffat, light.MoffatSph)):
        return "moffat"
    if isinstance(profile, (light.ElsonFreeFall, light.ElsonFreeFallSph)):
        return "eff"
    if isinstance(profile, (light.Chameleon, light.ChameleonSph)):
        return "chameleon"
    if isinstance(profile, (light.SersicCore, light.SersicCoreSph, light.ExponentialCore, light.ExponentialCoreSph)):
        return "numerical"
    return None


def _power_half_light(width, power):
    # (1 + R^2/w^2)^(-p) encloses 1 - (1 + R^2/w^2)^(1-p) of its light: half at R = w sqrt(2^(1/(p-1)) - 1)
    import jax.numpy as jnp

    converges = power > 1.0
    excess = jnp.where(converges, power - 1.0, 1.0)
    return jnp.where(converges, width * jnp.sqrt(jnp.expm1(math.log(2.0) / excess)), jnp.nan)


def _axis_ratio(profile):
    import jax.numpy as jnp

    from galaxyfit.profiles.geometry import axis_ratio_from

    return jnp.asarray(axis_ratio_from(profile.ell_comps), dtype=jnp.float64)


@in_float64
def circularised_half_light_radius(profile):
    """The circularised half-light radius of one light profile (arcsec; rules in the module docstring); NaN outside
    the valid parameter domain or where the flux diverges, 0 for a point source; None for a profile class no rule
    covers. jit- and vmap-able."""
    import jax.numpy as jnp

    from galaxyfit.profiles import light
    from galaxyfit.profiles.parameterised import ReparameterisedProfile

    if isinstance(profile, ReparameterisedProfile):
        profile = profile.standard()
    from galaxyfit.profiles.validate import sanitized

    rule = _half_light_rule(profile)
    if rule is None:
        return None
    if rule == "point":
        return jnp.asarray(0.0)
    safe, valid = sanitized(profile)
    if rule == "sersic":
        radius = jnp.asarray(safe.effective_radius, dtype=jnp.float64)
    elif rule == "gaussian":
        radius = safe.sigma / jnp.sqrt(_axis_ratio(safe)) * math.sqrt(2.0 * math.log(2.0))
    elif rule == "moffat":
        radius = _power_half_light(safe.alpha / jnp.sqrt(_axis_ratio(safe)), safe.beta)
    elif rule == "eff":
        radius = _power_half_light(jnp.asarray(safe.effective_radius, dtype=jnp.float64), safe.eta)
    elif rule == "chameleon":
        q = safe._q() if isinstance(safe, light.Chameleon) else light._CHAMELEON_Q_MAX
        root_a0, root_a1 = 2.0 * safe.core_radius_0 / (1.0 + q), 2.0 * safe.core_radius_1 / (1.0 + q)
        d = 0.5 * (root_a1 - root_a0)
        same = d == 0.0  # no light at all
        u = 0.5 * ((root_a1**2 - root_a0**2) / jnp.where(same, 1.0, d) + d)
        radius = jnp.where(same, jnp.nan, jnp.sqrt(q * jnp.maximum(u * u - root_a1**2, 0.0)))
    else:
        radius = _numerical_half_light(safe)
    return jnp.where(valid, radius, jnp.nan)


def _gauss_legendre_grid(t_lo, t_hi, panels):
    """(edges (P+1,), nodes (P, n), weights (P, n)) of composite Gauss-Legendre quadrature on [t_lo, t_hi]."""
    import jax.numpy as jnp

    edges = t_lo + (t_hi - t_lo) * jnp.linspace(0.0, 1.0, panels + 1)
    half = 0.5 * (edges[1:] - edges[:-1])
    middle = 0.5 * (edges[1:] + edges[:-1])
    nodes = middle[:, None] + half[:, None] * _GL_NODES[None, :]
    return edges, nodes, half[:, None] * _GL_WEIGHTS[None, :]


def _hermite_crossing(edges, cumulative, derivative, target):
    """The ``t`` where the cubic Hermite interpolant of ``cumulative`` (values and derivatives at ``edges``) first
    reaches ``target``, by bisection inside the first panel whose end reaches it; ``-inf`` when the first edge
    already does, NaN when no edge does."""
    import jax
    import jax.numpy as jnp

    reached = cumulative >= target
    first = jnp.argmax(reached)
    k = jnp.clip(first - 1, 0, edges.shape[0] - 2)
    t0, width = edges[k], edges[k + 1] - edges[k]
    c0, c1 = cumulative[k], cumulative[k + 1]
    g0, g1 = derivative[k] * width, derivative[k + 1] * width

    def value(s):
        s2, s3 = s * s, s * s * s
        return (2 * s3 - 3 * s2 + 1) * c0 + (s3 - 2 * s2 + s) * g0 + (3 * s2 - 2 * s3) * c1 + (s3 - s2) * g1

    def halve(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        below = value(mid) < target
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, _BISECTIONS, halve, (jnp.zeros_like(t0), jnp.ones_like(t0)))
    t = t0 + 0.5 * (lo + hi) * width
    return jnp.where(~jnp.any(reached), jnp.nan, jnp.where(first == 0, -jnp.inf, t))


def _numerical_half_light(profile):
    """Circularised half-light radius of a profile whose law is ``brightness(R^2)`` with a unit-determinant
    quadratic form (the core-Sersics): the enclosed light is ``int 2 pi R^2 I(R^2) d log R``."""
    import jax.numpy as jnp

    scale = jnp.asarray(profile.effective_radius, dtype=jnp.float64)
    edges, nodes, weights = _gauss_legendre_grid(_RADIAL_RANGE[0], _RADIAL_RANGE[1], _RADIAL_PANELS)

    def ring(u):
        radius = scale * jnp.exp(u)
        return 2.0 * jnp.pi * radius * radius * profile.brightness(radius * radius)

    cumulative = jnp.concatenate([jnp.zeros(1), jnp.cumsum(jnp.sum(weights * ring(nodes), axis=1))])
    u = _hermite_crossing(edges, cumulative, ring(edges), 0.5 * cumulative[-1])
    return scale * jnp.exp(u)


def _stacked(profiles):
    """One profile of the class of ``profiles`` whose every field holds the (n,) stack of theirs (for vmap/scan)."""
    import jax
    import jax.numpy as jnp

    return jax.tree_util.tree_map(lambda *leaves: jnp.stack([jnp.asarray(v, dtype=jnp.float64) for v in leaves]), *profiles)


@dataclass
class _Members:
    """The standard light profiles of a galaxy as arrays (n,) in member order: total flux (data units),
    circularised half-light radius (arcsec; None where no rule covers a member's class), centre, axis ratio; the
    sanitised extended members stacked per class (for the summed brightness), and which members are point
    sources. Per class, not per member, so that the compiled program does not grow with an MGE's size."""

    flux: object
    radius: object
    cy: object
    cx: object
    q: object
    extended: list  # stacked sanitised profiles, one per class of extended members
    points: np.ndarray  # bool (n,)
    radius_known: bool


def _members_table(members, pixel_scales, with_radius: bool) -> _Members:
    import jax
    import jax.numpy as jnp

    from galaxyfit.profiles.validate import sanitized

    n = len(members)
    flux, radius, cy, cx, q = (jnp.zeros(n) for _ in range(5))
    by_class: dict = {}
    for i, m in enumerate(members):
        by_class.setdefault(type(m), []).append(i)
    extended, known = [], True
    points = np.array([_is_point(m) for m in members], dtype=bool)
    for cls, index in by_class.items():
        group = _stacked([members[i] for i in index])
        index = np.asarray(index)
        flux = flux.at[index].set(jax.vmap(lambda p: jnp.asarray(p.total_flux(pixel_scales), dtype=jnp.float64))(group))
        cy = cy.at[index].set(group.centre[0])
        cx = cx.at[index].set(group.centre[1])
        q = q.at[index].set(jax.vmap(_axis_ratio)(group) if _has_ell(members[index[0]]) else 1.0)
        if with_radius:
            if _half_light_rule(members[index[0]]) is None:
                known = False
            else:
                radius = radius.at[index].set(jax.vmap(circularised_half_light_radius)(group))
        if not _is_point(members[index[0]]):
            extended.append(jax.vmap(lambda p: sanitized(p)[0])(group))
    return _Members(flux, radius if with_radius else None, cy, cx, q, extended, points, known and with_radius)


def _galaxy_half_light_radius(table: _Members, area):
    """Half-light radius (arcsec) of the circular aperture about the flux-weighted centre of a galaxy's members
    (``_members_table``; point sources as steps), ``area`` the pixel area (arcsec^2). Method and accuracy: module
    docstring."""
    import jax
    import jax.numpy as jnp

    if not table.radius_known or table.points.all():
        return jnp.asarray(jnp.nan)
    total = jnp.sum(table.flux)
    cy = jnp.sum(table.flux * table.cy) / total
    cx = jnp.sum(table.flux * table.cx) / total
    distance = jnp.hypot(table.cy - cy, table.cx - cx)
    extended = ~table.points
    outer = jnp.max(distance + jnp.where(extended, table.radius / jnp.sqrt(table.q), 0.0))
    inner = jnp.min(jnp.where(extended, table.radius * jnp.sqrt(table.q), jnp.inf))
    t_lo, t_hi = jnp.log(_GALAXY_INNER * inner), jnp.log(_GALAXY_OUTER * jnp.maximum(outer, inner))
    edges, nodes, weights = _gauss_legendre_grid(t_lo, t_hi, _GALAXY_PANELS)
    theta = 2.0 * np.pi * np.arange(_GALAXY_ANGLES) / _GALAXY_ANGLES
    sin, cos = np.sin(theta), np.cos(theta)

    def brightness(y, x):
        summed = jnp.zeros(jnp.broadcast_shapes(jnp.shape(y), jnp.shape(x)))
        for group in table.extended:  # a loop over the members of a class: one copy of its law in the program
            summed = jax.lax.scan(lambda acc, p: (acc + p.brightness_at(y, x), None), summed, group)[0]
        return summed

    def ring(t):
        # r^2 * (integral of the summed brightness over the circle) / pixel area: d(enclosed flux) / d log r
        r = jnp.exp(t)[..., None]
        mean = jnp.mean(brightness(cy + r * sin, cx + r * cos), axis=-1)
        return 2.0 * jnp.pi * jnp.exp(2.0 * t) * mean / area

    at_all = ring(jnp.concatenate([edges, nodes.reshape(-1)]))  # one evaluation of the brightness for both grids
    at_edges, at_nodes = at_all[: edges.shape[0]], at_all[edges.shape[0]:].reshape(nodes.shape)
    # the light inside the innermost radius, as if the brightness were flat there (then it is ring / 2)
    core = 0.5 * at_edges[0]
    cumulative = core + jnp.concatenate([jnp.zeros(1), jnp.cumsum(jnp.sum(weights * at_nodes, axis=1))])
    for i in np.flatnonzero(table.points):
        cumulative = cumulative + table.flux[i] * (jnp.exp(edges) >= distance[i])
    t = _hermite_crossing(edges, cumulative, at_edges, 0.5 * total)
    ok = jnp.isfinite(total) & (total > 0) & jnp.isfinite(inner) & (inner > 0) & jnp.isfinite(outer)
    return jnp.where(ok, jnp.exp(t), jnp.nan)


# ---- the compiled evaluation --------------------------------------------------------------------------------------


def _raw_function(analysis, model, galaxies_plan, n_linear, needs):
    """``f(vector, amplitudes) -> {name: scalar}``: the JAX part of every latent (fluxes, shapes, sizes in arcsec,
    redshifts); the rest (magnitudes, kpc, ratios) is numpy (``_finish``)."""
    import jax.numpy as jnp

    from galaxyfit.profiles.geometry import axis_ratio_and_angle_from, ell_comps_are_valid
    from galaxyfit.search.result import with_solved_linear_profiles

    pixel_scales = analysis.dataset.pixel_scales
    scales = (pixel_scales, pixel_scales) if np.ndim(pixel_scales) == 0 else tuple(pixel_scales)
    area = float(scales[0]) * float(scales[1])

    def f(vector, amplitudes):
        instance = model.instance_from_vector(vector)
        if n_linear:
            instance = with_solved_linear_profiles(instance, amplitudes)
        out = {}
        for gplan, (_, galaxy) in zip(galaxies_plan, _galaxy_items(instance.galaxies)):
            out[f"z|{gplan.path}"] = jnp.asarray(jnp.nan if galaxy.redshift is None else galaxy.redshift, dtype=jnp.float64)
            if not gplan.components:
                continue
            components = galaxy.components
            member_lists = [_light_members(components[cplan.name]) for cplan in gplan.components]
            members = [m for ms in member_lists for m in ms]
            with_radius = needs["galaxy_radius"] or any("profile_effective_radius_kpc" in c.keys for c in gplan.components)
            table = _members_table(members, pixel_scales, with_radius)
            first = np.cumsum([0] + [len(ms) for ms in member_lists])
            for j, cplan in enumerate(gplan.components):
                out[f"flux|{cplan.path}"] = jnp.sum(table.flux[first[j]:first[j + 1]])
                if "profile_axis_ratio" in cplan.keys or "profile_position_angle" in cplan.keys:
                    ell = tuple(jnp.asarray(e, dtype=jnp.float64) for e in member_lists[j][0].ell_comps)
                    q, phi = axis_ratio_and_angle_from(ell)
                    valid = ell_comps_are_valid(ell)
                    out[f"q|{cplan.path}"] = jnp.where(valid, q, jnp.nan)
                    out[f"pa|{cplan.path}"] = jnp.where(valid, phi, jnp.nan)
                if "profile_effective_radius_kpc" in cplan.keys:
                    out[f"radius|{cplan.path}"] = table.radius[first[j]]
            if gplan.keys:
                out[f"flux|{gplan.path}"] = jnp.sum(table.flux)
                if "galaxy_effective_radius" in gplan.keys or "galaxy_effective_radius_kpc" in gplan.keys:
                    out[f"radius|{gplan.path}"] = _galaxy_half_light_radius(table, area)
        return out

    return f


_zero_point_warned = False


def _warn_zero_point_once():
    global _zero_point_warned
    if not _zero_point_warned:
        _zero_point_warned = True
        warnings.warn("latent magnitudes and micro-Jansky fluxes are NaN: no magnitude_zero_point was given (set "
                      "LatentConfig(magnitude_zero_point=...) or analysis.magnitude_zero_point, or disable "
                      "galaxy_magnitude and galaxy_flux_mujy)", stacklevel=3)


def _kpc_per_arcsec(cosmology, redshifts: np.ndarray) -> np.ndarray:
    """Proper kpc per arcsec, ``D_A(z) * (1 arcsec in radians)``; NaN where z <= 0, z is not finite or the
    cosmology fails."""
    import astropy.units as u

    z = np.asarray(redshifts, dtype=np.float64)
    out = np.full(z.shape, np.nan)
    ok = np.isfinite(z) & (z > 0)
    if ok.any():
        unique, inverse = np.unique(z[ok], return_inverse=True)
        try:
            distance = np.atleast_1d(cosmology.angular_diameter_distance(unique).to_value(u.kpc))
            out[ok] = distance[inverse] * _ARCSEC_IN_RADIANS
        except Exception:  # noqa: BLE001 - a derived quantity never stops a run
            pass
    return out


def _finish(raw: dict, galaxies_plan, config: LatentConfig, cosmology, keys: list[str]) -> np.ndarray:
    """(n, len(keys)) values from the raw arrays (n,), non-finite values as NaN."""
    n = len(next(iter(raw.values()))) if raw else 0
    columns: dict[str, np.ndarray] = {}
    zp = config.magnitude_zero_point
    for gplan in galaxies_plan:
        for cplan in gplan.components:
            for kind, key in cplan.keys.items():
                if kind == "profile_total_flux":
                    columns[key] = raw[f"flux|{cplan.path}"]
                elif kind == "profile_axis_ratio":
                    columns[key] = raw[f"q|{cplan.path}"]
                elif kind == "profile_position_angle":
                    columns[key] = raw[f"pa|{cplan.path}"]
                else:
                    columns[key] = raw[f"radius|{cplan.path}"] * _kpc_per_arcsec(cosmology, raw[f"z|{gplan.path}"])
        if not gplan.keys:
            continue
        total = raw[f"flux|{gplan.path}"]
        with np.errstate(divide="ignore", invalid="ignore"):
            for kind, key in gplan.keys.items():
                if kind == "galaxy_total_flux":
                    columns[key] = total
                elif kind == "galaxy_magnitude":
                    columns[key] = (np.where(total > 0, -2.5 * np.log10(np.where(total > 0, total, 1.0)), np.nan) + zp
                                    if zp is not None else np.full(n, np.nan))
                elif kind == "galaxy_flux_mujy":
                    columns[key] = total * 10.0 ** ((AB_MAGNITUDE_OF_ONE_MICROJANSKY - zp) / 2.5) if zp is not None else np.full(n, np.nan)
                elif kind == "galaxy_effective_radius":
                    columns[key] = raw[f"radius|{gplan.path}"]
                elif kind == "galaxy_effective_radius_kpc":
                    columns[key] = raw[f"radius|{gplan.path}"] * _kpc_per_arcsec(cosmology, raw[f"z|{gplan.path}"])
                else:  # bulge-to-total
                    columns[key] = raw[f"flux|{gplan.bulge}"] / np.where(total != 0, total, np.nan)
    values = np.column_stack([np.asarray(columns[k], dtype=np.float64) for k in keys]) if keys else np.zeros((n, 0))
    return np.where(np.isfinite(values), values, np.nan)


@dataclass
class _Compiled:
    model: object
    galaxies: list
    keys: list
    n_linear: int
    raw: object  # the Python function
    batched: object  # jit(vmap(raw)), or jit(lax.map(raw)) for a model with linear objects
    single: object  # jit(raw)


_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _compiled(analysis, model, config: LatentConfig) -> _Compiled:
    """The plan and compiled functions of (analysis, model, enabled kinds). They depend on the analysis only through
    its pixel scales and how it batches the model, so they are shared by every analysis and model of one structure
    (``galaxyfit.search.compiled_cache``); a model that gives no key keeps them on the analysis (latents of one model
    are evaluated many times: each call would otherwise compile again)."""
    from galaxyfit.search import compiled_cache

    enabled = tuple(sorted(config.enabled.items()))
    structure = compiled_cache.model_key(model) if compiled_cache.ENABLED else None
    if structure is not None and hasattr(analysis, "dataset"):
        scales = tuple(float(s) for s in np.broadcast_to(np.asarray(analysis.dataset.pixel_scales, dtype=np.float64), 2))
        one_at_a_time = _one_at_a_time(analysis, model)
        key = ("latents", structure, scales, enabled, one_at_a_time)
        # a copy of the model: a later change to the caller's must not reach functions compiled for its old structure
        entry, _ = compiled_cache.CACHE.get_or_make(
            key, lambda: _make_compiled(analysis, copy.deepcopy(model), config, one_at_a_time))
        return entry
    signature = (id(model), enabled)
    try:
        per_analysis = _CACHE.setdefault(analysis, {})
    except TypeError:  # an analysis that cannot be weakly referenced: no cache
        per_analysis = {}
    entry = per_analysis.get(signature)
    if entry is not None and entry.model is model:
        return entry
    entry = _make_compiled(analysis, model, config, _one_at_a_time(analysis, model))
    per_analysis[signature] = entry
    return entry


def _make_compiled(analysis, model, config: LatentConfig, one_at_a_time: bool) -> _Compiled:
    import jax

    galaxies, keys, n_linear = _plan_of(model, config)
    needs = {"galaxy_radius": config.enabled["galaxy_effective_radius"] or config.enabled["galaxy_effective_radius_kpc"]}
    raw = _raw_function(analysis, model, galaxies, n_linear, needs)
    if one_at_a_time:
        # as its likelihood is batched: a vmap of an MGE's latents compiled for twice as long as one evaluation
        batched = precision.jit(lambda vectors, amplitudes: jax.lax.map(lambda pair: raw(*pair), (vectors, amplitudes)))
    else:
        batched = precision.jit(jax.vmap(raw))
    return _Compiled(model, galaxies, keys, n_linear, raw, batched, precision.jit(raw))


def _one_at_a_time(analysis, model) -> bool:
    """Whether the analysis evaluates this model's likelihood one vector at a time (``batch_chunk_size == 1``: linear
    objects); an analysis without that method is vmapped."""
    try:
        return analysis.batch_chunk_size(model) == 1
    except Exception:  # noqa: BLE001 - an analysis this cannot ask is batched the ordinary way
        return False


# ---- linear amplitudes ----------------------------------------------------------------------------------------------


def _solve(analysis, model, vector):
    """For one vector the solved amplitudes s (k,), the covariance A_PP^-1 on the solved set (k, k; zero elsewhere),
    which amplitudes are free of the positivity constraint (k,), the inversion's status (to be jit-compiled)."""
    import jax.numpy as jnp

    positive_only = analysis.settings.use_positive_only_solver
    inversion = analysis.fit_from(model.instance_from_vector(vector)).inversion
    s = inversion.reconstruction
    free = jnp.asarray([bool(f & 2) or not positive_only for f in inversion.flags])
    solved = free | (s > 0)
    both = solved[:, None] & solved[None, :]
    a = jnp.where(both, inversion.curvature_reg_matrix, jnp.eye(len(free)))
    status = jnp.asarray(inversion.status, dtype=jnp.int32)
    return s, jnp.where(both, jnp.linalg.inv(a), 0.0), free, status


def _solver(analysis, model):
    """solve(vector) -> ``_solve``'s arrays, jit-compiled. Called once per vector (as the likelihood of a model with
    linear objects is batched, ``AnalysisImaging.batch_chunk_size``), so one compilation serves any number of vectors;
    shared by the fits of one model structure and geometry where they can share (``search.compiled_cache``)."""
    from galaxyfit.search.compiled_cache import sharing_of

    sharing = sharing_of(model, analysis)
    if sharing is not None:
        shared, _ = sharing.get_or_make(("latent solve",), lambda template: precision.jit(
            lambda vector, leaves: _solve(template.bind(leaves), template.model, vector)))
        leaves = sharing.arrays
        return lambda vector: shared(vector, leaves)
    return precision.jit(lambda vector: _solve(analysis, model, vector))


@in_float64
def solved_amplitudes(analysis, model, vectors, rng=None) -> np.ndarray | None:
    """(n, k) linear amplitudes (column order of the inversion) for parameter vectors (n, d): each the linear solve
    at that vector, plus, when ``rng`` (a numpy Generator) is given, a draw from its Gaussian uncertainty
    ``N(0, A_PP^-1)`` on the solved set (clipped at 0 where positivity holds). NaN rows where the inversion fails.
    None for a model without linear objects. One jit-compiled solve, called for each vector in turn."""
    from galaxyfit.search.result import linear_profile_paths

    if not linear_profile_paths(model.instance_from_prior_medians()):
        return None
    cache = _CACHE.setdefault(analysis, {}) if _weakrefable(analysis) else {}
    key = ("solver", id(model))
    entry = cache.get(key)
    if entry is None or entry[0] is not model:
        entry = (model, _solver(analysis, model))
        cache[key] = entry
    solve = entry[1]
    results = [[np.asarray(v) for v in solve(vector)] for vector in np.atleast_2d(np.asarray(vectors, dtype=np.float64))]
    s, covariance, free, status = (np.stack([r[i] for r in results]) for i in range(4))
    out = s.astype(np.float64).copy()
    if rng is not None:
        for i, (s_i, c_i, f_i) in enumerate(zip(s, covariance, free)):
            eigenvalues, eigenvectors = np.linalg.eigh(0.5 * (c_i + c_i.T))
            draw = s_i + eigenvectors @ (np.sqrt(np.maximum(eigenvalues, 0.0)) * rng.standard_normal(len(s_i)))
            out[i] = np.where(f_i, draw, np.maximum(draw, 0.0))
    out[status != 0] = np.nan
    return out


def _weakrefable(obj) -> bool:
    try:
        weakref.ref(obj)
        return True
    except TypeError:
        return False


# ---- public API -------------------------------------------------------------------------------------------------------


@in_float64
def latent_keys(analysis, model, config=None) -> list[str]:
    """The names of the latent variables of ``model`` under ``analysis`` (order of ``compute_latent_variables``),
    e.g. ``galaxies.galaxy.bulge.total_flux``, ``galaxies.galaxy.effective_radius_kpc``. ``config``: see
    ``latent_config_of``. Empty when nothing is enabled."""
    config = latent_config_of(analysis, config)
    return list(_compiled(analysis, model, config).keys)


@in_float64
def compute_latent_variables(analysis, parameters, model, config=None) -> tuple:
    """The latent variables at one parameter vector (``model.paths`` order), a tuple of floats aligned with
    ``latent_keys``; linear profiles at the intensities solved there (no uncertainty draw). A value that cannot be
    computed is NaN; an exception anywhere gives all NaN with a warning. Raises NotImplementedError when no latent
    variable is enabled (or the model has none), as PyAutoFit's ``Analysis.compute_latent_variables`` does."""
    config = latent_config_of(analysis, config)
    compiled = _compiled(analysis, model, config)
    if not compiled.keys:
        raise NotImplementedError("no latent variable is enabled for this model (galaxyfit/latent.yaml, LatentConfig)")
    if config.magnitude_zero_point is None and any(k in config.enabled and config.enabled[k] for k in _ZERO_POINT_KINDS):
        _warn_zero_point_once()
    try:
        vector = np.asarray(parameters, dtype=np.float64).reshape(-1)
        if vector.shape != (model.prior_count,):
            raise ValueError(f"{vector.size} parameters given, the model has {model.prior_count}")
        amplitudes = solved_amplitudes(analysis, model, vector[None, :]) if compiled.n_linear else None
        amplitudes = amplitudes[0] if amplitudes is not None else np.zeros(0)
        raw = {name: np.atleast_1d(np.asarray(value, dtype=np.float64)) for name, value in compiled.single(vector, amplitudes).items()}
        values = _finish(raw, compiled.galaxies, config, analysis.cosmology, compiled.keys)[0]
    except Exception as exc:  # noqa: BLE001 - a latent never stops a run
        warnings.warn(f"latent variables could not be computed ({type(exc).__name__}: {exc}); they are NaN", stacklevel=2)
        values = np.full(len(compiled.keys), np.nan)
    return tuple(float(v) for v in values)


@dataclass
@float64_api
class LatentSamples:
    """Latent variables over posterior draws.

    keys : k names; values : (n, k) (NaN where a value could not be computed); weights : (n,) summing to 1 (draws
    from the weighted posterior, so equal); max_log_likelihood : {key: value at the maximum-likelihood sample}, or
    None.
    """

    keys: list
    values: np.ndarray
    weights: np.ndarray
    max_log_likelihood: dict | None = None

    def __post_init__(self):
        self.keys = list(self.keys)
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.ndim != 2:
            self.values = self.values.reshape(-1, len(self.keys))
        if self.values.shape[1] != len(self.keys):
            raise ValueError(f"values must have one column per key ({len(self.keys)}), got shape {self.values.shape}")
        self.weights = np.asarray(self.weights, dtype=np.float64)
        if self.weights.shape != (self.values.shape[0],):
            raise ValueError(f"weights must have one entry per draw ({self.values.shape[0]}), got shape {self.weights.shape}")

    def to_csv_text(self) -> str:
        """``weight,<keys>`` then one row per draw, floats written exactly (``repr``), NaN as ``nan``."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["weight", *self.keys])
        writer.writerows([repr(float(w)), *(repr(float(v)) for v in row)] for w, row in zip(self.weights, self.values))
        return buffer.getvalue()

    @classmethod
    def from_csv(cls, path) -> "LatentSamples":
        """Read ``files/latent/samples.csv``. Raises ValueError naming the file for a header without ``weight``
        first, a row of the wrong length or a value that is not a number; OSError if it cannot be read."""
        path = Path(path)
        rows = [row for row in csv.reader(path.read_text().splitlines()) if row]
        if not rows or rows[0][:1] != ["weight"]:
            raise ValueError(f"latent samples file {path}: its first line must be 'weight,<latent names>'")
        keys = rows[0][1:]
        try:
            data = np.array([[float(v) for v in row] for row in rows[1:]], dtype=np.float64).reshape(len(rows) - 1, len(keys) + 1)
        except ValueError:
            raise ValueError(f"latent samples file {path}: a row of the wrong length or a value that is not a number") from None
        return cls(keys, data[:, 1:], data[:, 0])


def _evaluate(compiled: _Compiled, vectors: np.ndarray, amplitudes: np.ndarray, batch: int) -> dict:
    """The raw arrays over ``vectors`` in compiled batches of ``batch`` (the last padded, so one compilation); a
    batch that raises gives NaN rows, with a warning."""
    n = len(vectors)
    parts: list[dict] = []
    names = None
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        v, a = vectors[start:stop], amplitudes[start:stop]
        pad = batch - (stop - start)
        if pad:
            v = np.concatenate([v, np.repeat(v[-1:], pad, axis=0)])
            a = np.concatenate([a, np.repeat(a[-1:], pad, axis=0)])
        try:
            out = {name: np.asarray(value, dtype=np.float64)[: stop - start] for name, value in compiled.batched(v, a).items()}
            names = list(out)
        except Exception as exc:  # noqa: BLE001 - a latent never stops a run
            warnings.warn(f"latent variables of draws {start}..{stop - 1} could not be computed "
                          f"({type(exc).__name__}: {exc}); they are NaN", stacklevel=3)
            out = None
        parts.append((stop - start, out))
    if names is None:
        return {}
    return {name: np.concatenate([p[name] if p is not None else np.full(m, np.nan) for m, p in parts]) for name in names}


@in_float64
def compute_latent_samples(analysis, samples, model, config=None) -> LatentSamples:
    """Latent variables over ``config.draws`` draws (with replacement, seeded by ``config.seed``) from the weighted
    posterior ``samples`` (galaxyfit.search.samples.Samples), and at its maximum-likelihood vector.

    Linear amplitudes are solved draw after draw by one jit-compiled solve (as the likelihood of a model with linear
    objects is batched, ``AnalysisImaging.batch_chunk_size``) and perturbed by their solve's uncertainty; the
    latents themselves are one jit-compiled call per batch of ``config.batch_size`` draws (64 by default): a
    ``vmap``, or a ``lax.map`` where the analysis evaluates the model one vector at a time (an MGE's vmapped latents
    compiled for twice as long). Memory per draw: ~31,000 points of the summed brightness for the galaxy radius.
    Latents NaN in every draw are dropped with a warning (those NaN only for want of a zero point are dropped
    silently: that has its own warning); other NaNs stay in their rows and the summary ignores them. Raises
    NotImplementedError when no latent variable is enabled."""
    config = latent_config_of(analysis, config)
    compiled = _compiled(analysis, model, config)
    if not compiled.keys:
        raise NotImplementedError("no latent variable is enabled for this model (galaxyfit/latent.yaml, LatentConfig)")
    if config.magnitude_zero_point is None and any(config.enabled[k] for k in _ZERO_POINT_KINDS):
        _warn_zero_point_once()
    rng = np.random.default_rng(config.seed)
    weights = np.asarray(samples.weights, dtype=np.float64)
    if weights.size == 0 or not np.isfinite(weights).all() or weights.sum() <= 0:
        warnings.warn("no posterior samples with weight to draw latent variables from", stacklevel=2)
        return LatentSamples([], np.zeros((0, 0)), np.zeros(0), {})
    index = rng.choice(len(weights), size=config.draws, p=weights / weights.sum())
    best = np.asarray(samples.max_log_likelihood_vector, dtype=np.float64)
    vectors = np.vstack([np.asarray(samples.parameters, dtype=np.float64)[index], best[None, :]])
    if compiled.n_linear:
        try:
            drawn = solved_amplitudes(analysis, model, vectors[:-1], rng)
            exact = solved_amplitudes(analysis, model, best[None, :])
            amplitudes = np.vstack([drawn, exact])
        except Exception as exc:  # noqa: BLE001 - a latent never stops a run
            warnings.warn(f"the linear solves for the latent variables failed ({type(exc).__name__}: {exc}); the "
                          "latents of linear profiles are NaN", stacklevel=2)
            amplitudes = np.full((len(vectors), compiled.n_linear), np.nan)
    else:
        amplitudes = np.zeros((len(vectors), 0))
    batch = min(config.batch_size or 64, len(vectors))
    raw = _evaluate(compiled, vectors, amplitudes, batch)
    if raw:
        values = _finish(raw, compiled.galaxies, config, analysis.cosmology, compiled.keys)
    else:
        values = np.full((len(vectors), len(compiled.keys)), np.nan)
    draws, at_best = values[:-1], values[-1]
    keep = ~np.all(np.isnan(draws), axis=0)
    zero_point_keys = {k for g in compiled.galaxies for kind, k in g.keys.items() if kind in _ZERO_POINT_KINDS}
    dropped = [k for k, kept in zip(compiled.keys, keep) if not kept and not (k in zero_point_keys and config.magnitude_zero_point is None)]
    if dropped:
        warnings.warn(f"latent variables NaN in every draw, dropped: {', '.join(dropped)}", stacklevel=2)
    keys = [k for k, kept in zip(compiled.keys, keep) if kept]
    return LatentSamples(keys, draws[:, keep], np.full(len(draws), 1.0 / len(draws)),
                         {k: float(v) for k, v, kept in zip(compiled.keys, at_best, keep) if kept})


def latent_summary(latent_samples: LatentSamples, max_log_likelihood_values=None) -> dict:
    """{key: {"median", "lower_1sigma", "upper_1sigma", "lower_3sigma", "upper_3sigma", "max_log_likelihood"}}:
    weighted quantiles (galaxyfit.search.samples.weighted_quantile) at 50 % and at the Gaussian +-1 and +-3 sigma
    probabilities (15.87/84.13 %, 0.135/99.865 %; from 100 draws the 3 sigma bounds are the extreme draws), over the
    finite values of each latent; NaN (null in JSON) where it has none. ``max_log_likelihood_values``: a mapping
    {key: value} or a sequence aligned with ``latent_samples.keys``; by default the samples' own."""
    from scipy.special import ndtr

    from galaxyfit.search.samples import weighted_quantile

    if max_log_likelihood_values is None:
        best = dict(latent_samples.max_log_likelihood or {})
    elif isinstance(max_log_likelihood_values, Mapping):
        best = dict(max_log_likelihood_values)
    else:
        best = dict(zip(latent_samples.keys, max_log_likelihood_values))
    probabilities = {"median": 0.5, "lower_1sigma": float(ndtr(-1.0)), "upper_1sigma": float(ndtr(1.0)),
                     "lower_3sigma": float(ndtr(-3.0)), "upper_3sigma": float(ndtr(3.0))}
    out = {}
    for j, key in enumerate(latent_samples.keys):
        column = latent_samples.values[:, j]
        finite = np.isfinite(column)
        entry = {}
        for name, p in probabilities.items():
            entry[name] = (weighted_quantile(column[finite], latent_samples.weights[finite], p)
                           if finite.any() and latent_samples.weights[finite].sum() > 0 else math.nan)
        value = best.get(key, math.nan)
        entry["max_log_likelihood"] = float(value) if value is not None else math.nan
        out[key] = entry
    return out


def latent_results_text(summary: dict) -> str:
    """``latent.results``: one line per latent with its maximum-likelihood value, median and 1 and 3 sigma bounds."""
    lines = ["Latent variables (median and credible intervals over posterior draws; galaxyfit.latent)", ""]
    width = max([len("latent variable")] + [len(k) for k in summary])
    header = f"{'latent variable':{width}s} {'max L':>12s} {'median':>12s} {'1 sigma lower':>14s} {'upper':>12s} {'3 sigma lower':>14s} {'upper':>12s}"
    lines += [header, "-" * len(header)]
    for key, e in summary.items():
        lines.append(f"{key:{width}s} {e['max_log_likelihood']:12.6g} {e['median']:12.6g} {e['lower_1sigma']:14.6g} "
                     f"{e['upper_1sigma']:12.6g} {e['lower_3sigma']:14.6g} {e['upper_3sigma']:12.6g}")
    return "\n".join(lines) + "\n"


def write_latent_files(folder, latent_samples: LatentSamples, summary: dict) -> dict[str, Path]:
    """Write, atomically, ``<folder>/files/latent/samples.csv``, ``<folder>/files/latent/latent_summary.json``
    (non-finite values as null) and ``<folder>/latent.results``, ``folder`` being the fit's output folder
    (``<output>/<path_prefix>/<name>/<identifier>``). Returns {"samples", "summary", "results"}: their paths."""
    from galaxyfit.output import write_json_atomic, write_text_atomic

    folder = Path(folder)
    paths = {"samples": folder / "files" / "latent" / "samples.csv",
             "summary": folder / "files" / "latent" / "latent_summary.json",
             "results": folder / "latent.results"}
    write_text_atomic(paths["samples"], latent_samples.to_csv_text())
    write_json_atomic(paths["summary"], summary)
    write_text_atomic(paths["results"], latent_results_text(summary))
    return paths


__all__ = ["KINDS", "LatentConfig", "LatentSamples", "circularised_half_light_radius", "compute_latent_samples",
           "compute_latent_variables", "default_enabled", "latent_config_of", "latent_keys", "latent_results_text",
           "latent_summary", "solved_amplitudes", "write_latent_files"]
