"""Gradient-based posterior sampling: the No-U-Turn Sampler (Hoffman & Gelman 2014, JMLR 15, 1593) through NumPyro
(Phan, Pradhan & Jankowiak 2019, arXiv:1912.11554), on galaxyfit's exact JAX gradients, in float64.

The chains run in an unconstrained space: each bounded prior's parameter is the logit of its unit-cube coordinate
(``z = logit(u)``, ``theta = prior.value_for(u)``), each Gaussian prior's the standardised value. The target density
in z is L(theta(z)) times the Jacobian of the map from the unit cube, so the chains sample the posterior exactly; no
likelihood is ever computed outside the prior's support.
"""

from __future__ import annotations

import math
import pickle
import time

import numpy as np

from galaxyfit.errors import ModelError, SearchError
from galaxyfit.model.priors import GaussianPrior, unit_for
from galaxyfit.output import atomic_destination
from galaxyfit.search.base import Search, checked_seed
from galaxyfit.search.checkpoint import check_checkpoint, fingerprint
from galaxyfit.search.problem import traceable_log_likelihood
from galaxyfit.search.samples import Samples


class UnconstrainedSpace:
    """The bijection between a model's physical parameters and the unconstrained space the chains move in.

    Parameters
    ----------
    priors : list of Prior, one per free parameter (``model.priors``).

    For a Gaussian prior, z = (theta - mean) / sigma and the log density gains -z^2 / 2. For every other prior
    (bounded or truncated), u = sigmoid(z), theta = prior.value_for(u), and the log density gains ln u + ln(1 - u),
    the Jacobian du/dz = u (1 - u): the prior is uniform in u, so ln L(theta) plus these terms is the log posterior in
    z up to the constant ln Z.
    """

    def __init__(self, priors):
        self.priors = list(priors)
        self.gaussian = np.array([isinstance(p, GaussianPrior) for p in self.priors], dtype=bool)

    def physical(self, z):
        """theta (..., n) of z (..., n); traceable (JAX arrays in, JAX arrays out)."""
        import jax
        import jax.numpy as jnp

        z = jnp.asarray(z)
        columns = []
        for i, prior in enumerate(self.priors):
            zi = z[..., i]
            if self.gaussian[i]:
                columns.append(prior.mean + prior.sigma * zi)
            else:
                columns.append(jnp.asarray(prior.value_for(jax.nn.sigmoid(zi))))
        return jnp.stack(columns, axis=-1)

    def log_jacobian(self, z):
        """The log density terms of z besides ln L (..., ); traceable."""
        import jax
        import jax.numpy as jnp

        z = jnp.asarray(z)
        gaussian = jnp.asarray(self.gaussian)
        logistic = jax.nn.log_sigmoid(z) + jax.nn.log_sigmoid(-z)
        return jnp.sum(jnp.where(gaussian, -0.5 * z * z, logistic), axis=-1)

    def unconstrained(self, theta) -> np.ndarray:
        """z (n,) of one physical vector theta (n,), clipped 1e-12 inside bounded priors (NumPy)."""
        z = np.empty(len(self.priors))
        for i, (prior, value) in enumerate(zip(self.priors, np.asarray(theta, dtype=np.float64))):
            if self.gaussian[i]:
                z[i] = (value - prior.mean) / prior.sigma
            else:
                u = min(max(unit_for(prior, float(value)), 1e-12), 1.0 - 1e-12)
                z[i] = math.log(u) - math.log1p(-u)
        return z

    def dz_dtheta(self, theta) -> np.ndarray:
        """The diagonal Jacobian dz/dtheta (n,) at theta (NumPy): 1 / sigma for Gaussian priors, p(theta) / (u (1 - u))
        for the others (du/dtheta is the prior density p)."""
        out = np.empty(len(self.priors))
        for i, (prior, value) in enumerate(zip(self.priors, np.asarray(theta, dtype=np.float64))):
            if self.gaussian[i]:
                out[i] = 1.0 / prior.sigma
            else:
                u = min(max(unit_for(prior, float(value)), 1e-12), 1.0 - 1e-12)
                out[i] = math.exp(float(prior.log_prior(np.float64(value)))) / (u * (1.0 - u))
        return out


