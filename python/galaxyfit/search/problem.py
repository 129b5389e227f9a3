"""``FitProblem``: a model and an analysis as the compiled, batched functions a search calls.

The log likelihood of a batch of parameter vectors is one ``jax.jit(jax.vmap(...))`` call. Batches are padded to a
few fixed sizes (powers of two up to ``max_batch``) so that each size compiles once however the sampler groups its
points; padding rows repeat a real point and are dropped. Every element is computed independently, so a point's
value does not depend on the batch it came in.

The compiled functions take the dataset's numbers as arguments and are shared by every problem of the same model
structure and dataset geometry in the process (``search.compiled_cache``): a survey's second galaxy of a cutout size
compiles nothing. Problems that cannot share (pixelizations, adapt images, other analyses) compile their own.
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit.analysis.analysis_imaging import INVALID_LOG_LIKELIHOOD
from galaxyfit.search.compiled_cache import sharing_of
from galaxyfit import _precision as precision
from galaxyfit._precision import float64_api


#: Most threads a batch of linear models is split over.
MAX_THREADS = 8


def _available_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS has one, e.g. under taskset or a batch scheduler)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def traceable_log_likelihood(model, analysis):
    """``vector -> (ln L, rejection code int32)`` of ``model`` on ``analysis``, traceable (jit, vmap, grad): the
    function every compiled likelihood of a FitProblem is made of (code 0: valid; -1 when the analysis gives no
    reason)."""
    if hasattr(analysis, "log_likelihood_and_rejection"):
        def log_likelihood(vector):
            return analysis.log_likelihood_and_rejection(model.instance_from_vector(vector))
    else:
        def log_likelihood(vector):
            value = analysis.log_likelihood_function(model.instance_from_vector(vector))
            return value, jnp.where(jnp.isfinite(value) & (value > INVALID_LOG_LIKELIHOOD), 0, -1).astype(jnp.int32)
    return log_likelihood


def _likelihood_functions(model, analysis, chunk: int | None):
    """(single, batched) jitted log likelihoods of ``model`` on ``analysis``: ``single(vector)`` -> ln L and
    ``batched(vectors)`` -> (ln L (n,), rejection codes (n,) int32). ``chunk``: ``batch_chunk_size`` (None: one
    vmap)."""
    log_likelihood = traceable_log_likelihood(model, analysis)
    single = precision.jit(lambda vector: log_likelihood(vector)[0])
    if chunk is None:
        return single, precision.jit(jax.vmap(log_likelihood))
    # chunks (or single vectors) one after another: a batch's working set stays in cache (AnalysisImaging)
    size = None if chunk == 1 else chunk
    return single, precision.jit(lambda vectors: jax.lax.map(log_likelihood, vectors, batch_size=size))


def _shared_likelihood_functions(template, chunk: int | None):
    """``_likelihood_functions`` as functions of ``(vector(s), arrays)`` (the leaves of an analysis'
    ``likelihood_arrays``), for every fit of ``template``'s key (``search.compiled_cache``)."""
    def log_likelihood(vector, arrays):
        return template.bind(arrays).log_likelihood_and_rejection(template.model.instance_from_vector(vector))

    single = precision.jit(lambda vector, arrays: log_likelihood(vector, arrays)[0])
    if chunk is None:
        return single, precision.jit(jax.vmap(log_likelihood, in_axes=(0, None)))
    size = None if chunk == 1 else chunk
    return single, precision.jit(lambda vectors, arrays: jax.lax.map(partial(log_likelihood, arrays=arrays), vectors, batch_size=size))


@float64_api
class _WithArrays:
    """A shared jitted function of ``(vectors, arrays)`` with one problem's arrays bound: called, and lowered (e.g.
    ``problem._batched.lower(points)`` to time a compilation or read its HLO), as that problem's own function of
    ``vectors``."""

    __slots__ = ("function", "arrays")

    def __init__(self, function, arrays):
        self.function = function
        self.arrays = arrays

    def __call__(self, vectors):
        return self.function(vectors, self.arrays)

    def lower(self, vectors):
        return self.function.lower(vectors, self.arrays)


