"""Meshes of a pixelization: where the reconstructed light lives and how a point of the image takes its value from it
(an interpolation stencil: mesh pixels and weights), under PyAutoGalaxy 2026.10.26.1's names and arguments
(``autoarray/inversion/mesh/``).

A mesh is a frozen dataclass (hashable: the mapping it makes with a dataset is computed once and cached).
``interpolation(points, mesh_grid)`` returns a :class:`MeshInterpolation` for points (m, 2) (y, x) in arcsec; meshes that
need vertices (``Delaunay``) take them as ``mesh_grid`` (an image mesh's grid, ``galaxyfit.pixelization.image_mesh``).

Orientation: a rectangular mesh's pixel (0, 0) is its lowest-y, lowest-x pixel and pixels run along x first, as this
project's images (FITS/DS9 orientation, ``../shared/DESIGN.md``); PyAutoGalaxy starts at the top left, so its pixel
vectors are ours with the rows of the mesh reversed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from galaxyfit._precision import float64_api
from galaxyfit.errors import ModelError


@dataclass(frozen=True)
class MeshInterpolation:
    """index, weight : (m, width) stencils (int32 mesh pixel, float64 weight); vertices : (S, 2) mesh pixel centres
    (y, x); neighbours : (S, S) 0/1 adjacency for the graph regularizations; zeroed : indices of the pixels held at
    zero by the positive-only solve (``Settings.use_edge_zeroed_pixels``); shape : (ny, nx) of a rectangular mesh, or
    None."""

    index: np.ndarray
    weight: np.ndarray
    vertices: np.ndarray
    neighbours: np.ndarray
    zeroed: np.ndarray
    shape: tuple | None = None
    exclude_zero_weight_mappings: bool = False
    split_rows: object = None  # a function giving B (4 S, S) for the split regularizations, or None

    @property
    def pixels(self) -> int:
        return len(self.vertices)


@dataclass(frozen=True)
class MeshContext:
    """What some meshes need beyond the points: the (relocated) unmasked pixel centres (N, 2), in slim order, and
    the galaxy's adapt image at them (N,) or None."""

    pixel_centres: np.ndarray
    adapt_slim: np.ndarray | None = None


@float64_api
class Mesh:
    """Shared behaviour; ``needs_mesh_grid`` says whether the mesh takes its vertices from an image mesh,
    ``needs_adapt_image`` whether its geometry follows an adapt image."""

    needs_mesh_grid = False
    needs_adapt_image = False

    def interpolation(self, points: np.ndarray, mesh_grid: np.ndarray | None = None,
                      context: MeshContext | None = None) -> MeshInterpolation:  # pragma: no cover
        raise NotImplementedError


def _shape(value, cls: str) -> tuple[int, int]:
    try:
        ny, nx = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ModelError(f"{cls}.shape must be a pair of integers (y_pixels, x_pixels), got {value!r}") from None
    if (ny, nx) != tuple(value) or ny < 3 or nx < 3:
        raise ModelError(f"{cls}.shape must be integers of at least 3 x 3 (an edge ring and an interior), got {value!r}")
    return ny, nx


def rectangular_neighbours(ny: int, nx: int) -> np.ndarray:
    """(S, S) adjacency of a ny x nx lattice, 4-connected (PyAutoArray's ``rectangular_neighbors_from``)."""
    s = ny * nx
    adjacency = np.zeros((s, s))
    index = np.arange(s).reshape(ny, nx)
    for a, b in ((index[:, :-1], index[:, 1:]), (index[:-1, :], index[1:, :])):
        adjacency[a.ravel(), b.ravel()] = adjacency[b.ravel(), a.ravel()] = 1.0
    return adjacency


def rectangular_edge_pixels(ny: int, nx: int) -> np.ndarray:
    """Indices of the outer ring of a ny x nx lattice (PyAutoArray's ``rectangular_edge_pixel_list_from``)."""
    ring = np.zeros((ny, nx), dtype=bool)
    ring[0, :] = ring[-1, :] = ring[:, 0] = ring[:, -1] = True
    return np.flatnonzero(ring)


