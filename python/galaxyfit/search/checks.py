"""A search checks its own answer before returning it.

A sampler can return a confident posterior of the wrong thing: nautilus with a centre prior of +-1e4" on a 4" image
settled 60" off the image at ln L = -1.7e9 while the galaxy's optimum has ln L = +8737, and dynesty's random walks
were seen to stall thousands below a sharp peak. Two cheap checks catch these:

* an optimiser (Levenberg-Marquardt) started from the sampler's best point and from the image moments
  (``search.initial``): if it climbs more than max(10, n_dim) above the sampler's best, the sampler missed the
  maximum (a converged posterior's best sample lies within about n_dim / 2 of it: a chi^2 of n_dim degrees of
  freedom over 2);
* the best fit's light-profile centres: one outside the image is light the data cannot constrain, the signature of
  a sampler lost in a prior far wider than the data.

The result is flagged (``result.check``, ``result.trusted``, an :class:`UntrustedResultWarning`), never replaced:
the posterior is the sampler's. The optimiser compiles once per model structure and dataset geometry in a process
(~0.1-0.5 s; later fits of that geometry reuse it, ``search.compiled_cache``) and runs at most ``MAX_ITERATIONS``
iterations from two starts, a few per cent of a nested fit.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from galaxyfit.profiles.light import LightProfile

#: Iterations of each optimisation in the check: enough to climb out of a sampler's stall, bounded in cost.
MAX_ITERATIONS = 100


class UntrustedResultWarning(UserWarning):
    """A search's result failed its own checks (``galaxyfit.search.checks``): its posterior and evidence should not
    be trusted."""


def check_result(problem, samples, search_name: str, seed: int = 0, optimise: bool = True) -> dict:
    """Check a search's samples; returns ``{"trusted", "problems", "sampler_log_likelihood",
    "optimum_log_likelihood", "optimum_vector", "gap", "seconds"}`` and warns (:class:`UntrustedResultWarning`) with
    every problem found. ``optimise=False`` skips the optimiser (a search that is an optimiser itself)."""
    start = time.perf_counter()
    model = problem.model
    problems: list[str] = []
    best_vector = np.asarray(samples.max_log_likelihood_vector, dtype=np.float64)
    best_log_l = float(samples.max_log_likelihood)
    out = {"sampler_log_likelihood": best_log_l, "optimum_log_likelihood": None, "optimum_vector": None, "gap": None}
    if not best_log_l > -1e98:
        problems.append(f"{search_name} found no model that can be evaluated (every point it tried was rejected)")
    from galaxyfit.search.lm import _evidence_model

    # Least squares cannot judge a regularized evidence (it would push the coefficients to 0): no optimiser check then.
    if optimise and hasattr(problem.analysis, "normalized_residuals_function") and not _evidence_model(problem):
        optimum = _optimum(problem, best_vector, seed)
        if optimum is not None:
            gap = optimum.log_likelihood - best_log_l
            out.update(optimum_log_likelihood=optimum.log_likelihood, optimum_vector=optimum.vector.tolist(), gap=gap)
            if gap > max(10.0, float(problem.n_dim)):
                problems.append(
                    f"{search_name} did not reach the maximum likelihood: its best ln L is {best_log_l:.6g}, but an "
                    f"optimiser started from {'its best point and ' if best_log_l > -1e98 else ''}the image moments "
                    f"reaches {optimum.log_likelihood:.6g}; the optimum is in result.check['optimum_vector']")
    dataset = getattr(problem.analysis, "dataset", None)
    if dataset is not None and best_log_l > -1e98:
        problems += _centres_outside(model.instance_from_vector(best_vector), dataset)
    out["trusted"] = not problems
    out["problems"] = problems
    out["seconds"] = time.perf_counter() - start
    if problems:
        advice = ("Narrow the priors to where the galaxy is (centre, size, intensity), use more live points, or start "
                  "from the optimum.")
        warnings.warn(f"the {search_name} result cannot be trusted: " + "; ".join(problems) + f". {advice} The posterior "
                      "is reported as the sampler found it.", UntrustedResultWarning, stacklevel=3)
    return out


def _optimum(problem, best_vector, seed):
    from galaxyfit.search.initial import moments_vector
    from galaxyfit.search.lm import LevenbergMarquardt

    starts = [best_vector]
    dataset = getattr(problem.analysis, "dataset", None)
    moments = moments_vector(problem.model, dataset) if dataset is not None else None
    if moments is not None:
        starts.append(moments)
    calls, rejected = problem.n_calls, dict(problem.rejected)  # the check's evaluations are not the search's
    try:
        return LevenbergMarquardt(max_iterations=MAX_ITERATIONS, seed=seed).optimise(problem, starts)
    finally:
        problem.n_calls, problem.rejected = calls, rejected


def _centres_outside(instance, dataset) -> list[str]:
    """A problem for each light profile of ``instance`` whose centre lies outside the image."""
    ny, nx = dataset.shape
    half_y, half_x = ny * dataset.pixel_scales[0] / 2.0, nx * dataset.pixel_scales[1] / 2.0
    found = []
    galaxies = instance.galaxies
    items = galaxies.items() if hasattr(galaxies, "items") else ((f"galaxy_{i}", g) for i, g in enumerate(galaxies))
    for galaxy_name, galaxy in items:
        for name, component in galaxy.components.items():
            centre = getattr(component, "centre", None)
            if not isinstance(component, LightProfile) or centre is None:
                continue
            y, x = (float(c) for c in centre)
            if not (abs(y) <= half_y and abs(x) <= half_x) or not (math.isfinite(y) and math.isfinite(x)):
                found.append(f"the best fit's galaxies.{galaxy_name}.{name} is centred at (y, x) = ({y:.4g}, {x:.4g})\" from the "
                             f"image centre, outside the {2 * half_y:.4g}\" x {2 * half_x:.4g}\" image, where the data "
                             "cannot constrain it")
    return found
