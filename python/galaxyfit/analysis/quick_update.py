"""Quick updates during a search: the current best fit redrawn (``image/fit.png``, ``model.results``) on a
background thread that keeps only the latest request, so sampling never waits for a figure (PyAutoFit's
``BackgroundQuickUpdate`` idea; its quick renders took 10-35 s on the main thread, ``outputs_notes.md`` 1.6).

The thread is a daemon, so a killed search never hangs on it; its CPU time is measured (``cpu_seconds``) and written
to ``search.summary``.
"""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np


class QuickUpdater:
    """Submit the best vector seen so far at most every ``interval_s`` seconds; a worker thread runs
    ``analysis.perform_quick_update(paths, instance)`` for the latest submission only.

    Parameters
    ----------
    analysis : AnalysisImaging (``perform_quick_update``, ``supports_background_update``)
    paths : galaxyfit.paths.OutputPaths
    model : the searched model (``instance_from_vector``)
    interval_s : float
        Least wall-clock time between two updates (PyAutoFit counts iterations; a wall-clock cadence is what users
        asked for in PyAutoFit#746). 30 s by default.
    cpu_fraction : float
        Most CPU time the updates may take, as a fraction of the search's own (the process' CPU time since the
        updater started, less the updates'): an update is submitted only while the updates so far plus the cost of
        one more (the dearest so far; ``FIRST_UPDATE_CPU_S`` before the first) stay within it. So a search whose
        likelihood is cheap and whose figures are dear is never slowed by more than this, whatever the interval.
    """

    #: CPU seconds assumed for the first update: a first fit.png in a process measured 2.4-3.3 s (fonts, the fit's
    #: compilation), a 200x200 redraw 0.46-0.56 s.
    FIRST_UPDATE_CPU_S = 3.0

    def __init__(self, analysis, paths, model, interval_s: float = 30.0, cpu_fraction: float = 0.02):
        self.analysis, self.paths, self.model = analysis, paths, model
        self.interval_s = float(interval_s)
        self.cpu_fraction = float(cpu_fraction)
        self._process_cpu_start = time.process_time()
        self.background = bool(getattr(analysis, "supports_background_update", False))
        self.best = -np.inf
        self._candidate = None
        self._pending = None
        self._last = time.monotonic()  # the first update comes one interval into the search
        self._lock = threading.Condition()
        self._stop = False
        self._running = False  # an update is being drawn
        self.updates = 0
        self.cpu_seconds = 0.0
        self.dearest = 0.0  # CPU seconds of the dearest update so far
        self.wall_seconds = 0.0
        self._thread = None
        if self.background:
            self._thread = threading.Thread(target=self._work, name="galaxyfit-quick-update", daemon=True)
            self._thread.start()

    def offer(self, points: np.ndarray, values: np.ndarray) -> None:
        """Called by the search with each batch of (points, ln L): remembers the best, and submits it when an
        interval has passed since the last submission."""
        if len(values) == 0:
            return
        i = int(np.argmax(values))
        if values[i] > self.best and values[i] > -1e98:
            self.best = float(values[i])
            self._candidate = np.array(points[i], dtype=np.float64)
        now = time.monotonic()
        if now - self._last < self.interval_s or self._candidate is None:
            return
        request = (self._candidate.copy(), self.best)
        with self._lock:
            if self._pending is not None:  # already budgeted: the newer best replaces it, only the latest matters
                self._pending = request
                self._last = now
                return
            # the updates done, the one drawing now and this one, each at the dearest cost so far (+10 %)
            expected = 1.1 * (self.dearest if self.updates else self.FIRST_UPDATE_CPU_S)
            search_cpu = time.process_time() - self._process_cpu_start - self.cpu_seconds
            if self.cpu_seconds + expected * (1 + self._running) > self.cpu_fraction * search_cpu:
                return  # within the interval's cadence but over the CPU budget: wait for the search to earn it
            self._last = now
            if self.background:
                self._pending = request
                self._lock.notify()
                return
        self._run(request)

    def _work(self) -> None:
        while True:
            with self._lock:
                while self._pending is None and not self._stop:
                    self._lock.wait()
                if self._pending is None and self._stop:
                    return
                request, self._pending = self._pending, None
                self._running = True
            try:
                self._run(request)
            finally:
                with self._lock:
                    self._running = False

    def _run(self, request) -> None:
        vector, log_likelihood = request
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            self.analysis.perform_quick_update(self.paths, self.model.instance_from_vector(vector),
                                               log_likelihood=log_likelihood, vector=vector, model=self.model)
            self.updates += 1
        except Exception as exc:  # noqa: BLE001 - a figure must never stop the search
            warnings.warn(f"quick update failed: {type(exc).__name__}: {exc}", stacklevel=2)
        finally:
            cost = time.thread_time() - cpu
            self.cpu_seconds += cost
            self.dearest = max(self.dearest, cost)
            self.wall_seconds += time.perf_counter() - wall

    def close(self, wait: bool = True) -> None:
        """Stop the worker after the request it is drawing (pending ones are dropped: the final figures follow)."""
        if self._thread is None:
            return
        with self._lock:
            self._stop = True
            self._pending = None
            self._lock.notify()
        if wait:
            self._thread.join()
        self._thread = None

    def report(self) -> dict:
        search_cpu = time.process_time() - self._process_cpu_start - self.cpu_seconds
        return {"quick_updates": self.updates, "quick_update_cpu_s": self.cpu_seconds,
                "quick_update_wall_s": self.wall_seconds, "quick_update_interval_s": self.interval_s,
                "quick_update_cpu_fraction": self.cpu_seconds / search_cpu if search_cpu > 0 else 0.0,
                "quick_update_cpu_budget": self.cpu_fraction}
