"""Compiled functions shared by the fits of datasets of one geometry (issue 17).

A survey fits thousands of galaxies with one model on cutouts of one size, one after another in one process. A
likelihood that closes over its dataset embeds the data, noise and PSF in the compiled program as constants, so each
galaxy compiled its functions again (a Levenberg-Marquardt fit of a 64x64 Sersic: ~0.4 s of XLA and as much tracing,
of ~1.3 s), and neither ``jax.jit``'s cache nor JAX's persistent compilation cache could reuse them. Here the
dataset's numbers are arguments instead (``AnalysisImaging.likelihood_arrays``, traced through
``AnalysisImaging.with_likelihood_arrays``), and the compiled functions live in one process-wide LRU cache under a key
of everything else that fixes the traced program:

* the model's structure (``model_key``): classes, which parameters are free and which are linked, fixed values;
* the analysis' geometry (``AnalysisImaging.shared_likelihood_key``): image and PSF shapes, mask, pixel scales,
  settings, convolution method;
* the structure, shapes and dtypes of the arrays, and what the caller adds (which function, how it batches).

A fit whose model or analysis gives no key (a pixelization, adapt images, another analysis class, a model holding
objects ``model_key`` cannot describe) compiles its own functions, as before.

An entry holds jitted functions (with their executables, one per input shape) traced on a copy of the first model and
a stand-in of the first analysis with that key; at most ``max_entries`` entries are kept, the least recently used
dropped first, so memory stays flat over any number of fits.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import jax
import numpy as np

#: Entries kept by the process-wide cache: each holds a few compiled programs (~1-10 MB for a parametric model).
MAX_ENTRIES = 32

#: Whether fits share compiled functions at all (``set_enabled``; False: every fit compiles its own, as before).
ENABLED = True


class CompiledCache:
    """A thread-safe LRU mapping of hashable keys to compiled functions (any values), at most ``max_entries``."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = int(max_entries)
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_make(self, key, make):
        """(value, made): the value under ``key``, or ``make()`` stored under it (made=True). ``make`` runs outside
        the lock, so two threads missing one key at once may both make it (the later one is kept)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key], False
        value = make()
        with self._lock:
            self.misses += 1
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value, True

    def get(self, key):
        """The value under ``key`` (not counted as a use), or None."""
        with self._lock:
            return self._entries.get(key)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


#: The process-wide cache (``FitProblem``, ``LevenbergMarquardt``, ``AnalysisImaging``'s fit images, latents).
CACHE = CompiledCache()


def clear_compiled_cache() -> None:
    """Drop every shared compiled function (the next fit of each geometry compiles again)."""
    CACHE.clear()


def set_enabled(flag: bool) -> None:
    """Share compiled functions between fits (True, the default) or let every fit compile its own (False; e.g. to
    rule the cache out when investigating a problem). Fits already set up keep what they have."""
    global ENABLED
    ENABLED = bool(flag)


def set_max_entries(n: int) -> None:
    """Keep at most ``n`` >= 1 entries (geometries x models x functions) from now on. Raises ValueError for n < 1."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"max_entries must be an integer >= 1, got {n!r}")
    with CACHE._lock:
        CACHE.max_entries = int(n)
        while len(CACHE._entries) > CACHE.max_entries:
            CACHE._entries.popitem(last=False)


# ---- keys ---------------------------------------------------------------------------------------------------------


class _Unkeyable(Exception):
    """A model part ``model_key`` cannot describe exactly: the fit keeps its own compiled functions."""


def model_key(model) -> tuple | None:
    """A hashable of what ``model.instance_from_vector`` builds, apart from the vector's values: each node's class and
    attribute names, each free parameter as its position in the vector (so links show), and every fixed value
    exactly (floats by their hex form, arrays by dtype, shape and SHA-256 digest). Priors' distributions do not enter:
    they never reach a compiled likelihood. None for a model that is not a ``Model`` / ``Collection`` or holds an
    object this cannot describe."""
    from galaxyfit.model.model import _Node

    if not isinstance(model, _Node):
        return None
    index = {id(p): i for i, p in enumerate(model.priors)}
    try:
        return ("model", _value_key(model, index))
    except _Unkeyable:
        return None


