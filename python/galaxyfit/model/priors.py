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


def _log_ndtr(value):
    return jax_special.log_ndtr(value) if isinstance(value, jax.Array) else scipy.special.log_ndtr(value)


def _ndtri_exp(y):
    """The standard normal quantile of probability ``exp(y)``, for ``y <= log(0.5)``; traceable.

    Below y = -700, where exp(y) nears float64's underflow, x starts from the tail's asymptote log Phi(x) ~ -x^2/2 -
    log(-x) - log(2 pi)/2 and three Newton steps on log_ndtr, whose slope there is -x - 1/x to 1e-6, reach full
    precision."""
    xp, ndtri = _backend(y)
    deep = xp.clip(y, -1e300, -700.0)
    t = -2.0 * deep
    x = -xp.sqrt(t - xp.log(t) - math.log(2.0 * math.pi))
    for _ in range(3):
        x = x + (_log_ndtr(x) - deep) / (x + 1.0 / x)
    x = xp.where(y == -xp.inf, -xp.inf, x)
    return xp.where(y < -700.0, x, ndtri(xp.exp(xp.maximum(y, -700.0))))


def _log_mass(a: float, b: float) -> float:
    """log of the standard normal probability in [a, b]. Computed on the side of the mean where both limits lie (by
    symmetry, in log space), so a far tail keeps its precision instead of becoming 1 - (1 - tiny) or underflowing;
    across the mean, erf(b) - erf(a) adds two positive numbers."""
    if a > 0.0:
        a, b = -b, -a
    if b <= 0.0:
        log_a, log_b = float(scipy.special.log_ndtr(a)), float(scipy.special.log_ndtr(b))
        return log_b + math.log1p(-math.exp(log_a - log_b)) if log_a < log_b else -math.inf
    return math.log(0.5 * (math.erf(b / math.sqrt(2.0)) - math.erf(a / math.sqrt(2.0))))


def _real(prior: str, field: str, value) -> float:
    """``value`` as a float; ModelError naming the prior and field for anything but a real number (strings, None,
    booleans and complex numbers would fail later with a bare TypeError, or silently count as 0 / 1)."""
    real = isinstance(value, (int, float, np.integer, np.floating)) or (
        isinstance(value, (np.ndarray, jax.Array)) and value.ndim == 0 and value.dtype.kind in "fiu")
    if real and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # a Python int beyond float64
            return math.inf if value > 0 else -math.inf
    raise ModelError(f"{prior}: {field} must be a real number, got {value!r} ({type(value).__name__})")


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
        """Raises ModelError unless both limits are finite real numbers, lower_limit < upper_limit, with a finite
        width."""
        super().__init__()
        lower_limit, upper_limit = _real("UniformPrior", "lower_limit", lower_limit), _real("UniformPrior", "upper_limit", upper_limit)
        _check(math.isfinite(lower_limit) and math.isfinite(upper_limit) and lower_limit < upper_limit,
               f"UniformPrior needs finite lower_limit < upper_limit, got {lower_limit}, {upper_limit}")
        _check(math.isfinite(upper_limit - lower_limit),
               f"UniformPrior: upper_limit - lower_limit overflows float64 ({lower_limit}, {upper_limit}); use a narrower range")
        self.lower_limit, self.upper_limit = lower_limit, upper_limit

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
        """Raises ModelError unless both limits are real numbers with 0 < lower_limit < upper_limit < inf."""
        super().__init__()
        lower_limit, upper_limit = _real("LogUniformPrior", "lower_limit", lower_limit), _real("LogUniformPrior", "upper_limit", upper_limit)
        _check(0 < lower_limit < upper_limit < math.inf, f"LogUniformPrior needs 0 < lower_limit < upper_limit < inf, got {lower_limit}, {upper_limit}")
        self.lower_limit, self.upper_limit = lower_limit, upper_limit
        # a difference of logs, not log(upper / lower): the ratio overflows for limits like 5e-324 and 1e308
        self._log_lower = math.log(lower_limit)
        self._log_width = math.log(upper_limit) - self._log_lower

    def value_for(self, unit):
        xp, _ = _backend(unit)
        return xp.clip(xp.exp(self._log_lower + unit * self._log_width), self.lower_limit, self.upper_limit)

    def log_prior(self, value):
        xp, _ = _backend(value)
        inside = (value >= self.lower_limit) & (value <= self.upper_limit)
        safe = xp.where(inside, value, self.lower_limit)
        return xp.where(inside, -xp.log(safe) - math.log(self._log_width), -xp.inf)

    @property
    def limits(self):
        return (self.lower_limit, self.upper_limit)


