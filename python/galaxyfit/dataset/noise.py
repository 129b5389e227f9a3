"""Noise maps (1-sigma per pixel) from a sigma map, a variance map, or Imfit's data-based model."""

from __future__ import annotations

import numpy as np

from galaxyfit.errors import DatasetError


def noise_map_from_variance(variance) -> np.ndarray:
    """sigma = sqrt(variance); negative variances give NaN (rejected later if the pixel is used)."""
    variance = np.asarray(variance, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.sqrt(variance)


def imfit_noise_map(
    data,
    gain: float,
    read_noise: float = 0.0,
    original_sky: float = 0.0,
    exposure_time: float = 1.0,
    n_combined: int = 1,
) -> np.ndarray:
    """Imfit's data-based noise (Erwin 2015, ApJ 799, 226, section 5; imfit ``ModelObject::GenerateErrorVector``):

        sigma^2 = max(data + original_sky, 0) / g_eff + n_combined * (read_noise / g_eff)^2,  g_eff = gain * t * N

    ``data`` is the sky-subtracted image (ADU, or ADU/s with ``exposure_time``), ``original_sky`` the sky level that
    was subtracted (same units), ``gain`` in e-/ADU, ``read_noise`` in e-, ``n_combined`` the number of averaged
    frames. Raises DatasetError for non-positive gain, exposure time or frame count, or a negative read noise / sky.
    """
    if not gain > 0:
        raise DatasetError(f"gain must be positive (e-/ADU), got {gain!r}")
    if not exposure_time > 0:
        raise DatasetError(f"exposure_time must be positive (s), got {exposure_time!r}")
    if int(n_combined) != n_combined or n_combined < 1:
        raise DatasetError(f"n_combined must be a positive integer, got {n_combined!r}")
    if not read_noise >= 0:
        raise DatasetError(f"read_noise must be >= 0 (e-), got {read_noise!r}")
    if not original_sky >= 0:
        raise DatasetError(f"original_sky must be >= 0, got {original_sky!r}")
    effective_gain = gain * exposure_time * n_combined
    data = np.asarray(data, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        variance = np.maximum(data + original_sky, 0.0) / effective_gain + n_combined * (read_noise / effective_gain) ** 2
        return np.sqrt(variance)
