"""``Mapper``: a mesh met with a dataset -- the sparse mapping matrix, its PSF-blurred version and the curvature
matrix, computed once (C++ kernels, ``galaxyfit/mapping.hpp``) because in a galaxy model the mesh does not move
during a search. Per likelihood call only the data vector D = f^T W (d - parametric model) changes (and not even that
without parametric light), a sparse product done here in JAX.

The points of the mapping are each unmasked pixel's ``over_sample_size_pixelization``^2 sub-pixel centres
(PyAutoGalaxy's ``over_sample_size_pixelization``, default 4), relocated onto the mask's border ellipse when
``use_border_relocator`` (``galaxyfit.pixelization.border``); a Delaunay mesh's vertices are relocated the same way.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit._precision import float64_api
from galaxyfit.pixelization.border import border_ellipse, border_pixels, relocated
from galaxyfit.pixelization.mesh import Mesh, MeshContext, MeshInterpolation


def sub_pixel_points(plan, sub_size: int) -> np.ndarray:
    """(N sub_size^2, 2) (y, x) centres of the sub-pixels of the unmasked pixels, pixel by pixel in slim order."""
    ny, nx = plan.dataset.shape
    ps_y, ps_x = plan.dataset.pixel_scales
    rows, cols = plan.image_index
    centre_y = (rows - (ny - 1) / 2.0) * ps_y
    centre_x = (cols - (nx - 1) / 2.0) * ps_x
    offsets = (np.arange(sub_size) + 0.5) / sub_size - 0.5
    oy, ox = np.meshgrid(offsets * ps_y, offsets * ps_x, indexing="ij")
    y = centre_y[:, None] + oy.ravel()[None, :]
    x = centre_x[:, None] + ox.ravel()[None, :]
    return np.ascontiguousarray(np.stack([y.ravel(), x.ravel()], axis=1))


def mask_border_ellipse(plan):
    """The ellipse fitted to the mask's border pixel centres (``border.border_ellipse``)."""
    ny, nx = plan.dataset.shape
    ps_y, ps_x = plan.dataset.pixel_scales
    rows, cols = border_pixels(plan.dataset.mask.array)
    points = np.stack([(rows - (ny - 1) / 2.0) * ps_y, (cols - (nx - 1) / 2.0) * ps_x], axis=1)
    return border_ellipse(points)


