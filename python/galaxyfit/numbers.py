"""Numbers as they enter galaxyfit: any real dtype and byte order becomes native float64.

JAX refuses non-native byte order (``TypeError: ... as a JAX value``), and a 0-d big-endian array is what slicing a
FITS table (``astropy.io.fits``) or a big-endian file hands over; numpy float32 / longdouble / integer values are
common too. Every place a user's number enters a profile, a galaxy, a dataset model or a parameter vector goes
through ``real_number`` or ``real_vector``, so these all work like Python floats. JAX arrays and tracers pass
untouched (they are already in a dtype JAX accepts).
"""

from __future__ import annotations

import numpy as np

from galaxyfit.errors import ModelError


def real_number(value, name: str = "value"):
    """``value`` ready for JAX: a Python int becomes a float (so it is differentiable), a numpy scalar or array of a
    real or integer dtype in any byte order becomes native float64 (shape kept); anything else (booleans, None and
    the placeholders JAX puts in pytrees, JAX arrays, tracers) is returned as it is. Raises ModelError, naming
    ``name``, for complex numbers."""
    if isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, complex):
        raise ModelError(f"{name} must be a real number, got the complex {value!r}")
    if isinstance(value, (np.ndarray, np.generic)):
        kind = value.dtype.kind
        if kind == "c":
            raise ModelError(f"{name} must be real, got complex values of dtype {value.dtype}")
        if kind in "fiu":  # copies only when the dtype or byte order differ
            return np.float64(value) if isinstance(value, np.generic) else np.asarray(value, dtype=np.float64)
    return value


def real_vector(vector, name: str = "vector") -> np.ndarray:
    """A numpy parameter vector (or batch) as native float64; JAX arrays and tracers pass untouched."""
    if isinstance(vector, (np.ndarray, np.generic, list, tuple)):
        array = np.asarray(vector)
        if array.dtype.kind == "c":
            raise ModelError(f"{name} must be real, got complex values of dtype {array.dtype}")
        try:
            return np.asarray(array, dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelError(f"{name} must hold numbers, got dtype {array.dtype}") from None
    return vector