class GaussianPrior(Prior):
    """Normal with ``mean`` and ``sigma`` (unbounded)."""

    fields = ("mean", "sigma")

    def __init__(self, mean: float = 0.0, sigma: float = 1.0):
        """Raises ModelError unless mean and sigma are finite real numbers, sigma > 0."""
        super().__init__()
        mean, sigma = _real("GaussianPrior", "mean", mean), _real("GaussianPrior", "sigma", sigma)
        _check(math.isfinite(mean) and sigma > 0 and math.isfinite(sigma), f"GaussianPrior needs a finite mean and sigma > 0, got {mean}, {sigma}")
        self.mean, self.sigma = mean, sigma

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
        """Raises ModelError unless all four are real numbers, mean and sigma finite, sigma > 0, lower_limit <
        upper_limit, and the interval holds a probability float64 can represent (its log is finite)."""
        super().__init__()
        name = "TruncatedGaussianPrior"
        mean, sigma = _real(name, "mean", mean), _real(name, "sigma", sigma)
        lower_limit, upper_limit = _real(name, "lower_limit", lower_limit), _real(name, "upper_limit", upper_limit)
        _check(math.isfinite(mean) and math.isfinite(sigma) and sigma > 0 and lower_limit < upper_limit,
               f"{name} needs a finite mean, finite sigma > 0 and lower_limit < upper_limit, got {mean}, {sigma}, {lower_limit}, {upper_limit}")
        self.mean, self.sigma, self.lower_limit, self.upper_limit = mean, sigma, lower_limit, upper_limit
        # standardised limits, and the logs of Phi(a), 1 - Phi(b) and Phi(b) - Phi(a)
        self._a, self._b = (lower_limit - mean) / sigma, (upper_limit - mean) / sigma
        self._log_below = float(scipy.special.log_ndtr(self._a))
        self._log_above = float(scipy.special.log_ndtr(-self._b))
        self._log_mass = _log_mass(self._a, self._b)
        _check(math.isfinite(self._log_mass),
               f"{name}: [{lower_limit}, {upper_limit}] holds no probability representable in float64 for mean {mean}, sigma {sigma}")

    def value_for(self, unit):
        # Phi(z) = Phi(a) + u Z and 1 - Phi(z) = (1 - Phi(b)) + (1 - u) Z, in log space, inverted from whichever is
        # below 1/2: neither then rounds to 1 (which lost every digit of a tail above the mean) nor underflows.
        xp, _ = _backend(unit)
        with np.errstate(divide="ignore"):  # log(0) at u = 0 or 1 is -inf, as wanted
            log_p = xp.logaddexp(self._log_below, xp.log(unit) + self._log_mass)
            log_q = xp.logaddexp(self._log_above, xp.log1p(-unit) + self._log_mass)
        z = _ndtri_exp(xp.minimum(log_p, log_q))
        z = xp.where(log_p < log_q, z, -z)
        return xp.clip(self.mean + self.sigma * z, self.lower_limit, self.upper_limit)

    def log_prior(self, value):
        xp, _ = _backend(value)
        z = (value - self.mean) / self.sigma
        inside = (value >= self.lower_limit) & (value <= self.upper_limit)
        norm = math.log(self.sigma * math.sqrt(2.0 * math.pi)) + self._log_mass
        return xp.where(inside, -0.5 * z * z - norm, -xp.inf)

    @property
    def limits(self):
        return (self.lower_limit, self.upper_limit)


PRIORS = {cls.__name__: cls for cls in (UniformPrior, LogUniformPrior, GaussianPrior, TruncatedGaussianPrior)}


def prior_from_dict(d: dict) -> Prior:
    """The prior of a ``Prior.to_dict`` dict. Raises ModelError for an unknown type, missing or unknown fields, or
    values the prior refuses."""
    if not isinstance(d, dict) or not isinstance(d.get("type"), str) or d["type"] not in PRIORS:
        raise ModelError(f"expected a prior {{'type': one of {', '.join(PRIORS)}, ...}}, got {d!r}")
    cls = PRIORS[d["type"]]
    if set(d) != {"type", *cls.fields}:
        raise ModelError(f"{cls.__name__} takes {', '.join(cls.fields)}, got {', '.join(sorted(set(d) - {'type'})) or 'none'}")
    return cls(**{f: d[f] for f in cls.fields})


def unit_for(prior: Prior, value: float) -> float:
    """The unit-cube coordinate of ``value`` (inverse of ``value_for``), e.g. to start a search at a given point."""
    if isinstance(prior, UniformPrior):
        return (value - prior.lower_limit) / (prior.upper_limit - prior.lower_limit)
    if isinstance(prior, LogUniformPrior):
        return (math.log(value) - prior._log_lower) / prior._log_width
    if isinstance(prior, TruncatedGaussianPrior):
        z = min(max((value - prior.mean) / prior.sigma, prior._a), prior._b)
        return math.exp(_log_mass(prior._a, z) - prior._log_mass) if z > prior._a else 0.0
    if isinstance(prior, GaussianPrior):
        return float(scipy.special.ndtr((value - prior.mean) / prior.sigma))
    raise ModelError(f"no inverse for {type(prior).__name__}")
