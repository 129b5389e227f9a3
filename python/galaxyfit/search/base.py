"""What every search shares: the analysis lifecycle around a run, a progress bar, and timing."""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from galaxyfit.errors import GalaxyfitError
from galaxyfit.search.checks import UntrustedResultWarning, check_result
from galaxyfit.search.failures import SearchFailedError
from galaxyfit.search.problem import FitProblem
from galaxyfit._precision import float64_api, in_float64


#: Exceptions from inside a sampler that mean "this run cannot go on" rather than "the code is wrong": they become a
#: SearchFailedError whose message says what to try (the original stays attached as its cause).
NUMERICAL_FAILURES = (np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError, OverflowError, ValueError, RuntimeError)


#: A search whose likelihoods have all been rejected after this many calls stops (it would otherwise run for ever).
ALL_REJECTED_CALLS = 100_000


class ProgressProblem(FitProblem):
    """A FitProblem that reports likelihood calls and the best log likelihood on a tqdm progress bar."""

    def __init__(self, model, analysis, max_batch: int = 256, progress: bool = True, description: str = "search"):
        super().__init__(model, analysis, max_batch=max_batch)
        self.best = -np.inf
        self.observer = None  # e.g. a QuickUpdater: offered each batch of (points, ln L)
        self._bar = None
        if progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc=description, unit=" likelihoods", mininterval=1.0, leave=False)

    def log_likelihood(self, points) -> np.ndarray:
        values = super().log_likelihood(points)
        if len(values):
            self.best = max(self.best, float(np.max(values)))
            if self.observer is not None:
                self.observer.offer(np.atleast_2d(points), values)
        if self._bar is not None:
            self._bar.update(len(values))
            shown = f"{self.best:.2f}" if self.best > -1e98 else "none valid yet"
            self._bar.set_postfix(best_log_likelihood=shown, refresh=False)
        if self.best <= -1e98 and self.n_calls >= max(ALL_REJECTED_CALLS, 1000 * self.n_dim):
            raise SearchFailedError(f"every one of the {self.n_calls} likelihoods the search computed was rejected (-1e99): "
                                    "the models it proposes cannot be evaluated (|ell_comps| >= 1, non-positive sizes, "
                                    "NaN). Check the priors and fixed values")
        return values

    def message(self, text: str) -> None:
        """Print a line to stderr above the progress bar (a plain print would land inside the bar's line)."""
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            super().message(text)

    def close(self) -> None:
        super().close()
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@in_float64
def check_some_model_is_valid(problem, n_points: int, seed: int = 0) -> None:
    """ModelError, before any search starts, when neither the prior medians nor ``n_points - 1`` draws from the priors
    give a likelihood that is not rejected: a fixed value or a prior that makes every model invalid (|ell_comps| >= 1,
    a non-positive size, NaN) would otherwise keep a sampler proposing rejected points for ever. Names the profiles
    that cannot be evaluated at the prior medians."""
    from galaxyfit.errors import ModelError
    from galaxyfit.profiles.validate import sanitized

    model = problem.model
    rng = np.random.default_rng(seed)
    points = np.vstack([model.prior_medians[None, :], problem.prior_transform(rng.random((max(n_points, 2) - 1, problem.n_dim)))])
    if np.any(problem.log_likelihood(points) > -1e98):
        problem.n_calls = 0
        problem.rejected = {}
        return
    bad = []
    for prefix, galaxies in _galaxy_sets(model.instance_from_vector(model.prior_medians)):
        items = galaxies.items() if hasattr(galaxies, "items") else enumerate(galaxies)
        for galaxy_name, galaxy in items:
            for name, component in getattr(galaxy, "components", {}).items():
                try:
                    ok = bool(sanitized(component)[1])
                except Exception:  # noqa: BLE001 - reported as not evaluable below
                    ok = False
                if not ok:
                    bad.append(f"{prefix}galaxies.{galaxy_name}.{name} = {component!r}")
    where = ("; at the prior medians these cannot be evaluated: " + "; ".join(bad)) if bad else ""
    raise ModelError(f"no model the priors allow can be evaluated: the prior medians and {len(points) - 1} draws from "
                     "the priors all give a rejected likelihood (-1e99). Check the fixed values and priors (|ell_comps| "
                     f"must be < 1, sizes and indices > 0, no NaN){where}")


