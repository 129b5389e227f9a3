"""Nested sampling with MultiNest (Feroz, Hobson & Bridges 2009, MNRAS 398, 1601) through pymultinest
(Buchner et al. 2014, A&A 564, A125). Needs MultiNest's shared library (libmultinest.so), which is not on PyPI:
build MultiNest and put its ``lib`` folder on ``LD_LIBRARY_PATH``."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from galaxyfit.errors import GalaxyfitError, SearchError
from galaxyfit.search.base import Search, checked_seed
from galaxyfit.search.samples import Samples


class MultiNestUnavailable(GalaxyfitError, ImportError):
    """pymultinest or MultiNest's shared library is missing."""


def _multinest_library() -> str | None:
    """Where libmultinest would be loaded from (pymultinest's own search: LD_LIBRARY_PATH / DYLD_LIBRARY_PATH, then
    the system's), or None."""
    import ctypes.util

    names = ("libmultinest.so", "libmultinest.dylib", "libmultinest_mpi.so")
    for variable in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        for folder in filter(None, os.environ.get(variable, "").split(os.pathsep)):
            for name in names:
                if os.path.isfile(os.path.join(folder, name)):
                    return os.path.join(folder, name)
    return ctypes.util.find_library("multinest")


def missing_multinest_parts() -> list[str]:
    """Every missing piece the MultiNest search needs, each with how to get it; empty when it can run."""
    import importlib.util

    missing = []
    if importlib.util.find_spec("pymultinest") is None:
        missing.append("the pymultinest package (pip install pymultinest)")
    if _multinest_library() is None:
        missing.append("MultiNest's shared library libmultinest.so, which is not on PyPI: build it from "
                       "github.com/JohannesBuchner/MultiNest (cmake, a Fortran compiler, LAPACK) and add its lib/ folder "
                       "to LD_LIBRARY_PATH")
    return missing


def load_pymultinest():
    """Import pymultinest, or raise MultiNestUnavailable naming everything that is missing (pymultinest calls
    sys.exit when libmultinest.so is missing: that becomes the same clear error)."""
    missing = missing_multinest_parts()
    if missing:
        raise MultiNestUnavailable("the MultiNest search needs " + " and ".join(missing) + "; nautilus (the default) "
                                   "and dynesty are nested samplers that need neither")
    try:
        import pymultinest
    except (ImportError, SystemExit) as exc:
        raise MultiNestUnavailable(f"pymultinest and libmultinest ({_multinest_library()}) were found but pymultinest "
                                   f"failed to load ({type(exc).__name__}: {exc}); check that the library matches "
                                   "this machine and its dependencies (gfortran, LAPACK) are installed") from exc
    return pymultinest


class MultiNest(Search):
    """Nested sampling with MultiNest: ``n_live``, ``evidence_tolerance``, ``sampling_efficiency``, ``seed``;
    ``output`` keeps MultiNest's files (and lets an interrupted run resume), default a temporary folder."""

    kind = "multinest"

    def __init__(self, n_live: int = 200, evidence_tolerance: float = 0.5, sampling_efficiency: float = 0.8, seed: int = 1,
                 output: str | None = None, progress: bool = True, check: bool = True, name: str | None = None, path_prefix: str = "", output_path="output", unique_tag: str | None = None,
                 quick_update_seconds: float | None = 30.0, database: str | None = None):
        super().__init__(max_batch=1, progress=progress, check=check, name=name, path_prefix=path_prefix, output_path=output_path, unique_tag=unique_tag,
                         quick_update_seconds=quick_update_seconds, database=database)
        if isinstance(n_live, bool) or not isinstance(n_live, (int, np.integer)) or n_live < 2:
            raise SearchError(f"MultiNest(n_live={n_live!r}): must be an integer >= 2")
        self.n_live, self.evidence_tolerance, self.sampling_efficiency = int(n_live), float(evidence_tolerance), float(sampling_efficiency)
        self.seed, self.output = checked_seed(seed), output

    def settings(self) -> dict:
        return {"name": self.kind, "n_live": self.n_live, "evidence_tolerance": self.evidence_tolerance,
                "sampling_efficiency": self.sampling_efficiency, "seed": self.seed}

    def fit(self, model, analysis, **kwargs):
        load_pymultinest()  # fail before any work if MultiNest cannot run
        return super().fit(model, analysis, **kwargs)

    def _run(self, problem, **kwargs):
        pymultinest = load_pymultinest()
        folder = self.output or tempfile.mkdtemp(prefix="galaxyfit-multinest-")
        os.makedirs(folder, exist_ok=True)  # MultiNest's Fortran aborts the whole process if it cannot open its files
        result = pymultinest.solve(
            LogLikelihood=lambda x: float(problem.log_likelihood(np.asarray(x)[None, :])[0]),
            Prior=lambda u: problem.prior_transform(np.asarray(u)[None, :])[0],
            n_dims=problem.n_dim, n_live_points=self.n_live, evidence_tolerance=self.evidence_tolerance,
            sampling_efficiency=self.sampling_efficiency, seed=self.seed, resume=self.output is not None,
            outputfiles_basename=f"{folder}/", verbose=False,
        )
        analyzer = pymultinest.Analyzer(n_params=problem.n_dim, outputfiles_basename=f"{folder}/")
        data = analyzer.get_data()  # columns: weight, -2 log L, parameters
        samples = Samples(data[:, 2:], -0.5 * data[:, 1], data[:, 0], problem.model.parameter_names,
                          log_evidence=float(result["logZ"]), log_evidence_error=float(result["logZerr"]))
        return samples, {"search": {"output": folder}}
