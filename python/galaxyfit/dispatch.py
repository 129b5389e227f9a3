"""Synchronous CPU dispatch: an explicit, process-wide opt-in (galaxyfit's command line and catalogue workers use it).

JAX runs CPU computations asynchronously by default: a call returns a future-like array, and reading it waits for a
worker thread. Searches need every likelihood value back at once, so that hand-over is pure overhead: ~90 us per
single (unbatched) likelihood call on a 2-core machine (``bench/README.md``), a third of a whole 100 x 100
likelihood; batched calls (nested sampling's batches of ~100) pay it once per batch. JAX reads the setting
(``jax_cpu_enable_async_dispatch``) once, when it creates its CPU backend, so it cannot be scoped to galaxyfit's
calls the way float64 is (``galaxyfit._precision``). galaxyfit therefore never changes it on import: a library user
who wants the speed calls ``use_synchronous_dispatch()`` first thing, knowing it applies to the whole process.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["use_synchronous_dispatch", "asynchronous_dispatch", "jax_backend_started"]


def jax_backend_started() -> bool:
    """Whether JAX has created a backend in this process (its settings of backends are read then)."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(bridge, "_backends", None))


def asynchronous_dispatch() -> bool:
    """JAX's ``jax_cpu_enable_async_dispatch`` setting now (a flag, read through ``jax.config.values``)."""
    import jax

    return bool(jax.config.values["jax_cpu_enable_async_dispatch"])


def use_synchronous_dispatch(announce: bool = True) -> bool:
    """Run JAX's CPU computations on the calling thread, for the WHOLE process (every JAX user in it), from now on.

    Must be called before JAX's first computation in the process. Returns True when the setting took effect; when
    JAX's CPU backend already exists the setting cannot change any more, and this warns and returns False.
    ``announce``: print one line to stderr saying the process-wide setting changed (galaxyfit's command line and
    catalogue workers, which own their processes, pass False).
    """
    import jax

    if jax_backend_started():
        if not asynchronous_dispatch():
            return True
        warnings.warn("galaxyfit.use_synchronous_dispatch() was called after JAX created its CPU backend, so JAX "
                      "keeps dispatching asynchronously (about 90 us more per single likelihood call); call it "
                      "before any JAX computation", RuntimeWarning, stacklevel=2)
        return False
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    if announce:
        print("galaxyfit: JAX CPU dispatch is now synchronous for this whole process "
              "(jax_cpu_enable_async_dispatch=False)", file=sys.stderr)
    return True