@dataclass(frozen=True)
class RectangularUniform(Mesh):
    """A ny x nx lattice laid over the bounding box of the points (PyAutoArray's ``overlay_grid_from``: the box widened
    by 1e-8 on each side, pixel centres at its cell centres), bilinear interpolation between the four surrounding
    pixel centres (extrapolated from the outermost cell between a centre and the box edge), 4-connected neighbours,
    the outer ring of pixels held at zero under the positive-only solver (PyAutoGalaxy's ``zeroed_pixels``).
    Raises ModelError for a shape below 3 x 3."""

    shape: tuple = (3, 3)

    def __post_init__(self):
        object.__setattr__(self, "shape", _shape(self.shape, "RectangularUniform"))

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    def interpolation(self, points, mesh_grid=None, context=None) -> MeshInterpolation:
        from galaxyfit import _core

        ny, nx = self.shape
        buffer = 1e-8
        y_min, x_min = points.min(axis=0) - buffer
        y_max, x_max = points.max(axis=0) + buffer
        dy, dx = (y_max - y_min) / ny, (x_max - x_min) / nx
        ys = y_min + (np.arange(ny) + 0.5) * dy
        xs = x_min + (np.arange(nx) + 0.5) * dx
        index, weight = _core.rectangular_bilinear_stencils(points, ny, nx, ys[0], xs[0], dy, dx)
        vertices = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
        return MeshInterpolation(index, weight, vertices, rectangular_neighbours(ny, nx), rectangular_edge_pixels(ny, nx),
                                 shape=(ny, nx))


