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
import numpy as np

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


class Regularization:
    """Shared behaviour; ``regularization_matrix(neighbours)`` (S x S) for an adjacency matrix (S x S of 0/1);
    ``log_det_from_spectrum(mu)``: ln det H in closed form from the eigenvalues ``mu`` of the graph Laplacian
    (degree - adjacency), or None where there is none (the solve then factors H)."""

    def regularization_matrix(self, neighbours: np.ndarray):  # pragma: no cover - every scheme overrides it
        raise NotImplementedError

    def log_det_from_spectrum(self, laplacian_eigenvalues):
        return None


def laplacian_eigenvalues(neighbours: np.ndarray) -> np.ndarray:
    """Eigenvalues (S,) of the graph Laplacian diag(degree) - adjacency of ``neighbours`` (numpy, once per mesh)."""
    adjacency = np.asarray(neighbours, dtype=np.float64)
    mu = np.linalg.eigvalsh(np.diag(adjacency.sum(axis=1)) - adjacency)
    # The zero eigenvalues (one per connected component) are exact zeros, not rounding noise: ln(c^2 mu + 1e-8) is
    # sensitive to mu ~ 1e-15 at the 1e-7 level.
    return np.where(np.abs(mu) <= 1e-10 * max(np.max(np.abs(mu)), 1.0), 0.0, mu)


def _graph_laplacian(coefficient, neighbours: np.ndarray):
    """H_ii = 1e-8 + c^2 n_i, H_ij = -c^2 for neighbours: c^2 sum over edges (s_i - s_j)^2 + 1e-8 |s|^2
    (``constant_regularization_matrix_from``)."""
    adjacency = jnp.asarray(neighbours)
    degree = jnp.sum(adjacency, axis=1)
    c2 = coefficient * coefficient
    return jnp.diag(GRAPH_DIAGONAL_JITTER + c2 * degree) - c2 * adjacency


@_regularization
class Constant(Regularization):
    """One coefficient for every pair of neighbours: penalty c^2 sum_edges (s_i - s_j)^2 (+ 1e-8 |s|^2). PyAutoArray
    ``reg.Constant``."""

    coefficient: float = 1.0

    def regularization_matrix(self, neighbours):
        return _graph_laplacian(self.coefficient, neighbours)

    def log_det_from_spectrum(self, laplacian_eigenvalues):
        """sum ln(c^2 mu + 1e-8): H = c^2 L + 1e-8 I shares L's eigenvectors."""
        return jnp.sum(jnp.log(self.coefficient**2 * jnp.asarray(laplacian_eigenvalues) + GRAPH_DIAGONAL_JITTER))


@_regularization
class Zeroth(Regularization):
    """Penalty c^2 |s|^2: pulls every amplitude towards zero. PyAutoArray ``reg.Zeroth``."""

    coefficient: float = 1.0

    def regularization_matrix(self, neighbours):
        return jnp.eye(neighbours.shape[0]) * self.coefficient**2

    def log_det_from_spectrum(self, laplacian_eigenvalues):
        return len(laplacian_eigenvalues) * jnp.log(self.coefficient**2)


@_regularization
class ConstantZeroth(Regularization):
    """``Constant(coefficient_neighbor)`` + ``Zeroth(coefficient_zeroth)``. PyAutoArray ``reg.ConstantZeroth``."""

    coefficient_neighbor: float = 1.0
    coefficient_zeroth: float = 1.0

    def regularization_matrix(self, neighbours):
        return (_graph_laplacian(self.coefficient_neighbor, neighbours)
                + jnp.eye(neighbours.shape[0]) * self.coefficient_zeroth**2)

    def log_det_from_spectrum(self, laplacian_eigenvalues):
        mu = jnp.asarray(laplacian_eigenvalues)
        return jnp.sum(jnp.log(self.coefficient_neighbor**2 * mu + GRAPH_DIAGONAL_JITTER + self.coefficient_zeroth**2))


#: The schemes by name (model files).
REGULARIZATIONS = {cls.__name__: cls for cls in (Constant, Zeroth, ConstantZeroth)}


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
