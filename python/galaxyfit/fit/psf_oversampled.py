"""Convolution with an oversampled PSF (``Imaging.psf_oversampled``), over the whole image or a region of it.

Imfit's ``--psf-oversampled`` (Erwin 2015, ApJ 799, 226, sect. 3.2 and the Imfit manual's "Oversampled PSF"
section), and PyAutoArray 2026.10.26.1's ``convolve_over_sample_size_lp`` for the whole image: in the region, the
model is computed on sub-pixels N times smaller on each axis, convolved there with the PSF sampled N times finer than
the data, and each data pixel gets the mean of its N x N sub-pixels (a pixel value is a mean surface brightness,
``galaxyfit.integration``); elsewhere the normal PSF blurs the model at the data's resolution.

Each sub-pixel is integrated exactly as a data pixel is (``galaxyfit.integration.profiles_image`` on a
``BoxGrid`` of the sub-pixels, the same over-sampling settings). The sub-pixel box covers the region's unmasked
pixels padded by the fine PSF's reach, rounded up to whole data pixels, so light from outside the region and the
image is blurred in as on the normal path. Convolution uses the same ``Convolver`` (direct, separable or FFT, chosen
once by cost) on the fine box.
"""

from __future__ import annotations

import copy
import math

import jax.numpy as jnp
import numpy as np

from galaxyfit.fit.convolver import Convolver
from galaxyfit.integration import BoxGrid


