"""The work of one galaxy, run on a Dask worker: build its dataset, model and analysis, run the search in the galaxy's
own output folder, and return a small picklable record.

A galaxy's own problem -- a missing or damaged file, NaN data, a model or search that fails -- is caught and comes
back as a ``failed`` record with the reason; it is never a task error (which Dask would retry to no purpose). Only
a ``MemoryError`` is raised, so Dask may retry the galaxy on a less loaded worker; a worker process that dies
(SIGKILL, out of memory, a crash in native code) has its task retried by the scheduler.

Workers never open the results database: the client writes it (``runner``).
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import os
import re
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from galaxyfit._precision import in_float64

#: Records keep at most this many distinct warnings of a galaxy's fit.
MAX_WARNINGS = 20

#: Names of the temporary files ``galaxyfit.output.atomic_destination`` writes (``.<name>.<8 random characters>
#: <suffix>``, tempfile.mkstemp's pattern): a process killed mid-write leaves one behind.
TEMPORARY_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.[A-Za-z0-9]+$")


@dataclass
class FitJob:
    """What every galaxy of a catalogue shares (sent with each task).

    make_dataset : callable row -> Imaging (``datasets.CutoutFiles``, ``datasets.LargeImage`` or your own).
    model : a model, or a callable (row, dataset) -> model (``models.model_argument``).
    search : the template search; each galaxy runs a copy named by its id (its settings unchanged).
    output_path, path_prefix : each galaxy's folder is ``output_path/path_prefix/<id>/<identifier>/``.
    figures : draw PNG figures (FITS, JSON and CSV are always written).
    latent_config, settings, cosmology : given to each ``AnalysisImaging``.
    run_key : identifies the run's configuration (``runner.run_key``), recorded with each galaxy.
    """

    make_dataset: object
    model: object
    search: object
    output_path: str
    path_prefix: str = ""
    figures: bool = False
    latent_config: object = None
    settings: object = None
    cosmology: object = None
    run_key: str = ""


@dataclass
class GalaxyRecord:
    """One galaxy's outcome. ``status``: "done" (a completed folder) or "failed" (``reason`` says why, prefixed by
    the stage: dataset, model, fit or worker). ``resumed``: the folder was already complete (the search read it
    back). ``summary``: ``summary.summary_row`` of the folder. Times in seconds (``load_s``: dataset and model,
    ``fit_s``: the search, ``total_s``: the task); ``worker``: host:pid; ``worker_rss``: the worker's resident
    memory in bytes after the fit; ``finished``: Unix time."""

    id: str
    status: str
    folder: str | None = None
    identifier: str | None = None
    reason: str | None = None
    resumed: bool = False
    summary: dict | None = None
    warnings: list = field(default_factory=list)
    load_s: float = 0.0
    fit_s: float = 0.0
    total_s: float = 0.0
    worker: str | None = None
    worker_rss: int | None = None
    finished: float = 0.0
    run_key: str = ""
    skipped: bool = False

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: A full garbage collection every this many galaxies in a worker process: JAX arrays held in reference cycles are
#: freed then rather than when Python's thresholds say. One per galaxy took ~0.15 s, a fifth of a 64 x 64 LM fit.
GC_EVERY = 20
_since_collection = 0


def _collect_now_and_then() -> None:
    global _since_collection
    _since_collection += 1
    if _since_collection >= GC_EVERY:
        gc.collect()
        _since_collection = 0


def galaxy_folder(output_path, path_prefix: str, galaxy_id: str) -> Path:
    """The folder holding a galaxy's fit folders (one per identifier): ``output_path/path_prefix/<id>``."""
    return Path(output_path) / (path_prefix or "") / galaxy_id


