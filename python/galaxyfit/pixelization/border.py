"""Border relocation of a pixelization's points (PyAutoArray 2026.10.26.1, ``autoarray/inversion/mesh/border_relocator.py``;
Nightingale, Dye & Massey 2018, MNRAS 478, 4738, fig. 2): an ellipse is fitted to the mask's border pixels by principal
components (origin their mean, axes the covariance's eigenvectors, semi-axes the largest extent along each), and every
point outside it is moved radially onto it. In a galaxy (not lens) model only the sub-pixels of the border pixels and
mesh vertices beyond them move; it keeps a rectangular mesh laid over the points from stretching.
"""

from __future__ import annotations

import numpy as np


def border_pixels(mask: np.ndarray) -> np.ndarray:
    """(rows, cols) of the border pixels of ``mask`` (True = masked): unmasked pixels from which every pixel in at
    least one of the four directions (up, down, left, right) to the array edge is masked (PyAutoArray's
    ``border_slim_indexes_from``; the inner ring of an annulus is an edge but not a border)."""
    m = np.asarray(mask, dtype=bool)
    ny, nx = m.shape
    masked = m.astype(int)
    before_rows = np.cumsum(masked, axis=0) - masked  # masked pixels strictly before, along each direction
    after_rows = np.cumsum(masked[::-1], axis=0)[::-1] - masked
    before_cols = np.cumsum(masked, axis=1) - masked
    after_cols = np.cumsum(masked[:, ::-1], axis=1)[:, ::-1] - masked
    rows = np.arange(ny)[:, None]
    cols = np.arange(nx)[None, :]
    border = ((before_rows == rows) | (after_rows == ny - 1 - rows) | (before_cols == cols)
              | (after_cols == nx - 1 - cols)) & ~m
    return np.nonzero(border)


def border_ellipse(points: np.ndarray, eps: float = 1e-12):
    """(origin (2,), a, b, phi) of the ellipse fitted to border points (m, 2) (y, x) as PyAutoArray's
    ``ellipse_params_via_border_pca_from``: a along the covariance's major eigenvector at angle phi from +x (phi = 0
    when the two eigenvalues agree to sqrt(machine epsilon)), semi-axes the largest |projection| plus eps."""
    origin = points.mean(axis=0)
    dy = points[:, 0] - origin[0]
    dx = points[:, 1] - origin[1]
    x = np.stack([dx, dy], axis=1)
    covariance = (x.T @ x) / max(len(points) - 1, 1)
    values, vectors = np.linalg.eigh(covariance)
    major = vectors[:, -1]
    phi = np.arctan2(major[1], major[0])
    scale = max(np.max(np.abs(values)), eps)
    if (values[-1] - values[0]) / scale <= np.sqrt(np.finfo(float).eps):
        phi = 0.0
    c, s = np.cos(phi), np.sin(phi)
    a = np.max(np.abs(c * dx + s * dy)) + eps
    b = np.max(np.abs(-s * dx + c * dy)) + eps
    return origin, a, b, phi


def relocated(points: np.ndarray, ellipse, eps: float = 1e-12) -> np.ndarray:
    """``points`` (m, 2) with those outside the ellipse moved radially onto it
    (``relocated_grid_via_ellipse_border_from``)."""
    origin, a, b, phi = ellipse
    dy = points[:, 0] - origin[0]
    dx = points[:, 1] - origin[1]
    c, s = np.cos(phi), np.sin(phi)
    xp = c * dx + s * dy
    yp = -s * dx + c * dy
    q = (xp / a) ** 2 + (yp / b) ** 2
    scale = 1.0 / np.sqrt(np.maximum(q, 1.0 + eps))
    xp2, yp2 = xp * scale, yp * scale
    moved = np.stack([origin[0] + s * xp2 + c * yp2, origin[1] + c * xp2 - s * yp2], axis=1)
    return np.where((q > 1.0)[:, None], moved, points)