def _galaxy_sets(instance, prefix: str = ""):
    """(path prefix, galaxies) of an instance: its own ``galaxies``, or, for a joint fit's instance
    (``FactorGraphModel``: one instance per dataset), each dataset's."""
    from galaxyfit.model.instance import ModelInstance

    if "galaxies" in getattr(instance, "_attributes", {}) or not isinstance(instance, ModelInstance):
        galaxies = getattr(instance, "galaxies", None)
        if galaxies is not None:
            yield prefix, galaxies
        return
    for name, part in instance.items():
        yield from _galaxy_sets(part, f"{prefix}{name}.")


class ParameterAtPriorLimitWarning(UserWarning):
    """A best-fit parameter sits on a hard limit of its prior."""


def parameters_at_prior_limits(model, vector, tolerance: float = 1e-4) -> dict:
    """{parameter path: (value, limit)} for the parameters of ``vector`` within ``tolerance`` (in the prior's unit-cube
    coordinate, so log-uniform priors are judged in log space) of a finite limit of their prior. 1e-4 catches a
    sampler's best point pressed against a limit (e.g. a radius of 29.9999 with a 30 limit) as well as an optimiser's
    projected step."""
    from galaxyfit.model.priors import unit_for

    found = {}
    for name, prior, value in zip(model.parameter_names, model.priors, np.asarray(vector, dtype=float)):
        lower, upper = prior.limits
        if not (np.isfinite(lower) or np.isfinite(upper)) or not np.isfinite(value):
            continue
        unit = unit_for(prior, float(np.clip(value, lower, upper)))
        if np.isfinite(lower) and unit <= tolerance:
            found[name] = (float(value), float(lower))
        elif np.isfinite(upper) and unit >= 1.0 - tolerance:
            found[name] = (float(value), float(upper))
    return found


def checked_seed(seed) -> int:
    """A search's random seed as an int; SearchError unless it is an integer in [0, 2**32 - 1] (numpy's and the
    samplers' generators accept no other)."""
    from galaxyfit.errors import SearchError

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise SearchError(f"seed must be an integer from 0 to 2**32 - 1, got {seed!r}")
    return int(seed)


