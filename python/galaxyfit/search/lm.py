"""Levenberg-Marquardt least squares on the normalized residuals, with exact JAX Jacobians and box bounds from the
priors (Levenberg 1944; Marquardt 1963; Press et al., Numerical Recipes 3rd ed., 15.5.2).

Each iteration solves ``(J^T J + lambda diag(J^T J)) delta = -J^T r`` for the residuals ``r = (d - m) / sigma`` and
their Jacobian ``J`` (``jax.jacfwd`` through the C++ kernels' exact derivatives), projects the step onto the prior
bounds, accepts it if chi^2 falls (lambda / 3) and otherwise retries with lambda * 4. Parameter errors are the square
roots of the diagonal of ``(J^T J)^-1`` at the optimum; the "posterior" is that Gaussian (a Laplace approximation),
and so is the log evidence estimate.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit.errors import ModelError
from galaxyfit.search.base import Search, checked_seed
from galaxyfit.search.initial import moments_vector
from galaxyfit.search.samples import gaussian_samples


#: XLA options for the optimiser's functions: little to optimise outside the custom calls, so compile quickly. XLA's
#: older (non-"fusion emitter") code generator halves the compile time of the Jacobian (IC 3478: 0.19 -> 0.08 s) for
#: ~2 ms more per Jacobian call (bench/README.md).
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True, "xla_cpu_use_fusion_emitters": False}


class LevenbergMarquardt(Search):
    """Maximum-likelihood fit by Levenberg-Marquardt.

    Parameters
    ----------
    initial : array-like, instance or None
        Starting point: a parameter vector or an instance built like the model (``fit(..., initial=...)``
        overrides it). None: the ``n_starts`` best of a guess from the image moments (``search.initial``), the prior
        medians and ``n_draws`` draws from the prior (batched likelihood calls) are each optimised and the best
        optimum kept, so a fit needs no hand-made start.
    max_iterations : int
    tolerance : float
        Stop when an accepted step lowers chi^2 by less than ``tolerance`` * chi^2 (Imfit's ``--ftol`` default, 1e-8).
    n_posterior : int
        Draws from the Laplace approximation stored as samples.
    """

    name = "lm"

    def __init__(self, initial=None, max_iterations: int = 200, tolerance: float = 1e-8, n_posterior: int = 4000, seed: int = 0,
                 n_draws: int = 1000, n_starts: int = 3, progress: bool = False):
        super().__init__(max_batch=256, progress=progress)
        self.initial = initial
        self.n_draws = int(n_draws)
        self.n_starts = int(n_starts)
        self.max_iterations = int(max_iterations)
        self.tolerance = float(tolerance)
        self.n_posterior = int(n_posterior)
        self.seed = checked_seed(seed)

    def settings(self) -> dict:
        return {"name": self.name, "max_iterations": self.max_iterations, "tolerance": self.tolerance, "n_draws": self.n_draws,
                "n_starts": self.n_starts, "seed": self.seed}

    def warm_up_sizes(self) -> list[int]:
        return []  # the optimiser compiles its own residual and Jacobian functions

    def _starts(self, problem, initial) -> list[np.ndarray]:
        model = problem.model
        if initial is not None:
            return [self._vector(model, initial)]
        rng = np.random.default_rng(self.seed)
        candidates = np.vstack([model.prior_medians[None, :], problem.prior_transform(rng.random((self.n_draws, model.prior_count)))])
        log_l = problem.log_likelihood(candidates)
        order = [i for i in np.argsort(-log_l) if log_l[i] > -1e98]
        starts = [candidates[i] for i in order]
        moments = moments_vector(model, problem.analysis.dataset) if hasattr(problem.analysis, "dataset") else None
        if moments is not None:  # always tried: its likelihood may be poor, but it is in the right basin
            starts.insert(0, moments)
        return starts[: self.n_starts] or [model.prior_medians]

    def _vector(self, model, initial) -> np.ndarray:
        if isinstance(initial, (list, tuple, np.ndarray)):
            vector = np.asarray(initial, dtype=np.float64)
        else:
            vector = model.vector_from_instance(initial)
        if vector.shape != (model.prior_count,):
            raise ModelError(f"initial point must have {model.prior_count} parameters, got {vector.shape}")
        return vector

    def _run(self, problem, initial=None):
        model, analysis = problem.model, problem.analysis
        lower = np.array([lo for lo, _ in model.parameter_limits])
        upper = np.array([hi for _, hi in model.parameter_limits])
        lo, hi = model.interior_limits(1e-9)  # strictly inside bounded priors (e.g. a radius prior starting at 0)
        n_pixels = getattr(getattr(analysis, "plan", None), "pixels_in_mask", None)
        if n_pixels is not None and model.prior_count > n_pixels:  # J^T J is singular: no optimum, no errors
            raise ModelError(f"Levenberg-Marquardt cannot fit {model.prior_count} free parameters to the {n_pixels} "
                             "pixels the mask leaves: use a larger image or mask, or fewer free parameters")

        def residuals(vector):
            return analysis.normalized_residuals_function(model.instance_from_vector(vector))

        # The residual function compiles on a worker thread (XLA compiles without holding the GIL) while the Jacobian
        # is traced here, then both compile concurrently, at XLA's lowest backend optimisation level: the work is in
        # the C++ kernels and FFTs, so this cuts the compile time of a short fit by a quarter without slowing its
        # iterations (bench/README.md).
        compile_start = time.perf_counter()
        probe = jax.ShapeDtypeStruct((model.prior_count,), jnp.float64)  # lowering needs only the shape: no eager op
        with ThreadPoolExecutor(max_workers=2) as pool:
            residual_job = pool.submit(jax.jit(residuals).lower(probe).compile, compiler_options=FAST_COMPILE)
            jacobian_lowered = jax.jit(jax.jacfwd(lambda vector: residuals(vector)[0])).lower(probe)
            jacobian_job = pool.submit(jacobian_lowered.compile, compiler_options=FAST_COMPILE)
            residual_fn, jacobian_fn = residual_job.result(), jacobian_job.result()
        compile_s = time.perf_counter() - compile_start

        def chi2_of(vector):
            r, valid = residual_fn(jnp.asarray(vector))
            r = np.asarray(r)
            problem.n_calls += 1
            value = float(r @ r)
            return (value if bool(valid) and math.isfinite(value) else math.inf), r

        def optimise(x):
            x = np.clip(x, lo, hi)
            chi2, r = chi2_of(x)
            if not math.isfinite(chi2):
                return None
            return self._iterate(x, chi2, r, lo, hi, chi2_of, jacobian_fn)

        starts = self._starts(problem, initial if initial is not None else self.initial)
        runs = [run for run in map(optimise, starts) if run is not None]
        if not runs:
            raise ModelError("every starting point gives a non-finite chi^2 (no model there can be evaluated): give a "
                             "starting point (LevenbergMarquardt(initial=...) in Python) or, on the command line, "
                             "priors that exclude the failing region in a model file (--model FILE.yaml)")
        x, chi2, iterations, history = min(runs, key=lambda run: run[1])
        jac = np.asarray(jacobian_fn(jnp.asarray(x)))
        # ln L = -(chi^2 + sum ln 2 pi sigma^2) / 2 (the noise term is fixed by the dataset)
        log_l = -0.5 * (chi2 + analysis.plan.noise_normalization) if hasattr(analysis, "plan") else problem.log_likelihood_of(x)
        samples, extra = self._finish(problem, x, chi2, iterations, history, jac, log_l, lower, upper)
        extra["search"]["compile_s"] = compile_s
        return samples, extra

    def _iterate(self, x, chi2, r, lo, hi, chi2_of, jacobian_fn):
        """Levenberg-Marquardt iterations from ``x``: (optimum, chi^2, iterations, chi^2 history)."""
        lam, iterations, history = 1e-3, 0, [chi2]
        for iterations in range(1, self.max_iterations + 1):
            jac = np.asarray(jacobian_fn(jnp.asarray(x)))
            grad = jac.T @ r
            curvature = jac.T @ jac
            scale = np.maximum(np.diag(curvature), 1e-300)
            accepted = False
            for _ in range(30):
                try:
                    step = np.linalg.solve(curvature + lam * np.diag(scale), -grad)
                except np.linalg.LinAlgError:
                    lam *= 4.0
                    continue
                trial = np.clip(x + step, lo, hi)
                trial_chi2, trial_r = chi2_of(trial)
                if trial_chi2 < chi2:
                    improvement = (chi2 - trial_chi2) / chi2
                    x, chi2, r = trial, trial_chi2, trial_r
                    lam = max(lam / 3.0, 1e-12)
                    accepted = True
                    break
                lam *= 4.0
            history.append(chi2)
            if not accepted:
                break
            if improvement < self.tolerance:  # converged: an accepted step lowered chi^2 by a fraction < tolerance
                break
        return x, chi2, iterations, history

    def _finish(self, problem, x, chi2, iterations, history, jac, log_l, lower, upper):
        model = problem.model
        try:
            covariance = np.linalg.inv(jac.T @ jac)
        except np.linalg.LinAlgError:
            covariance = np.linalg.pinv(jac.T @ jac)
        covariance = 0.5 * (covariance + covariance.T)
        sign, log_det = np.linalg.slogdet(covariance)
        log_prior = float(model.log_prior(np.asarray(x, dtype=np.float64)))
        log_z = log_l + log_prior + 0.5 * model.prior_count * math.log(2 * math.pi) + 0.5 * log_det if sign > 0 else math.nan
        samples = gaussian_samples(
            x, covariance, model.parameter_names, log_l, n=self.n_posterior, seed=self.seed, log_evidence=log_z,
            lower=lower, upper=upper,
            info={"method": "Laplace approximation at the Levenberg-Marquardt optimum"},
        )
        extra = {"search": {"iterations": iterations, "chi_squared": chi2, "chi_squared_history": history,
                            "errors": np.sqrt(np.maximum(np.diag(covariance), 0.0)).tolist()},
                 "covariance": covariance}
        return samples, extra
