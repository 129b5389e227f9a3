"""Datasets: images, noise maps, PSFs, masks and FITS input/output."""

from galaxyfit.dataset.imaging import Imaging
from galaxyfit.dataset.mask import Mask
from galaxyfit.dataset.noise import imfit_noise_map, noise_map_from_variance
from galaxyfit.dataset.pixels import pixel_centres

__all__ = ["Imaging", "Mask", "imfit_noise_map", "noise_map_from_variance", "pixel_centres"]
