"""``Samples``: weighted posterior samples of a search, with the summaries astronomers quote."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from galaxyfit.output import write_text_atomic


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile ``q`` of the weighted sample, by linear interpolation of the cumulative weight at sample midpoints."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cumulative = np.cumsum(w) - 0.5 * w
    cumulative /= w.sum()
    return float(np.interp(q, cumulative, v))


@dataclass
class Samples:
    """Posterior samples.

    parameters : (n, d) physical parameter vectors; log_likelihood : (n,); weights : (n,) summing to 1;
    parameter_names : d names (model paths); log_evidence and its error where the search estimates them.
    """

    parameters: np.ndarray
    log_likelihood: np.ndarray
    weights: np.ndarray
    parameter_names: list[str]
    log_evidence: float | None = None
    log_evidence_error: float | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.parameters = np.atleast_2d(np.asarray(self.parameters, dtype=np.float64))
        self.log_likelihood = np.asarray(self.log_likelihood, dtype=np.float64)
        w = np.asarray(self.weights, dtype=np.float64)
        self.weights = w / w.sum()

    @property
    def max_log_likelihood_index(self) -> int:
        return int(np.nanargmax(self.log_likelihood))

    @property
    def max_log_likelihood_vector(self) -> np.ndarray:
        return self.parameters[self.max_log_likelihood_index]

    @property
    def max_log_likelihood(self) -> float:
        return float(self.log_likelihood[self.max_log_likelihood_index])

    @property
    def effective_sample_size(self) -> float:
        """Kish's effective sample size, 1 / sum(w^2)."""
        return float(1.0 / np.sum(self.weights**2))

    @property
    def median_pdf_vector(self) -> np.ndarray:
        return np.array([weighted_quantile(self.parameters[:, i], self.weights, 0.5) for i in range(self.parameters.shape[1])])

    def values_at_sigma(self, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds of the central credible interval holding the mass of +-sigma of a Gaussian
        (sigma = 1: 68.27%, 3: 99.73%)."""
        lo_q, hi_q = float(ndtr(-sigma)), float(ndtr(sigma))
        lower = np.array([weighted_quantile(self.parameters[:, i], self.weights, lo_q) for i in range(self.parameters.shape[1])])
        upper = np.array([weighted_quantile(self.parameters[:, i], self.weights, hi_q) for i in range(self.parameters.shape[1])])
        return lower, upper

    def errors_at_sigma(self, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """(median - lower, upper - median) at ``sigma``."""
        lower, upper = self.values_at_sigma(sigma)
        median = self.median_pdf_vector
        return median - lower, upper - median

    def to_csv(self, path) -> None:
        rows = [["weight", "log_likelihood", *self.parameter_names]]
        rows += [[repr(float(w)), repr(float(l)), *[repr(float(x)) for x in p]] for w, l, p in zip(self.weights, self.log_likelihood, self.parameters)]
        import io

        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        write_text_atomic(Path(path), buffer.getvalue())

    @classmethod
    def from_csv(cls, path, **kwargs) -> "Samples":
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        names = rows[0][2:]
        data = np.array(rows[1:], dtype=np.float64)
        return cls(data[:, 2:], data[:, 1], data[:, 0], names, **kwargs)


def gaussian_samples(vector, covariance, names, log_likelihood, n: int = 4000, seed: int = 0, lower=None, upper=None,
                     **kwargs) -> Samples:
    """Samples of the Gaussian (Laplace) approximation around an optimum, for optimisers' "posteriors", truncated to
    the box [lower, upper] (the priors' limits; draws outside are rejected, so medians and errors respect the prior)."""
    rng = np.random.default_rng(seed)
    vector = np.asarray(vector, dtype=np.float64)
    lower = np.full(len(vector), -np.inf) if lower is None else np.asarray(lower, dtype=np.float64)
    upper = np.full(len(vector), np.inf) if upper is None else np.asarray(upper, dtype=np.float64)
    kept, drawn = [], 0
    while sum(len(k) for k in kept) < n and drawn < 100 * n:
        batch = rng.multivariate_normal(vector, covariance, size=n, method="eigh")
        drawn += n
        kept.append(batch[np.all((batch >= lower) & (batch <= upper), axis=1)])
    points = np.vstack(kept)[:n] if kept else np.zeros((0, len(vector)))
    points = np.vstack([vector[None, :], points])
    logl = np.full(len(points), math.nan)  # the draws are not evaluated: their likelihood is unknown, not zero
    logl[0] = log_likelihood
    return Samples(points, logl, np.full(len(points), 1.0 / len(points)), names, **kwargs)
