"""The Dask client of a catalogue run, and what every worker process sets up before it fits anything.

``open_client(None)`` starts an embedded ``LocalCluster``: one worker process per ``threads_per_fit`` CPUs, one
thread each (one fit at a time per process), ``memory_limit=0`` (galaxyfit's C++ allocations show as Dask's
"unmanaged memory" and would trip its pause and spill heuristics for no reason; ``../shared/reference/
outputs_notes.md`` 4.1), and ``allowed_failures=retries`` (a galaxy whose worker dies is retried that many times,
then reported). A ``distributed.Client``, a scheduler address (``tcp://host:8786``), a scheduler file (JSON, as
``dask scheduler --scheduler-file`` writes) or a deployed cluster (``dask_jobqueue.SLURMCluster``, any
``distributed.deploy.Cluster``) is used as given: the same code runs on a laptop or a cluster.

``WorkerSetup`` (a Dask worker plugin, registered on every worker, including those that join later):

- sets ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` in the worker's environment if unset (batched XLA FFTs
  were seen to hang on 2-core machines otherwise), before JAX starts there;
- pins the worker process to its own ``threads_per_fit`` CPUs (x its thread count) with ``os.sched_setaffinity``:
  galaxyfit's C++ kernels run on XLA's intra-op thread pool, which XLA sizes from the process's CPU affinity when
  JAX starts, so two unpinned workers on two cores would each use both. Each worker takes the first free CPU slot
  on its host, held by a lock file (``$TMPDIR/galaxyfit-cpus-<uid>/``) for the worker's lifetime, so workers never
  share a core, a restarted worker takes the slot its predecessor left, and separate runs on one host do not pile
  onto the same cores (a worker finding no free slot is left unpinned, with a warning in its log);
- notes whether JAX had already started its backend in the process (then XLA's pool is already sized: the pinning
  cannot take effect; ``fit_catalogue`` warns);
- stops Dask's statistical profiler on the worker (restarted if the plugin is removed): it samples the running
  task's Python stack every 10 ms and keeps each second's tree for the last ~1000 s, which for fits deep in JAX grew a
  worker by ~180 KiB per fit (0.6 s each) until it levels off at some hundred MiB -- measured here: 518 -> 551 MiB
  over 200 fits with it, flat (+13 KiB per fit) without. The embedded cluster's workers start without it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from galaxyfit.dispatch import jax_backend_started, use_synchronous_dispatch
from galaxyfit.errors import CatalogueError

logger = logging.getLogger("galaxyfit.catalogue")

#: XLA's flag for the workers, unless their environment sets XLA_FLAGS.
WORKER_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false"

PLUGIN_NAME = "galaxyfit-worker-setup"

#: The worker's periodic callbacks of Dask's statistical profiler (module docstring: why they are stopped).
PROFILER_CALLBACKS = ("profile", "profile-cycle")


def available_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity: a batch system's allocation), sorted."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def default_workers(threads_per_fit: int = 1) -> int:
    """Worker processes for an embedded cluster: one per ``threads_per_fit`` CPUs this process may use."""
    return max(1, len(available_cpus()) // max(1, int(threads_per_fit)))


def _pin_all_threads(cpus) -> None:
    """Set the CPU affinity of every thread of this process (Linux's affinity is per thread; threads made later
    inherit their creator's)."""
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError:  # a thread that ended meanwhile
            pass


def claim_cpus(count: int):
    """(lock file, CPUs): the first free slot of ``count`` CPUs among this process's available CPUs, claimed with a
    lock held as long as the returned file stays open (the process's lifetime), and this process pinned to it; (None,
    None) when affinity is not supported, ``count`` exceeds the CPUs, or every slot is taken."""
    if not hasattr(os, "sched_setaffinity"):
        return None, None
    import fcntl

    cpus = available_cpus()
    slots = len(cpus) // max(1, count)
    if slots < 1:
        return None, None
    key = hashlib.sha1(",".join(map(str, cpus)).encode()).hexdigest()[:12]  # the CPU set this machine/job offers
    folder = Path(tempfile.gettempdir()) / f"galaxyfit-cpus-{os.getuid()}"
    folder.mkdir(parents=True, exist_ok=True)
    for slot in range(slots):
        handle = open(folder / f"{key}-{slot}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        mine = cpus[slot * count:(slot + 1) * count]
        _pin_all_threads(mine)
        return handle, mine
    return None, None


class WorkerSetup(WorkerPlugin):
    """Prepares each worker process for fitting (module docstring): XLA's flags, CPU pinning, and a note of whether
    JAX started too early. ``client_process``: (host, pid) of the client, whose own process is never pinned
    (an in-process worker)."""

    def __init__(self, threads_per_fit: int = 1, pin_cpus: bool = True, client_process=None):
        self.threads_per_fit = int(threads_per_fit)
        self.pin_cpus = bool(pin_cpus)
        self.client_process = client_process
        self.state: dict = {}
        self._lock = None
        self._stopped = []

    def setup(self, worker):
        os.environ.setdefault("XLA_FLAGS", WORKER_XLA_FLAGS)
        jax_imported = jax_backend_started()
        if not jax_imported:
            use_synchronous_dispatch(announce=False)  # a worker process is galaxyfit's own (galaxyfit.dispatch)
        in_client = self.client_process == (socket.gethostname(), os.getpid())
        cpus = None
        if self.pin_cpus and not in_client:
            nthreads = max(1, int(getattr(getattr(worker, "state", None), "nthreads", None) or getattr(worker, "nthreads", 1) or 1))
            self._lock, cpus = claim_cpus(self.threads_per_fit * nthreads)
            if cpus is None:
                logger.warning("galaxyfit: no free slot of %d CPUs on this host: worker %s is not pinned and may share "
                               "cores with another", self.threads_per_fit * nthreads, getattr(worker, "address", "?"))
        for name in PROFILER_CALLBACKS:
            callback = getattr(worker, "periodic_callbacks", {}).get(name)
            if callback is not None and callback.is_running():
                callback.stop()
                self._stopped.append(callback)
        if jax_imported:
            logger.warning("galaxyfit: JAX had started in worker %s before its setup: XLA's thread pool was sized "
                           "before the CPU pinning", getattr(worker, "address", "?"))
        self.state = {"pid": os.getpid(), "host": socket.gethostname(), "cpus": cpus, "jax_imported": jax_imported,
                      "in_client": in_client, "xla_flags": os.environ.get("XLA_FLAGS"),
                      "profiler": any(getattr(worker, "periodic_callbacks", {}).get(n) is not None and
                                      worker.periodic_callbacks[n].is_running() for n in PROFILER_CALLBACKS)}

    def teardown(self, worker):
        if self._lock is not None:
            self._lock.close()  # frees the CPU slot
            self._lock = None
        for callback in self._stopped:
            callback.start()
        self._stopped = []


def worker_state(dask_worker) -> dict:
    """``WorkerSetup.state`` of a worker (run on it with ``client.run``)."""
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    return dict(getattr(plugin, "state", {}) or {})


def _has_bokeh() -> bool:
    try:
        import bokeh  # noqa: F401

        return True
    except ImportError:
        return False


def open_client(client=None, workers: int | None = None, threads_per_fit: int = 1, retries: int = 2,
                pin_cpus: bool = True):
    """(Client, close): the client of a run and a function closing what this call started (the embedded cluster
    and its client, or a client made from an address); a given ``Client`` is left open.

    ``client``: None (an embedded LocalCluster of ``workers`` processes, default ``default_workers``), a
    ``distributed.Client``, a scheduler address, a scheduler file path (.json), or a deployed cluster object.
    Registers ``WorkerSetup`` on its workers. Raises CatalogueError when the scheduler cannot be reached or the
    argument is none of these."""
    from distributed import Client, LocalCluster

    if workers is not None and client is not None:
        raise CatalogueError("give workers= (an embedded LocalCluster) or client= (a scheduler), not both")
    cluster = None
    owned_client = True
    try:
        if client is None:
            n = default_workers(threads_per_fit) if workers is None else int(workers)
            if n < 1:
                raise CatalogueError(f"workers must be a positive integer, got {workers!r}")
            import dask

            env = {"XLA_FLAGS": os.environ.get("XLA_FLAGS") or WORKER_XLA_FLAGS}
            # worker-saturation 1.0: a worker holds only the task it runs. With Dask's default (1.1, i.e. two tasks
            # per single-thread worker) a worker's death would count against the galaxy merely queued there too,
            # and spend its retries.
            with dask.config.set({"distributed.scheduler.worker-saturation": 1.0,
                                  "distributed.worker.profile.enabled": False}):  # (module docstring)
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=0,
                                       dashboard_address=":8787",  # (another port if taken)
                                       scheduler_kwargs={"allowed_failures": int(retries)}, env=env)
            dask_client = Client(cluster)
        elif isinstance(client, Client):
            dask_client, owned_client = client, False
        elif isinstance(client, (str, Path)):
            text = str(client)
            if text.endswith(".json") or (Path(text).is_file() and "://" not in text):
                if not Path(text).is_file():
                    raise CatalogueError(f"scheduler file {text} does not exist")
                dask_client = Client(scheduler_file=text, timeout="30s")
            else:
                dask_client = Client(text, timeout="30s")
        elif hasattr(client, "scheduler_address"):  # a deployed cluster: LocalCluster, SLURMCluster, ...
            dask_client = Client(client)
        else:
            raise CatalogueError(f"client must be None, a distributed.Client, a scheduler address or file, or a Dask "
                                 f"cluster, got {type(client).__name__}")
    except CatalogueError:
        if cluster is not None:
            cluster.close()
        raise
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise CatalogueError(f"cannot connect to the Dask scheduler {client!r}: {type(exc).__name__}: {exc}") from None

    def close():
        if owned_client:
            dask_client.close()
        if cluster is not None:
            cluster.close()

    try:
        dask_client.register_plugin(WorkerSetup(threads_per_fit, pin_cpus, (socket.gethostname(), os.getpid())),
                                    name=PLUGIN_NAME)
    except Exception:
        close()
        raise
    return dask_client, close


def dashboard_link(client) -> str | None:
    """The Dask dashboard's address (None when the scheduler serves none; without bokeh, a page saying to install
    it)."""
    try:
        link = client.dashboard_link
    except (KeyError, AttributeError, OSError):
        return None
    return link or None


def has_bokeh() -> bool:
    """Whether bokeh, which draws Dask's dashboard, imports here."""
    return _has_bokeh()
