"""Nested (importance) sampling with nautilus (Lange 2023, MNRAS 525, 3181): galaxyfit's default search."""

from __future__ import annotations

import contextlib
import math
import warnings
from pathlib import Path

import numpy as np

from galaxyfit.errors import SearchError
from galaxyfit.output import atomic_destination
from galaxyfit.search.base import Search, checked_seed
from galaxyfit.search.checkpoint import check_checkpoint, fingerprint, record_stop
from galaxyfit.search.failures import PriorEdgeError, PriorEdgeMonitor, SearchFailedError, diagnosis
from galaxyfit.search.nautilus_kernels import compiled_bound_kernels, compiled_training_settings
from galaxyfit.search.samples import Samples


#: The emulator network of each bound: one small network, trained as nautilus trains its own (Adam on mini-batches
#: until 10 epochs bring no gain). Full-batch L-BFGS (150-300 iterations) was faster but left the evidence ~0.05 low
#: on sim_bulge_disk, five times its quoted error (bench/README.md).
NEURAL_NETWORK_KWARGS = {"hidden_layer_sizes": (32, 16)}


class Nautilus(Search):
    """Posterior samples and the Bayesian evidence by nautilus, tuned for a likelihood that costs ~0.1 ms.

    Parameters
    ----------
    n_live : int
        Live points (nautilus' main accuracy knob).
    enlarge_per_dim : float
        Enlargement of each bounding ellipsoid per dimension. nautilus' default, 1.1, lost the true mode of
        galaxyfit's bulge + disk problems (bench/README.md: bulge radius ~1.15" instead of 0.6", as PyAutoGalaxy's
        default Nautilus search does); 1.3 found it on every seed tried, at more (cheap) likelihood calls.
    n_networks : int
        Neural networks per bound (nautilus' default 4). Training them is most of nautilus' own time when a
        likelihood is this cheap, so one small network (``neural_network_kwargs``) is used.
    split_bounds : bool
        Let nautilus split each bound's ellipsoid into several (its multi-ellipsoid decomposition), with one network
        per piece. Off by default: a bound is fitted to the n_live best points and nautilus splits only an ellipsoid
        holding at least 2 ``n_points_min`` points, so ``n_points_min = n_live // 2 + 1`` keeps one ellipsoid and
        one network per bound (and still lets nautilus step over a likelihood plateau, such as the -1e99 of invalid
        models, once that many points lie above it). The network, not the ellipsoid, shapes the bound and can hold
        several modes, so the answer does not change; well-separated modes cost more likelihood calls (2.4x on a
        two-mode test problem), which are cheap here, while the splitting's Gaussian mixtures, ellipsoid fits and
        extra networks are not: on sim_bulge_disk (seeds 1-3) the default search took 60-74 s instead of 75-102 s,
        with the same answers (bench/README.md). An ``n_points_min`` in ``sampler_kwargs`` overrides this.
    compiled_bounds : bool
        Train each bound's network and fit its ellipsoid with galaxyfit's C++ kernels
        (``galaxyfit.search.nautilus_kernels``): the same algorithms as nautilus' scikit-learn and numpy code, which
        were ~60 % of a fit's time at this likelihood's cost. False runs nautilus unchanged.
    n_update : int or None
        New points above the live set's threshold before a new bound. None (the default) means 3 n_live, which
        builds fewer bounds than nautilus' own default of n_live.
    n_batch : int
        Points proposed per batch, i.e. per vmapped likelihood call (256, a size the likelihood is compiled for).
    n_eff : float
        Effective sample size at which sampling stops (nautilus' default); the log-evidence error is about
        1 / sqrt(n_eff), 0.01. Sampling from the finished bounds is cheap, so this costs little time here.
    f_live : float
        Evidence fraction in the live set at which exploration stops.
    discard_exploration : bool
        Drop the exploration-phase points (unbiased posterior and evidence at more likelihood calls).
    seed : int
        Random seed: the same seed (and thread settings) gives the same samples and evidence.
    filepath : str or None
        HDF5 checkpoint (h5py): written as the run goes; a run started again with the same file resumes.
    neural_network_kwargs : dict
        scikit-learn ``MLPRegressor`` arguments of the emulator network, over ``NEURAL_NETWORK_KWARGS`` (one (32, 16)
        network): ``{"alpha": 1e-3}`` keeps that network. SearchError names an argument MLPRegressor does not have.
    sampler_kwargs : dict
        Any other ``nautilus.Sampler`` arguments; SearchError names one nautilus does not have.

    The log-evidence error is nautilus' statistical estimate 1 / sqrt(n_eff) (Lange 2023, section 3). It leaves out
    the scatter that comes from where the bounds fall: on sim_bulge_disk, runs with different seeds gave log Z from
    3804.88 to 3804.96 (bench/README.md), a spread about three times the quoted 0.010. Compare evidences of two models
    with that in mind, or run each with a few seeds.
    """

    kind = "nautilus"

    def __init__(self, n_live: int = 200, enlarge_per_dim: float = 1.3, n_networks: int = 1, split_bounds: bool = False,
                 compiled_bounds: bool = True, n_update: int | None = None, n_batch: int = 256,
                 n_eff: float = 10000, f_live: float = 0.01, discard_exploration: bool = False, seed: int = 1, filepath: str | None = None,
                 neural_network_kwargs: dict | None = None, max_batch: int = 256, progress: bool = True, check: bool = True,
                 name: str | None = None, path_prefix: str = "", output_path="output", unique_tag: str | None = None,
                 quick_update_seconds: float | None = 30.0, database: str | None = None,
                 **sampler_kwargs):
        super().__init__(max_batch=max_batch, progress=progress, check=check, name=name, path_prefix=path_prefix, output_path=output_path, unique_tag=unique_tag,
                         quick_update_seconds=quick_update_seconds, database=database)
        if int(n_live) < 1:
            raise SearchError(f"Nautilus n_live must be a positive integer, got {n_live!r}")
        self.n_live = int(n_live)
        self.enlarge_per_dim = float(enlarge_per_dim)
        self.n_networks = int(n_networks)
        self.split_bounds = bool(split_bounds)
        self.compiled_bounds = bool(compiled_bounds)
        self.n_update = int(n_update) if n_update is not None else 3 * self.n_live
        self.n_batch = int(n_batch)
        self.n_eff = n_eff
        self.f_live = f_live
        self.discard_exploration = bool(discard_exploration)
        self.seed = checked_seed(seed)
        self.filepath = filepath
        self.neural_network_kwargs = {**NEURAL_NETWORK_KWARGS, **(neural_network_kwargs or {})}
        # (checked only when given: the checks import scikit-learn and nautilus, ~1-2 s before a fit could start)
        if neural_network_kwargs:
            _check_arguments(neural_network_kwargs, _network_arguments(), "neural_network_kwargs", "scikit-learn's MLPRegressor")
        if sampler_kwargs:
            _check_arguments(sampler_kwargs, _sampler_arguments(), "Nautilus", "nautilus.Sampler")
        # (the defaults are the C++ trainer's; checking them would import scikit-learn, ~1 s, before a fit starts)
        if self.compiled_bounds and neural_network_kwargs and compiled_training_settings(self.neural_network_kwargs) is None:
            warnings.warn(f"Nautilus(neural_network_kwargs={self.neural_network_kwargs!r}): galaxyfit's C++ trainer "
                          "reproduces MLPRegressor's adam solver with relu units, shuffled mini-batches ('auto' or an "
                          "integer batch_size) and no early stopping; these networks are trained by scikit-learn "
                          "instead, several times slower per bound", stacklevel=2)
        pool = sampler_kwargs.get("pool")
        if pool is not None and not (isinstance(pool, tuple) and len(pool) == 2 and pool[0] is None):
            raise SearchError(f"Nautilus(pool={pool!r}): the likelihood is one compiled JAX function evaluated in batches "
                              "in this process, and JAX deadlocks in forked worker processes; pool=(None, n) gives "
                              "nautilus n processes for sampling its bounds only")
        self.sampler_kwargs = sampler_kwargs

    def settings(self) -> dict:
        return {"name": self.kind, "n_live": self.n_live, "enlarge_per_dim": self.enlarge_per_dim, "n_networks": self.n_networks,
                "split_bounds": self.split_bounds, "compiled_bounds": self.compiled_bounds, "n_update": self.n_update, "n_batch": self.n_batch, "n_eff": self.n_eff, "f_live": self.f_live,
                "discard_exploration": self.discard_exploration, "seed": self.seed,
                "neural_network_kwargs": self.neural_network_kwargs, **self.sampler_kwargs}

    def warm_up_sizes(self) -> list[int]:
        return [self.max_batch]

    def _run(self, problem, **kwargs):
        import nautilus

        if problem.n_dim < 2:  # nautilus' own limit ("Cannot run Nautilus with less than 2 parameters")
            raise SearchError(f"Nautilus needs at least 2 free parameters and this model has {problem.n_dim} (e.g. a "
                              "pixelization's one regularization coefficient): use Dynesty (--search dynesty) or Emcee")
        if self.n_live <= problem.n_dim + 1:
            raise SearchError(f"Nautilus needs more live points than free parameters + 1: n_live={self.n_live} for "
                              f"{problem.n_dim} parameters")

        options = dict(n_live=self.n_live, enlarge_per_dim=self.enlarge_per_dim, n_networks=self.n_networks, n_update=self.n_update,
                       n_batch=self.n_batch, neural_network_kwargs=self.neural_network_kwargs, vectorized=True, pass_dict=False,
                       seed=self.seed)
        if not self.split_bounds:
            options["n_points_min"] = self.n_live // 2 + 1
        resuming = False
        if self.filepath is not None:
            resuming = check_checkpoint(self.filepath, fingerprint(problem, self.settings()))
            if resuming:
                problem.message(f"resuming from checkpoint {self.filepath}")
            options.update(filepath=str(self.filepath), resume=True)
        options.update(self.sampler_kwargs)
        with compiled_bound_kernels() if self.compiled_bounds else contextlib.nullcontext():
            sampler = self._sample(nautilus, problem, options, resuming)
        points, log_w, log_l = sampler.posterior()
        weights = np.exp(log_w - np.max(log_w))
        n_eff = float(sampler.n_eff)
        samples = Samples(points, log_l, weights, problem.model.parameter_names, log_evidence=float(sampler.log_z),
                          log_evidence_error=1.0 / math.sqrt(n_eff) if n_eff > 0 else math.nan,
                          info={"n_eff": n_eff, "n_like": int(sampler.n_like)})
        extra = {"n_like": int(sampler.n_like), "n_eff_reached": n_eff}  # (n_eff is the setting)
        if resuming:
            extra["resumed"] = "checkpoint"
        return samples, {"search": extra}

    def _sample(self, nautilus, problem, options, resuming):
        prior_transform = PriorEdgeMonitor(problem, self.kind)  # stops a run whose points pile up at a prior's edge
        try:
            sampler = nautilus.Sampler(prior_transform, problem.log_likelihood, n_dim=problem.n_dim, **options)
        except (OSError, KeyError, ValueError) as exc:
            if not resuming:  # a settings error, not a bad checkpoint
                raise
            raise SearchError(f"cannot resume from checkpoint {self.filepath}: it is damaged or incomplete ({exc}); "
                              "delete it (and its .fingerprint.json) to start again") from exc
        if resuming:
            _verify_checkpoint_likelihoods(sampler, problem, self.filepath)
        if self.filepath is not None:
            _write_checkpoints_atomically(sampler)
        try:
            with harmless_nautilus_warnings():
                sampler.run(f_live=self.f_live, n_eff=self.n_eff, discard_exploration=self.discard_exploration, verbose=False)
        except PriorEdgeError as exc:
            self._stopped(str(exc), exc, PriorEdgeError)
        except (np.linalg.LinAlgError, ValueError, RuntimeError, FloatingPointError, ZeroDivisionError) as exc:
            # Numerical failures inside nautilus' bound construction: say what happened from the live points.
            points = np.concatenate(sampler.points) if sampler.points else np.zeros((0, problem.n_dim))
            log_l = np.concatenate(sampler.log_l) if sampler.log_l else np.zeros(0)
            self._stopped(diagnosis(problem, self.kind, points, log_l, self.n_live, exc), exc, SearchFailedError)
        if self.filepath is not None:
            sampler.write(self.filepath, overwrite=True)  # the finished state (shell updates are not written)
        return sampler

    def _stopped(self, message: str, cause: BaseException, error_class) -> None:
        """Raise ``error_class(message)``; a checkpoint (the state after the last bound, written whole) is kept and
        marked so that the same command is refused at once with this explanation instead of failing again."""
        if self.filepath is not None and Path(self.filepath).is_file():
            record_stop(self.filepath, message)
            message += (f" The checkpoint {self.filepath} keeps the progress up to the last bound; run the same command "
                        "again only after changing this (it is refused otherwise).")
        raise error_class(message) from cause