def remove_temporary_files(folder) -> list[Path]:
    """Delete the temporary files (``TEMPORARY_FILE``) that a process killed mid-write left under ``folder``; returns
    them. Only for a folder no other process is writing (the task that owns the galaxy, the client that owns the
    run)."""
    removed = []
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            if TEMPORARY_FILE.match(name):
                path = Path(dirpath) / name
                try:
                    path.unlink()
                    removed.append(path)
                except FileNotFoundError:
                    pass
    return removed


def _resident_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001 - a diagnostic only
        return None


def _search_copy(template, job: FitJob, galaxy_id: str):
    search = copy.copy(template)
    search.name = galaxy_id
    # The galaxy's id enters its fit's identifier (the database's key), with the data's checksum already there: two
    # rows with identical pixels (a duplicate detection, a copied cutout) are two fits, not one row replacing another.
    tag = getattr(template, "unique_tag", None)
    search.unique_tag = galaxy_id if tag is None else f"{tag}:{galaxy_id}"
    search.output_path = job.output_path
    search.path_prefix = job.path_prefix
    search.database = None  # workers never open the database: SQLite on a shared filesystem is not safe
    search.progress = False
    search.paths = None
    if not job.figures:
        search.quick_update_seconds = None  # quick updates draw figures
    if hasattr(search, "filepath"):
        search.filepath = None  # a sampler's checkpoint goes in the galaxy's own folder, never a shared file
    return search


@in_float64
def fit_galaxy(job: FitJob, row: dict, galaxy_id: str) -> dict:
    """Fit one galaxy (``row``: its catalogue row as plain values) and return its ``GalaxyRecord`` as a dict.

    Never raises for the galaxy's own problems (they make a ``failed`` record); raises MemoryError."""
    start = time.perf_counter()
    record = GalaxyRecord(id=galaxy_id, status="failed", run_key=job.run_key,
                          worker=f"{socket.gethostname()}:{os.getpid()}")
    stage = "dataset"
    search = None
    caught: list = []
    try:
        # this task owns the galaxy: what a killed earlier attempt was writing can go
        remove_temporary_files(galaxy_folder(job.output_path, job.path_prefix, galaxy_id))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # every galaxy's own warnings, not once per worker process
            from galaxyfit.analysis import AnalysisImaging
            from galaxyfit.dataset import Imaging
            from galaxyfit.errors import CatalogueError

            from galaxyfit.catalogue.models import model_for
            from galaxyfit.catalogue.summary import summary_row

            dataset = job.make_dataset(row)
            if not isinstance(dataset, Imaging):
                raise CatalogueError(f"make_dataset returned {type(dataset).__name__}, not a galaxyfit.Imaging")
            stage = "model"
            model = model_for(job.model, row, dataset)
            analysis = AnalysisImaging(dataset, cosmology=job.cosmology, settings=job.settings, title_prefix=galaxy_id,
                                       latent_config=job.latent_config, visualize=job.figures, dataset_name=galaxy_id)
            record.load_s = time.perf_counter() - start
            stage = "fit"
            search = _search_copy(job.search, job, galaxy_id)
            fit_start = time.perf_counter()
            result = search.fit(model, analysis)
            record.fit_s = time.perf_counter() - fit_start
            stage = "summary"
            record.folder = str(search.paths.folder)
            record.identifier = search.paths.identifier
            record.resumed = (getattr(result, "search", None) or {}).get("resumed") == "completed"
            record.summary = summary_row(search.paths.folder)
            record.status = "done"
            del result, analysis, model, dataset
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - the galaxy fails, the catalogue goes on
        text = str(exc).strip() or repr(exc)
        record.reason = f"{stage}: {type(exc).__name__}: {text}"
        if search is not None and search.paths is not None:
            record.folder, record.identifier = str(search.paths.folder), search.paths.identifier
    finally:
        record.warnings = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))[:MAX_WARNINGS]
        caught = None
        _collect_now_and_then()
        record.total_s = time.perf_counter() - start
        record.worker_rss = _resident_bytes()
        record.finished = time.time()
    return record.to_dict()
