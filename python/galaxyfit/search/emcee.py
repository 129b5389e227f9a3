"""Affine-invariant ensemble MCMC with emcee (Foreman-Mackey et al. 2013, PASP 125, 306; Goodman & Weare 2010)."""

from __future__ import annotations

import numpy as np

from galaxyfit.errors import ModelError, SearchError
from galaxyfit.search.base import Search, checked_seed
from galaxyfit.search.samples import Samples


class Emcee(Search):
    """Posterior samples with emcee; all walkers are evaluated as one batch per step (``vectorize=True``).

    Parameters: ``n_walkers``, ``n_steps``, ``burn_in`` (fraction of steps discarded), ``thin``, ``initial`` (a
    vector or instance around which walkers start in a ball of relative size ``ball``; default: the best fit of the
    Levenberg-Marquardt optimiser started as ``LevenbergMarquardt()`` starts itself), ``seed``. MCMC gives no
    evidence.

    Why not start the walkers across the prior: on a sharp likelihood, walkers that begin in a poor local optimum stay
    there (the stretch move only proposes along lines through other walkers, all of which it would have to beat), and
    their points then inflate the posterior's spread by orders of magnitude with no sign of trouble.
    """

    kind = "emcee"

    def __init__(self, n_walkers: int = 64, n_steps: int = 2000, burn_in: float = 0.5, thin: int = 1, initial=None, ball: float = 1e-3,
                 seed: int = 1, max_batch: int = 256, progress: bool = True, check: bool = True, name: str | None = None, path_prefix: str = "", output_path="output", unique_tag: str | None = None,
                 quick_update_seconds: float | None = 30.0, database: str | None = None):
        super().__init__(max_batch=max_batch, progress=progress, check=check, name=name, path_prefix=path_prefix, output_path=output_path, unique_tag=unique_tag,
                         quick_update_seconds=quick_update_seconds, database=database)
        for name, value in (("n_walkers", n_walkers), ("n_steps", n_steps), ("thin", thin)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (2 if name == "n_walkers" else 1):
                raise SearchError(f"Emcee({name}={value!r}): must be an integer >= {2 if name == 'n_walkers' else 1}")
        if not 0.0 <= float(burn_in) < 1.0:
            raise SearchError(f"Emcee(burn_in={burn_in!r}): must be a fraction of the steps in [0, 1)")
        if int(n_steps) - int(float(burn_in) * int(n_steps)) < int(thin):
            raise SearchError(f"Emcee(n_steps={n_steps}, burn_in={burn_in}, thin={thin}): no step is left after discarding "
                              "the burn-in and thinning")
        if not (np.isfinite(float(ball)) and float(ball) > 0):
            raise SearchError(f"Emcee(ball={ball!r}): must be a finite positive relative size")
        self.n_walkers, self.n_steps, self.burn_in, self.thin = int(n_walkers), int(n_steps), float(burn_in), int(thin)
        self.initial, self.ball, self.seed = initial, float(ball), checked_seed(seed)

    def settings(self) -> dict:
        return {"name": self.kind, "n_walkers": self.n_walkers, "n_steps": self.n_steps, "burn_in": self.burn_in, "thin": self.thin, "seed": self.seed}

    def warm_up_sizes(self) -> list[int]:
        return [self.n_walkers]

    def _run(self, problem, initial=None):
        import emcee

        rng = np.random.default_rng(self.seed)
        start = initial if initial is not None else self.initial
        model = problem.model
        if self.n_walkers < 2 * problem.n_dim:
            raise SearchError(f"Emcee needs at least two walkers per free parameter: n_walkers={self.n_walkers} for "
                              f"{problem.n_dim} parameters")
        if start is None:
            from galaxyfit.search.lm import LevenbergMarquardt

            optimiser = LevenbergMarquardt(seed=self.seed)
            optimum = optimiser.optimise(problem, optimiser._starts(problem, None))
            if optimum is None:
                raise ModelError("Emcee found no start: no model at the image-moment guess, the prior medians or draws "
                                 "from the priors can be evaluated; give a start (Emcee(initial=...))")
            centre = optimum.vector
        else:
            centre = np.asarray(start, dtype=float) if isinstance(start, (list, tuple, np.ndarray)) else model.vector_from_instance(start)
        walkers = centre + self.ball * np.maximum(np.abs(centre), 1e-3) * rng.standard_normal((self.n_walkers, problem.n_dim))
        walkers = np.clip(walkers, *model.interior_limits(1e-9))  # inside the prior's support

        def log_probability(points):
            log_prior = problem.log_prior(points)
            log_l = np.full(len(points), -np.inf)
            ok = np.isfinite(log_prior)
            if ok.any():
                log_l[ok] = problem.log_likelihood(points[ok])
            return log_prior + log_l

        sampler = emcee.EnsembleSampler(self.n_walkers, problem.n_dim, log_probability, vectorize=True)
        sampler._random = np.random.mtrand.RandomState(self.seed)  # emcee's own generator, seeded for repeatability
        sampler.run_mcmc(walkers, self.n_steps, progress=False)
        discard = int(self.burn_in * self.n_steps)
        chain = sampler.get_chain(discard=discard, thin=self.thin, flat=True)
        log_prob = sampler.get_log_prob(discard=discard, thin=self.thin, flat=True)
        log_prior = problem.log_prior(chain)
        samples = Samples(chain, log_prob - log_prior, np.ones(len(chain)), model.parameter_names,
                          info={"acceptance_fraction": float(np.mean(sampler.acceptance_fraction))})
        return samples, {"search": {"acceptance_fraction": float(np.mean(sampler.acceptance_fraction))}}
