"""Model images of galaxies on an :class:`~galaxyfit.fit.plan.ImagePlan`: pixel-integrated profiles on the box, one
PSF convolution of their sum, then the operated components (already PSF-like) added."""

from __future__ import annotations

import jax.numpy as jnp

from galaxyfit.fit.plan import ImagePlan
from galaxyfit.integration import point_source_image, profiles_image
from galaxyfit.profiles.light import LightProfile, PointSource


def _light_profiles(galaxies) -> list[LightProfile]:
    return [p for galaxy in galaxies for p in galaxy.light_profiles]


def unblurred_box(galaxies, plan: ImagePlan, operated: bool = False, grid=None):
    """(H, W) sum over the galaxies' profiles (non-operated by default) of their pixel means on the box.

    ``grid``: ``plan.grid`` (default: only the box pixels the likelihood needs) or ``plan.image_grid`` (the whole
    image, every pixel).
    """
    grid = plan.grid if grid is None else grid
    chosen = [p for p in _light_profiles(galaxies) if p.operated == operated]
    points = [p for p in chosen if isinstance(p, PointSource)]
    box = profiles_image([p for p in chosen if not isinstance(p, PointSource)], grid, plan.settings.over_sampling)
    for point in points:
        box = box + point_source_image(point, grid, plan.dataset.psf)
    if plan.zero_outside_image and grid is not plan.image_grid:  # the image grid holds no pixel outside the image
        box = box * plan.inside_image
    if operated and grid is plan.image_grid:
        box = box + _sky_level(galaxies)  # a solved sky shows in the whole-image model, unblurred like operated light
    return box


def _sky_level(galaxies):
    """Sum of the solved sky levels (``SkyLevel`` components) of the galaxies, 0 without any."""
    from galaxyfit.profiles.linear import SkyLevel

    levels = [c.intensity for g in galaxies for c in g.components.values() if isinstance(c, SkyLevel)]
    return sum(levels) if levels else 0.0


def blurred_slim(galaxies, plan: ImagePlan):
    """The model at the unmasked pixels (N,): PSF-convolved profiles plus operated ones (plus solved sky levels)."""
    profiles = _light_profiles(galaxies)
    slim = jnp.zeros(plan.pixels_in_mask) + _sky_level(galaxies)
    if any(not p.operated for p in profiles):
        slim = slim + plan.convolver(unblurred_box(galaxies, plan))
    if any(p.operated for p in profiles):
        slim = slim + plan.slim_from_box(unblurred_box(galaxies, plan, operated=True))
    return slim
