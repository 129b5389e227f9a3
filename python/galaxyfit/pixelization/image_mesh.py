"""Image meshes: where a mesh's vertices go in the image, as PyAutoGalaxy 2026.10.26.1 places them
(``autoarray/inversion/mesh/image_mesh/``). ``image_plane_mesh_grid_from(mask, adapt_data=None)`` returns the
vertices (S, 2) (y, x) in arcsec, for a ``Delaunay`` mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from galaxyfit.errors import ModelError


def _pixel_centres(mask: np.ndarray, pixel_scales) -> np.ndarray:
    ny, nx = mask.shape
    rows, cols = np.nonzero(~mask)
    return np.stack([(rows - (ny - 1) / 2.0) * pixel_scales[0], (cols - (nx - 1) / 2.0) * pixel_scales[1]], axis=1)


@dataclass(frozen=True)
class Overlay:
    """A regular ny x nx grid laid over the unmasked pixels, keeping the points that fall on unmasked pixels
    (PyAutoArray's ``Overlay``): spacing (extent of the unmasked pixel centres + one pixel) / shape along each axis,
    centred on the unmasked pixels' centre, points ordered as PyAutoGalaxy orders them (top row first, from the
    left). Points exactly on a pixel boundary go to the pixel PyAutoArray's ``grid_pixel_centres_2d_slim_from`` rule
    gives (``int(-y / ps + (ny - 1) / 2 + 0.5)`` rows from the top). Raises ModelError for a shape below 1 x 1."""

    shape: tuple = (3, 3)

    def __post_init__(self):
        try:
            ny, nx = (int(v) for v in self.shape)
        except (TypeError, ValueError):
            raise ModelError(f"Overlay.shape must be a pair of integers, got {self.shape!r}") from None
        if ny < 1 or nx < 1:
            raise ModelError(f"Overlay.shape must be positive, got {self.shape!r}")
        object.__setattr__(self, "shape", (ny, nx))

    def image_plane_mesh_grid_from(self, mask, adapt_data=None) -> np.ndarray:
        array, pixel_scales = _mask_of(mask)
        centres = _pixel_centres(array, pixel_scales)
        ny, nx = self.shape
        extent = centres.max(axis=0) - centres.min(axis=0)
        spacing = (extent + np.asarray(pixel_scales)) / np.array([ny, nx])
        # PyAutoArray's mask_centre: the middle of the unmasked pixels' extreme centres, rounded as its own
        origin = 0.5 * (centres.max(axis=0) + centres.min(axis=0))
        ys = origin[0] + ((ny - 1) / 2.0 - np.arange(ny)) * spacing[0]  # top row first
        xs = origin[1] + (np.arange(nx) - (nx - 1) / 2.0) * spacing[1]
        grid = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
        my, mx = array.shape
        # PyAutoArray's rule, its arithmetic kept (it decides points on pixel boundaries); rows count from the top
        top_row = ((-grid[:, 0] / pixel_scales[0]) + (my - 1) / 2.0 + 0.5).astype(int)
        col = ((grid[:, 1] / pixel_scales[1]) + (mx - 1) / 2.0 + 0.5).astype(int)
        inside = (top_row >= 0) & (top_row < my) & (col >= 0) & (col < mx)
        keep = np.zeros(len(grid), dtype=bool)
        keep[inside] = ~array[my - 1 - top_row[inside], col[inside]]
        return grid[keep]


def _mask_of(mask):
    """(bool array in this project's orientation, pixel scales) of a ``galaxyfit`` Mask (or an Imaging's mask)."""
    if hasattr(mask, "array") and hasattr(mask, "pixel_scales"):
        return np.asarray(mask.array, dtype=bool), tuple(float(v) for v in mask.pixel_scales)
    raise ModelError(f"image_plane_mesh_grid_from needs a galaxyfit Mask, got {type(mask).__name__}")


IMAGE_MESHES = {cls.__name__: cls for cls in (Overlay,)}