def _verify_checkpoint_likelihoods(sampler, problem, filepath) -> None:
    """Evaluate the best points a checkpoint holds again (up to one batch) and raise SearchError unless they give
    the ln L stored with them (1e-6 relative): otherwise the data, settings or galaxyfit's likelihood changed under
    the same fingerprint, and resuming would mix two likelihoods in one posterior."""
    if not sampler.log_l:
        return
    points, log_l = np.concatenate(sampler.points), np.concatenate(sampler.log_l)
    best = np.argsort(log_l)[::-1][: problem.max_batch]
    best = best[log_l[best] > -1e98]
    if not len(best):
        return
    padded = np.concatenate([best, np.repeat(best[-1:], problem.max_batch - len(best))])
    physical = problem.prior_transform(points[padded])  # nautilus keeps unit-cube coordinates
    values, _ = problem._apply(problem._batched, physical)  # the compiled batch size; not counted as calls
    values = values[: len(best)]
    bad = ~np.isclose(values, log_l[best], rtol=1e-6, atol=1e-6)
    if bad.any():
        j = int(np.argmax(bad))
        raise SearchError(f"checkpoint {filepath}: a stored point's ln L is now {values[j]!r}, not the {log_l[best][j]!r} "
                          "stored with it: the likelihood changed (another galaxyfit version?) since the checkpoint was "
                          "written, so it cannot be resumed; delete it (and its .fingerprint.json) to start again")


