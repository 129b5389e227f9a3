"""``fit_catalogue``: one fit per catalogue row, each a Dask task, streamed back to the client, which alone writes the
results database, the ledger, the summary table and the failures report (module docstrings of ``cluster``,
``task``, ``ledger`` and ``summary`` say how each part works).

Output folder layout::

    OUTPUT/
      galaxies/<id>/<identifier>/   each galaxy's fit folder (README "Outputs"), written by the worker that fits it
      ledger/<id>.json              each galaxy's state, written by the client after its database row
      results.sqlite                the results database (unless another is given)
      summary.fits, summary.csv     one row per galaxy (and summary.parquet with pyarrow)
      failures.txt                  each failed galaxy and why
      .catalogue.lock               held while a run uses OUTPUT
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from galaxyfit.errors import CatalogueError

#: Database rows are written when this many galaxies are waiting, or ``DATABASE_SECONDS`` after the last write: at
#: most one transaction every 2 s however fast galaxies finish (a few ms each on SQLite or PostgreSQL), while a
#: galaxy waits at most ~2 s for its row and ledger entry.
DATABASE_BATCH = 50
DATABASE_SECONDS = 2.0


@dataclass
class CatalogueResult:
    """What ``fit_catalogue`` did.

    records : one dict per galaxy in catalogue order (``task.GalaxyRecord`` fields; ``skipped`` True for a galaxy
        already done by an earlier run).
    summary_paths : {"fits", "csv"[, "parquet"]: path} of the summary table.
    failures : [(id, reason)] of the failed galaxies; also in ``failures_path``.
    database : the database's URL or path (None: none written); ``database_pending``: ids of completed galaxies whose
        rows could not be written (the database was unreachable at the end; run again to add them).
    n_done, n_failed, n_skipped : galaxies fitted (or found complete), failed, and skipped as already done.
    elapsed_s : the run's wall time; dashboard : the Dask dashboard's address (None when none).
    """

    records: list
    output: Path
    summary_paths: dict
    failures: list
    failures_path: Path
    database: str | None
    n_done: int
    n_failed: int
    n_skipped: int
    elapsed_s: float
    dashboard: str | None = None
    database_pending: list = field(default_factory=list)

    @property
    def table(self):
        """The summary table (astropy Table, read from ``summary_paths["fits"]``; NaN where a galaxy has no value)."""
        from astropy.table import Table

        return Table.read(self.summary_paths["fits"], mask_invalid=False)

    def __str__(self) -> str:
        text = (f"{len(self.records)} galaxies: {self.n_done} done ({self.n_skipped} from earlier runs), {self.n_failed} "
                f"failed, in {self.elapsed_s:.1f} s; summary {self.summary_paths.get('fits')}")
        if self.failures:
            text += f"; failures in {self.failures_path}"
        return text


def _search_argument(search):
    if isinstance(search, str):
        from galaxyfit.search import SEARCHES

        if search not in SEARCHES:
            raise CatalogueError(f"search {search!r} is not one of {', '.join(SEARCHES)}")
        return SEARCHES[search](progress=False)
    if not (hasattr(search, "fit") and hasattr(search, "settings") and hasattr(search, "name")):
        raise CatalogueError(f"search must be a galaxyfit search (e.g. LevenbergMarquardt(), Nautilus()) or its name, "
                             f"got {type(search).__name__}")
    return search


def _description(value):
    """A stable, JSON-able description of a job's part for ``run_key``: dataclasses by their fields, anything else by
    the digest of its cloudpickle (functions pickle by reference or code), else its repr."""
    from galaxyfit.paths import _plain

    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "to_dict") and callable(value.to_dict) and not isinstance(value, type):
        try:
            return _plain(value.to_dict())
        except Exception:  # noqa: BLE001 - fall through to pickling
            pass
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(value)
    try:
        import cloudpickle

        return "pickle:" + hashlib.sha256(cloudpickle.dumps(value)).hexdigest()
    except Exception:  # noqa: BLE001
        return repr(value)


def run_key(job) -> str:
    """16 hex characters identifying a run's configuration: the search's settings, the model (its canonical form, or
    the callable that makes it), the dataset maker, the analysis' settings, cosmology and latent variables, and
    where the folders go. A re-run skips a galaxy only if its ledger entry has the same key, so a changed search or
    model is fitted again rather than silently reported from the earlier run."""
    from galaxyfit.catalogue.models import is_model
    from galaxyfit.paths import COSMETIC_SEARCH_SETTINGS, _plain, canonical_model, cosmology_identity

    search = {k: _plain(v) for k, v in job.search.settings().items() if k not in COSMETIC_SEARCH_SETTINGS}
    identity = {
        "search": search, "unique_tag": getattr(job.search, "unique_tag", None),
        "model": canonical_model(job.model) if is_model(job.model) else _description(job.model),
        "make_dataset": _description(job.make_dataset), "settings": _plain(job.settings),
        "latent_config": _description(job.latent_config), "cosmology": cosmology_identity(job.cosmology),
        "folders": [str(Path(job.output_path).absolute()), job.path_prefix],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def _lock_output(output: Path):
    """Hold ``output/.catalogue.lock`` (released when the returned file closes, or the process dies): one run per
    output folder, since only one client may write its ledger and database."""
    try:
        import fcntl
    except ImportError:  # not POSIX: unguarded
        return None
    handle = open(output / ".catalogue.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise CatalogueError(f"another galaxyfit catalogue run is using {output} (it holds {output / '.catalogue.lock'}): "
                             "wait for it to finish, or give another output folder") from None
    return handle


def _error_reason(exc, allowed_failures) -> str:
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker):
        tries = f"{allowed_failures + 1} times" if allowed_failures is not None else "repeatedly"
        return (f"worker: the worker fitting it died {tries} (KilledWorker: out of memory, a crash in native code, or "
                "killed); see the workers' logs")
    return f"worker: {type(exc).__name__}: {exc}"


class _DatabaseWriter:
    """Completed galaxies' rows, written in batches by the client only (``database.write.write_fits``: one
    transaction per batch, insert or replace by identifier, so never a duplicate or a half-written row); each
    galaxy's ledger entry is written after its row."""

    def __init__(self, url, ledger, on_failed):
        self.url = url
        self.ledger = ledger
        self.on_failed = on_failed  # (record, reason): a completed folder that cannot be read into rows
        self.engine = None
        self.pending: list[dict] = []
        self.last_write = time.monotonic()
        self.error = None
        if url is not None:
            from galaxyfit.database import open_database

            self.engine = open_database(url)

    def add(self, record: dict) -> None:
        if self.engine is None:
            self.ledger.write(record)
            return
        self.pending.append(record)
        if len(self.pending) >= DATABASE_BATCH or time.monotonic() - self.last_write >= DATABASE_SECONDS:
            self.flush()

    def due(self) -> bool:
        return bool(self.pending) and time.monotonic() - self.last_write >= DATABASE_SECONDS

    def flush(self) -> None:
        """Write the waiting rows, then their ledger entries. A database that cannot be written is warned about
        once and tried again at the next flush; the rows stay waiting."""
        self.last_write = time.monotonic()
        if not self.pending or self.engine is None:
            return
        from galaxyfit.database.connection import DatabaseError
        from galaxyfit.database.scraper import FolderError, read_fit_folder
        from galaxyfit.database.write import write_fits

        rows, written = [], []
        for record in self.pending:
            try:
                rows.append(read_fit_folder(record["folder"]))
                written.append(record)
            except (FolderError, OSError) as exc:
                self.on_failed(record, f"database: the completed folder {record['folder']} cannot be read ({exc})")
        try:
            write_fits(self.engine, rows)
        except DatabaseError as exc:
            if self.error is None:
                warnings.warn(f"{exc}; will try again (the fits are complete on disk)", stacklevel=2)
            self.error = str(exc)
            self.pending = written
            return
        self.error = None
        self.pending = []
        for record in written:
            self.ledger.write(record)

    def ensure_stored(self, records) -> None:
        """Add the rows of done galaxies (skipped as done by an earlier run) that this database lacks -- e.g. a new
        database for an old output folder."""
        if self.engine is None or not records:
            return
        from galaxyfit.database.write import known_signatures

        stored = {identifier for identifier, _ in known_signatures(self.engine).values()}
        missing = [r for r in records if r.get("identifier") not in stored]
        if missing:
            self.pending.extend(missing)
            self.flush()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


