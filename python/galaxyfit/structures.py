"""PyAutoGalaxy's grid, array and mask names where users reach for them: ``Grid2D.uniform``, ``Grid2D.from_mask``,
``Array2D`` (what ``image_2d_from`` returns) and ``Mask2D.circular``.

Orientation: galaxyfit's arrays are in FITS order -- row 0 is the bottom row of the image, y grows with the row
index (``../DESIGN.md``). PyAutoGalaxy's ``.native`` puts row 0 at the top, so ``our.native == np.flipud(theirs.native)``
and ``our.slim`` lists the pixels bottom row first where theirs lists them top row first. Coordinates are the same:
(y, x) arcsec from the image centre, y up, x right (the "+x = west/right" of DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from galaxyfit.dataset.mask import Mask
from galaxyfit.dataset.pixels import pixel_centres, pixel_scales_pair
from galaxyfit.errors import DatasetError


def _shape_native(shape_native) -> tuple[int, int]:
    try:
        ny, nx = (int(v) for v in shape_native)
        ok = ny >= 1 and nx >= 1 and (ny, nx) == tuple(shape_native)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DatasetError(f"shape_native must be a (rows, columns) pair of positive integers, got {shape_native!r}")
    return ny, nx


class Mask2D(Mask):
    """``Mask`` under PyAutoArray's constructor names (``shape_native``, ``radius``, ``invert``): True = masked."""

    @classmethod
    def all_false(cls, shape_native, pixel_scales) -> "Mask2D":
        return cls(np.zeros(_shape_native(shape_native), dtype=bool), pixel_scales)

    @classmethod
    def circular(cls, shape_native, pixel_scales, radius: float, centre=(0.0, 0.0), invert: bool = False) -> "Mask2D":
        """Keep the pixels whose centres lie within ``radius`` arcsec of ``centre`` (y, x); ``invert`` keeps those
        outside instead. Raises DatasetError for a bad shape, pixel scale, radius or centre."""
        mask = Mask.circular(_shape_native(shape_native), pixel_scales, radius, centre)
        return cls(~mask.array if invert else mask.array, mask.pixel_scales)

    @classmethod
    def circular_annular(cls, shape_native, pixel_scales, inner_radius: float, outer_radius: float,
                         centre=(0.0, 0.0), invert: bool = False) -> "Mask2D":
        mask = Mask.annular(_shape_native(shape_native), pixel_scales, inner_radius, outer_radius, centre)
        return cls(~mask.array if invert else mask.array, mask.pixel_scales)

    @property
    def shape_native(self) -> tuple[int, int]:
        return self.shape

    @property
    def native(self) -> np.ndarray:
        """(N_y, N_x) bool, True = masked, FITS order (PyAutoArray's ``mask.native``, row 0 at the bottom here)."""
        return self.array

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)


@dataclass(frozen=True, eq=False)
class Grid2D:
    """(y, x) arcsec coordinates of the unmasked pixel centres of ``mask``, FITS order.

    ``slim``: (N, 2) over the unmasked pixels, row-major from the bottom row; ``native``: (N_y, N_x, 2) with zeros
    at masked pixels. ``np.asarray(grid)`` is ``slim``. ``over_sample_size`` s: an image on this grid is the mean
    of s x s evenly spaced points in each pixel (PyAutoArray's uniform over-sampling; its default, 4)."""

    mask: Mask
    over_sample_size: int = 4

    def __post_init__(self):
        if not isinstance(self.mask, Mask):
            raise DatasetError(f"Grid2D needs a Mask or Mask2D, got {type(self.mask).__name__}")
        size = self.over_sample_size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise DatasetError(f"over_sample_size must be a positive integer, got {size!r}")

    @classmethod
    def uniform(cls, shape_native, pixel_scales, over_sample_size: int = 4) -> "Grid2D":
        """Every pixel of a (N_y, N_x) image of ``pixel_scales`` arcsec (PyAutoArray's ``Grid2D.uniform``)."""
        return cls(Mask2D.all_false(shape_native, pixel_scales), over_sample_size)

    @classmethod
    def from_mask(cls, mask: Mask, over_sample_size: int = 4) -> "Grid2D":
        return cls(mask, over_sample_size)

    @property
    def over_sampled(self) -> np.ndarray:
        """(N, s*s, 2): the s x s sub-pixel points of each unmasked pixel, at offsets ((k + 1/2) / s - 1/2) pixel."""
        s = int(self.over_sample_size)
        ps_y, ps_x = self.pixel_scales
        offsets = (np.arange(s) + 0.5) / s - 0.5
        dy, dx = np.meshgrid(offsets * ps_y, offsets * ps_x, indexing="ij")
        return self.slim[:, None, :] + np.stack([dy.ravel(), dx.ravel()], axis=-1)[None, :, :]

    @property
    def shape_native(self) -> tuple[int, int]:
        return self.mask.shape

    @property
    def pixel_scales(self) -> tuple[float, float]:
        return pixel_scales_pair(self.mask.pixel_scales)

    @property
    def native(self) -> np.ndarray:
        y, x = pixel_centres(self.mask.shape, self.mask.pixel_scales)
        grid = np.stack(np.broadcast_arrays(y[:, None], x[None, :]), axis=-1)
        return np.where(self.mask.array[..., None], 0.0, grid)

    @property
    def slim(self) -> np.ndarray:
        return self.native[~self.mask.array]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.mask.pixels_in_mask, 2)

    def __len__(self) -> int:
        return self.mask.pixels_in_mask

    def __array__(self, dtype=None, copy=None):
        return self.slim if dtype is None else self.slim.astype(dtype)


@dataclass(frozen=True, eq=False)
class Array2D:
    """Values on the unmasked pixels of ``mask`` (what ``image_2d_from`` returns for a ``Grid2D``): ``slim`` (N,)
    and ``native`` (N_y, N_x), FITS order, zeros at masked pixels. ``np.asarray(array)`` is ``slim``."""

    slim: np.ndarray
    mask: Mask

    @property
    def native(self) -> np.ndarray:
        out = np.zeros(self.mask.shape, dtype=np.asarray(self.slim).dtype)
        out[~self.mask.array] = np.asarray(self.slim)
        return out

    @property
    def shape_native(self) -> tuple[int, int]:
        return self.mask.shape

    def __len__(self) -> int:
        return len(self.slim)

    def __array__(self, dtype=None, copy=None):
        values = np.asarray(self.slim)
        return values if dtype is None else values.astype(dtype)


def points_of(grid):
    """(y, x) coordinate arrays and the wrapper for the values there: a ``Grid2D`` gives its sub-pixel points
    (N, s*s) and a wrapper averaging them into an ``Array2D``; an array (..., 2) gives its points and the values as
    they are. Raises DatasetError otherwise."""
    if isinstance(grid, Grid2D):
        points = grid.over_sampled
        return points[..., 0], points[..., 1], lambda values: Array2D(values.mean(axis=-1), grid.mask)
    array = grid
    if np.ndim(array) < 1 or np.shape(array)[-1] != 2:
        raise DatasetError(f"grid must be a Grid2D or an array of (y, x) arcsec pairs with last axis 2, got shape {np.shape(array)}")
    return array[..., 0], array[..., 1], lambda values: values
