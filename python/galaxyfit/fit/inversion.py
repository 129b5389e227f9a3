"""``Inversion``: the linear part of a fit -- the columns of its linear objects solved against the data that the
parametric model leaves (``galaxyfit/inversion.hpp`` has the formulas; ``kernels/inversion.py`` the derivatives).

Quantities and names follow PyAutoArray's ``AbstractInversion``: ``data_vector`` D, ``curvature_matrix`` F (with
``no_regularization_add_to_curvature_diag_value`` on the diagonal of unregularized columns, as PyAutoArray adds it),
``regularization_matrix`` H, ``curvature_reg_matrix`` A = F + H, ``reconstruction`` s, ``reconstruction_dict``
(per linear object), ``reconstruction_noise_map`` (1-sigma errors from the covariance A_PP^-1 on exactly the solved
set P; NaN for amplitudes the positive-only solve holds at zero, which have no Gaussian error), and the evidence
terms. Everything is a JAX expression of the fit's parameters (jit, vmap, grad).
"""

from __future__ import annotations

from functools import cached_property

import jax.numpy as jnp
import numpy as np

from galaxyfit.kernels.inversion import FREE_SIGN, REGULARIZED, STATUS_TEXT, SolverSettings, invert
from galaxyfit._precision import float64_api


@float64_api
class Inversion:
    """The solve of ``columns`` (k, N; unit-amplitude images at the unmasked pixels) against ``data`` (N,; the data
    minus the parametric model) with noise ``inverse_noise`` (N,; 1 / sigma).

    ``flags`` (k ints), ``regularization`` H (k, k) or None, ``settings`` (:class:`SolverSettings`), ``keys`` (k
    labels of the columns, for ``reconstruction_dict``).
    """

    def __init__(self, columns, data, inverse_noise, flags, regularization, settings: SolverSettings, keys):
        self.columns = columns
        self.data = data
        self.inverse_noise = jnp.asarray(inverse_noise)
        self.flags = tuple(flags)
        self.regularization_matrix = regularization
        self.settings = settings
        self.keys = list(keys)
        self.output = invert(columns * self.inverse_noise, data * self.inverse_noise, regularization, self.flags, settings)

    # ---- the solve --------------------------------------------------------------------------------------------------

    @property
    def reconstruction(self):
        """s (k,): the solved amplitudes (intensities of linear profiles, in their profiles' units)."""
        return self.output.reconstruction

    @property
    def status(self):
        """0 when solved; otherwise the sample is rejected (``STATUS_TEXT``)."""
        return self.output.status

    @property
    def valid(self):
        return self.output.status == 0

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(int(self.output.status), "unknown")

    @property
    def reconstruction_dict(self) -> dict:
        """{column key: amplitude}."""
        return {key: self.reconstruction[i] for i, key in enumerate(self.keys)}

    @cached_property
    def mapped_reconstructed_image_slim(self):
        """(N,) the linear objects' blurred model: sum_j s_j column_j."""
        return jnp.einsum("kn,k->n", self.columns, self.reconstruction)

    # ---- evidence terms -------------------------------------------------------------------------------------------

    @property
    def chi_squared(self):
        return self.output.chi_squared

    @property
    def regularization_term(self):
        """s^T H s (0 without regularization)."""
        return self.output.regularization_term

    @property
    def log_det_curvature_reg_matrix_term(self):
        """ln det A_RR over the regularized columns (0 when none is regularized)."""
        return self.output.log_det_curvature_reg

    @property
    def log_det_regularization_matrix_term(self):
        """ln det H_RR (0 when none is regularized)."""
        return self.output.log_det_regularization

    @property
    def evidence_term(self):
        """chi^2 + s^T H s + ln det A_RR - ln det H_RR: the log evidence is -(this + noise normalization) / 2."""
        return self.output.evidence_term

    # ---- matrices (formed on demand; the solve itself never forms them in Python) -------------------------------------

    @cached_property
    def _weighted(self):
        return self.columns * self.inverse_noise

    @property
    def data_vector(self):
        """D (k,) = B^T W d."""
        return self._weighted @ (self.data * self.inverse_noise)

    @property
    def curvature_matrix(self):
        """F (k, k) = B^T W B, plus ``no_regularization_add_to_curvature_diag_value`` on unregularized columns."""
        jitter = jnp.asarray([0.0 if f & REGULARIZED else self.settings.no_regularization_add_to_curvature_diag_value
                              for f in self.flags])
        return self._weighted @ self._weighted.T + jnp.diag(jitter)

    @property
    def curvature_reg_matrix(self):
        """A = F + H (k, k)."""
        h = self.regularization_matrix
        return self.curvature_matrix if h is None else self.curvature_matrix + h

    @property
    def solved_mask(self) -> np.ndarray:
        """(k,) bool: amplitudes the solve left free (positive, free-sign, or every one without positivity)."""
        s = np.asarray(self.reconstruction)
        free = np.array([bool(f & FREE_SIGN) or not self.settings.positive_only for f in self.flags])
        return free | (s > 0)

    @property
    def reconstruction_covariance_matrix(self) -> np.ndarray:
        """(k, k) covariance A_PP^-1 of the solved amplitudes on the solved set P, from one Cholesky factorization
        (never an element-wise root of an inverse); NaN rows and columns for amplitudes held at zero."""
        a = np.asarray(self.curvature_reg_matrix)
        solved = self.solved_mask
        k = len(solved)
        out = np.full((k, k), np.nan)
        if solved.any():
            index = np.flatnonzero(solved)
            factor = np.linalg.cholesky(a[np.ix_(index, index)])
            inverse_factor = np.linalg.solve(factor, np.eye(len(index)))
            out[np.ix_(index, index)] = inverse_factor.T @ inverse_factor
        return out

    @property
    def reconstruction_noise_map(self) -> np.ndarray:
        """(k,) 1-sigma errors of the amplitudes: sqrt of the covariance's diagonal on the solved set, NaN elsewhere.
        The unconstrained (Gaussian) uncertainty: near s = 0 it overstates the error of a positive-only amplitude
        (PyAutoArray#472 says the same of its noise map)."""
        return np.sqrt(np.diag(self.reconstruction_covariance_matrix))