@float64_api
class FitProblem:
    """Batched log likelihood, prior transform and log prior of ``model`` for ``analysis``.

    Parameters
    ----------
    model : Model or Collection
    analysis : AnalysisImaging (anything with ``log_likelihood_function(instance)``)
    max_batch : int
        Largest batch evaluated in one call (memory grows with it).
    """

    def __init__(self, model, analysis, max_batch: int = 256):
        self.model = model
        self.analysis = analysis
        self.n_dim = model.prior_count
        self.max_batch = int(max_batch)
        self.n_calls = 0
        self.likelihood_seconds = 0.0

        self.rejected: dict[int, int] = {}  # rejection code -> likelihoods rejected for it (REJECTION_REASONS)
        chunk = analysis.batch_chunk_size(model) if hasattr(analysis, "batch_chunk_size") else None
        #: How this problem shares compiled functions with other fits of its geometry (None: it compiles its own).
        self.sharing = sharing_of(model, analysis)
        if self.sharing is not None:
            make = partial(_shared_likelihood_functions, chunk=chunk)
            (single, batched), _ = self.sharing.get_or_make(("likelihood", chunk), make)
            self._single = _WithArrays(single, self.sharing.arrays)
            self._batched = _WithArrays(batched, self.sharing.arrays)
        else:
            self._single, self._batched = _likelihood_functions(model, analysis, chunk)
        # lax.map runs one vector after another on one core: a batch is split over the process's cores, each part
        # in its own thread (a jitted call releases the GIL), which vmap-ed batches need not (their kernels thread).
        self.threads = 1 if chunk is None else max(1, min(_available_cpus(), MAX_THREADS))
        self._pool = None
        # Priors run in NumPy/SciPy (each prior's own numpy path, vectorised over the batch): compiling them with
        # XLA cost ~1 s per batch size before a search could start, for functions that take microseconds.
        self._priors = list(model.priors)

    def _bucket(self, n: int) -> int:
        size = 1
        while size < n:
            size *= 2
        return min(size, self.max_batch)

    def _apply(self, function, points: np.ndarray):
        """``function`` of each row of ``points``, in padded batches; an array, or a tuple of arrays when
        ``function`` returns a tuple."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        out = []
        for start in range(0, len(points), self.max_batch):
            chunk = points[start : start + self.max_batch]
            size = self._bucket(len(chunk))
            padded = np.concatenate([chunk, np.repeat(chunk[-1:], size - len(chunk), axis=0)])
            if function is self._batched and self.threads > 1 and size >= 2 * self.threads:
                result = self._threaded(function, padded)
            else:
                result = function(jnp.asarray(padded))
            out.append(tuple(np.asarray(r)[: len(chunk)] for r in result) if isinstance(result, tuple)
                       else np.asarray(result)[: len(chunk)])
        if isinstance(out[0], tuple):
            return tuple(np.concatenate(parts) for parts in zip(*out))
        return np.concatenate(out)

    def _threaded(self, function, padded):
        """``function`` of ``padded`` (a power-of-two batch) in ``threads`` equal parts at once."""
        from concurrent.futures import ThreadPoolExecutor

        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="galaxyfit-likelihood")
        parts = np.split(padded, self.threads)
        # numpy parts: each call converts its part inside its own float64 context, on the pool's thread
        results = list(self._pool.map(lambda part: jax.block_until_ready(function(part)), parts))
        return tuple(jnp.concatenate(pieces) for pieces in zip(*results))

    def log_likelihood(self, points) -> np.ndarray:
        """ln L of each row of ``points`` (n, n_dim); invalid models give -1e99 (``INVALID_LOG_LIKELIHOOD``), and
        their reasons are counted in ``rejected``."""
        start = time.perf_counter()
        values, codes = self._apply(self._batched, points)
        self.likelihood_seconds += time.perf_counter() - start
        self.n_calls += len(values)
        if codes.any():
            for code, count in zip(*np.unique(codes[codes != 0], return_counts=True)):
                self.rejected[int(code)] = self.rejected.get(int(code), 0) + int(count)
        return np.where(np.isfinite(values), values, INVALID_LOG_LIKELIHOOD)

    @property
    def rejection_counts(self) -> dict:
        """{reason: number of likelihoods rejected for it} so far (``REJECTION_REASONS``; -1: the analysis gives no
        reason)."""
        from galaxyfit.analysis.analysis_imaging import REJECTION_REASONS

        return {REJECTION_REASONS.get(code, "rejected (no reason given)"): count for code, count in sorted(self.rejected.items())}

    def log_likelihood_of(self, vector) -> float:
        return float(self._single(jnp.asarray(np.asarray(vector, dtype=np.float64))))  # any float dtype / byte order

    def prior_transform(self, unit) -> np.ndarray:
        """Physical parameters (n, n_dim) of unit-hypercube points (n, n_dim): each prior's inverse CDF."""
        unit = np.atleast_2d(np.asarray(unit, dtype=np.float64))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            columns = [np.broadcast_to(np.asarray(p.value_for(unit[:, i]), dtype=np.float64), unit.shape[:1])
                       for i, p in enumerate(self._priors)]
        return np.stack(columns, axis=1) if columns else np.empty((len(unit), 0))

    def log_prior(self, points) -> np.ndarray:
        """Sum over parameters of each prior's log density (n,) at ``points`` (n, n_dim); -inf outside a bounded
        prior."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        total = np.zeros(len(points))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for i, p in enumerate(self._priors):
                total = total + np.asarray(p.log_prior(points[:, i]), dtype=np.float64)
        return total

    def warm_up(self, sizes=None) -> float:
        """Compile the batch sizes a search will use before it starts (seconds spent)."""
        start = time.perf_counter()
        medians = self.model.prior_medians
        for size in sizes if sizes is not None else [1]:
            self._apply(self._batched, np.repeat(medians[None, :], size, axis=0))
        self.n_calls = 0
        self.rejected = {}
        self.likelihood_seconds = 0.0
        return time.perf_counter() - start

    def close(self) -> None:
        """Stop the threads of split batches (a later call starts them again)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def message(self, text: str) -> None:
        """A line for the user on stderr (a search with a progress bar prints it above the bar)."""
        print(text, file=sys.stderr)
