"""Model images of galaxies on an :class:`~galaxyfit.fit.plan.ImagePlan`: pixel-integrated profiles on the box, one
PSF convolution of their sum, then the operated components (already PSF-like) and solved skies added. With an
oversampled PSF (``galaxyfit.fit.psf_oversampled``) the pixels of its region take the model computed on sub-pixels,
convolved with the fine PSF and averaged back to pixels."""

from __future__ import annotations

import jax.numpy as jnp

from galaxyfit.fit.plan import ImagePlan
from galaxyfit.integration import point_source_image, profiles_image
from galaxyfit.profiles.light import LightProfile, PointSource


def _light_profiles(galaxies) -> list[LightProfile]:
    return [p for galaxy in galaxies for p in galaxy.light_profiles]


def unblurred_box(galaxies, plan: ImagePlan, operated: bool = False, grid=None, points: bool = True):
    """(H, W) sum over the galaxies' profiles (non-operated by default) of their pixel means on the box.

    ``grid``: ``plan.grid`` (default: only the box pixels the likelihood needs) or ``plan.image_grid`` (the whole
    image, every pixel). ``points``: include point sources (operated).
    """
    grid = plan.grid if grid is None else grid
    chosen = [p for p in _light_profiles(galaxies) if p.operated == operated]
    chosen_points = [p for p in chosen if isinstance(p, PointSource)] if points else []
    box = profiles_image([p for p in chosen if not isinstance(p, PointSource)], grid, plan.settings.over_sampling)
    for point in chosen_points:
        box = box + point_source_image(point, grid, plan.psf)
    if plan.zero_outside_image and grid is not plan.image_grid:  # the image grid holds no pixel outside the image
        box = box * plan.inside_image
    if operated and grid is plan.image_grid:
        box = box + sky_image(galaxies, plan)  # a solved sky shows in the whole-image model, unblurred like operated light
    return box


def _sky_components(galaxies) -> list:
    from galaxyfit.profiles.linear import SkyLevel

    return [c for g in galaxies for c in g.components.values() if isinstance(c, SkyLevel)]


def sky_slim(galaxies, plan: ImagePlan):
    """The solved skies (``SkyLevel`` and its slopes) of the galaxies at the unmasked pixels (N,), or 0.0 without
    any."""
    from galaxyfit.profiles.linear import sky_values

    skies = _sky_components(galaxies)
    return sum(sky_values(c, plan.y_slim, plan.x_slim) for c in skies) if skies else 0.0


def sky_image(galaxies, plan: ImagePlan):
    """The solved skies over the whole image (N_y, N_x), or 0.0 without any."""
    from galaxyfit.profiles.linear import sky_values

    skies = _sky_components(galaxies)
    if not skies:
        return 0.0
    y, x = plan.image_coordinates()
    return sum(sky_values(c, y, x) for c in skies)


def blurred_slim(galaxies, plan: ImagePlan):
    """The model at the unmasked pixels (N,): PSF-convolved profiles plus operated ones (plus solved skies); the
    oversampled PSF's pixels from the oversampled path."""
    profiles = _light_profiles(galaxies)
    fine = plan.psf_oversampled
    slim = jnp.zeros(plan.pixels_in_mask) + sky_slim(galaxies, plan)
    if any(not p.operated for p in profiles):
        if fine is None:
            slim = slim + plan.convolver(unblurred_box(galaxies, plan))
        else:
            normal = 0.0 if fine.covers_all else plan.convolver(unblurred_box(galaxies, plan))
            chosen = [p for p in profiles if not p.operated and not isinstance(p, PointSource)]
            fine_box = profiles_image(chosen, fine.grid, plan.settings.over_sampling)
            slim = slim + fine.merged(fine.blurred_targets(fine_box), normal)
    if any(p.operated for p in profiles):
        slim = slim + plan.slim_from_box(unblurred_box(galaxies, plan, operated=True, points=fine is None))
        points = [p for p in profiles if isinstance(p, PointSource)]
        if fine is not None and points:
            normal = 0.0
            if not fine.covers_all:
                box = sum(point_source_image(p, plan.grid, plan.psf) for p in points)
                normal = plan.slim_from_box(box * plan.inside_image if plan.zero_outside_image else box)
            slim = slim + fine.merged(fine.binned_targets(point_sources_fine_box(points, fine)), normal)
    return slim


def point_sources_fine_box(points, fine):
    """The point sources on the sub-pixel box of the oversampled path: each the fine PSF (scaled by N^2, so that
    sub-pixel means average to the pixels' flux) shifted to its centre."""
    box = sum(point_source_image(p, fine.grid, fine.point_psf) for p in points)
    return box * fine.inside_image if fine.zero_outside_image else box
