"""Simulated imaging: a noise-free model blurred by a PSF, then photon (Poisson) and read (Gaussian) noise.

Counts ``C = (m + sky) t`` for model ``m`` and sky ``sky`` (data units per pixel per second) and exposure time ``t``
(s); data ``d = (Poisson(C) + N(0, read_noise^2)) / t - sky``; noise map ``sigma = sqrt(C + read_noise^2) / t`` on
the true model (the recipe of ``../shared/data/sim/README.md``). Seeded with numpy's PCG64 generator.
"""

from __future__ import annotations

import numpy as np

from galaxyfit.dataset.imaging import Imaging
from galaxyfit.dataset.mask import Mask
from galaxyfit.errors import DatasetError
from galaxyfit.fit.model_image import blurred_slim
from galaxyfit.fit.plan import ImagePlan
from galaxyfit.galaxy import Galaxies
from galaxyfit.settings import Settings
from galaxyfit._precision import in_float64


def gaussian_psf(shape: tuple[int, int], sigma: float, pixel_scales) -> np.ndarray:
    """Unit-sum circular Gaussian PSF image of odd ``shape`` with ``sigma`` in arcsec, centred on the central pixel."""
    ky, kx = shape
    if ky % 2 == 0 or kx % 2 == 0:
        raise DatasetError(f"psf shape {shape} must be odd")
    ps_y, ps_x = (pixel_scales, pixel_scales) if np.ndim(pixel_scales) == 0 else pixel_scales
    y = (np.arange(ky) - ky // 2) * ps_y
    x = (np.arange(kx) - kx // 2) * ps_x
    psf = np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2) / sigma**2)
    return psf / psf.sum()


@in_float64
def blurred_model_image(galaxies, shape, pixel_scales, psf, settings: Settings | None = None) -> np.ndarray:
    """Noise-free model (N_y, N_x): pixel-integrated, PSF-convolved (light from beyond the edge blurred in)."""
    placeholder = Imaging(np.zeros(shape), np.ones(shape), psf, pixel_scales, normalize_psf=False)
    plan = ImagePlan(placeholder, settings)
    galaxies = galaxies if isinstance(galaxies, Galaxies) else Galaxies(galaxies)
    return plan.native_from_slim(np.asarray(blurred_slim(galaxies, plan)))


@in_float64
def simulate_imaging(
    galaxies,
    shape: tuple[int, int],
    pixel_scales,
    psf: np.ndarray,
    exposure_time: float,
    sky: float = 0.1,
    read_noise: float = 5.0,
    seed: int = 0,
    settings: Settings | None = None,
) -> tuple[Imaging, np.ndarray]:
    """(dataset, noise-free blurred model). Units: data units per pixel per second (e.g. e-/s); ``read_noise`` in
    counts (e-). Raises DatasetError for a non-positive exposure time or a negative sky or read noise."""
    if not exposure_time > 0:
        raise DatasetError(f"exposure_time must be positive (s), got {exposure_time!r}")
    if sky < 0 or read_noise < 0:
        raise DatasetError("sky and read_noise must be >= 0")
    model = blurred_model_image(galaxies, shape, pixel_scales, psf, settings)
    rng = np.random.Generator(np.random.PCG64(seed))
    counts = np.maximum(model + sky, 0.0) * exposure_time
    # numpy's Poisson generator refuses means above ~1e19; far below that a Poisson count is Gaussian to the
    # precision of float64, so large means are drawn from the normal approximation.
    # (Drawn after the Poisson counts and only when needed, so ordinary simulations keep their random stream.)
    large = counts > 1e12
    drawn = rng.poisson(np.where(large, 0.0, counts)).astype(np.float64)
    noise = rng.normal(0.0, read_noise, size=shape)
    if large.any():
        drawn = np.where(large, counts + np.sqrt(counts) * rng.standard_normal(shape), drawn)
    data = (drawn + noise) / exposure_time - sky
    noise_map = np.sqrt(counts + read_noise**2) / exposure_time
    dataset = Imaging(data, noise_map, psf, pixel_scales, mask=Mask.all_false(shape, pixel_scales))
    return dataset, model