@float64_api
class Mapper:
    """A mesh's mapping with one dataset (``plan``), for ``mesh_grid`` vertices where the mesh needs them.

    Attributes
    ----------
    interpolation : MeshInterpolation
        Stencils, mesh vertices (S, 2), neighbours, zeroed pixels.
    mapping_matrix, blurred_mapping_matrix : (row_start, column, value)
        M and f = C M, sparse by rows (N unmasked pixels x S mesh pixels).
    curvature_matrix : (S, S) numpy
        F = f^T W f.
    points : (N s^2, 2)
        The (relocated) sub-pixel points the stencils interpolate at.
    """

    def __init__(self, plan, mesh: Mesh, mesh_grid=None, adapt_image=None):
        from galaxyfit import _core

        settings = plan.settings
        sub_size = settings.over_sample_size_pixelization
        points = sub_pixel_points(plan, sub_size)
        if mesh_grid is not None:
            mesh_grid = np.ascontiguousarray(mesh_grid, dtype=np.float64)
        centres = sub_pixel_points(plan, 1)
        if settings.use_border_relocator:
            ellipse = mask_border_ellipse(plan)
            points = relocated(points, ellipse)
            centres = relocated(centres, ellipse)
            if mesh_grid is not None:
                mesh_grid = relocated(mesh_grid, ellipse)
        self.points = points
        self.mesh = mesh
        adapt_slim = None if adapt_image is None else np.asarray(adapt_image, dtype=np.float64)[plan.image_index]
        self.interpolation: MeshInterpolation = mesh.interpolation(points, mesh_grid, MeshContext(centres, adapt_slim))
        pixels = self.interpolation.pixels
        if pixels > plan.pixels_in_mask:
            raise ValueError(f"the mesh has {pixels} pixels, more than the {plan.pixels_in_mask} unmasked image pixels: "
                             "the reconstruction would be under-determined; use fewer mesh pixels or a larger mask")
        self.pixels = pixels
        self.mapping_matrix = _core.mapping_matrix(self.interpolation.index, self.interpolation.weight, sub_size**2, pixels)
        ny, nx = plan.dataset.shape
        slim_of_pixel = np.full((ny, nx), -1, dtype=np.int32)
        slim_of_pixel[plan.image_index] = np.arange(plan.pixels_in_mask, dtype=np.int32)
        kernel = np.ascontiguousarray(plan.convolver.kernel, dtype=np.float64)
        self.blurred_mapping_matrix = _core.blurred_mapping_matrix(*self.mapping_matrix, pixels, slim_of_pixel, kernel)
        inverse_variance = plan.inverse_noise_slim**2
        self.curvature_matrix = _core.sparse_curvature_matrix(*self.blurred_mapping_matrix, pixels, inverse_variance)
        row_start, column, value = self.blurred_mapping_matrix
        # numpy, not JAX, arrays: a mapper made while tracing must not hold the trace's values
        self._rows = np.repeat(np.arange(len(row_start) - 1, dtype=np.int32), np.diff(row_start))
        self._columns = np.asarray(column)
        self._values = np.asarray(value)
        self._n = plan.pixels_in_mask
        self._inverse_variance = inverse_variance
        self._image_shape = plan.dataset.shape
        self._image_index = plan.image_index
        self._sub_points = sub_size**2

    def regularization_geometry(self, adapt_image=None):
        """The RegularizationGeometry of this mesh (cached), with the adapt pixel signal sums of ``adapt_image``
        ((N_y, N_x), or None)."""
        from galaxyfit.regularization import RegularizationGeometry

        key = None if adapt_image is None else np.asarray(adapt_image, dtype=np.float64).tobytes()
        cache = self.__dict__.setdefault("_geometries", {})
        if key not in cache:
            base = cache.get(None)
            sums = None if adapt_image is None else self.adapt_signal_sums(adapt_image)
            geometry = RegularizationGeometry(self.neighbours, self.vertices, self.interpolation.split_rows, sums)
            if base is not None:  # share the eigenvalues and split matrices, which do not depend on the image
                geometry._cache = base._cache
            cache[key] = geometry
        return cache[key]

    def spectral_basis(self, name: str, structure: np.ndarray, eigenvalues: np.ndarray):
        """The SpectralBasis of this mesh's curvature matrix and a regularization structure K (cached by scheme)."""
        from galaxyfit.fit.spectral import SpectralBasis

        cache = self.__dict__.setdefault("_spectral", {})
        if name not in cache:
            cache[name] = SpectralBasis(self.curvature_matrix, structure, eigenvalues)
        return cache[name]

    def adapt_signal_sums(self, adapt_image):
        """(sums (S,), counts (S,)): sum over the mappings k -> j of w_kj a(pixel of k), and their number
        (PyAutoArray's ``_pixel_signal_sums_numpy``; zero-weight mappings skipped where the mesh says so)."""
        image = np.asarray(adapt_image, dtype=np.float64)
        if image.shape != self._image_shape:
            raise ValueError(f"the adapt image has shape {image.shape}, but the dataset is {self._image_shape}")
        slim = image[self._image_index]
        index, weight = self.interpolation.index, self.interpolation.weight
        live = np.ones(index.shape, dtype=bool)
        if self.interpolation.exclude_zero_weight_mappings:
            live &= weight != 0
        pixel_of_point = np.repeat(np.arange(len(slim)), self._sub_points)
        values = slim[np.broadcast_to(pixel_of_point[:, None], index.shape)][live]
        sums = np.bincount(index[live], weights=values * weight[live], minlength=self.pixels)
        counts = np.bincount(index[live], minlength=self.pixels).astype(float)
        return sums, counts

    @property
    def zeroed(self) -> np.ndarray:
        return self.interpolation.zeroed

    @property
    def neighbours(self) -> np.ndarray:
        return self.interpolation.neighbours

    @property
    def vertices(self) -> np.ndarray:
        return self.interpolation.vertices

    def data_vector(self, weighted_residual):
        """D = f^T (W r) for ``weighted_residual`` W r (N,) (JAX; r = data - parametric model)."""
        # The barrier keeps XLA from constant-folding this sparse product when r is a constant (no parametric light),
        # which took it seconds at compile time for a 30 x 30 mesh.
        weighted_residual = jax.lax.optimization_barrier(weighted_residual)
        return jax.ops.segment_sum(self._values * weighted_residual[self._rows], self._columns, num_segments=self.pixels)

    def static_data_vector(self, residual: np.ndarray) -> np.ndarray:
        """D = f^T W r for a constant residual r (N,) (numpy, C++ kernel; cached for the last r)."""
        from galaxyfit import _core

        key = residual.tobytes()
        if self.__dict__.get("_static_key") != key:
            self._static_key = key
            self._static_value = _core.sparse_data_vector(*self.blurred_mapping_matrix, self.pixels,
                                                          np.asarray(self._inverse_variance), residual)
        return self._static_value

    def cross_curvature(self, weighted_columns):
        """B W f (k, S) for ``weighted_columns`` B W (k, N): the curvature between linear profiles and this mesh."""
        gathered = weighted_columns[:, self._rows] * self._values
        return jax.vmap(lambda g: jax.ops.segment_sum(g, self._columns, num_segments=self.pixels))(gathered)

    def mapped_image(self, reconstruction):
        """f s (N,): the blurred image of a reconstruction s (S,) at the unmasked pixels."""
        return jax.ops.segment_sum(self._values * reconstruction[self._columns], self._rows, num_segments=self._n)

    def unblurred_image_slim(self, reconstruction) -> np.ndarray:
        """M s (N,) (numpy): the reconstruction at the unmasked pixels before the PSF."""
        row_start, column, value = self.mapping_matrix
        rows = np.repeat(np.arange(len(row_start) - 1), np.diff(row_start))
        return np.bincount(rows, weights=value * np.asarray(reconstruction)[column], minlength=self._n)

    def sparse_blurred(self):
        """f as a scipy CSR matrix (N, S)."""
        import scipy.sparse

        row_start, column, value = self.blurred_mapping_matrix
        return scipy.sparse.csr_matrix((value, column, row_start), shape=(self._n, self.pixels))

    def cross_curvature_with(self, other: "Mapper") -> np.ndarray:
        """f^T W f' (S, S') between this mesh and another on the same dataset (dense; computed once)."""
        import scipy.sparse

        weights = scipy.sparse.diags(np.asarray(self._inverse_variance))
        return np.asarray((self.sparse_blurred().T @ weights @ other.sparse_blurred()).todense())
