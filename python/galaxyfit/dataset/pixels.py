"""Pixel geometry of 2-D images in galaxyfit's orientation (DESIGN.md).

Array row 0 (the first FITS row) is the bottom of the image. For an ``N_y x N_x`` image with pixel scales
``(ps_y, ps_x)`` arcsec, the centre of pixel ``[i, j]`` is

    y = (i - (N_y - 1) / 2) * ps_y,   x = (j - (N_x - 1) / 2) * ps_x,

so the origin is the array centre (for even N the corner shared by the four central pixels) and +y is up.
"""

from __future__ import annotations

import numpy as np

from galaxyfit.errors import DatasetError


def pixel_scales_pair(pixel_scales, name: str = "pixel_scales") -> tuple[float, float]:
    """``(ps_y, ps_x)`` from a float or a pair; raises DatasetError unless both are finite and positive."""
    if np.ndim(pixel_scales) == 0:
        pair = (float(pixel_scales), float(pixel_scales))
    else:
        if len(pixel_scales) != 2:
            raise DatasetError(f"{name} must be a number or a (y, x) pair, got {pixel_scales!r}")
        pair = (float(pixel_scales[0]), float(pixel_scales[1]))
    if not all(np.isfinite(p) and p > 0 for p in pair):
        raise DatasetError(f"{name} must be finite and positive (arcsec per pixel), got {pixel_scales!r}")
    return pair


def pixel_centres(shape, pixel_scales) -> tuple[np.ndarray, np.ndarray]:
    """1-D arrays of the pixel-centre coordinates ``y`` (length N_y) and ``x`` (length N_x) in arcsec."""
    ps_y, ps_x = pixel_scales_pair(pixel_scales)
    ny, nx = shape
    return (np.arange(ny) - (ny - 1) / 2.0) * ps_y, (np.arange(nx) - (nx - 1) / 2.0) * ps_x


def index_from_position(y, x, shape, pixel_scales) -> tuple[float, float]:
    """Continuous array index ``(i, j)`` of the point ``(y, x)`` arcsec (pixel centres at integers)."""
    ps_y, ps_x = pixel_scales_pair(pixel_scales)
    ny, nx = shape
    return y / ps_y + (ny - 1) / 2.0, x / ps_x + (nx - 1) / 2.0
