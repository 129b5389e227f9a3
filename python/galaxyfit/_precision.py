"""float64 for galaxyfit's own computations, without switching it on for the rest of the process.

galaxyfit computes in float64 throughout: a chi-squared over ~1e4 pixels loses digits in float32, and its C++
kernels accept float64 only. JAX's ``jax_enable_x64`` is a process-wide default, and flipping it at import (as
galaxyfit did before 0.2) silently changed every other JAX package in the process. Instead every public galaxyfit
entry point runs inside ``jax.enable_x64(True)``, a thread-local context (entering it costs ~1.3 us): the default
of the rest of the process is left as the user set it, and JAX's compilation cache keys on the setting, so
functions traced here in float64 are never mixed up with a caller's float32 ones.

* ``float64()``: the context, for user code that composes galaxyfit's JAX functions itself (a user's own
  ``jax.jit`` of ``analysis.log_likelihood_function``, say): ``with galaxyfit.float64(): ...``.
* ``in_float64``: decorates a function so each call runs in the context (threads included: the context is
  thread-local, so the wrapper re-enters it on whatever thread calls).
* ``float64_api``: decorates a class so its public methods, properties and cached properties run in the context.

Results handed back to a caller whose own JAX setting is float32 (the default) are NumPy arrays, not JAX ones
(``in_float64``): the caller's arithmetic on them stays float64. Under ``jax_enable_x64``, or inside the caller's
own trace, they are JAX arrays as usual.
"""

from __future__ import annotations

import functools
import inspect
import threading
from functools import cached_property

import jax
import numpy as np

# The thread-local float64 switch: jax >= 0.8 exports it as jax.enable_x64; jax 0.5.3-0.7 only as
# jax.experimental.enable_x64, a context manager around the same config State (deprecated in 0.8, gone in 0.9).
try:
    from jax import enable_x64 as _enable_x64
except ImportError:  # pragma: no cover - jax < 0.8
    from jax.experimental import enable_x64 as _enable_x64

__all__ = ["float64", "in_float64", "float64_api"]


def float64():
    """Context manager: JAX computations inside it default to float64 (``jax.enable_x64(True)``), on this thread."""
    return _enable_x64(True)


def in_float64(function, method: bool = False):
    """``function`` with every call made inside ``float64()``; generators are not supported (their body would run
    after the context has closed).

    Where the call returns to a caller that computes with float64 off (the outermost galaxyfit call on this thread,
    not inside a trace), a concrete JAX array result -- or a tuple, list or dict of them -- is handed back as a
    NumPy array: JAX would truncate the caller's arithmetic on a float64 JAX array to float32 (a log likelihood of
    -1e4 keeps only ~1e-3 of it), while NumPy keeps float64. Inside galaxyfit, and under ``jax_enable_x64``, JAX
    arrays are returned as they are."""
    if inspect.isgeneratorfunction(function):
        raise TypeError(f"in_float64 cannot wrap the generator function {function.__qualname__}")
    if getattr(function, "_galaxyfit_float64", False):
        return function

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        depth = getattr(_calls, "depth", 0)
        outside = depth == 0 and not jax.config.jax_enable_x64
        if outside and _has_tracer(args[1:] if method else args, kwargs):
            raise TypeError(_TRACED_IN_FLOAT32.format(name=function.__qualname__))
        _calls.depth = depth + 1
        try:
            with _enable_x64(True):
                out = function(*args, **kwargs)
        finally:
            _calls.depth = depth
        return _as_numpy(out) if outside else out

    wrapper._galaxyfit_float64 = True
    return wrapper


_TRACED_IN_FLOAT32 = (
    "{name} was called inside a JAX transformation (jit, vmap, grad) traced with float64 off: JAX has already made "
    "its inputs float32, and galaxyfit computes in float64. Trace or call galaxyfit's functions inside `with "
    "galaxyfit.float64():` (on jax >= 0.8 the same as `with jax.enable_x64(True):`), or set jax_enable_x64 for "
    "the process.")


def _has_tracer(args, kwargs) -> bool:
    try:
        leaves = jax.tree_util.tree_leaves((args, kwargs))
    except Exception:  # an argument whose pytree flattening fails here is not a traced value
        return False
    return any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


#: How deep this thread is in galaxyfit's wrapped calls (0: user code).
_calls = threading.local()


