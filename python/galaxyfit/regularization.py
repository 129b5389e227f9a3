"""Regularization of linear amplitudes (``gf.reg``): the prior that the inversion's evidence weighs against the fit.

A regularization gives the matrix H of the solve (``galaxyfit/inversion.hpp``): the penalty s^T H s and the
ln det H of the evidence. Definitions follow PyAutoArray 2026.10.26.1 (``autoarray/inversion/regularization/``) so
evidences compare number for number; the coefficient enters squared for the graph schemes, as there. A
:class:`~galaxyfit.profiles.basis.Basis` is a chain: amplitude i neighbours i - 1 and i + 1
(``autoarray/inversion/linear_obj/func_list.py``), so ``Constant`` smooths neighbouring Gaussians of an MGE.

Every scheme is a frozen dataclass and a JAX pytree whose coefficients are leaves, so they can be free model
parameters (their derivatives reach the evidence through dE/dH).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from galaxyfit._precision import float64_api
from galaxyfit.errors import ModelError
from galaxyfit.numbers import real_number

#: Added to the diagonal of the graph schemes' matrices (PyAutoArray's constant), which are otherwise singular (a
#: constant vector has zero penalty). It enters ln det H, and so the evidence, as PyAutoArray's does.
GRAPH_DIAGONAL_JITTER = 1e-8


def chain_neighbours(size: int) -> np.ndarray:
    """(size, size) adjacency (0/1) of a chain: i ~ i - 1 and i + 1."""
    adjacency = np.zeros((size, size))
    index = np.arange(size - 1)
    adjacency[index, index + 1] = adjacency[index + 1, index] = 1.0
    return adjacency


def _check(value, name: str, cls: str):
    value = real_number(value, f"{cls}.{name}")
    # Plain numbers only (JAX's own scalar types under tracing, e.g. a float subclass for literals, pass unchecked:
    # a traced invalid coefficient makes the sample rejected instead, sanitized_regularization).
    if type(value) in (int, float) or isinstance(value, (np.floating, np.ndarray)):
        v = float(np.asarray(value))
        if not (math.isfinite(v) and v >= 0):
            raise ModelError(f"{cls}.{name} must be a finite number >= 0, got {value!r}")
    return value


def _regularization(cls):
    """Class decorator: frozen dataclass, JAX pytree, coefficients checked (finite, >= 0) when concrete."""

    def post_init(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _check(getattr(self, field.name), field.name, type(self).__name__))

    cls.__post_init__ = post_init
    cls = dataclasses.dataclass(frozen=True)(cls)
    return jax.tree_util.register_dataclass(cls, data_fields=[f.name for f in dataclasses.fields(cls)], meta_fields=[])


@float64_api
class RegularizationGeometry:
    """What a scheme may need to know of the amplitudes it regularizes (all numpy, fixed during a search):

    neighbours : (S, S) 0/1 adjacency (a mesh's, or a basis' chain);
    vertices : (S, 2) mesh pixel centres (y, x) in arcsec, for the kernel schemes (None for a basis);
    split_rows : a function giving B (4 S, S), the split schemes' finite differences b_p = e_i - (interpolation of
        cross point p of pixel i) (PyAutoArray's ``reg_split_from``; He et al. 2024, arXiv:2403.16253, appendix), or
        None where the mesh has none;
    signal_sums : (sums (S,), counts (S,)) of an adapt image over the mapping (``adaptive_pixel_signals_from``), or
        None without an adapt image.
    """

    def __init__(self, neighbours, vertices=None, split_rows=None, signal_sums=None):
        self.neighbours = np.asarray(neighbours, dtype=np.float64)
        self.vertices = None if vertices is None else np.asarray(vertices, dtype=np.float64)
        self._split_rows = split_rows
        self.signal_sums = signal_sums
        self._cache = {}

    @property
    def pixels(self) -> int:
        return self.neighbours.shape[0]

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def laplacian_eigenvalues(self) -> np.ndarray:
        return self._cached("laplacian", lambda: laplacian_eigenvalues(self.neighbours))

    def split_gram(self) -> np.ndarray:
        """B^T B (S, S); ModelError where the mesh has no split points (PyAutoArray: rectangular meshes)."""
        if self._split_rows is None:
            raise ModelError("split regularizations (ConstantSplit, AdaptSplit) need a Delaunay mesh: this mesh has no "
                             "split points (as in PyAutoGalaxy, whose rectangular meshes do not support them)")
        return self._cached("split_gram", lambda: self.split_rows().T @ self.split_rows())

    def split_rows(self) -> np.ndarray:
        return self._cached("split_rows", self._split_rows)

    @property
    def split_gram_eigenvalues(self) -> np.ndarray:
        return self._cached("split_eigenvalues", lambda: _clean_eigenvalues(np.linalg.eigvalsh(self.split_gram())))

    def distances(self) -> np.ndarray:
        """(S, S) distances between mesh pixel centres."""
        if self.vertices is None:
            raise ModelError("kernel regularizations need mesh pixel positions: use them on a pixelization, not a Basis")
        return self._cached("distances", lambda: np.sqrt(np.maximum(
            ((self.vertices[:, None, :] - self.vertices[None, :, :]) ** 2).sum(-1), 0.0)))

    def pixel_signals(self, signal_scale):
        """(S,) adapt pixel signals in [0, 1]: the adapt image's mean over each pixel's mappings, divided by the
        largest, to the power ``signal_scale`` (PyAutoArray's ``adaptive_pixel_signals_from``, its safe divisions
        and its zero-signal convention). ModelError without an adapt image."""
        if self.signal_sums is None:
            raise ModelError("adaptive regularizations need an adapt image for the galaxy: give "
                             "AdaptImages(galaxy_name_image_dict=...) to the analysis or fit")
        sums, counts = self.signal_sums
        signals = sums / np.where(counts > 0, counts, 1.0)
        largest = np.max(signals)
        signals = signals / (largest if largest > 0 else 1.0)
        positive = signals > 0
        base = jnp.asarray(np.where(positive, signals, 1.0))
        return jnp.where(jnp.asarray(positive), base ** signal_scale, 0.0)


def _clean_eigenvalues(mu: np.ndarray) -> np.ndarray:
    # Zero eigenvalues of a graph Laplacian or a Gram matrix are exact zeros, not rounding noise: ln(c^2 mu + 1e-8)
    # is sensitive to mu ~ 1e-15 at the 1e-7 level.
    return np.where(np.abs(mu) <= 1e-10 * max(np.max(np.abs(mu)), 1.0), 0.0, mu)


def laplacian_eigenvalues(neighbours: np.ndarray) -> np.ndarray:
    """Eigenvalues (S,) of the graph Laplacian diag(degree) - adjacency of ``neighbours`` (numpy, once per mesh)."""
    adjacency = np.asarray(neighbours, dtype=np.float64)
    return _clean_eigenvalues(np.linalg.eigvalsh(np.diag(adjacency.sum(axis=1)) - adjacency))


def geometry_of(value) -> RegularizationGeometry:
    """A RegularizationGeometry from itself or from an adjacency matrix."""
    return value if isinstance(value, RegularizationGeometry) else RegularizationGeometry(value)


@float64_api
class Regularization:
    """Shared behaviour: ``regularization_matrix(geometry)`` (S x S) for a :class:`RegularizationGeometry` (or an
    adjacency matrix); ``log_det_closed_form(geometry)``: ln det H in closed form where the scheme has one (the solve
    then never factors H), else None."""

    def regularization_matrix(self, geometry):  # pragma: no cover - every scheme overrides it
        raise NotImplementedError

    def log_det_closed_form(self, geometry):
        return None

    def validity(self, geometry):
        """True, or a (possibly traced) boolean that is False where the scheme is degenerate on this geometry."""
        return True

    def scaled_structure(self, geometry):
        """(c, K, eigenvalues of K) when H = c^2 K + 1e-8 I with K fixed (the spectral route of
        ``galaxyfit.fit.spectral``), else None."""
        return None


#: A kernel scale beyond this many times the mesh's diameter makes every pair of pixels correlated to better than
#: 5e-5 (Gaussian) -- the covariance is the all-ones matrix plus the 1e-8 jitter, and the prior is set by the
#: jitter, not the kernel: such a sample is rejected (an error outside a search).
KERNEL_SCALE_LIMIT = 100.0


def _kernel_validity(scale, geometry):
    g = geometry_of(geometry)
    diameter = float(np.max(g.distances())) if g.pixels > 1 else 1.0
    return (scale > 0) & (scale <= KERNEL_SCALE_LIMIT * diameter)


def _graph_laplacian(coefficient, neighbours: np.ndarray):
    """H_ii = 1e-8 + c^2 n_i, H_ij = -c^2 for neighbours: c^2 sum over edges (s_i - s_j)^2 + 1e-8 |s|^2
    (``constant_regularization_matrix_from``)."""
    adjacency = jnp.asarray(neighbours)
    degree = jnp.sum(adjacency, axis=1)
    c2 = coefficient * coefficient
    return jnp.diag(GRAPH_DIAGONAL_JITTER + c2 * degree) - c2 * adjacency


def _weighted_laplacian(edge_weight, neighbours: np.ndarray):
    """H = sum over edges {i, j} of w_ij (e_i - e_j)(e_i - e_j)^T + 1e-8 I for symmetric edge weights (S, S)."""
    adjacency = jnp.asarray(neighbours)
    w = edge_weight * adjacency
    return jnp.diag(GRAPH_DIAGONAL_JITTER + jnp.sum(w, axis=1)) - w


class _AdaptWeights(Regularization):
    """Shared by the adaptive schemes: per-pixel r_i = w_i^2 with w_i = (inner s_i + outer (1 - s_i))^power
    (``adapt_regularization_weights_from``), s the adapt pixel signals; the legacy schemes have power 2 (so the
    coefficients enter to the fourth power), the ``...Power`` ones their ``power`` field."""

    def _pixel_weights(self, geometry: RegularizationGeometry):
        power = getattr(self, "power", 2.0)
        signals = geometry.pixel_signals(self.signal_scale)
        return ((self.inner_coefficient * signals + self.outer_coefficient * (1.0 - signals)) ** power) ** 2


@_regularization
class Constant(Regularization):
    """One coefficient for every pair of neighbours: penalty c^2 sum_edges (s_i - s_j)^2 (+ 1e-8 |s|^2). PyAutoArray
    ``reg.Constant``."""

    coefficient: float = 1.0

    def regularization_matrix(self, geometry):
        return _graph_laplacian(self.coefficient, geometry_of(geometry).neighbours)

    def log_det_closed_form(self, geometry):
        """sum ln(c^2 mu + 1e-8): H = c^2 L + 1e-8 I shares L's eigenvectors."""
        mu = jnp.asarray(geometry_of(geometry).laplacian_eigenvalues)
        return jnp.sum(jnp.log(self.coefficient**2 * mu + GRAPH_DIAGONAL_JITTER))

    def scaled_structure(self, geometry):
        g = geometry_of(geometry)
        return self.coefficient, g._cached("laplacian_matrix", lambda: np.diag(g.neighbours.sum(1)) - g.neighbours), g.laplacian_eigenvalues


@_regularization
class Zeroth(Regularization):
    """Penalty c^2 |s|^2: pulls every amplitude towards zero. PyAutoArray ``reg.Zeroth``."""

    coefficient: float = 1.0

    def regularization_matrix(self, geometry):
        return jnp.eye(geometry_of(geometry).pixels) * self.coefficient**2

    def log_det_closed_form(self, geometry):
        return geometry_of(geometry).pixels * jnp.log(self.coefficient**2)


@_regularization
class ConstantZeroth(Regularization):
    """``Constant(coefficient_neighbor)`` + ``Zeroth(coefficient_zeroth)``. PyAutoArray ``reg.ConstantZeroth`` (as
    fixed after its May-2026 snapshot, whose identity matrix had the wrong size)."""

    coefficient_neighbor: float = 1.0
    coefficient_zeroth: float = 1.0

    def regularization_matrix(self, geometry):
        g = geometry_of(geometry)
        return _graph_laplacian(self.coefficient_neighbor, g.neighbours) + jnp.eye(g.pixels) * self.coefficient_zeroth**2

    def log_det_closed_form(self, geometry):
        mu = jnp.asarray(geometry_of(geometry).laplacian_eigenvalues)
        return jnp.sum(jnp.log(self.coefficient_neighbor**2 * mu + GRAPH_DIAGONAL_JITTER + self.coefficient_zeroth**2))


@_regularization
class ConstantSplit(Regularization):
    """Penalty c^2 sum_i sum_p (s_i - s(p))^2 over a cross of 4 points p at +-delta_i along y and x about each mesh
    pixel i (delta_i = 0.5 sqrt(its barycentric dual area)), s(p) interpolated on the mesh (+ 1e-8 |s|^2): H = c^2
    B^T B + 1e-8 I. PyAutoArray ``reg.ConstantSplit`` (He et al. 2024, arXiv:2403.16253); Delaunay meshes only."""

    coefficient: float = 1.0

    def regularization_matrix(self, geometry):
        g = geometry_of(geometry)
        return self.coefficient**2 * jnp.asarray(g.split_gram()) + GRAPH_DIAGONAL_JITTER * jnp.eye(g.pixels)

    def log_det_closed_form(self, geometry):
        gamma = jnp.asarray(geometry_of(geometry).split_gram_eigenvalues)
        return jnp.sum(jnp.log(self.coefficient**2 * gamma + GRAPH_DIAGONAL_JITTER))

    def scaled_structure(self, geometry):
        g = geometry_of(geometry)
        return self.coefficient, g.split_gram(), g.split_gram_eigenvalues


@_regularization
class Adapt(_AdaptWeights):
    """Neighbour smoothing whose strength follows an adapt image: pixel weights w_i = (inner s_i + outer (1 - s_i))^2
    with s_i the adapt pixel signal (``RegularizationGeometry.pixel_signals``), H = sum over edges {i, j} of
    (w_i^2 + w_j^2) (e_i - e_j)(e_i - e_j)^T + 1e-8 I. PyAutoArray's legacy ``reg.Adapt``: the coefficients enter to
    the fourth power (its ``weighted_regularization_matrix_from`` squares weights that are already squares), kept
    here for comparable evidences; ``AdaptPower`` is the corrected form."""

    inner_coefficient: float = 1.0
    outer_coefficient: float = 1.0
    signal_scale: float = 1.0

    def regularization_matrix(self, geometry):
        g = geometry_of(geometry)
        r = self._pixel_weights(g)
        return _weighted_laplacian(r[:, None] + r[None, :], g.neighbours)


@_regularization
class AdaptPower(_AdaptWeights):
    """As ``Adapt`` with w_i = (inner s_i + outer (1 - s_i))^power and edge weights (w_i^2 + w_j^2) / 2 (PyAutoArray
    ``reg.AdaptPower``, its ``weighted_regularization_matrix_single_scatter_from``): with power 1 the coefficients
    enter squared, as in ``Constant``."""

    inner_coefficient: float = 1.0
    outer_coefficient: float = 1.0
    signal_scale: float = 1.0
    power: float = 1.0

    def regularization_matrix(self, geometry):
        g = geometry_of(geometry)
        r = self._pixel_weights(g)
        return _weighted_laplacian(0.5 * (r[:, None] + r[None, :]), g.neighbours)


def _split_matrix(pixel_weight, geometry: RegularizationGeometry):
    """sum_i r_i sum_p b_p b_p^T + 1e-8 I for per-pixel weights r (S,) (``pixel_splitted_regularization_matrix_from``);
    ModelError for a mesh without split points."""
    geometry.split_gram()  # the error for meshes without split points
    rows = jnp.asarray(geometry.split_rows())
    weighted = rows * jnp.repeat(pixel_weight, 4)[:, None]
    return rows.T @ weighted + GRAPH_DIAGONAL_JITTER * jnp.eye(geometry.pixels)


@_regularization
class AdaptSplit(_AdaptWeights):
    """``ConstantSplit`` with per-pixel weights r_i = ((inner s_i + outer (1 - s_i))^2)^2 (PyAutoArray's legacy
    ``reg.AdaptSplit``, fourth power as ``Adapt``); Delaunay meshes only."""

    inner_coefficient: float = 1.0
    outer_coefficient: float = 1.0
    signal_scale: float = 1.0

    def regularization_matrix(self, geometry):
        return _split_matrix(self._pixel_weights(geometry_of(geometry)), geometry_of(geometry))


@_regularization
class AdaptSplitPower(_AdaptWeights):
    """``AdaptSplit`` with r_i = ((inner s_i + outer (1 - s_i))^power)^2 (PyAutoArray ``reg.AdaptSplitPower``)."""

    inner_coefficient: float = 1.0
    outer_coefficient: float = 1.0
    signal_scale: float = 1.0
    power: float = 1.0

    def regularization_matrix(self, geometry):
        return _split_matrix(self._pixel_weights(geometry_of(geometry)), geometry_of(geometry))


@_regularization
class BrightnessZeroth(Regularization):
    """H = diag((c (1 - s_i))^2): pulls pixels that the adapt image says are faint towards zero (PyAutoArray
    ``reg.BrightnessZeroth``; as there, no diagonal jitter, so the brightest pixel (s = 1) is unregularized and H
    alone is singular: combine it with a neighbour scheme)."""

    coefficient: float = 1.0
    signal_scale: float = 1.0

    def regularization_matrix(self, geometry):
        g = geometry_of(geometry)
        return jnp.diag((self.coefficient * (1.0 - g.pixel_signals(self.signal_scale))) ** 2)


class _KernelRegularization(Regularization):
    """Shared by the covariance-kernel schemes: H = coefficient C^-1 for the covariance ``_covariance(distances)`` +
    1e-8 I of the mesh pixel centres, degenerate for a scale <= 0 or beyond KERNEL_SCALE_LIMIT x the mesh's diameter;
    ``_relative_jitter``: PyAutoArray's GaussianKernel also symmetrises H and adds 1e-8 |mean diag H| I."""

    _relative_jitter = False

    def validity(self, geometry):
        return _kernel_validity(self.scale, geometry)

    def regularization_matrix(self, geometry):
        g = geometry_of(geometry)
        covariance = self._covariance(g.distances()) + GRAPH_DIAGONAL_JITTER * jnp.eye(g.pixels)
        h = self.coefficient * _inverse_spd(covariance, g.pixels)
        if self._relative_jitter:
            h = 0.5 * (h + h.T)
            h = h + jnp.eye(g.pixels) * 1e-8 * jnp.abs(jnp.mean(jnp.diag(h)))
        return h


@_regularization
class GaussianKernel(_KernelRegularization):
    """A Gaussian-process prior: C_ij = exp(-d_ij^2 / (2 scale^2)) + 1e-8 delta_ij over the mesh pixel centres,
    H = coefficient C^-1 (the coefficient enters linearly, unlike the graph schemes), plus PyAutoArray's relative
    jitter 1e-8 |mean diag H|. After Vernardos & Koopmans 2022 (arXiv:2202.09378); PyAutoArray ``reg.GaussianKernel``.
    A scale far beyond the mesh makes C singular to rounding: the sample is then rejected."""

    coefficient: float = 1.0
    scale: float = 1.0
    _relative_jitter = True

    def _covariance(self, distances):
        return jnp.exp(-(jnp.asarray(distances) ** 2) / (2.0 * self.scale**2))


@_regularization
class ExponentialKernel(_KernelRegularization):
    """As ``GaussianKernel`` with C_ij = exp(-d_ij / scale) + 1e-8 delta_ij and H = coefficient C^-1 (PyAutoArray
    ``reg.ExponentialKernel``; its distances carry +1e-20 under the square root, ours are exact)."""

    coefficient: float = 1.0
    scale: float = 1.0

    def _covariance(self, distances):
        return jnp.exp(-jnp.asarray(np.sqrt(distances**2 + 1e-20)) / self.scale)


def _inverse_spd(matrix, pixels):
    factor = jnp.linalg.cholesky(matrix)
    inverse_factor = jax.scipy.linalg.solve_triangular(factor, jnp.eye(pixels), lower=True)
    return inverse_factor.T @ inverse_factor


def _matern(d, scale, nu):
    """2^(1-nu) / Gamma(nu) z^nu K_nu(z), z = sqrt(2 nu) max(d, 1e-8) / scale, in closed form for nu = 1/2, 3/2, 5/2
    (exact; JAX has no Bessel K of general order)."""
    z = jnp.sqrt(2.0 * nu) * jnp.maximum(d, 1e-8) / scale
    if nu == 0.5:
        return jnp.exp(-z)
    if nu == 1.5:
        return (1.0 + z) * jnp.exp(-z)
    return (1.0 + z + z**2 / 3.0) * jnp.exp(-z)


@_regularization
class MaternKernel(_KernelRegularization):
    """A Matern-covariance prior: C_ij = 2^(1-nu)/Gamma(nu) z^nu K_nu(z), z = sqrt(2 nu) d_ij / scale, + 1e-8 I,
    H = coefficient C^-1 (PyAutoArray ``reg.MaternKernel``; nu = 1/2 is the exponential kernel, not a Gaussian as its
    docstring says). nu must be 0.5, 1.5 or 2.5 (fixed; closed forms). Raises ModelError otherwise."""

    coefficient: float = 1.0
    scale: float = 1.0
    nu: float = 0.5

    def _covariance(self, distances):
        return _matern(jnp.asarray(np.sqrt(distances**2 + 1e-20)), self.scale, known_nu(self.nu))


def known_nu(nu) -> float:
    try:
        value = float(nu)
    except (TypeError, jax.errors.ConcretizationTypeError):
        raise ModelError("MaternKernel.nu must be a fixed number (0.5, 1.5 or 2.5), not a free parameter") from None
    if value not in (0.5, 1.5, 2.5):
        raise ModelError(f"MaternKernel.nu must be 0.5, 1.5 or 2.5 (closed forms), got {nu!r}")
    return value


#: The schemes by name (model files).
REGULARIZATIONS = {cls.__name__: cls for cls in (Constant, Zeroth, ConstantZeroth, ConstantSplit, Adapt, AdaptPower,
                                                  AdaptSplit, AdaptSplitPower, BrightnessZeroth, GaussianKernel,
                                                  ExponentialKernel, MaternKernel)}


def sanitized_regularization(regularization):
    """(safe scheme, validity): coefficients that are not finite or are negative make the sample invalid and are
    replaced by 1, so the solve stays computable (the likelihood then returns -1e99 with zero derivatives)."""
    valid = jnp.asarray(True)
    updates = {}
    for field in dataclasses.fields(regularization):
        value = jnp.asarray(getattr(regularization, field.name), dtype=jnp.float64)
        ok = jnp.isfinite(value) & (value >= 0) & (value <= 1e100)
        valid = valid & ok
        updates[field.name] = jnp.where(ok, value, 1.0)
    return dataclasses.replace(regularization, **updates), valid