@float64_api
class Search:
    """Base of the searches: ``fit(model, analysis)`` runs the analysis lifecycle around ``_run``.

    Lifecycle (PyAutoFit's names): ``model = analysis.modify_model(model)``; ``analysis.modify_before_fit(model)``
    (checks and caching); the run; with ``check`` (every search's argument, default True) the search checks its own
    answer (``search.checks``: an optimiser from its best point and the image moments, best-fit centres inside the
    image) and flags it in ``result.check`` / ``result.trusted``; ``result = analysis.make_result(samples, model,
    search_info, ...)``; ``analysis.modify_after_fit(result)``.

    Outputs (PyAutoFit's arguments): a search given a ``name`` writes its fit to
    ``output_path/path_prefix/name/<identifier>/`` (``galaxyfit.paths``; the identifier hashes the model, the search
    settings, the analysis settings and the data): ``analysis.save_attributes(paths)`` before sampling,
    ``analysis.perform_quick_update`` every ``quick_update_seconds`` (None: never) during it, the sampler's checkpoint
    in ``files/search_internal``, ``analysis.save_results(paths, result)`` after it and ``.completed`` last; with
    ``database`` (a SQLite file or a database URL) the completed fit is added to that results database. Running the
    same fit again resumes it from the checkpoint, or returns the completed result read back from the folder, after
    checking that its stored best fit still gives the same log likelihood. Without a ``name`` nothing is written.
    """

    kind = "search"
    #: Most CPU time quick updates may take, as a fraction of the search's (``QuickUpdater``).
    quick_update_cpu_fraction = 0.02
    #: Whether the check's optimiser is worth running after this search (not after an optimiser).
    check_with_optimiser = True
    #: Whether the progress bar counts batched likelihood calls (a search with its own bar turns it off).
    likelihood_progress = True

    def __init__(self, max_batch: int = 256, progress: bool = True, check: bool = True, name: str | None = None,
                 path_prefix: str = "", output_path="output", unique_tag: str | None = None,
                 quick_update_seconds: float | None = 30.0, database: str | None = None):
        from galaxyfit.errors import SearchError

        if not (isinstance(max_batch, (int, np.integer)) and max_batch >= 1):
            raise SearchError(f"{type(self).__name__}(max_batch={max_batch!r}): must be a positive integer")
        self.max_batch = int(max_batch)
        self.progress = bool(progress)
        self.check = bool(check)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise SearchError(f"{type(self).__name__}(name={name!r}): must be a non-empty string or None")
        if quick_update_seconds is not None and not (float(quick_update_seconds) > 0):
            raise SearchError(f"{type(self).__name__}(quick_update_seconds={quick_update_seconds!r}): must be > 0 or None")
        self.name = name
        self.path_prefix = path_prefix or ""
        self.output_path = output_path
        self.unique_tag = unique_tag
        self.quick_update_seconds = quick_update_seconds
        self.database = database
        self.paths = None  # the OutputPaths of the last fit that wrote outputs

    def settings(self) -> dict:
        return {"name": self.kind}

    def fit(self, model, analysis, **kwargs):
        if not all(hasattr(analysis, name) for name in ("modify_model", "modify_before_fit", "log_likelihood_function")):
            raise TypeError(f"{type(self).__name__}.fit(model, analysis) needs an analysis such as "
                            f"galaxyfit.AnalysisImaging(dataset), got {type(analysis).__name__}")
        from galaxyfit.errors import ModelError

        start = time.perf_counter()
        model = analysis.modify_model(model)
        if model.prior_count == 0:
            raise ModelError("the model has no free parameters, so there is nothing to search: evaluate it with "
                             "analysis.log_likelihood_function(instance) or free a parameter")
        analysis.modify_before_fit(model)
        paths = self._output_paths(model, analysis)
        if paths is not None and paths.is_complete:
            result = self._completed_result(paths, model, analysis)
            self._add_to_database(paths)
            analysis.modify_after_fit(result)
            return result
        from galaxyfit.model.data_priors import centroid_outside_prior_warning

        centroid_outside_prior_warning(model, getattr(analysis, "dataset", None))
        problem = ProgressProblem(model, analysis, self.max_batch, self.progress and self.likelihood_progress, self.kind)
        updater = None
        restore_filepath = False
        try:
            compile_s = problem.warm_up(self.warm_up_sizes())
            check_some_model_is_valid(problem, max(self.warm_up_sizes() or [64]), getattr(self, "seed", 0))
            if paths is not None:
                self._start_outputs(paths, model, analysis)
                if hasattr(self, "filepath") and self.filepath is None:  # the sampler checkpoints in the fit's folder
                    checkpoint = getattr(self, "checkpoint_name", "checkpoint.hdf5")
                    self.filepath, restore_filepath = str(paths.search_internal / checkpoint), True
                if self.quick_update_seconds is not None and hasattr(analysis, "perform_quick_update"):
                    from galaxyfit.analysis.quick_update import QuickUpdater

                    updater = QuickUpdater(analysis, paths, model, self.quick_update_seconds, self.quick_update_cpu_fraction)
                    problem.observer = updater
            run_start, run_cpu_start = time.perf_counter(), time.process_time()
            try:
                samples, extra = self._run(problem, **kwargs)
            except GalaxyfitError:
                raise
            except NUMERICAL_FAILURES as exc:
                raise SearchFailedError(
                    f"{self.kind} stopped ({type(exc).__name__}: {exc}). Try another seed or more live points; if it "
                    "persists, check that the priors contain the best fit (e.g. with --search lm)") from exc
            run_s, run_cpu_s = time.perf_counter() - run_start, time.process_time() - run_cpu_start
            if updater is not None:
                problem.observer = None
                updater.close()
            if self.check:  # (search.checks) flagged, never replaced
                extra.setdefault("search", {})["check"] = self._checked(problem, samples)
        finally:
            problem.close()
            if updater is not None:
                updater.close(wait=False)
            if restore_filepath:
                self.filepath = None
        search_compile_s = float(extra.get("search", {}).get("compile_s", 0.0))  # searches that compile their own functions
        timing = {
            "compile_s": compile_s + search_compile_s,
            "run_s": run_s - search_compile_s,
            "run_cpu_s": run_cpu_s,  # CPU time of every thread of the process while the search ran
            "total_s": time.perf_counter() - start,
            "likelihood_calls": problem.n_calls,
            "rejected": problem.rejection_counts,  # {reason: likelihoods rejected for it}
            "likelihood_s": problem.likelihood_seconds,
            "check_s": float(extra.get("search", {}).get("check", {}).get("seconds", 0.0)),
        }
        if updater is not None:
            timing.update(updater.report())
        result = analysis.make_result(samples, model, {**self.settings(), **extra.pop("search", {})}, timing=timing, **extra)
        at_limits = parameters_at_prior_limits(model, result.max_log_likelihood_vector)
        if at_limits:
            result.search["parameters_at_prior_limits"] = at_limits
            listed = ", ".join(f"{name} = {value:g} (limit {limit:g})" for name, (value, limit) in at_limits.items())
            if result.trusted is False:  # a lost sampler presses against limits for no reason the data give
                advice = "but this result failed its checks (see the warning above), so fix that before widening the prior"
            else:
                advice = ("the data prefer values outside the prior, so widen it (for example, sizes are in arcsec: with "
                          "--pixel-scale 1 they are pixels)")
            warnings.warn(f"the best fit lies on its prior's limit for {listed}: {advice}", ParameterAtPriorLimitWarning,
                          stacklevel=2)
        if paths is not None:
            self._finish_outputs(paths, analysis, result)
        analysis.modify_after_fit(result)
        return result

    # ---- the output folder (galaxyfit.paths) ------------------------------------------------------------------------

    def _output_paths(self, model, analysis):
        """The fit's OutputPaths when this search has a ``name`` (None: nothing is written, as PyAutoFit's
        NullPaths)."""
        if self.name is None:
            self.paths = None
            return None
        from galaxyfit.paths import OutputPaths

        self.paths = OutputPaths.for_fit(self.output_path, self.name, model, self.settings(), analysis,
                                         path_prefix=self.path_prefix, unique_tag=self.unique_tag)
        self.paths.make_folders()
        if self.database is not None:  # a URL that cannot connect shows now, not after hours of sampling
            from galaxyfit.database import open_database

            open_database(self.database).dispose()
        return self.paths

    def _start_outputs(self, paths, model, analysis) -> None:
        """Before sampling: the search's and the analysis' attributes (``save_attributes``); a stored best fit from
        an earlier, interrupted run of this fit must give the same ln L now."""
        from galaxyfit.analysis.outputs import save_search_attributes

        save_search_attributes(paths, model, self.settings(), getattr(analysis, "dataset_name", None))
        if hasattr(analysis, "save_attributes"):
            analysis.save_attributes(paths)

    def _finish_outputs(self, paths, analysis, result) -> None:
        """After sampling: ``save_results``, ``save_results_combined``, then ``.completed`` (last), then the results
        database row if asked."""
        if hasattr(analysis, "save_results"):
            analysis.save_results(paths, result)
        if hasattr(analysis, "save_results_combined"):  # PyAutoFit's hook: a joint fit's outputs (FactorGraphModel)
            analysis.save_results_combined(paths, result)
        paths.mark_completed()
        result.paths = paths
        self._add_to_database(paths)

    def _add_to_database(self, paths) -> None:
        """The completed fit's row in ``database`` (idempotent: an unchanged fit already stored is left alone)."""
        if self.database is None:
            return
        try:
            from galaxyfit.database import add_fit

            add_fit(self.database, paths.folder)
        except Exception as exc:  # noqa: BLE001 - the fit is complete on disk; a scrape can add it later
            from galaxyfit.database.connection import mask_password

            warnings.warn(f"the fit in {paths.folder} was not added to the database {mask_password(self.database)}: "
                          f"{type(exc).__name__}: {exc}", stacklevel=3)

    def _completed_result(self, paths, model, analysis):
        """The Result of a completed fit read back from its folder; its stored best fit is evaluated again and a
        different ln L refused (the likelihood code or the data changed under the same identifier)."""
        from galaxyfit.analysis.reload import result_from_folder, verify_stored_best_fit

        result = result_from_folder(paths.folder, analysis=analysis, model=model)
        verify_stored_best_fit(analysis, model, result.max_log_likelihood_vector, result.log_likelihood, paths.folder)
        result.search["resumed"] = "completed"
        result.paths = paths
        if hasattr(analysis, "refresh_latents"):
            analysis.refresh_latents(paths, result)
        return result

    def _checked(self, problem, samples) -> dict:
        """``search.checks.check_result`` of the samples; a check that itself fails is reported, and the result kept."""
        try:
            return check_result(problem, samples, self.kind, seed=getattr(self, "seed", 0), optimise=self.check_with_optimiser)
        except Exception as exc:  # the search's answer must survive a failure of its check
            problem_text = f"the check itself failed ({type(exc).__name__}: {exc}), so this result is unchecked"
            warnings.warn(f"{self.kind}: {problem_text}", UntrustedResultWarning, stacklevel=3)
            return {"trusted": None, "problems": [problem_text]}

    def warm_up_sizes(self) -> list[int]:
        return [1]

    def _run(self, problem: FitProblem, **kwargs):  # pragma: no cover - abstract
        """Return (Samples, extra keyword arguments for make_result)."""
        raise NotImplementedError