class OversampledConvolution:
    """The static plan of the oversampled path for one masked dataset (made by ``ImagePlan``).

    Attributes
    ----------
    factor : int
        N, sub-pixels per data pixel along each axis.
    grid : BoxGrid
        The sub-pixel box (pixel scales ``pixel_scales / N``).
    convolver : Convolver
        Convolution with the fine PSF, read at the sub-pixels of the target pixels.
    in_target : (n_slim,) bool
        Which unmasked pixels (slim order) take the oversampled model.
    covers_all : bool
        Every unmasked pixel is a target (the normal path is then not needed at all).
    """

    def __init__(self, dataset, image_plan, settings):
        n = int(dataset.psf_oversampling)
        self.factor = n
        ny, nx = dataset.shape
        ps_y, ps_x = dataset.pixel_scales
        mask = dataset.mask.array
        y0, y1, x0, x1 = dataset.psf_oversampled_region or (0, ny, 0, nx)
        region = np.zeros((ny, nx), dtype=bool)
        region[y0:y1, x0:x1] = True
        target = region & ~mask
        rows, cols = image_plan.image_index  # the unmasked pixels, slim order
        self.in_target = target[rows, cols]
        self.covers_all = bool(self.in_target.all())
        self.empty = not self.in_target.any()
        if self.empty:
            return
        t_rows, t_cols = np.nonzero(target)  # row-major: a subsequence of slim order
        ky, kx = dataset.psf_oversampled.shape
        pad_y, pad_x = math.ceil((ky // 2) / n), math.ceil((kx // 2) / n)  # the fine PSF's reach in data pixels
        r0, c0 = t_rows.min() - pad_y, t_cols.min() - pad_x
        height, width = t_rows.max() + pad_y - r0 + 1, t_cols.max() + pad_x - c0 + 1
        self.coarse_origin = (int(r0), int(c0))
        self.coarse_shape = (int(height), int(width))
        fine_shape = (int(height) * n, int(width) * n)
        # Sub-pixel (a, b) of data pixel (i, j) is fine pixel (i n + a, j n + b); its centre lies (a + 1/2) / N - 1/2
        # of a pixel from the data pixel's centre.
        fy, fx = ps_y / n, ps_x / n
        offset = (1.0 - n) / (2.0 * n)
        over = settings.over_sampling
        fine = np.arange(fine_shape[0] * fine_shape[1]) if over.mode == "uniform" else None
        self.grid = BoxGrid(y0=(r0 - (ny - 1) / 2.0 + offset) * ps_y, x0=(c0 - (nx - 1) / 2.0 + offset) * ps_x,
                            shape=fine_shape, pixel_scales=(fy, fx), fine_pixels=fine,
                            coarse_pixels=None if fine is None else np.zeros(0, dtype=int))
        box_rows, box_cols = np.arange(r0, r0 + height), np.arange(c0, c0 + width)
        inside = ((box_rows >= 0) & (box_rows < ny))[:, None] & ((box_cols >= 0) & (box_cols < nx))[None, :]
        self.inside_image = np.kron(inside, np.ones((n, n), dtype=bool))
        self.zero_outside_image = not over.pad_outside_image and not self.inside_image.all()
        coarse_target = np.zeros(self.coarse_shape, dtype=bool)
        coarse_target[t_rows - r0, t_cols - c0] = True
        output_mask = np.kron(coarse_target, np.ones((n, n), dtype=bool))
        self.convolver = Convolver(dataset.psf_oversampled, output_mask, settings.convolution)
        # For each target pixel (row-major), the positions in the convolver's output vector of its N^2 sub-pixels.
        sub = np.arange(n)
        fine_rows = ((t_rows - r0) * n)[:, None, None] + sub[None, :, None]
        fine_cols = ((t_cols - c0) * n)[:, None, None] + sub[None, None, :]
        flat = (fine_rows * fine_shape[1] + fine_cols).reshape(len(t_rows), n * n)
        self.bin_index = np.searchsorted(self.convolver.flat_index, flat).astype(np.int32)
        self.fine_flat_index = flat  # (n_target, N^2) flat fine-box indices (for unconvolved, operated light)
        # Slim position -> target position (0 where not a target; masked out by ``in_target``).
        self.target_of_slim = np.where(self.in_target, np.cumsum(self.in_target) - 1, 0).astype(np.int32)
        # The fine PSF scaled so that a point source's sub-pixel means average to its pixels' share of the flux.
        self.point_psf = np.asarray(dataset.psf_oversampled) * (n * n)

    def data_arrays(self) -> dict:
        """The fine PSF's numbers this path computes with: {"convolver": the fine convolver's ``data_arrays``,
        "point_psf": (k_y, k_x) the fine PSF times N^2}."""
        return {"convolver": self.convolver.data_arrays(), "point_psf": self.point_psf}

    def with_data_arrays(self, arrays: dict) -> "OversampledConvolution":
        """A copy of this path that computes with ``arrays`` (``data_arrays``' structure; JAX arrays or tracers)."""
        out = copy.copy(self)
        out.convolver = self.convolver.with_data_arrays(arrays["convolver"])
        out.point_psf = arrays["point_psf"]
        return out

    def geometry_key(self) -> tuple:
        """What fixes this path's computation apart from the fine PSF's numbers, with the mask and the region (the
        plan's key holds those): the factor, the boxes, the fine convolver's method."""
        return (self.factor, self.coarse_origin, self.coarse_shape, self.zero_outside_image, self.convolver.geometry_key())

    def blurred_targets(self, fine_box):
        """(..., n_target) the fine box(es) (..., H_f, W_f) convolved with the fine PSF and averaged over each target
        pixel's N x N sub-pixels."""
        if self.zero_outside_image:
            fine_box = fine_box * self.inside_image
        values = self.convolver(fine_box)
        return values[..., self.bin_index].mean(axis=-1)

    def binned_targets(self, fine_box):
        """(..., n_target) the fine box(es) averaged over each target pixel's sub-pixels, without convolution (for
        light that is already PSF-like, e.g. point sources)."""
        flat = fine_box.reshape(fine_box.shape[:-2] + (-1,))
        return flat[..., self.fine_flat_index].mean(axis=-1)

    def merged(self, targets, normal):
        """(..., n_slim) the slim model: ``targets`` (..., n_target) at the target pixels, ``normal`` (..., n_slim,
        or a scalar) elsewhere."""
        spread = targets[..., jnp.asarray(self.target_of_slim)]
        return jnp.where(jnp.asarray(self.in_target), spread, normal)