def _as_numpy(value):
    if isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer):
        return np.asarray(value)
    if type(value) in (tuple, list):
        return type(value)(_as_numpy(v) for v in value)
    if type(value) is dict:
        return {k: _as_numpy(v) for k, v in value.items()}
    return value


_WRAPPED_DUNDERS = {"__init__", "__call__"}


def float64_api(cls):
    """Class decorator: the class's own public methods, ``__init__``, ``__call__``, properties (getters) and
    ``functools.cached_property`` values are computed inside ``float64()``, and so are those of every subclass
    (through ``__init_subclass__``). Private helpers are left alone: they are reached through the public ones."""
    _wrap_members(cls)
    if "__init_subclass__" not in vars(cls):
        def __init_subclass__(subclass, **kwargs):
            super(cls, subclass).__init_subclass__(**kwargs)
            _wrap_members(subclass)

        cls.__init_subclass__ = classmethod(__init_subclass__)
    return cls


#: JAX's pytree protocol: called by JAX itself (and by the wrapper's own look at its arguments), never wrapped.
_PYTREE_METHODS = {"tree_flatten", "tree_unflatten", "tree_flatten_with_keys"}


def _wrap_members(cls) -> None:
    for name, value in list(vars(cls).items()):
        if (name.startswith("_") and name not in _WRAPPED_DUNDERS) or name in _PYTREE_METHODS:
            continue
        if isinstance(value, cached_property):
            if getattr(value.func, "_galaxyfit_float64", False):
                continue
            wrapped = cached_property(in_float64(value.func, method=True))
            wrapped.__set_name__(cls, name)
            setattr(cls, name, wrapped)
        elif isinstance(value, property):
            if value.fget is not None:
                setattr(cls, name, value.getter(in_float64(value.fget, method=True)))
        elif isinstance(value, (staticmethod, classmethod)):
            if not inspect.isgeneratorfunction(value.__func__):
                setattr(cls, name, type(value)(in_float64(value.__func__, method=isinstance(value, classmethod))))
        elif inspect.isfunction(value) and not inspect.isgeneratorfunction(value):
            setattr(cls, name, in_float64(value, method=True))


def require_float64(tree, what: str) -> None:
    """Raise TypeError when an array in ``tree`` (a pytree: a model instance, parameter vectors) is a JAX float of
    fewer than 64 bits: the sign of a caller tracing galaxyfit inside its own ``jax.jit`` with float64 off, whose
    parameters JAX has already truncated to float32 before galaxyfit sees them."""
    for leaf in jax.tree_util.tree_leaves(tree):
        dtype = getattr(leaf, "dtype", None)
        if isinstance(leaf, jax.Array) and dtype is not None and jax.numpy.issubdtype(dtype, jax.numpy.floating) \
                and dtype.itemsize < 8:
            if isinstance(leaf, jax.core.Tracer):
                raise TypeError(
                    f"{what} received a traced {dtype} value: galaxyfit computes in float64, and JAX truncated this "
                    "input because float64 is off where it was traced. Trace or call galaxyfit's functions inside "
                    "`with galaxyfit.float64():` (on jax >= 0.8 the same as `with jax.enable_x64(True):`), or set "
                    "jax_enable_x64 for the process.")
            raise TypeError(
                f"{what} received a {dtype} JAX array: galaxyfit computes in float64 and does not widen a float32 "
                "input silently; pass float64 values (numpy.asarray(value, dtype=float), a Python float, or a JAX "
                "array made inside galaxyfit.float64()).")


class Float64Jitted:
    """A ``jax.jit``-ed function whose calls and ``lower`` run inside ``float64()``, whichever thread makes them
    (a search's worker threads, a user's code): what ``galaxyfit._precision.jit`` returns."""

    __slots__ = ("jitted",)

    def __init__(self, jitted):
        self.jitted = jitted

    def __call__(self, *args, **kwargs):
        with _enable_x64(True):
            return self.jitted(*args, **kwargs)

    def lower(self, *args, **kwargs):
        with _enable_x64(True):
            return self.jitted.lower(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.jitted, name)


def jit(function, **kwargs) -> Float64Jitted:
    """``jax.jit(function, **kwargs)``, traced, lowered and called in float64 (``Float64Jitted``)."""
    return Float64Jitted(jax.jit(function, **kwargs))