class NUTS(Search):
    """Posterior samples by the No-U-Turn Sampler (NumPyro's ``NUTS``) on the exact gradient of the log likelihood.

    The chains start from the Levenberg-Marquardt optimum (found as ``LevenbergMarquardt()`` finds it, or from
    ``initial``): each chain at a draw from its Laplace approximation, whose covariance, carried to the unconstrained
    space, is the inverse mass matrix (dense). Warm-up then adapts the step size (dual averaging) and, with
    ``adapt_mass_matrix``, refines the mass matrix (NumPyro's windowed adaptation).

    Parameters
    ----------
    n_warmup : int
        Warm-up (adaptation) iterations per chain, discarded.
    n_samples : int
        Draws kept per chain.
    n_chains : int
        Chains (by default one vectorised batch: each gradient evaluation is one vmapped likelihood call).
    target_accept : float
        Target mean acceptance probability of the step-size adaptation. 0.9 rather than NumPyro's 0.8: on
        sim_bulge_disk it gave 8 divergences instead of 37 and more effective samples per second (bench/README.md).
    max_tree_depth : int
        Largest trajectory is 2**max_tree_depth leapfrog steps.
    adapt_mass_matrix : bool
        Refine the Laplace mass matrix during warm-up (NumPyro's windowed estimate) or keep it (False, the default:
        a warm-up of step sizes only). With a 200-iteration warm-up the dense windowed estimate of 13 parameters was
        far worse than the Laplace covariance on sim_bulge_disk (step size 0.05 and 74 leapfrog steps per draw,
        against 0.2-0.45 and 14).
    chain_method : str
        "vectorized" (the chains as one vmapped batch) or "sequential" (one after another: slower here, bench/README.md).
    initial : vector, instance or None
        Where the optimiser starts (None: image moments, prior medians and prior draws, as LevenbergMarquardt).
    seed : int
        The same seed gives the same draws (also across a resume).
    filepath : str or None
        Checkpoint (a pickle of the chains' state and the draws so far), written atomically after the warm-up and
        after every ``checkpoint_every`` draws per chain; a fit started again with the same file resumes and gives
        the same draws as an uninterrupted run. A fit with a ``name`` keeps it in its output folder.
    checkpoint_every : int
        Draws per chain between checkpoints (the chains run in blocks of this many draws).

    Results: ``result.search`` holds ``r_hat`` and ``ess`` per parameter (NumPyro's split Gelman-Rubin R-hat and its
    effective sample size, Gelman et al. 2013, BDA3, 11.4-11.5, computed over all chains), ``divergences``,
    ``mean_tree_steps`` and the adapted ``step_size``. NUTS gives **no Bayesian evidence**: ``result.log_evidence``
    is None. For model comparison use the default nested search (Nautilus), or the Laplace evidence of
    LevenbergMarquardt where the posterior is close to Gaussian. Regularized inversions (pixelizations, regularized
    bases) are refused: their regularization coefficients need the evidence, not the likelihood, as target.
    """

    kind = "nuts"
    checkpoint_name = "checkpoint.pickle"  # in the fit's files/search_internal when the search has a name
    likelihood_progress = False  # its bar counts warm-up iterations and draws
    check_with_optimiser = False  # the chains start at an optimiser's optimum already

    def __init__(self, n_warmup: int = 300, n_samples: int = 1500, n_chains: int = 4, target_accept: float = 0.9,
                 max_tree_depth: int = 8, adapt_mass_matrix: bool = False, chain_method: str = "vectorized", initial=None, seed: int = 1,
                 filepath: str | None = None, checkpoint_every: int = 250, progress: bool = True, check: bool = True,
                 name: str | None = None, path_prefix: str = "", output_path="output", unique_tag: str | None = None,
                 quick_update_seconds: float | None = 30.0, database: str | None = None):
        super().__init__(max_batch=256, progress=progress, check=check, name=name, path_prefix=path_prefix,
                         output_path=output_path, unique_tag=unique_tag, quick_update_seconds=quick_update_seconds,
                         database=database)
        for what, value, least in (("n_warmup", n_warmup, 1), ("n_samples", n_samples, 10), ("n_chains", n_chains, 1),
                                   ("max_tree_depth", max_tree_depth, 1), ("checkpoint_every", checkpoint_every, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
                raise SearchError(f"NUTS({what}={value!r}): must be an integer >= {least}")
        if not 0.0 < float(target_accept) < 1.0:
            raise SearchError(f"NUTS(target_accept={target_accept!r}): must lie in (0, 1)")
        self.n_warmup, self.n_samples, self.n_chains = int(n_warmup), int(n_samples), int(n_chains)
        self.target_accept, self.max_tree_depth = float(target_accept), int(max_tree_depth)
        self.adapt_mass_matrix = bool(adapt_mass_matrix)
        if chain_method not in ("vectorized", "sequential"):
            raise SearchError(f"NUTS(chain_method={chain_method!r}): must be 'vectorized' or 'sequential'")
        self.chain_method = chain_method
        self.initial = initial
        self.seed = checked_seed(seed)
        self.filepath = filepath
        self.checkpoint_every = int(checkpoint_every)

    def settings(self) -> dict:
        return {"name": self.kind, "n_warmup": self.n_warmup, "n_samples": self.n_samples, "n_chains": self.n_chains,
                "target_accept": self.target_accept, "max_tree_depth": self.max_tree_depth,
                "adapt_mass_matrix": self.adapt_mass_matrix, "chain_method": self.chain_method, "seed": self.seed,
                "checkpoint_every": self.checkpoint_every}

    def warm_up_sizes(self) -> list[int]:
        return []  # the chains compile their own function (the likelihood and its gradient, vmapped over chains)

    # ---- the run ----------------------------------------------------------------------------------------------------

    def _run(self, problem, initial=None):
        import jax
        import jax.numpy as jnp
        from numpyro.infer import MCMC
        from numpyro.infer import NUTS as NumPyroNUTS

        from galaxyfit.search.lm import _evidence_model

        model = problem.model
        if _evidence_model(problem):
            raise ModelError("NUTS samples the likelihood, but this model's figure of merit is a log evidence with a "
                             "regularization (a pixelization or a regularized basis): use Nautilus (the default)")
        space = UnconstrainedSpace(model.priors)
        resuming = False
        if self.filepath is not None:
            resuming = check_checkpoint(self.filepath, fingerprint(problem, self.settings()))
        saved = _read_checkpoint(self.filepath) if resuming else None
        if saved is not None:
            problem.message(f"resuming from checkpoint {self.filepath}")
            inverse_mass, z_opt = saved["inverse_mass_matrix"], saved["z_optimum"]
        else:
            inverse_mass, z_opt = self._start(problem, space, initial)

        log_likelihood = traceable_log_likelihood(model, problem.analysis)

        def potential(z):
            return -(log_likelihood(space.physical(z))[0] + space.log_jacobian(z))

        def by_draw(values):  # (chains, draws, ...) as NumPyro groups them -> (draws, chains, ...)
            values = np.asarray(values)
            return np.swapaxes(values.reshape(self.n_chains, -1, *values.shape[2:]), 0, 1)

        kernel = NumPyroNUTS(potential_fn=potential, inverse_mass_matrix=jnp.asarray(inverse_mass), dense_mass=True,
                             adapt_mass_matrix=self.adapt_mass_matrix, target_accept_prob=self.target_accept,
                             max_tree_depth=self.max_tree_depth)
        block = min(self.checkpoint_every, self.n_samples)
        mcmc = MCMC(kernel, num_warmup=self.n_warmup, num_samples=block, num_chains=self.n_chains,
                    chain_method=self.chain_method, progress_bar=False)
        fields = ("potential_energy", "diverging", "num_steps")
        bar = self._bar(saved)
        clock = time.perf_counter()
        try:
            if saved is None:
                rng = np.random.default_rng(self.seed)
                chol = np.linalg.cholesky(inverse_mass)
                z0 = z_opt + rng.standard_normal((self.n_chains, len(z_opt))) @ chol.T
                # a chain started where the model cannot be evaluated (-1e99, a flat plateau) would wander on it
                invalid = problem.log_likelihood(np.asarray(space.physical(jnp.asarray(z0)))) <= -1e98
                z0[invalid] = z_opt + 1e-3 * (z0[invalid] - z_opt)
                key = jax.random.PRNGKey(self.seed)
                mcmc.warmup(key, init_params=jnp.asarray(z0 if self.n_chains > 1 else z0[0]), extra_fields=("num_steps",),
                            collect_warmup=True)
                warm_steps = int(np.sum(np.asarray(mcmc.get_extra_fields()["num_steps"])))
                saved = {"inverse_mass_matrix": inverse_mass, "z_optimum": z_opt,
                         "state": jax.device_get(mcmc.post_warmup_state), "draws": [], "potential": [], "diverging": [],
                         "num_steps": [], "warmup_steps": warm_steps}
                self._write_checkpoint(saved)
                if bar is not None:
                    bar.update(self.n_warmup)
            while (taken := _drawn(saved)) < self.n_samples:
                mcmc.num_samples = min(block, self.n_samples - taken)
                state = jax.tree.map(jnp.asarray, saved["state"])
                mcmc.post_warmup_state = state
                mcmc.run(state.rng_key, init_params=state.z, extra_fields=fields)
                extra = mcmc.get_extra_fields(group_by_chain=True)
                # blocks of (draws, chains, ...) concatenate on axis 0
                saved["draws"].append(by_draw(mcmc.get_samples(group_by_chain=True)))
                for name, key in (("potential", "potential_energy"), ("diverging", "diverging"), ("num_steps", "num_steps")):
                    saved[name].append(by_draw(extra[key]))
                saved["state"] = jax.device_get(mcmc.last_state)
                self._write_checkpoint(saved)
                if bar is not None:
                    bar.update(len(saved["draws"][-1]))
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - clock
        return self._samples(problem, space, saved, seconds, resuming)

    def _start(self, problem, space, initial):
        """(inverse mass matrix in z, z at the optimum) from the Levenberg-Marquardt optimum."""
        from galaxyfit.search.lm import LevenbergMarquardt, laplace_approximation

        optimiser = LevenbergMarquardt(seed=self.seed)
        chosen = initial if initial is not None else self.initial
        starts = [optimiser._vector(problem.model, chosen)] if chosen is not None else optimiser._starts(problem, None)
        optimum = optimiser.optimise(problem, starts)
        if optimum is None:
            raise ModelError("NUTS found no start: no model at the image-moment guess, the prior medians or draws from "
                             "the priors can be evaluated; give a start (NUTS(initial=...))")
        theta = np.asarray(optimum.vector, dtype=np.float64)
        z_opt = space.unconstrained(theta)
        laplace = laplace_approximation(np.asarray(optimum.jacobian_fn(optimum.vector)), problem.model)
        jac = space.dz_dtheta(theta)
        covariance = laplace.covariance * jac[:, None] * jac[None, :]
        # parameters the optimum leaves unconstrained (NaN rows and columns): unit scale in z, no correlation
        unconstrained = ~np.isfinite(np.diag(covariance))
        covariance = np.where(np.isfinite(covariance), covariance, 0.0)
        covariance[unconstrained, unconstrained] = 1.0
        covariance = 0.5 * (covariance + covariance.T) + 1e-12 * np.diag(np.maximum(np.diag(covariance), 1e-300))
        return covariance, z_opt

    def _bar(self, saved):
        if not self.progress:
            return None
        from tqdm.auto import tqdm

        done = 0 if saved is None else self.n_warmup + _drawn(saved)
        return tqdm(desc=self.kind, total=self.n_warmup + self.n_samples, initial=done, unit=" iterations",
                    mininterval=1.0, leave=False)

    def _write_checkpoint(self, saved) -> None:
        if self.filepath is None:
            return
        with atomic_destination(self.filepath, suffix=".pickle") as staging:
            with open(staging, "wb") as handle:
                pickle.dump(saved, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def _samples(self, problem, space, saved, seconds, resuming):
        import jax.numpy as jnp
        from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

        z = np.concatenate(saved["draws"], axis=0)[: self.n_samples]  # (draws, chains, n)
        potential = np.concatenate(saved["potential"], axis=0)[: self.n_samples]
        diverging = np.concatenate(saved["diverging"], axis=0)[: self.n_samples]
        steps = np.concatenate(saved["num_steps"], axis=0)[: self.n_samples]
        theta = np.asarray(space.physical(jnp.asarray(z)))
        log_l = -potential - np.asarray(space.log_jacobian(jnp.asarray(z)))
        by_chain = np.swapaxes(theta, 0, 1)  # (chains, draws, n)
        names = problem.model.parameter_names
        if self.n_chains > 1:
            r_hat = np.asarray(split_gelman_rubin(by_chain))
        else:  # split R-hat of one chain: its two halves as two chains
            half = by_chain.shape[1] // 2
            r_hat = np.asarray(split_gelman_rubin(np.stack([by_chain[0, :half], by_chain[0, half: 2 * half]])))
        ess = np.asarray(effective_sample_size(by_chain))
        gradient_calls = int(np.sum(steps)) + int(saved["warmup_steps"])
        problem.n_calls += gradient_calls
        problem.likelihood_seconds += seconds
        flat = theta.reshape(-1, theta.shape[-1])
        info = {"r_hat": dict(zip(names, r_hat.tolist())), "ess": dict(zip(names, ess.tolist())),
                "divergences": int(np.sum(diverging)), "mean_tree_steps": float(np.mean(steps)),
                "gradient_evaluations": gradient_calls}
        samples = Samples(flat, log_l.reshape(-1), np.ones(len(flat)), names, info=info)
        extra = {**info, "max_r_hat": float(np.max(r_hat)), "min_ess": float(np.min(ess)),
                 "step_size": np.asarray(saved["state"].adapt_state.step_size).tolist(), "sampling_s": seconds}
        if resuming:
            extra["resumed"] = "checkpoint"
        return samples, {"search": extra}


def _read_checkpoint(filepath):
    """The saved state of a NUTS run, or SearchError naming the file when it cannot be read."""
    try:
        with open(filepath, "rb") as handle:
            saved = pickle.load(handle)
        if not isinstance(saved, dict) or not {"state", "draws", "z_optimum", "inverse_mass_matrix"} <= set(saved):
            raise ValueError("not a NUTS checkpoint")
        return saved
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
        raise SearchError(f"cannot resume from checkpoint {filepath}: it is damaged or not a NUTS checkpoint ({exc}); "
                          "delete it (and its .fingerprint.json) to start again") from exc


def _drawn(saved) -> int:
    """Draws per chain a run's saved state holds."""
    return sum(len(block) for block in saved["draws"])
