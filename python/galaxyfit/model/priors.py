"""Priors on model parameters: the map from the unit hypercube to physical values (for nested sampling), the log
density, and the bounds an optimiser respects. All maps are JAX-traceable, so a batch of unit vectors transforms
inside one compiled, vmapped function.

Each prior object is one parameter: assigning the same object to two attributes links them.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special
from jax.scipy import special as jax_special

from galaxyfit.errors import ModelError


def _backend(value):
    """(array module, ndtri) for ``value``: JAX for JAX arrays and tracers, NumPy/SciPy otherwise -- so that a
    prior evaluated on plain numbers (prior medians, a start vector) runs no JAX operation and compiles nothing."""
    if isinstance(value, jax.Array):
        return jnp, jax_special.ndtri
    return np, scipy.special.ndtri

_ids = itertools.count()


class Prior:
    """Base class; subclasses define ``value_for(unit)``, ``log_prior(value)``, ``limits`` and their fields."""

    fields: tuple[str, ...] = ()

    def __init__(self):
        self.id = next(_ids)

    def value_for(self, unit):  # pragma: no cover - abstract
        raise NotImplementedError

    def log_prior(self, value):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def limits(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    @property
    def median(self) -> float:
        return float(self.value_for(0.5))

    def to_dict(self) -> dict:
        return {"type": type(self).__name__, **{f: getattr(self, f) for f in self.fields}}

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.fields)
        return f"{type(self).__name__}({inner})"


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ModelError(message)


class UniformPrior(Prior):
    """Uniform on [lower_limit, upper_limit] (PyAutoFit's ``UniformPrior``)."""

    fields = ("lower_limit", "upper_limit")

    def __init__(self, lower_limit: float = 0.0, upper_limit: float = 1.0):
        super().__init__()
        _check(math.isfinite(lower_limit) and math.isfinite(upper_limit) and lower_limit < upper_limit,
               f"UniformPrior needs finite lower_limit < upper_limit, got {lower_limit}, {upper_limit}")
        self.lower_limit, self.upper_limit = float(lower_limit), float(upper_limit)

    def value_for(self, unit):
        return self.lower_limit + (self.upper_limit - self.lower_limit) * unit

    def log_prior(self, value):
        xp, _ = _backend(value)
        inside = (value >= self.lower_limit) & (value <= self.upper_limit)
        return xp.where(inside, -math.log(self.upper_limit - self.lower_limit), -xp.inf)

    @property
    def limits(self):
        return (self.lower_limit, self.upper_limit)


class LogUniformPrior(Prior):
    """Uniform in log(value) on [lower_limit, upper_limit], lower_limit > 0."""

    fields = ("lower_limit", "upper_limit")

    def __init__(self, lower_limit: float = 1e-6, upper_limit: float = 1e6):
        super().__init__()
        _check(0 < lower_limit < upper_limit < math.inf, f"LogUniformPrior needs 0 < lower_limit < upper_limit, got {lower_limit}, {upper_limit}")
        self.lower_limit, self.upper_limit = float(lower_limit), float(upper_limit)

    def value_for(self, unit):
        xp, _ = _backend(unit)
        return self.lower_limit * xp.exp(unit * math.log(self.upper_limit / self.lower_limit))

    def log_prior(self, value):
        xp, _ = _backend(value)
        inside = (value >= self.lower_limit) & (value <= self.upper_limit)
        safe = xp.where(inside, value, self.lower_limit)
        return xp.where(inside, -xp.log(safe) - math.log(math.log(self.upper_limit / self.lower_limit)), -xp.inf)

    @property
    def limits(self):
        return (self.lower_limit, self.upper_limit)


class GaussianPrior(Prior):
    """Normal with ``mean`` and ``sigma`` (unbounded)."""

    fields = ("mean", "sigma")

    def __init__(self, mean: float = 0.0, sigma: float = 1.0):
        super().__init__()
        _check(math.isfinite(mean) and sigma > 0 and math.isfinite(sigma), f"GaussianPrior needs a finite mean and sigma > 0, got {mean}, {sigma}")
        self.mean, self.sigma = float(mean), float(sigma)

    def value_for(self, unit):
        _, ndtri = _backend(unit)
        return self.mean + self.sigma * ndtri(unit)

    def log_prior(self, value):
        z = (value - self.mean) / self.sigma
        return -0.5 * z * z - math.log(self.sigma * math.sqrt(2.0 * math.pi))


class TruncatedGaussianPrior(Prior):
    """Normal with ``mean`` and ``sigma`` restricted to [lower_limit, upper_limit] (either may be infinite)."""

    fields = ("mean", "sigma", "lower_limit", "upper_limit")

    def __init__(self, mean: float = 0.0, sigma: float = 1.0, lower_limit: float = -math.inf, upper_limit: float = math.inf):
        super().__init__()
        _check(math.isfinite(mean) and sigma > 0 and lower_limit < upper_limit,
               f"TruncatedGaussianPrior needs sigma > 0 and lower_limit < upper_limit, got {mean}, {sigma}, {lower_limit}, {upper_limit}")
        self.mean, self.sigma, self.lower_limit, self.upper_limit = float(mean), float(sigma), float(lower_limit), float(upper_limit)
        self._cdf_lower = 0.5 * math.erfc(-(self.lower_limit - self.mean) / (self.sigma * math.sqrt(2.0)))
        self._cdf_upper = 0.5 * math.erfc(-(self.upper_limit - self.mean) / (self.sigma * math.sqrt(2.0)))

    def value_for(self, unit):
        xp, ndtri = _backend(unit)
        p = self._cdf_lower + unit * (self._cdf_upper - self._cdf_lower)
        return xp.clip(self.mean + self.sigma * ndtri(p), self.lower_limit, self.upper_limit)

    def log_prior(self, value):
        xp, _ = _backend(value)
        z = (value - self.mean) / self.sigma
        inside = (value >= self.lower_limit) & (value <= self.upper_limit)
        norm = math.log(self.sigma * math.sqrt(2.0 * math.pi) * (self._cdf_upper - self._cdf_lower))
        return xp.where(inside, -0.5 * z * z - norm, -xp.inf)

    @property
    def limits(self):
        return (self.lower_limit, self.upper_limit)


PRIORS = {cls.__name__: cls for cls in (UniformPrior, LogUniformPrior, GaussianPrior, TruncatedGaussianPrior)}


def prior_from_dict(d: dict) -> Prior:
    try:
        cls = PRIORS[d["type"]]
    except KeyError:
        raise ModelError(f"unknown prior type {d.get('type')!r}") from None
    return cls(**{f: d[f] for f in cls.fields})


def unit_for(prior: Prior, value: float) -> float:
    """The unit-cube coordinate of ``value`` (inverse of ``value_for``), e.g. to start a search at a given point."""
    if isinstance(prior, UniformPrior):
        return (value - prior.lower_limit) / (prior.upper_limit - prior.lower_limit)
    if isinstance(prior, LogUniformPrior):
        return math.log(value / prior.lower_limit) / math.log(prior.upper_limit / prior.lower_limit)
    if isinstance(prior, TruncatedGaussianPrior):
        p = float(scipy.special.ndtr((value - prior.mean) / prior.sigma))
        return (p - prior._cdf_lower) / (prior._cdf_upper - prior._cdf_lower)
    if isinstance(prior, GaussianPrior):
        return float(scipy.special.ndtr((value - prior.mean) / prior.sigma))
    raise ModelError(f"no inverse for {type(prior).__name__}")