class _Progress:
    """A tqdm bar over galaxies with done / failed / running counts, or nothing."""

    def __init__(self, enabled: bool, total: int, initial: int):
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, desc="galaxies", unit=" galaxy", file=sys.stderr,
                            mininterval=0.5, dynamic_ncols=True)

    def update(self, n: int, done: int, failed: int, running: int | None) -> None:
        if self.bar is None:
            return
        if n:
            self.bar.update(n)
        self.bar.set_postfix_str(f"done {done}, failed {failed}" + ("" if running is None else f", running {running}"),
                                 refresh=True)

    def write(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _running(client, keys: set, threads: int) -> int | None:
    """This run's tasks on workers, at most one per worker thread (a scheduler may queue more on a worker than it
    runs at once)."""
    try:
        return min(threads, sum(1 for worker_keys in client.processing().values() for key in worker_keys if key in keys))
    except Exception:  # noqa: BLE001 - a count on a progress bar
        return None


#: Tasks submitted at a time: this many per worker thread, at least ``MIN_WINDOW`` (``_window``).
TASKS_PER_THREAD = 4
MIN_WINDOW = 32

#: Seconds between two looks at the cluster's thread count (for the window of submitted tasks).
THREADS_SECONDS = 10.0


def _window(threads: int) -> int:
    """How many galaxies are submitted and not yet collected at any time: enough that no worker waits on the client
    between two galaxies, few enough that the client and scheduler hold a bounded number of tasks."""
    return max(MIN_WINDOW, TASKS_PER_THREAD * int(threads))


#: Seconds the client waits for a finished task's record before looking at the others again.
FETCH_SECONDS = 10.0


def _record_of(future, allowed_failures):
    """A finished task's record (dict); the reason it failed (str); or None when its result is not available yet
    (the worker that held it died, so the scheduler is computing it again: a completed fit is read back)."""
    status = future.status
    if status == "finished":
        try:
            return future.result(timeout=FETCH_SECONDS)
        except TimeoutError:
            return None
        except Exception as exc:  # noqa: BLE001 - lost again, then failed: a reason like any task error's
            if future.status in ("lost", "pending"):
                return None
            return _error_reason(exc, allowed_failures)
    if status == "error":
        return _error_reason(future.exception(), allowed_failures)
    if status in ("lost", "pending"):
        return None
    return f"worker: the task was {status}"


def _write_failures(path: Path, failures) -> None:
    from galaxyfit.output import write_text_atomic

    count = f"{len(failures)} galax{'y' if len(failures) == 1 else 'ies'}"
    lines = [f"# {count} failed: id<TAB>reason" if failures else "# no galaxy failed"]
    lines += [f"{gid}\t{' '.join(str(reason).split())}" for gid, reason in failures]
    write_text_atomic(path, "\n".join(lines) + "\n")


def fit_catalogue(table, make_dataset, model, search, client=None, *, output_path="catalogue_output",
                  id_column: str = "id", path_prefix: str = "galaxies", workers: int | None = None,
                  threads_per_fit: int = 1, retries: int = 2, database=None, figures: bool = False,
                  latent_config=None, settings=None, cosmology=None, pin_cpus: bool = True, retry_failed: bool = True,
                  progress: bool = True) -> CatalogueResult:
    """Fit every galaxy of a catalogue, one Dask task per row, and write their folders, database rows, a summary table
    and a failures report.

    Parameters
    ----------
    table : astropy Table, path to a table file (FITS, CSV, ECSV, Parquet), pandas DataFrame or list of dicts
        One row per galaxy; ``id_column`` identifies each (unique, usable as a folder name).
    make_dataset : callable row -> galaxyfit.Imaging
        ``CutoutFiles(...)``, ``LargeImage(...)`` or your own (picklable; run on the workers, with the row's columns as
        a dict of plain values).
    model : Model or Collection, callable (row, dataset) -> model, shorthand text or model file
        The same model for every galaxy, one per galaxy, ``"sersic+exponential"`` (``ShorthandModel``: priors from
        each galaxy's cutout) or a ``.yaml``/``.json`` model file.
    search : a galaxyfit search (``LevenbergMarquardt()``, ``Nautilus(n_live=...)``, ...) or its name
        The template: each galaxy runs a copy named by its id, writing ``output_path/path_prefix/<id>/<identifier>/``.
    client : None, distributed.Client, scheduler address, scheduler file or Dask cluster
        None: an embedded LocalCluster of ``workers`` processes (default: one per ``threads_per_fit`` CPUs), closed at
        the end (``cluster.open_client``). A script that starts one needs the ``if __name__ == "__main__":`` guard
        (its workers are spawned processes).
    threads_per_fit : CPUs (XLA threads) each fit uses; each worker process is pinned to that many CPUs.
    retries : times a galaxy is tried again after its worker process died (or its task raised outside the fit),
        before it is reported as failed. On a scheduler you started, its ``distributed.scheduler.allowed-failures``
        (default 3) bounds the retries after worker deaths.
    database : None (``output_path/results.sqlite``), a SQLite path or database URL (``postgresql://...``, the
        choice on a cluster), or False (none). Only this process writes it; workers never open it.
    figures : draw each fit's PNG figures (~seconds per galaxy); FITS, JSON and CSV outputs are always written.
    latent_config, settings, cosmology : for each ``AnalysisImaging``; ``latent_config`` None: the defaults less
        magnitudes and micro-Jansky fluxes (they need a zero point).
    pin_cpus : pin each worker process to its own CPUs (``cluster.WorkerSetup``).
    retry_failed : fit again the galaxies an earlier run reported as failed (their input may have been fixed);
        False reports them as they were.
    progress : a progress bar over galaxies (done / failed / running), the dashboard link and a failures report on
        stderr.

    Returns
    -------
    CatalogueResult
        Every galaxy's record, the summary paths, the failures. A galaxy that fails -- bad input, a failed fit, a
        worker that died ``retries + 1`` times -- is reported there and in ``failures.txt``; it is never an exception.

    Raises
    ------
    CatalogueError
        The run cannot happen: an unreadable table, a missing or duplicated id, a template naming a missing column,
        an unreachable scheduler, an output folder in use by another run.
    DatabaseError
        The database cannot be opened.

    Re-running with the same arguments skips the galaxies already done (``ledger``), fits the rest, and resumes an
    interrupted nested-sampling fit from its checkpoint.
    """
    from galaxyfit.catalogue.ledger import Ledger, is_done
    from galaxyfit.catalogue.models import model_argument
    from galaxyfit.catalogue.summary import summary_table, write_summary
    from galaxyfit.catalogue.table import galaxy_ids, read_table, table_rows
    from galaxyfit.catalogue.task import FitJob

    start = time.perf_counter()
    catalogue = read_table(table, id_column)
    ids = galaxy_ids(catalogue, id_column)
    rows = table_rows(catalogue)
    if not callable(make_dataset):
        raise CatalogueError(f"make_dataset must be a callable row -> Imaging (e.g. CutoutFiles(...)), got "
                             f"{type(make_dataset).__name__}")
    if hasattr(make_dataset, "check_columns"):
        make_dataset.check_columns(catalogue.colnames)
    model = model_argument(model)
    search = _search_argument(search)
    for name, value in (("retries", retries), ("threads_per_fit", threads_per_fit)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "threads_per_fit" else 0):
            raise CatalogueError(f"{name} must be an integer >= {1 if name == 'threads_per_fit' else 0}, got {value!r}")
    if latent_config is None:
        from galaxyfit.latent import LatentConfig

        latent_config = LatentConfig(enabled={"galaxy_magnitude": False, "galaxy_flux_mujy": False})
    output = Path(output_path).expanduser().absolute()  # the workers' working folders may differ from ours
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogueError(f"cannot create the output folder {output}: {exc.strerror or exc}") from None
    if not os.access(output, os.W_OK):
        raise CatalogueError(f"the output folder {output} is not writable")
    if database is None:
        database = str(output / "results.sqlite")
    elif database is False:
        database = None
    lock = _lock_output(output)
    writer = None
    try:
        job = FitJob(make_dataset=make_dataset, model=model, search=search, output_path=str(output),
                     path_prefix=path_prefix or "", figures=bool(figures), latent_config=latent_config, settings=settings,
                     cosmology=cosmology)
        job.run_key = run_key(job)
        try:  # now, with a clear message, rather than as every galaxy's failure on the workers
            import cloudpickle

            cloudpickle.dumps(job)
        except Exception as exc:  # noqa: BLE001 - pickling raises many kinds
            raise CatalogueError(f"make_dataset, model or search cannot be sent to the workers (they must pickle): "
                                 f"{type(exc).__name__}: {exc}") from None
        ledger = Ledger(output)
        for folder in (output, ledger.folder):  # what this run's killed predecessor was writing (the lock is ours)
            if folder.is_dir():
                remove_temporary_files_shallow(folder)
        entries = ledger.read()
        records: dict[str, dict] = {}
        failures: dict[str, str] = {}

        def fail(record, reason):
            record.update(status="failed", reason=reason)
            failures[record["id"]] = reason
            records[record["id"]] = record
            ledger.write(record)

        writer = _DatabaseWriter(database, ledger, fail)
        for gid in ids:
            entry = entries.get(gid)
            if is_done(entry, job.run_key) or (not retry_failed and entry and entry.get("status") == "failed"
                                                 and entry.get("run_key") == job.run_key):
                records[gid] = {**entry, "skipped": True}
                if entry.get("status") == "failed":
                    failures[gid] = entry.get("reason") or "unknown"
        n_skipped = len(records)
        writer.ensure_stored([r for r in records.values() if r.get("status") == "done"])
        todo = [i for i, gid in enumerate(ids) if gid not in records]
        link = None
        if todo:
            link = _run(job, [(ids[i], rows[i]) for i in todo], records, failures, writer, fail, len(ids),
                        n_skipped, client, workers, threads_per_fit, retries, pin_cpus, progress)
        writer.flush()
        ordered = [records[gid] for gid in ids]
        id_values = [row[id_column] for row in rows]
        summary_paths = write_summary(summary_table(ordered, id_column, id_values), output)
        failure_list = [(gid, failures[gid]) for gid in ids if gid in failures]
        failures_path = output / "failures.txt"
        _write_failures(failures_path, failure_list)
        result = CatalogueResult(records=ordered, output=output, summary_paths=summary_paths, failures=failure_list,
                                 failures_path=failures_path, database=database,
                                 n_done=sum(r.get("status") == "done" for r in ordered), n_failed=len(failure_list),
                                 n_skipped=n_skipped, elapsed_s=time.perf_counter() - start, dashboard=link,
                                 database_pending=[r["id"] for r in writer.pending])
        if progress:
            _report(result, writer.error)
        return result
    finally:
        if writer is not None:
            try:  # interrupted: the rows of the galaxies that did finish are kept (a no-op after a completed run)
                writer.flush()
            finally:
                writer.close()
        if lock is not None:
            lock.close()


def remove_temporary_files_shallow(folder: Path) -> None:
    """``task.remove_temporary_files`` of ``folder``'s own files (not its subfolders: the galaxies' folders belong to
    their tasks)."""
    from galaxyfit.catalogue.task import TEMPORARY_FILE

    for path in folder.iterdir():
        if path.is_file() and TEMPORARY_FILE.match(path.name):
            try:
                path.unlink()
            except FileNotFoundError:
                pass


def _report(result: CatalogueResult, database_error) -> None:
    print(f"galaxyfit catalogue: {result}", file=sys.stderr)
    for gid, reason in result.failures[:10]:
        print(f"  failed {gid}: {' '.join(str(reason).split())}", file=sys.stderr)
    if len(result.failures) > 10:
        print(f"  ... and {len(result.failures) - 10} more in {result.failures_path}", file=sys.stderr)
    if result.database_pending:
        print(f"  {len(result.database_pending)} completed galaxies are not in the database yet ({database_error}): run "
              "again to add them", file=sys.stderr)


def _run(job, todo, records, failures, writer, fail, total, n_skipped, client, workers, threads_per_fit, retries,
         pin_cpus, progress) -> str | None:
    """Submit ``todo`` ([(id, row)]) and collect their records as they finish; returns the dashboard link."""
    from distributed import as_completed

    from galaxyfit.catalogue.cluster import dashboard_link, has_bokeh, open_client, worker_state
    from galaxyfit.catalogue.task import GalaxyRecord, fit_galaxy

    dask_client, close = open_client(client, workers, threads_per_fit, retries, pin_cpus)
    bar = None
    futures = {}
    try:
        link = dashboard_link(dask_client)
        allowed = None
        try:
            allowed = dask_client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
        except Exception:  # noqa: BLE001 - only for the failure message
            pass
        workers_info = dask_client.scheduler_info(n_workers=-1).get("workers", {})
        n_workers = len(workers_info)
        threads = sum(int(w.get("nthreads", 1)) for w in workers_info.values()) or 1
        if progress:
            print(f"galaxyfit catalogue: {total} galaxies, {n_skipped} done before, fitting {len(todo)} on {n_workers} "
                  f"workers; Dask dashboard: {link or 'none'}{'' if has_bokeh() else ' (pip install bokeh to see it)'}",
                  file=sys.stderr)
        try:
            states = dask_client.run(worker_state)
            early = [address for address, state in states.items() if state.get("jax_imported")]
            if early:
                warnings.warn(f"JAX had already started in {len(early)} worker(s) ({', '.join(early[:3])}) before galaxyfit "
                              "set them up: their thread pools may span more CPUs than threads_per_fit (start fresh "
                              "workers for each run)", stacklevel=3)
        except Exception:  # noqa: BLE001 - a diagnostic
            pass
        token = uuid.uuid4().hex[:8]
        waiting = iter(todo)
        pending = as_completed()
        keys: set = set()

        def submit_more() -> None:
            # A bounded window of tasks, topped up as galaxies finish: 10^6 submitted at once would hold 10^6
            # futures, each with its pickled job, in the client and the scheduler.
            while len(futures) < _window(threads):
                item = next(waiting, None)
                if item is None:
                    return
                gid, row = item
                future = dask_client.submit(fit_galaxy, job, row, gid, key=f"galaxyfit-fit-{token}-{gid}", pure=False,
                                            retries=retries)
                futures[future.key] = (future, gid)
                keys.add(future.key)
                pending.add(future)

        submit_more()
        bar = _Progress(progress, total, n_skipped)
        done = sum(r.get("status") == "done" for r in records.values())
        failed = len(failures)
        last_count, last_threads = 0.0, time.monotonic()
        while not pending.is_empty():
            finished = pending.next_batch(block=False) if pending.has_ready() else []
            for future in finished:
                record = _record_of(future, allowed)
                if record is None:  # its worker died before its result was fetched: the scheduler computes it again
                    pending.add(future)
                    continue
                _, gid = futures.pop(future.key)
                keys.discard(future.key)
                if isinstance(record, str):
                    record = GalaxyRecord(id=gid, status="failed", reason=record, run_key=job.run_key,
                                          finished=time.time()).to_dict()
                future.release()  # the worker forgets the result
                if record["status"] == "done":
                    records[gid] = record
                    failures.pop(gid, None)
                    writer.add(record)
                    done += 1
                else:
                    fail(record, record["reason"])
                    failed += 1
            if writer.due():
                writer.flush()
            now = time.monotonic()
            if now - last_threads >= THREADS_SECONDS:  # an adaptive cluster (dask-jobqueue) grows and shrinks
                try:
                    threads = sum(dask_client.nthreads().values()) or threads
                except Exception:  # noqa: BLE001 - keep the last count
                    pass
                last_threads = now
            submit_more()
            if finished or now - last_count >= 1.0:
                bar.update(len(finished), done, failed, _running(dask_client, keys, threads) if keys else 0)
                last_count = now
            if not finished:
                time.sleep(0.1)
        return link
    finally:
        if bar is not None:
            bar.close()
        for future, _ in futures.values():  # interrupted: stop what is left
            future.cancel()
        close()
