"""Nested sampling with dynesty (Speagle 2020, MNRAS 493, 3132)."""

from __future__ import annotations

import numpy as np

from galaxyfit.errors import SearchError
from galaxyfit.search.base import Search, checked_seed
from galaxyfit.search.samples import Samples


class _BatchPool:
    """A stand-in for a multiprocessing pool: dynesty maps the likelihood over many points at once (the initial live
    points, batched into one call); other maps run in this process."""

    def __init__(self, problem, size: int):
        self.problem = problem
        self.size = size

    def map(self, function, iterable):
        items = list(iterable)
        # dynesty wraps the likelihood in utils.LogLikelihood, whose results are LoglOutput objects.
        if getattr(function, "loglikelihood", None) == self.problem_log_likelihood and not getattr(function, "blob", False):
            from dynesty.utils import LoglOutput

            values = self.problem.log_likelihood(np.asarray(items))
            return [LoglOutput(float(v), False) for v in values]
        return list(map(function, items))

    def problem_log_likelihood(self, point):
        return float(self.problem.log_likelihood(np.asarray(point)[None, :])[0])


class Dynesty(Search):
    """Static nested sampling with dynesty.

    Parameters: ``n_live``, ``sample`` (dynesty's proposal: "auto", "rwalk", "rslice", "unif", ...), ``bound``
    ("multi", ...), ``dlogz`` (stopping tolerance on the remaining evidence), ``seed``, ``sampler_kwargs`` (other
    ``dynesty.NestedSampler`` arguments). dynesty's proposals call the likelihood one point at a time; the initial
    live set is evaluated as one batch.
    """

    kind = "dynesty"

    def __init__(self, n_live: int = 200, sample: str = "rwalk", bound: str = "multi", dlogz: float = 0.1, seed: int = 1,
                 max_batch: int = 256, progress: bool = True, check: bool = True, name: str | None = None, path_prefix: str = "", output_path="output", unique_tag: str | None = None,
                 quick_update_seconds: float | None = 30.0, database: str | None = None,
                 **sampler_kwargs):
        super().__init__(max_batch=max_batch, progress=progress, check=check, name=name, path_prefix=path_prefix, output_path=output_path, unique_tag=unique_tag,
                         quick_update_seconds=quick_update_seconds, database=database)
        if isinstance(n_live, bool) or not isinstance(n_live, (int, np.integer)) or n_live < 2:
            raise SearchError(f"Dynesty(n_live={n_live!r}): must be an integer >= 2")
        if not (np.isfinite(float(dlogz)) and float(dlogz) > 0):
            raise SearchError(f"Dynesty(dlogz={dlogz!r}): must be a finite positive tolerance")
        self.n_live, self.sample, self.bound, self.dlogz, self.seed = int(n_live), sample, bound, float(dlogz), checked_seed(seed)
        self.sampler_kwargs = sampler_kwargs

    def settings(self) -> dict:
        return {"name": self.kind, "n_live": self.n_live, "sample": self.sample, "bound": self.bound, "dlogz": self.dlogz, "seed": self.seed,
                **self.sampler_kwargs}

    def warm_up_sizes(self) -> list[int]:
        return [1, self.max_batch]

    def _run(self, problem, **kwargs):
        import dynesty

        if self.n_live <= problem.n_dim + 1:
            raise SearchError(f"Dynesty needs more live points than free parameters + 1: n_live={self.n_live} for "
                              f"{problem.n_dim} parameters")
        pool = _BatchPool(problem, self.n_live)
        sampler = dynesty.NestedSampler(
            pool.problem_log_likelihood,
            lambda u: problem.prior_transform(np.asarray(u)[None, :])[0],
            problem.n_dim,
            nlive=self.n_live,
            sample=self.sample,
            bound=self.bound,
            rstate=np.random.default_rng(self.seed),
            pool=pool,
            queue_size=1,
            use_pool={"loglikelihood": True, "prior_transform": False, "propose_point": False, "update_bound": False},
            **self.sampler_kwargs,
        )
        sampler.run_nested(dlogz=self.dlogz, print_progress=False)
        results = sampler.results
        log_w = results.logwt - results.logz[-1]
        samples = Samples(results.samples, results.logl, np.exp(log_w - np.max(log_w)), problem.model.parameter_names,
                          log_evidence=float(results.logz[-1]), log_evidence_error=float(results.logzerr[-1]),
                          info={"n_like": int(np.sum(results.ncall))})
        # dynesty's random walks can stall short of a sharp peak and still report tight posteriors and a small
        # evidence error: Search.fit's check (search/checks.py) starts an optimiser from its best point and tells.
        return samples, {"search": {"n_like": int(np.sum(results.ncall))}}
