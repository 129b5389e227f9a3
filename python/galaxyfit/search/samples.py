"""``Samples``: weighted posterior samples of a search, with the summaries astronomers quote."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from galaxyfit.errors import GalaxyfitError
from galaxyfit.output import write_json_atomic, write_text_atomic


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
    parameter_names : d names (model paths); log_evidence and its error where the search estimates them;
    unconstrained : names of parameters the data do not constrain (an optimiser's degenerate directions): their
    credible intervals are (-inf, inf) and their errors infinite, whatever the stored draws hold.
    """

    parameters: np.ndarray
    log_likelihood: np.ndarray
    weights: np.ndarray
    parameter_names: list[str]
    log_evidence: float | None = None
    log_evidence_error: float | None = None
    info: dict = field(default_factory=dict)
    unconstrained: list = field(default_factory=list)

    def __post_init__(self):
        self.parameters = np.atleast_2d(np.asarray(self.parameters, dtype=np.float64))
        self.log_likelihood = np.asarray(self.log_likelihood, dtype=np.float64)
        w = np.asarray(self.weights, dtype=np.float64)
        w = w / np.max(w)  # first by the largest, so weights near float64's limit do not overflow their sum
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
        free = np.array([name not in self.unconstrained for name in self.parameter_names], dtype=bool)
        return np.where(free, lower, -np.inf), np.where(free, upper, np.inf)

    def errors_at_sigma(self, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """(median - lower, upper - median) at ``sigma``."""
        lower, upper = self.values_at_sigma(sigma)
        median = self.median_pdf_vector
        return median - lower, upper - median

    def to_csv(self, path) -> None:
        """Write the samples as CSV (columns ``weight``, ``log_likelihood``, then the parameters; floats written
        exactly) and, beside it, ``<stem>_info.json`` (``samples_record_path``) holding the row count, the CSV's
        SHA-256, the evidence, the search's info and galaxyfit's version, so ``from_csv`` detects a truncated or
        damaged file. Both are written atomically, the CSV first."""
        import hashlib
        import io

        from galaxyfit import __version__

        rows = [["weight", "log_likelihood", *self.parameter_names]]
        rows += [[repr(float(w)), repr(float(l)), *[repr(float(x)) for x in p]] for w, l, p in zip(self.weights, self.log_likelihood, self.parameters)]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        text = buffer.getvalue()
        path = Path(path)
        write_text_atomic(path, text)
        write_json_atomic(samples_record_path(path), {
            "file": path.name, "rows": len(rows) - 1, "columns": rows[0], "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "log_evidence": self.log_evidence, "log_evidence_error": self.log_evidence_error, "info": self.info,
            "unconstrained": list(self.unconstrained), "galaxyfit_version": __version__})

    @classmethod
    def from_csv(cls, path, **kwargs) -> "Samples":
        """Samples written by ``to_csv``; ``kwargs`` override what its record holds (``log_evidence``, ...).

        Raises SamplesFileError naming the file and the reason when it is missing, empty, not such a CSV (a header
        without ``weight`` and ``log_likelihood``, a row of the wrong length, a value that is not a number, weights
        that are negative, not finite or all zero), or does not match its record (fewer or more rows, other content:
        truncated or damaged). A CSV without a record (not written by galaxyfit) loads with a warning that it cannot
        be checked."""
        import hashlib
        import json
        import warnings

        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SamplesFileError(f"samples file {path}: cannot be read ({exc.strerror or exc})") from None
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise SamplesFileError(f"samples file {path}: not a text (CSV) file") from None
        rows = [row for row in csv.reader(text.splitlines()) if row]  # blank lines carry nothing
        if not rows:
            raise SamplesFileError(f"samples file {path}: empty")
        header = rows[0]
        if len(header) < 3 or header[:2] != ["weight", "log_likelihood"]:
            raise SamplesFileError(f"samples file {path}: its first line must be the header 'weight,log_likelihood,"
                                   f"<parameter names>', got {','.join(header)[:80]!r}")
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise SamplesFileError(f"samples file {path}: the header names {', '.join(repeated)} more than once")
        body = rows[1:]
        for line, row in enumerate(body, start=2):
            if len(row) != len(header):
                raise SamplesFileError(f"samples file {path}, line {line}: {len(row)} values where the header names "
                                       f"{len(header)} (truncated or damaged)")
        try:
            data = np.array(body, dtype=np.float64).reshape(len(body), len(header))
        except ValueError:
            for line, row in enumerate(body, start=2):
                for column, value in zip(header, row):
                    try:
                        float(value)
                    except ValueError:
                        raise SamplesFileError(f"samples file {path}, line {line}: {column} = {value!r} is not a "
                                               "number") from None
            raise
        record_path = samples_record_path(path)
        record = {}
        if record_path.is_file():
            try:
                record = json.loads(record_path.read_text())
            except (OSError, ValueError) as exc:
                raise SamplesFileError(f"samples record {record_path}: cannot be read ({exc})") from None
            if record.get("rows") != len(body):
                raise SamplesFileError(f"samples file {path}: {len(body)} rows, but its record {record_path.name} says "
                                       f"{record.get('rows')} (truncated, or from another run)")
            if record.get("sha256") != hashlib.sha256(raw).hexdigest():
                raise SamplesFileError(f"samples file {path}: its content differs from what its record "
                                       f"{record_path.name} holds (damaged, edited, or from another run)")
        else:
            warnings.warn(f"samples file {path} has no record {record_path.name} (row count and checksum), so it "
                          "cannot be checked for truncation", stacklevel=2)
        if not len(body):
            raise SamplesFileError(f"samples file {path}: no samples below the header")
        weights = data[:, 0]
        if not (np.all(np.isfinite(weights)) and np.all(weights >= 0) and weights.max() > 0):
            raise SamplesFileError(f"samples file {path}: weights must be finite, >= 0 and not all zero")
        if not np.all(np.isfinite(data[:, 2:])):
            line = 2 + int(np.argmax(~np.all(np.isfinite(data[:, 2:]), axis=1)))
            raise SamplesFileError(f"samples file {path}, line {line}: a parameter value is not finite")
        if np.all(np.isnan(data[:, 1])):
            raise SamplesFileError(f"samples file {path}: no sample has a log likelihood (all NaN)")
        stored = {key: record[key] for key in ("log_evidence", "log_evidence_error", "info", "unconstrained")
                  if record.get(key) is not None}
        return cls(data[:, 2:], data[:, 1], weights, header[2:], **{**stored, **kwargs})


def samples_record_path(path) -> Path:
    """The record written beside a samples CSV: ``samples.csv`` -> ``samples_info.json``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_info.json")


class SamplesFileError(GalaxyfitError, ValueError):
    """A samples file that cannot be loaded: missing, not galaxyfit's CSV, or truncated / damaged."""


def gaussian_samples(vector, covariance, names, log_likelihood, n: int = 4000, seed: int = 0, lower=None, upper=None,
                     unconstrained=(), **kwargs) -> Samples:
    """Samples of the Gaussian (Laplace) approximation around an optimum, for optimisers' "posteriors", truncated to
    the box [lower, upper] (the priors' limits; draws outside are rejected, so medians and errors respect the prior).
    Parameters named in ``unconstrained`` (NaN rows of ``covariance``) stay at their optimum in every draw; the
    others are drawn from the covariance's block over them (their marginal). The draws use the block's eigenvalue
    decomposition with negative round-off eigenvalues set to zero."""
    rng = np.random.default_rng(seed)
    vector = np.asarray(vector, dtype=np.float64)
    lower = np.full(len(vector), -np.inf) if lower is None else np.asarray(lower, dtype=np.float64)
    upper = np.full(len(vector), np.inf) if upper is None else np.asarray(upper, dtype=np.float64)
    free = np.array([name not in set(unconstrained) for name in names], dtype=bool)
    block = np.asarray(covariance, dtype=np.float64)[np.ix_(free, free)]
    values, vectors = np.linalg.eigh(0.5 * (block + block.T)) if free.any() else (np.zeros(0), np.zeros((0, 0)))
    factor = vectors * np.sqrt(np.maximum(values, 0.0))[None, :]
    kept, drawn = [], 0
    while n > 0 and sum(len(k) for k in kept) < n and drawn < 100 * n:
        batch = np.repeat(vector[None, :], n, axis=0)
        batch[:, free] += rng.standard_normal((n, int(free.sum()))) @ factor.T
        drawn += n
        kept.append(batch[np.all((batch >= lower) & (batch <= upper), axis=1)])
    points = np.vstack(kept)[:n] if kept else np.zeros((0, len(vector)))
    points = np.vstack([vector[None, :], points])
    logl = np.full(len(points), math.nan)  # the draws are not evaluated: their likelihood is unknown, not zero
    logl[0] = log_likelihood
    return Samples(points, logl, np.full(len(points), 1.0 / len(points)), names, unconstrained=list(unconstrained), **kwargs)