def _value_key(value, index):
    from galaxyfit.galaxy import Galaxy
    from galaxyfit.model.model import Collection, Model
    from galaxyfit.model.priors import Prior

    if isinstance(value, Prior):
        if id(value) not in index:
            raise _Unkeyable(value)
        return ("free", index[id(value)])
    if isinstance(value, Model):
        return ("Model", value.cls, tuple((k, _value_key(v, index)) for k, v in value._attributes.items()))
    if isinstance(value, Collection):
        return ("Collection", tuple((k, _value_key(v, index)) for k, v in value._attributes.items()))
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_value_key(v, index) for v in value))
    if value is None or isinstance(value, (bool, np.bool_, str)):
        return (type(value), value)
    if isinstance(value, (int, np.integer)):
        return (type(value), int(value))
    if isinstance(value, (float, np.floating)):
        return (type(value), float(value).hex())
    if isinstance(value, (np.ndarray, jax.Array)):
        array = np.ascontiguousarray(np.asarray(value))
        return ("array", array.dtype.str, array.shape, hashlib.sha256(array.tobytes()).hexdigest())
    if isinstance(value, Galaxy):
        return (Galaxy, _value_key(value.redshift, index),
                tuple((k, _value_key(c, index)) for k, c in value.components.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value), tuple((f.name, _value_key(getattr(value, f.name), index)) for f in dataclasses.fields(value)))
    raise _Unkeyable(value)


def arrays_signature(arrays) -> tuple:
    """(tree structure, ((shape, dtype), ...)) of a pytree of arrays: what a compiled function of them fixes."""
    leaves, treedef = jax.tree_util.tree_flatten(arrays)
    return treedef, tuple((tuple(np.shape(leaf)), np.asarray(leaf).dtype.str) for leaf in leaves)


# ---- a fit's share ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """What a shared function is traced with: ``model`` (a deep copy of the first fit's: a later change to a fit's
    model must not reach functions compiled for its old structure), ``analysis`` (the first fit's analysis over its
    own arrays, ``with_likelihood_arrays``), the arrays' ``treedef`` and ``probe`` (a ShapeDtypeStruct per leaf, for
    ahead-of-time lowering)."""

    model: object
    analysis: object
    treedef: object
    probe: tuple

    def bind(self, leaves):
        """The analysis computing with ``leaves`` (the arrays' leaves: the traced arguments of a shared function)."""
        return self.analysis.with_likelihood_arrays(jax.tree_util.tree_unflatten(self.treedef, list(leaves)))


@dataclass(frozen=True)
class Sharing:
    """How one fit (``model`` on ``analysis``) uses shared compiled functions.

    key : (model_key, the analysis' shared_likelihood_key, arrays_signature) -- callers add what their function is.
    model, analysis : the fit's own.
    arrays : the leaves of the analysis' ``likelihood_arrays``, on the device once, the argument of every call (a
        tuple: a jitted call checks each leaf, and a flat tuple is the cheapest to pass).
    """

    key: tuple
    model: object
    analysis: object
    arrays: tuple

    def template(self) -> Template:
        treedef = self.key[2][0]
        analysis = self.analysis.with_likelihood_arrays(self.analysis.likelihood_arrays())
        probe = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in self.arrays)
        return Template(copy.deepcopy(self.model), analysis, treedef, probe)

    def get_or_make(self, what: tuple, make):
        """(value, made): ``CACHE``'s entry under ``what + key``, or ``make(template())`` stored there."""
        return CACHE.get_or_make(tuple(what) + self.key, lambda: make(self.template()))


def sharing_of(model, analysis) -> Sharing | None:
    """The Sharing of a fit, or None when its model or analysis gives no key (module docstring)."""
    key_of = getattr(analysis, "shared_likelihood_key", None)
    if not ENABLED or key_of is None or not hasattr(analysis, "likelihood_arrays"):
        return None
    structure = model_key(model)
    if structure is None:
        return None
    geometry = key_of(model)
    if geometry is None:
        return None
    arrays = analysis.likelihood_arrays()
    leaves = tuple(jax.device_put(jax.tree_util.tree_leaves(arrays)))
    return Sharing((structure, geometry, arrays_signature(arrays)), model, analysis, leaves)