@dataclass(frozen=True)
class Delaunay(Mesh):
    """A Delaunay triangulation of the vertices an image mesh places (``mesh_grid``, e.g. ``Overlay`` or ``Hilbert``;
    ``pixels`` of them), barycentric weights inside the triangle holding a point and the nearest vertex outside the
    hull (PyAutoArray's ``pixel_weights_delaunay_from``), neighbours along the triangulation's edges. The last
    ``zeroed_pixels`` vertices (an image mesh's appended edge ring) are held at zero under the positive-only solver.

    The triangulation is scipy's qhull (built once per dataset and mesh grid); points are located with its
    ``find_simplex``, the weights are the C++ kernel's. Raises ModelError for fewer than 3 pixels or a negative
    ``zeroed_pixels``; ``interpolation`` raises ValueError for a grid of another size or a degenerate triangulation."""

    pixels: int = 3
    zeroed_pixels: int = 0
    needs_mesh_grid = True

    def __post_init__(self):
        for name, low in (("pixels", 3), ("zeroed_pixels", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not float(value).is_integer() or int(value) < low:
                raise ModelError(f"Delaunay.{name} must be an integer >= {low}, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.zeroed_pixels >= self.pixels:
            raise ModelError(f"Delaunay.zeroed_pixels ({self.zeroed_pixels}) must be fewer than its pixels ({self.pixels})")

    def interpolation(self, points, mesh_grid=None, context=None) -> MeshInterpolation:
        import scipy.spatial

        if mesh_grid is None:
            raise ValueError("Delaunay needs its vertices: give an image mesh (e.g. image_mesh.Overlay) or a mesh grid "
                             "through AdaptImages(galaxy_name_image_plane_mesh_grid_dict=...)")
        vertices = np.ascontiguousarray(mesh_grid, dtype=np.float64)
        if vertices.ndim != 2 or vertices.shape[1] != 2 or len(vertices) != self.pixels:
            raise ValueError(f"Delaunay(pixels={self.pixels}) was given a mesh grid of shape {vertices.shape}; "
                             f"it needs ({self.pixels}, 2)")
        try:
            triangulation = scipy.spatial.Delaunay(vertices)
        except scipy.spatial.QhullError as error:
            raise ValueError(f"the Delaunay triangulation of the mesh grid failed (degenerate vertices?): {error}") from None
        simplices = np.ascontiguousarray(triangulation.simplices, dtype=np.int32)
        index, weight = _barycentric_stencils(points, vertices, triangulation, simplices)
        neighbours = np.zeros((len(vertices), len(vertices)))
        for a, b in ((0, 1), (1, 2), (0, 2)):
            neighbours[simplices[:, a], simplices[:, b]] = neighbours[simplices[:, b], simplices[:, a]] = 1.0
        zeroed = np.arange(len(vertices) - self.zeroed_pixels, len(vertices))

        def split_rows():
            return _delaunay_split_rows(vertices, triangulation, simplices)

        # PyAutoArray counts only non-zero barycentric weights in a pixel's adapt signal (exclude_zero_weight_mappings)
        return MeshInterpolation(index, weight, vertices, neighbours, zeroed, exclude_zero_weight_mappings=True,
                                 split_rows=split_rows)


def _barycentric_stencils(points, vertices, triangulation, simplices):
    """(index (m, 3), weight (m, 3)): each point located in the triangulation (qhull's find_simplex), its nearest
    vertex outside the hull, and the C++ kernel's barycentric weights."""
    import scipy.spatial

    from galaxyfit import _core

    simplex = np.ascontiguousarray(triangulation.find_simplex(points), dtype=np.int32)
    nearest = np.zeros(len(points), dtype=np.int32)
    outside = simplex < 0
    if outside.any():
        nearest[outside] = scipy.spatial.cKDTree(vertices).query(points[outside])[1]
    return _core.delaunay_barycentric_stencils(points, vertices, simplices, simplex, nearest)


def barycentric_dual_areas(vertices: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """(S,) a third of the area of every triangle touching each vertex (PyAutoArray's ``barycentric_dual_area_from``)."""
    p0, p1, p2 = (vertices[simplices[:, c]] for c in range(3))
    area = 0.5 * np.abs((p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1]) - (p1[:, 1] - p0[:, 1]) * (p2[:, 0] - p0[:, 0]))
    dual = np.zeros(len(vertices))
    for c in range(3):
        np.add.at(dual, simplices[:, c], area / 3.0)
    return dual


def _delaunay_split_rows(vertices, triangulation, simplices) -> np.ndarray:
    """B (4 S, S): for each vertex i and each of its 4 cross points p at +-delta_i along the two axes (delta_i = 0.5
    sqrt(dual area_i)), the row e_i - (barycentric interpolation weights of p; its nearest vertex outside the hull)
    (PyAutoArray's ``split_points_from`` and ``reg_split_from``)."""
    import scipy.spatial

    delta = 0.5 * np.sqrt(barycentric_dual_areas(vertices, simplices))
    offsets = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    points = np.ascontiguousarray((vertices[:, None, :] + delta[:, None, None] * offsets[None, :, :]).reshape(-1, 2))
    index, weight = _barycentric_stencils(points, vertices, triangulation, simplices)
    rows = np.zeros((len(points), len(vertices)))
    np.add.at(rows, (np.repeat(np.arange(len(points)), 3), index.ravel()), -weight.ravel())
    rows[np.arange(len(points)), np.repeat(np.arange(len(vertices)), 4)] += 1.0
    return rows


def _knn_stencils(points: np.ndarray, vertices: np.ndarray, k: int, radius_scale: float):
    """(index (m, k), weight (m, k), distances (m, k)) of each point's k nearest vertices, ties broken by the lower
    vertex index, with Wendland C4 weights (PyAutoArray's ``get_interpolation_weights``): w = (1 - s)^6 (35 s^2 +
    18 s + 3) for s = r / (h + 1e-10) < 1, h = radius_scale x the largest of the k distances, normalised by their sum
    + 1e-10 (Wendland 1995, Adv. Comput. Math. 4, 389)."""
    import scipy.spatial

    k = min(int(k), len(vertices))
    extra = min(len(vertices), k + 8)  # candidates beyond k, so ties at the k-th distance resolve by index
    _, candidates = scipy.spatial.cKDTree(vertices).query(points, k=extra)
    candidates = np.asarray(candidates).reshape(len(points), extra)
    distances = np.sqrt(((points[:, None, :] - vertices[candidates]) ** 2).sum(-1))
    order = np.lexsort((candidates, distances), axis=-1)[:, :k]
    index = np.take_along_axis(candidates, order, axis=1)
    distance = np.take_along_axis(distances, order, axis=1)
    h = radius_scale * distance.max(axis=1, keepdims=True)
    s = distance / (h + 1e-10)
    w = np.where(s < 1.0, (1.0 - s) ** 6 * (35.0 * s**2 + 18.0 * s + 3.0), 0.0)
    return index.astype(np.int32), w / (w.sum(axis=1, keepdims=True) + 1e-10), distance


@dataclass(frozen=True)
class KNearestNeighbor(Mesh):
    """Vertices from an image mesh (as ``Delaunay``), each point interpolated from its ``k_neighbors`` nearest
    vertices with Wendland C4 weights over a radius ``radius_scale`` x the farthest of them (PyAutoArray's
    ``KNearestNeighbor``); neighbours for the graph regularizations along the Delaunay triangulation's edges; split
    cross points at ``areas_factor`` x the distance to the (k_neighbors // split_neighbor_division)-th nearest other
    vertex. The last ``zeroed_pixels`` vertices are held at zero under the positive-only solver."""

    pixels: int = 3
    zeroed_pixels: int = 0
    k_neighbors: int = 10
    radius_scale: float = 1.5
    areas_factor: float = 0.5
    split_neighbor_division: int = 2
    needs_mesh_grid = True

    def __post_init__(self):
        Delaunay(self.pixels, self.zeroed_pixels)  # the same checks
        for name, low in (("k_neighbors", 1), ("split_neighbor_division", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not float(value).is_integer() or int(value) < low:
                raise ModelError(f"KNearestNeighbor.{name} must be an integer >= {low}, got {value!r}")
            object.__setattr__(self, name, int(value))
        for name in ("radius_scale", "areas_factor"):
            value = float(getattr(self, name))
            if not (value > 0 and np.isfinite(value)):
                raise ModelError(f"KNearestNeighbor.{name} must be a positive number, got {getattr(self, name)!r}")
            object.__setattr__(self, name, value)
        if self.radius_scale < 1.0:
            raise ModelError("KNearestNeighbor.radius_scale must be >= 1 (below it the farthest neighbour gets no weight)")

    def interpolation(self, points, mesh_grid=None, context=None) -> MeshInterpolation:
        delaunay = Delaunay(self.pixels, self.zeroed_pixels).interpolation(points[:0] if len(points) else points, mesh_grid)
        vertices = delaunay.vertices
        index, weight, _ = _knn_stencils(points, vertices, self.k_neighbors, self.radius_scale)

        def split_rows():
            _, _, to_self = _knn_stencils(vertices, vertices, self.k_neighbors, self.radius_scale)
            others = to_self[:, 1:]
            position = max(0, min(self.k_neighbors // self.split_neighbor_division - 1, others.shape[1] - 1))
            step = self.areas_factor * others[:, position]
            offsets = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
            cross = (vertices[:, None, :] + step[:, None, None] * offsets[None]).reshape(-1, 2)
            cross_index, cross_weight, _ = _knn_stencils(cross, vertices, self.k_neighbors, self.radius_scale)
            rows = np.zeros((len(cross), len(vertices)))
            np.add.at(rows, (np.repeat(np.arange(len(cross)), cross_index.shape[1]), cross_index.ravel()), -cross_weight.ravel())
            rows[np.arange(len(cross)), np.repeat(np.arange(len(vertices)), 4)] += 1.0
            return rows

        return MeshInterpolation(index, weight, vertices, delaunay.neighbours, delaunay.zeroed,
                                 exclude_zero_weight_mappings=False, split_rows=split_rows)


def _rank_transform(centres: np.ndarray, weights: np.ndarray | None):
    """(sorted coordinates (N, 2), cumulative levels (N, 2)) of PyAutoArray's per-axis empirical rank CDF
    (``create_transforms_rank``): uniform ranks k / (N + 1), or the cumulative weights with every point of a block of
    tied coordinates given the block's final value (its right-continuous CDF)."""
    n = len(centres)
    if weights is None:
        levels = np.arange(1, n + 1) / (n + 1)
        return np.sort(centres, axis=0), np.stack([levels, levels], axis=1)
    order = np.argsort(centres, axis=0)
    ordered = np.take_along_axis(centres, order, axis=0)
    cumulative = np.cumsum(np.take_along_axis(np.stack([weights, weights], axis=1), order, axis=0), axis=0)
    levels = np.stack([cumulative[np.searchsorted(ordered[:, d], ordered[:, d], side="right") - 1, d] for d in range(2)],
                      axis=1)
    return ordered, levels


@dataclass(frozen=True)
class RectangularBilinearAdaptDensity(Mesh):
    """A square n x n lattice uniform in the per-axis empirical CDF of the unmasked pixel centres (scaled by their
    mean and smaller standard deviation), so pixels shrink where the points crowd (PyAutoArray's
    ``RectangularBilinearAdaptDensity``: ``adaptive_rectangular_mappings_weights_via_interpolation_from`` with the rank
    transform): a point with CDF coordinates u maps to index (n - 3) u + 1 and takes bilinear weights there. The outer
    ring is held at zero under the positive-only solver. As in PyAutoArray, the flattened row is n - (row index),
    so data reach rows and columns 1 .. n - 1 of its top-left-first ordering (its last row and column, in the ring,
    get data; its first do not): kept, for evidences that compare number for number. Raises ModelError for a shape
    below 3 x 3 or not square."""

    shape: tuple = (3, 3)

    def __post_init__(self):
        shape = _shape(self.shape, type(self).__name__)
        if shape[0] != shape[1]:
            raise ModelError(f"{type(self).__name__}.shape must be square (PyAutoArray's index mapping uses shape[0] for "
                             f"both axes), got {self.shape!r}")
        object.__setattr__(self, "shape", shape)

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    def _weights(self, context):
        return None

    def interpolation(self, points, mesh_grid=None, context=None) -> MeshInterpolation:
        if context is None:
            raise ValueError(f"{type(self).__name__} needs the unmasked pixel centres (a MeshContext)")
        n = self.shape[0]
        centres = context.pixel_centres
        mu = centres.mean(axis=0)
        scale = centres.std(axis=0).min()
        ordered, levels = _rank_transform((centres - mu) / scale, self._weights(context))
        scaled = (points - mu) / scale
        u = np.stack([np.interp(scaled[:, d], ordered[:, d], levels[:, d], left=0, right=1) for d in range(2)], axis=1)
        index = (n - 3) * u + 1
        down = np.clip(np.floor(index), 0, n - 2)
        t = index - down
        row_down, col_down = down[:, 0], down[:, 1]

        def flat(row, col):  # PyAutoArray's flatten: (n - row) n + col, rows counted from its top
            return (n - row) * n + col

        corners = [(row_down + 1, col_down, t[:, 0] * (1 - t[:, 1])), (row_down + 1, col_down + 1, t[:, 0] * t[:, 1]),
                   (row_down, col_down, (1 - t[:, 0]) * (1 - t[:, 1])), (row_down, col_down + 1, (1 - t[:, 0]) * t[:, 1])]
        top_index = np.stack([flat(r, c) for r, c, _ in corners], axis=1).astype(np.int64)
        weight = np.stack([w for _, _, w in corners], axis=1)
        # PyAutoArray numbers its pixels from the top row; ours from the bottom (this project's orientation)
        top_row, column = top_index // n, top_index % n
        ours = ((n - 1 - top_row) * n + column).astype(np.int32)
        # pixel centres: the inverse transform of the lattice's index-space nodes
        rows = np.arange(n)
        u_nodes = ((n - (n - 1 - rows)) - 1) / (n - 3)  # our row r is PyAutoArray's top row n - 1 - r: index n - top_row
        axis_y = np.interp(u_nodes, levels[:, 0], ordered[:, 0]) * scale + mu[0]
        axis_x = np.interp((np.arange(n) - 1) / (n - 3), levels[:, 1], ordered[:, 1]) * scale + mu[1]
        vertices = np.stack(np.meshgrid(axis_y, axis_x, indexing="ij"), axis=-1).reshape(-1, 2)
        return MeshInterpolation(ours, weight, vertices, rectangular_neighbours(n, n), rectangular_edge_pixels(n, n),
                                 shape=(n, n))


@dataclass(frozen=True)
class RectangularBilinearAdaptImage(RectangularBilinearAdaptDensity):
    """As ``RectangularBilinearAdaptDensity`` with the CDF weighted by the galaxy's adapt image at the pixel centres:
    w = max(a, 1e-12)^weight_power, floored at ``weight_floor``, normalised (PyAutoArray's
    ``RectangularBilinearAdaptImage``), so pixels shrink where the galaxy is bright. Needs an adapt image."""

    shape: tuple = (3, 3)
    weight_power: float = 1.0
    weight_floor: float = 0.0
    needs_adapt_image = True

    def __post_init__(self):
        super().__post_init__()
        for name in ("weight_power", "weight_floor"):
            value = float(getattr(self, name))
            if not (value >= 0 and np.isfinite(value)):
                raise ModelError(f"RectangularBilinearAdaptImage.{name} must be a finite number >= 0, got {getattr(self, name)!r}")
            object.__setattr__(self, name, value)

    def _weights(self, context):
        if context.adapt_slim is None:
            raise ModelError("RectangularBilinearAdaptImage follows an adapt image: give AdaptImages(galaxy_name_image_dict=...)")
        w = np.clip(context.adapt_slim, 1e-12, None) ** self.weight_power
        w = np.where(w < self.weight_floor, self.weight_floor, w)
        return w / np.sum(w)


#: The meshes by name (model files).
MESHES = {cls.__name__: cls for cls in (RectangularUniform, RectangularBilinearAdaptDensity,
                                        RectangularBilinearAdaptImage, Delaunay, KNearestNeighbor)}