@contextlib.contextmanager
def harmless_nautilus_warnings():
    """Silence nautilus' ``RuntimeWarning: divide by zero encountered in divide`` from ``Union.sample``, which is
    harmless.

    To sample a union of overlapping ellipsoids, nautilus draws a point from one of them and keeps it with probability
    1 / n_bound, n_bound being how many ellipsoids contain it (``p = 1 - 1.0 / n_bound`` is the probability of
    dropping it). A point drawn right at an ellipsoid's surface can test, by rounding, as inside none: n_bound = 0,
    p = -inf, and the point is kept -- which is right, since it was drawn from a bound. Only the warning is wrong,
    and in long runs it reached users with no way to act on it. The filter matches that message from that module
    alone, so any other division by zero still warns.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="divide by zero encountered in divide", category=RuntimeWarning,
                                module=r"nautilus\.bounds\.union")
        yield


def _write_checkpoints_atomically(sampler) -> None:
    """Make nautilus' checkpoint writes replace the file whole.

    nautilus rewrites its HDF5 checkpoint in place (``write`` deletes the file and writes it again after each new
    bound; ``write_shell_update`` edits it after each batch of points), so a fit killed during a write left a file
    that could not be read, and its progress was lost. Now each full write goes to a temporary file beside the
    checkpoint (``galaxyfit.output.atomic_destination``), renamed onto it once complete, so a killed process leaves
    the previous or the new checkpoint, never a partial one. The in-place shell updates are dropped: a resumed fit restarts from the last
    bound (at most one bound's points are computed again, with the same random numbers, so the result is the same),
    and copying the file for each update instead would cost ~12 s per sim_bulge_disk fit (30 MB, hundreds of
    updates). ``Nautilus._sample`` writes the finished state once more at the end.
    """
    write = sampler.write

    def staged_write(filepath, overwrite=False):
        with atomic_destination(filepath, suffix=".hdf5") as staging:  # nautilus wants an .h5 / .hdf5 name
            write(staging, overwrite=True)

    sampler.write = staged_write
    sampler.write_shell_update = lambda filepath, shell: None


def _network_arguments() -> set:
    from sklearn.neural_network import MLPRegressor

    return set(MLPRegressor().get_params())


def _sampler_arguments() -> set | None:
    """nautilus.Sampler's keyword arguments; None when it takes any (``**kwargs``)."""
    import inspect

    import nautilus

    parameters = inspect.signature(nautilus.Sampler).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return set(parameters) - {"prior", "likelihood"}


def _check_arguments(given: dict, known: set | None, where: str, what: str) -> None:
    if known is None:
        return
    unknown = sorted(set(given) - known)
    if unknown:
        raise SearchError(f"{where}: {', '.join(map(repr, unknown))} {'is not an argument' if len(unknown) == 1 else 'are not arguments'} "
                          f"of {what} (known: {', '.join(sorted(known))})")
