"""Image meshes: where a mesh's vertices go in the image, as PyAutoGalaxy 2026.10.26.1 places them
(``autoarray/inversion/mesh/image_mesh/``). ``image_plane_mesh_grid_from(mask, adapt_data=None)`` returns the
vertices (S, 2) (y, x) in arcsec, for a ``Delaunay`` mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from galaxyfit._precision import float64_api
from galaxyfit.errors import ModelError


def _pixel_centres(mask: np.ndarray, pixel_scales) -> np.ndarray:
    ny, nx = mask.shape
    rows, cols = np.nonzero(~mask)
    return np.stack([(rows - (ny - 1) / 2.0) * pixel_scales[0], (cols - (nx - 1) / 2.0) * pixel_scales[1]], axis=1)


@dataclass(frozen=True)
@float64_api
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


def _gilbert2d(width: int, height: int):
    """The generalized Hilbert ("gilbert") curve through every cell of a width x height grid (J. Cerveny's
    public-domain gilbert2d, the recursion PyAutoArray uses), as (x, y) integer pairs in curve order."""
    def sgn(v):
        return -1 if v < 0 else (1 if v > 0 else 0)

    def generate(x, y, ax, ay, bx, by):
        w, h = abs(ax + ay), abs(bx + by)
        dax, day, dbx, dby = sgn(ax), sgn(ay), sgn(bx), sgn(by)
        if h == 1:
            for _ in range(w):
                yield x, y
                x, y = x + dax, y + day
            return
        if w == 1:
            for _ in range(h):
                yield x, y
                x, y = x + dbx, y + dby
            return
        ax2, ay2, bx2, by2 = ax // 2, ay // 2, bx // 2, by // 2
        w2, h2 = abs(ax2 + ay2), abs(bx2 + by2)
        if 2 * w > 3 * h:
            if w2 % 2 and w > 2:
                ax2, ay2 = ax2 + dax, ay2 + day
            yield from generate(x, y, ax2, ay2, bx, by)
            yield from generate(x + ax2, y + ay2, ax - ax2, ay - ay2, bx, by)
        else:
            if h2 % 2 and h > 2:
                bx2, by2 = bx2 + dbx, by2 + dby
            yield from generate(x, y, bx2, by2, ax2, ay2)
            yield from generate(x + bx2, y + by2, ax, ay, bx - bx2, by - by2)
            yield from generate(x + (ax - dax) + (bx2 - dbx), y + (ay - day) + (by2 - dby), -bx2, -by2,
                                -(ax - ax2), -(ay - ay2))

    if width >= height:
        yield from generate(0, 0, width, 0, 0, height)
    else:
        yield from generate(0, 0, 0, height, width, 0)


def circular_mask_radius(array: np.ndarray, pixel_scales) -> float:
    """The radius (arcsec) of a circular mask, half its widest extent in pixels; ModelError if the mask is not
    circular (PyAutoArray's ``Mask2D.is_circular`` test: within 10% of the pixels of the circle of its area)."""
    from galaxyfit.dataset.mask import Mask

    rows, cols = np.nonzero(~array)
    if pixel_scales[0] != pixel_scales[1] or not len(rows):
        raise ModelError("Hilbert needs a circular mask with square pixels")
    y_extent, x_extent = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    ny, nx = array.shape
    centre = (0.5 * (rows.min() + rows.max()) - 0.5 * (ny - 1)) * pixel_scales[0], \
             (0.5 * (cols.min() + cols.max()) - 0.5 * (nx - 1)) * pixel_scales[1]
    expected = Mask.circular(array.shape, pixel_scales, np.sqrt(len(rows) / np.pi) * pixel_scales[0], centre=centre).array
    if abs(int(y_extent) - int(x_extent)) > 1 or int(np.sum(array != expected)) > max(2, int(0.1 * len(rows))):
        raise ModelError("Hilbert needs a circular mask (as PyAutoGalaxy's): use Overlay for other masks")
    return max(int(y_extent), int(x_extent)) * pixel_scales[0] / 2.0


@dataclass(frozen=True)
@float64_api
class Hilbert:
    """Vertices drawn along a generalized Hilbert curve through the mask, denser where the adapt image is bright
    (PyAutoArray's ``Hilbert``): the adapt image, linearly interpolated (scipy ``griddata``) at the cells of a
    193 x 193 curve over the mask's bounding circle, becomes weights (|a| / max a)^weight_power floored at
    ``weight_floor``; ``pixels`` points are drawn by inverse-transform sampling of their cumulative sum at
    linspace(0, 0.99999999, pixels). Needs a circular mask and an adapt image (ModelError otherwise)."""

    pixels: int = 10
    weight_floor: float = 0.0
    weight_power: float = 0.0

    LENGTH = 193

    def __post_init__(self):
        if isinstance(self.pixels, bool) or not float(self.pixels).is_integer() or int(self.pixels) < 3:
            raise ModelError(f"Hilbert.pixels must be an integer >= 3, got {self.pixels!r}")
        object.__setattr__(self, "pixels", int(self.pixels))
        for name in ("weight_floor", "weight_power"):
            value = float(getattr(self, name))
            if not (value >= 0 and np.isfinite(value)):
                raise ModelError(f"Hilbert.{name} must be a finite number >= 0, got {getattr(self, name)!r}")
            object.__setattr__(self, name, value)

    def image_plane_mesh_grid_from(self, mask, adapt_data=None) -> np.ndarray:
        import scipy.interpolate

        array, pixel_scales = _mask_of(mask)
        if adapt_data is None:
            raise ModelError("Hilbert places its vertices by an adapt image: give AdaptImages(galaxy_name_image_dict=...)")
        image = np.asarray(adapt_data, dtype=np.float64)
        if image.shape != array.shape:
            raise ModelError(f"the adapt image has shape {image.shape}, the mask {array.shape}")
        radius = circular_mask_radius(array, pixel_scales)
        curve = np.array(list(_gilbert2d(self.LENGTH, self.LENGTH)), dtype=np.float64)
        x = (curve[:, 0] / self.LENGTH - 0.5) * 2.0 * radius
        y = (curve[:, 1] / self.LENGTH - 0.5) * 2.0 * radius
        keep = np.sqrt(y**2 + x**2) <= radius
        centres = _pixel_centres(array, pixel_scales)
        centre = 0.5 * (centres.max(axis=0) + centres.min(axis=0))
        grid = np.stack([y[keep], x[keep]], axis=1) + centre
        # the image's pixel centres in PyAutoGalaxy's order (top row first), so qhull triangulates the regular grid
        # (co-circular everywhere) as it does there
        ny, nx = image.shape
        ys = ((ny - 1) / 2.0 - np.arange(ny)) * pixel_scales[0]
        xs = (np.arange(nx) - (nx - 1) / 2.0) * pixel_scales[1]
        points = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
        values = scipy.interpolate.griddata(points, image[::-1].ravel(), grid, fill_value=0.0, method="linear")
        largest = np.max(values)
        weights = np.ones_like(values) if largest <= 0 else (np.abs(values) / largest) ** self.weight_power
        weights[weights < self.weight_floor] = self.weight_floor
        weights = weights / np.sum(weights)
        cdf = np.cumsum(weights)
        cdf[0] = 0.0
        ids = np.interp(np.linspace(0, 0.99999999, self.pixels), cdf, np.arange(len(cdf)))
        index = np.arange(len(grid))
        return np.stack([np.interp(ids, index, grid[:, 0]), np.interp(ids, index, grid[:, 1])], axis=1)


@dataclass(frozen=True)
@float64_api
class KMeans:
    """Vertices at the centres of ``pixels`` weighted k-means clusters of the unmasked pixel centres, weights
    (|a| / max a)^weight_power floored at ``weight_floor`` from the adapt image (PyAutoArray's ``KMeans``: scikit-learn's
    ``KMeans(n_clusters=pixels, random_state=1, n_init=1, max_iter=5)``, the pixels in PyAutoGalaxy's order, so the
    same clusters come out). PyAutoGalaxy calls it superseded by ``Hilbert``. ModelError for more pixels than the
    mask has (PyAutoGalaxy exits the process) or without an adapt image."""

    pixels: int = 10
    weight_floor: float = 0.0
    weight_power: float = 0.0

    def __post_init__(self):
        Hilbert.__post_init__(self)  # the same argument checks

    def image_plane_mesh_grid_from(self, mask, adapt_data=None) -> np.ndarray:
        import sklearn.cluster

        array, pixel_scales = _mask_of(mask)
        if adapt_data is None:
            raise ModelError("KMeans weights the pixels by an adapt image: give AdaptImages(galaxy_name_image_dict=...)")
        if self.pixels > int((~array).sum()):
            raise ModelError(f"KMeans(pixels={self.pixels}) asks for more clusters than the mask's {int((~array).sum())} pixels")
        image = np.asarray(adapt_data, dtype=np.float64)
        flipped = array[::-1]  # PyAutoGalaxy's order: top row first
        rows, cols = np.nonzero(~flipped)
        ny, nx = array.shape
        grid = np.stack([((ny - 1) / 2.0 - rows) * pixel_scales[0], (cols - (nx - 1) / 2.0) * pixel_scales[1]], axis=1)
        values = image[::-1][rows, cols]
        largest = np.max(values)
        weights = np.ones_like(values) if largest <= 0 else (np.abs(values) / largest) ** self.weight_power
        weights[weights < self.weight_floor] = self.weight_floor
        estimator = sklearn.cluster.KMeans(n_clusters=self.pixels, random_state=1, n_init=1, max_iter=5)
        return np.asarray(estimator.fit(grid, sample_weight=weights).cluster_centers_, dtype=np.float64)


IMAGE_MESHES = {cls.__name__: cls for cls in (Overlay, Hilbert, KMeans)}
