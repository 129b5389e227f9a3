"""The inversion of one mesh whose regularization is H = c^2 K + 1e-8 I with K fixed (``Constant``: K the graph
Laplacian; ``ConstantSplit``: K = B^T B), solved without positivity: one generalized eigendecomposition, computed
once per dataset and mesh, gives the evidence for any coefficient c in O(S) (Suyu et al. 2006, MNRAS 371, 983, sect.
3.2 and appendix: the determinants and the solution in the basis that diagonalizes F and K together).

A basis W that diagonalizes G = F + 1e-8 I and K together (``SpectralBasis``: W^T G W = diag(alpha), W^T K W =
diag(beta)) turns A = F + H = G + c^2 K into diag(alpha + c^2 beta); with z = W^T D,

    s = W u,  u = z / (alpha + c^2 beta)
    chi^2 + s^T H s = y^T y - sum z^2 / (alpha + c^2 beta)
    ln det A = ln det B + sum ln(alpha + c^2 beta),   ln det H = sum ln(c^2 mu + 1e-8)  (mu: eigenvalues of K)

so a call whose only free parameter is c costs O(S) (plus O(S^2) for z when parametric light changes D, and for s
when the reconstruction itself is read). Exact in exact arithmetic; tested against the direct solve.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from galaxyfit.kernels.inversion import InversionOutput
from galaxyfit.regularization import GRAPH_DIAGONAL_JITTER


#: The reference coefficient of the decomposition: B = G + c_ref^2 K is well conditioned where G alone is not (mesh
#: pixels that no data reach have only the 1e-8 jitter in G).
REFERENCE_COEFFICIENT = 1.0


class SpectralBasis:
    """The simultaneous diagonalization of G = F + 1e-8 I and a fixed K, computed once (numpy/LAPACK): with
    B = G + c_ref^2 K = R R^T and R^-1 K R^-T = Q diag Q^T, the columns of W = R^-T Q satisfy W^T B W = I, and
    alpha_i = w_i^T G w_i, beta_i = w_i^T K w_i are formed directly (not as 1 - c_ref^2 lambda, which cancels), so
    W^T (G + c^2 K) W = diag(alpha + c^2 beta) for every c. ``ok`` is False when B is not numerically positive
    definite (the direct solve is then used)."""

    def __init__(self, curvature: np.ndarray, structure: np.ndarray, structure_eigenvalues: np.ndarray):
        g = curvature + GRAPH_DIAGONAL_JITTER * np.eye(len(curvature))
        b = g + REFERENCE_COEFFICIENT**2 * structure
        try:
            factor = np.linalg.cholesky(b)
        except np.linalg.LinAlgError:
            self.ok = False
            return
        self.ok = True
        import scipy.linalg  # (pixelized fits only: not imported before every fit)

        inverse_factor = scipy.linalg.solve_triangular(factor, np.eye(len(g)), lower=True)
        m = inverse_factor @ structure @ inverse_factor.T
        _, q = np.linalg.eigh(0.5 * (m + m.T))
        w = inverse_factor.T @ q
        self.transform = w
        self.alpha = np.einsum("ij,ij->j", w, g @ w)
        self.beta = np.maximum(np.einsum("ij,ij->j", w, structure @ w), 0.0)  # K is positive semi-definite
        self.log_det_b = 2.0 * float(np.sum(np.log(np.diag(factor))))
        self.structure_eigenvalues = structure_eigenvalues


def spectral_output(basis: SpectralBasis, coefficient, data_vector, data_norm) -> InversionOutput:
    """The InversionOutput (reconstruction, evidence term and its parts, status 0) for coefficient c:
    u = z / (alpha + c^2 beta), z = W^T D, s = W u; chi^2 + s^T H s = y^T y - sum z^2 / (alpha + c^2 beta);
    ln det A = ln det B + sum ln(alpha + c^2 beta) (W^T B W = I)."""
    c2 = coefficient * coefficient
    w = jnp.asarray(basis.transform)
    z = w.T @ data_vector
    scale = jnp.asarray(basis.alpha) + c2 * jnp.asarray(basis.beta)
    u = z / scale
    s = w @ u
    fit_and_penalty = data_norm - jnp.sum(z * z / scale)
    regularization_term = c2 * jnp.sum(jnp.asarray(basis.beta) * u * u) + GRAPH_DIAGONAL_JITTER * jnp.sum(s * s)
    log_det_a = basis.log_det_b + jnp.sum(jnp.log(scale))
    log_det_h = jnp.sum(jnp.log(c2 * jnp.asarray(basis.structure_eigenvalues) + GRAPH_DIAGONAL_JITTER))
    evidence = fit_and_penalty + log_det_a - log_det_h
    return InversionOutput(s, evidence, fit_and_penalty - regularization_term, regularization_term, log_det_a, log_det_h,
                           jnp.zeros((), dtype=jnp.int32))


def spectral_parts(basis: SpectralBasis, coefficient, data_vector):
    """(unconstrained solution s (S,), ln det A (scalar), ln det H (scalar)) for coefficient c: the positive-only
    solve's warm start and the two log-determinants, which do not depend on the active set (PyAutoGalaxy counts the
    held-zero pixels in both)."""
    c2 = coefficient * coefficient
    w = jnp.asarray(basis.transform)
    scale = jnp.asarray(basis.alpha) + c2 * jnp.asarray(basis.beta)
    s = w @ ((w.T @ data_vector) / scale)
    log_det_a = basis.log_det_b + jnp.sum(jnp.log(scale))
    log_det_h = jnp.sum(jnp.log(c2 * jnp.asarray(basis.structure_eigenvalues) + GRAPH_DIAGONAL_JITTER))
    return s, log_det_a, log_det_h
