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
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit import _precision as precision
from galaxyfit.errors import ModelError, SearchError
from galaxyfit.search.base import Search, checked_seed
from galaxyfit.search.initial import moments_vector
from galaxyfit.search.samples import gaussian_samples
from galaxyfit._precision import in_float64


#: XLA options for the optimiser's functions: little to optimise outside the custom calls, so compile quickly. XLA's
#: older (non-"fusion emitter") code generator halves the compile time of the Jacobian (IC 3478: 0.19 -> 0.08 s) for
#: ~2 ms more per Jacobian call (bench/README.md).
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True, "xla_cpu_use_fusion_emitters": False}


#: Fewest draws of the Laplace approximation whose quantiles are quoted as errors (1 or 2 draws gave +-0 or nonsense).
MIN_POSTERIOR_DRAWS = 100


def _require(value, accept, name: str, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not accept(int(value)):
        raise SearchError(f"LevenbergMarquardt({name}={value!r}): must be {what}")


def _evidence_model(problem) -> bool:
    """Whether the problem's figure of merit is a regularized log evidence (at the prior medians)."""
    check = getattr(problem.analysis, "figure_of_merit_is_evidence", None)
    if check is None:
        return False
    return bool(check(problem.model.instance_from_vector(np.asarray(problem.model.prior_medians, dtype=np.float64))))


def _vector_probe(model):
    return jax.ShapeDtypeStruct((model.prior_count,), jnp.float64)  # lowering needs only the shape: no eager op


def _compiled_residual_functions(residuals, probes):
    """(residual function, Jacobian function) of ``residuals(vector, *rest) -> (r (m,), valid)``, compiled for the
    abstract arguments ``probes``; the Jacobian is d r / d vector (m, n)."""
    # The residual function compiles on a worker thread (XLA compiles without holding the GIL) while the Jacobian
    # is traced here, then both compile concurrently, at XLA's lowest backend optimisation level: the work is in
    # the C++ kernels and FFTs, so this cuts the compile time of a short fit by a quarter without slowing its
    # iterations (bench/README.md).
    with ThreadPoolExecutor(max_workers=2) as pool:
        residual_job = pool.submit(precision.jit(residuals).lower(*probes).compile, compiler_options=FAST_COMPILE)
        jacobian_lowered = precision.jit(jax.jacfwd(lambda *args: residuals(*args)[0])).lower(*probes)
        jacobian_job = pool.submit(jacobian_lowered.compile, compiler_options=FAST_COMPILE)
        return residual_job.result(), jacobian_job.result()


def _shared_residual_functions(template):
    """The compiled residual and Jacobian functions of ``(vector, arrays)`` for every fit of ``template``'s key
    (``search.compiled_cache``)."""
    def residuals(vector, arrays):
        return template.bind(arrays).normalized_residuals_function(template.model.instance_from_vector(vector))

    return _compiled_residual_functions(residuals, (_vector_probe(template.model), template.probe))


@dataclass
class Optimum:
    """A Levenberg-Marquardt optimum: the parameter vector, its chi^2 and ln L, the iterations taken, the chi^2 after
    each, the compiled Jacobian function and the seconds spent compiling."""

    vector: np.ndarray
    chi_squared: float
    log_likelihood: float
    iterations: int
    history: list
    jacobian_fn: object
    compile_s: float


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

    kind = "lm"
    check_with_optimiser = False  # it is one: its check looks only at the best fit's centres

    def __init__(self, initial=None, max_iterations: int = 200, tolerance: float = 1e-8, n_posterior: int = 4000, seed: int = 0,
                 n_draws: int = 1000, n_starts: int = 3, progress: bool = False, check: bool = True, name: str | None = None, path_prefix: str = "", output_path="output", unique_tag: str | None = None,
                 quick_update_seconds: float | None = 30.0, database: str | None = None):
        super().__init__(max_batch=256, progress=progress, check=check, name=name, path_prefix=path_prefix, output_path=output_path, unique_tag=unique_tag,
                         quick_update_seconds=quick_update_seconds, database=database)
        _require(n_draws, lambda v: v >= 0, "n_draws", "an integer >= 0")
        _require(n_starts, lambda v: v >= 1, "n_starts", "an integer >= 1")
        _require(max_iterations, lambda v: v >= 1, "max_iterations", "an integer >= 1")
        _require(n_posterior, lambda v: v >= MIN_POSTERIOR_DRAWS, "n_posterior",
                 f"an integer >= {MIN_POSTERIOR_DRAWS} (the errors are quantiles of these draws)")
        if not (math.isfinite(float(tolerance)) and float(tolerance) >= 0):
            raise SearchError(f"LevenbergMarquardt(tolerance={tolerance!r}): must be a finite number >= 0")
        self.initial = initial
        self.n_draws = int(n_draws)
        self.n_starts = int(n_starts)
        self.max_iterations = int(max_iterations)
        self.tolerance = float(tolerance)
        self.n_posterior = int(n_posterior)
        self.seed = checked_seed(seed)

    def settings(self) -> dict:
        return {"name": self.kind, "max_iterations": self.max_iterations, "tolerance": self.tolerance, "n_draws": self.n_draws,
                "n_starts": self.n_starts, "seed": self.seed}

    def warm_up_sizes(self) -> list[int]:
        return []  # the optimiser compiles its own residual and Jacobian functions

    def _starts(self, problem, initial) -> list[np.ndarray]:
        model = problem.model
        if initial is not None:
            return [self._vector(model, initial)]
        rng = np.random.default_rng(self.seed)
        candidates = model.prior_medians[None, :]
        if self.n_draws:  # (a batch of no points is not a batch the problem can transform)
            candidates = np.vstack([candidates, problem.prior_transform(rng.random((self.n_draws, model.prior_count)))])
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
        model = problem.model
        if _evidence_model(problem):
            raise ModelError("Levenberg-Marquardt minimises chi^2, but this model's figure of merit is a log evidence with "
                             "a regularization (a pixelization or a regularized basis), whose coefficients chi^2 alone "
                             "would drive to 0: use a sampler (Nautilus, the default) or fix the regularization")
        lower = np.array([lo for lo, _ in model.parameter_limits])
        upper = np.array([hi for _, hi in model.parameter_limits])
        n_pixels = getattr(getattr(problem.analysis, "plan", None), "pixels_in_mask", None)
        if n_pixels is not None and model.prior_count > n_pixels:  # J^T J is singular: no optimum, no errors
            raise ModelError(f"Levenberg-Marquardt cannot fit {model.prior_count} free parameters to the {n_pixels} "
                             "pixels the mask leaves: use a larger image or mask, or fewer free parameters")
        starts = self._starts(problem, initial if initial is not None else self.initial)
        optimum = self.optimise(problem, starts)
        if optimum is None:
            raise ModelError("every starting point gives a non-finite chi^2 (no model there can be evaluated): give a "
                             "starting point (LevenbergMarquardt(initial=...) in Python) or, on the command line, "
                             "priors that exclude the failing region in a model file (--model FILE.yaml)")
        jac = np.asarray(optimum.jacobian_fn(jnp.asarray(optimum.vector)))
        samples, extra = self._finish(problem, optimum.vector, optimum.chi_squared, optimum.iterations, optimum.history,
                                      jac, optimum.log_likelihood, lower, upper)
        extra["search"]["compile_s"] = optimum.compile_s
        return samples, extra

    def optimise(self, problem, starts) -> "Optimum | None":
        """The best of Levenberg-Marquardt optimisations from each of ``starts`` (parameter vectors, clipped into the
        priors), or None when no start gives a model that can be evaluated."""
        model, analysis = problem.model, problem.analysis
        lo, hi = model.interior_limits(1e-9)  # strictly inside bounded priors (e.g. a radius prior starting at 0)

        sharing = getattr(problem, "sharing", None)
        compile_start = time.perf_counter()
        if sharing is not None:  # one compilation for every fit of this geometry and model (search.compiled_cache)
            (residual_c, jacobian_c), _ = sharing.get_or_make(("lm residuals",), _shared_residual_functions)
            arrays = sharing.arrays
            residual_fn = lambda vector: residual_c(vector, arrays)  # noqa: E731
            jacobian_fn = lambda vector: jacobian_c(vector, arrays)  # noqa: E731
        else:
            def residuals(vector):
                return analysis.normalized_residuals_function(model.instance_from_vector(vector))

            residual_fn, jacobian_fn = _compiled_residual_functions(residuals, (_vector_probe(model),))
        compile_s = time.perf_counter() - compile_start

        def chi2_of(vector):
            r, valid = residual_fn(jnp.asarray(vector))
            r = np.asarray(r)
            problem.n_calls += 1
            value = float(r @ r)
            return (value if bool(valid) and math.isfinite(value) else math.inf), r

        def optimise(x):
            x = np.clip(np.asarray(x, dtype=np.float64), lo, hi)
            chi2, r = chi2_of(x)
            if not math.isfinite(chi2):
                return None
            return self._iterate(x, chi2, r, lo, hi, chi2_of, jacobian_fn)

        runs = [run for run in map(optimise, starts) if run is not None]
        if not runs:
            return None
        x, chi2, iterations, history = min(runs, key=lambda run: run[1])
        # ln L = -(chi^2 + sum ln 2 pi sigma^2) / 2 (the noise term is fixed by the dataset)
        log_l = -0.5 * (chi2 + analysis.plan.noise_normalization) if hasattr(analysis, "plan") else problem.log_likelihood_of(x)
        return Optimum(x, chi2, log_l, iterations, history, jacobian_fn, compile_s)

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
        laplace = laplace_approximation(jac, model)
        names = model.parameter_names
        free = [name for name, bad in zip(names, laplace.unconstrained) if not bad]
        log_z = math.nan
        if not laplace.unconstrained.any():
            log_prior = float(model.log_prior(np.asarray(x, dtype=np.float64)))
            log_z = log_l + log_prior + 0.5 * model.prior_count * math.log(2 * math.pi) + 0.5 * laplace.log_det
        else:
            listed = ", ".join(f"{name} ({laplace.reasons[name]})" for name in names if name in laplace.reasons)
            warnings.warn(f"Levenberg-Marquardt: the data do not constrain {listed}. Their errors are reported as "
                          "infinite and the Laplace evidence as NaN; fix or link such parameters, narrow their priors, or "
                          "use a sampler (the default search) to map the degeneracy.", UnconstrainedParameterWarning,
                          stacklevel=4)
        samples = gaussian_samples(
            x, laplace.covariance, names, log_l, n=self.n_posterior, seed=self.seed, log_evidence=log_z,
            lower=lower, upper=upper, unconstrained=[name for name in names if name not in free],
            info={"method": "Laplace approximation at the Levenberg-Marquardt optimum"},
        )
        errors = np.where(laplace.unconstrained, np.inf, np.sqrt(np.maximum(np.diag(laplace.covariance), 0.0)))
        extra = {"search": {"iterations": iterations, "chi_squared": chi2, "chi_squared_history": history,
                            "errors": errors.tolist(), "unconstrained": laplace.reasons},
                 "covariance": laplace.covariance}
        return samples, extra


class UnconstrainedParameterWarning(UserWarning):
    """A parameter the data do not constrain at an optimum: degenerate with others (only a combination of them is
    measured), without effect on the model, or with an error wider than its prior."""


@dataclass
class LaplaceApproximation:
    """The Gaussian approximation of the posterior at an optimum.

    covariance : (n, n) -- on the constrained parameters, the inverse of J^T J restricted to the directions the data
        measure; rows and columns of unconstrained parameters are NaN.
    unconstrained : (n,) bool
    reasons : {parameter name: why it is unconstrained}
    log_det : float -- ln det of the covariance (-inf when a direction is unconstrained).
    """

    covariance: np.ndarray
    unconstrained: np.ndarray
    reasons: dict
    log_det: float


#: Singular values of the column-scaled Jacobian below this fraction of the largest are taken as zero: directions
#: in parameter space the data do not measure at all (two identical components give ~1e-16, round-off).
NULL_DIRECTION_TOLERANCE = 1e-9


@in_float64
def laplace_approximation(jacobian, model) -> LaplaceApproximation:
    """Covariance of the parameters at a least-squares optimum, C = (J^T J)^-1 for the Jacobian J (m, n) of the
    normalized residuals (Press et al., Numerical Recipes 3rd ed., 15.5), computed so that it never reports a
    degenerate parameter as precise.

    J's columns are scaled to unit norm (parameters' units differ by orders of magnitude) and decomposed by SVD,
    J D^-1 = U S V^T. Singular values below ``NULL_DIRECTION_TOLERANCE`` times the largest are directions the data do
    not measure: a parameter with weight in such a direction (sum of squared V entries > 1e-6) is unconstrained --
    e.g. the intensities of two identical components, of which only the sum is measured, and a parameter with no
    effect on the model (a zero column). The covariance is D^-1 V_c S_c^-2 V_c^T D^-1 over the remaining directions
    (positive semi-definite by construction, unlike an inverse of a near-singular J^T J, which can have negative
    diagonal entries). A parameter whose 1-sigma error is no smaller than its prior's standard deviation (found from
    the prior's quantiles) is unconstrained too: the data tell nothing the prior did not.
    """
    jac = np.asarray(jacobian, dtype=np.float64)
    n = jac.shape[1]
    names = model.parameter_names
    reasons: dict[str, str] = {}
    norms = np.sqrt(np.sum(jac * jac, axis=0))
    usable = np.isfinite(norms) & (norms > 0)
    scale = np.where(usable, norms, 1.0)
    scaled = np.where(usable[None, :], jac / scale[None, :], 0.0)
    if not np.all(np.isfinite(scaled)):
        nan = np.full((n, n), np.nan)
        return LaplaceApproximation(nan, np.ones(n, dtype=bool), {name: "the Jacobian is not finite" for name in names}, -math.inf)
    _, singular, vt = np.linalg.svd(scaled, full_matrices=False)
    largest = singular.max() if singular.size else 0.0
    keep = singular > NULL_DIRECTION_TOLERANCE * largest if largest > 0 else np.zeros(len(singular), dtype=bool)
    v = vt.T
    if v.shape[1] < n:  # fewer residuals than parameters: the missing directions are null too
        v = np.linalg.svd(scaled, full_matrices=True)[2].T
        keep = np.concatenate([keep, np.zeros(n - len(keep), dtype=bool)])
    null_weight = np.sum(v[:, ~keep] ** 2, axis=1)
    for i, name in enumerate(names):
        if not usable[i]:
            reasons[name] = "it does not change the model"
        elif null_weight[i] > 1e-6:
            partners = [names[j] for j in range(n) if j != i and null_weight[j] > 1e-6 and usable[j]]
            reasons[name] = (f"degenerate with {', '.join(partners)}" if 0 < len(partners) <= 2 else
                             f"degenerate with {len(partners)} other parameters" if partners else "degenerate")
    kept = v[:, keep[: v.shape[1]]]
    inverse_squares = 1.0 / singular[keep[: len(singular)]] ** 2
    covariance = (kept * inverse_squares[None, :]) @ kept.T / scale[:, None] / scale[None, :]
    covariance = 0.5 * (covariance + covariance.T)
    errors = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    unit = (np.arange(2000) + 0.5) / 2000.0
    for i, (name, prior) in enumerate(zip(names, model.priors)):
        if name in reasons:
            continue
        prior_std = float(np.std(np.asarray(prior.value_for(unit), dtype=np.float64)))
        if errors[i] >= prior_std:
            reasons[name] = f"its error {errors[i]:.3g} is no smaller than its prior's standard deviation {prior_std:.3g}"
    unconstrained = np.array([name in reasons for name in names], dtype=bool)
    covariance[unconstrained, :] = np.nan
    covariance[:, unconstrained] = np.nan
    log_det = -math.inf if unconstrained.any() else float(np.sum(np.log(inverse_squares)) - 2.0 * np.sum(np.log(scale)))
    return LaplaceApproximation(covariance, unconstrained, reasons, log_det)
