"""A starting point for optimisers from the image itself: the flux-weighted centroid, the axis ratio and angle of
the second moments, the half-light radius and the total flux of the unmasked data (the usual first guess, e.g.
Source Extractor's adaptive moments; Bertin & Arnouts 1996). With several light profiles the first (a bulge) starts
at half the half-light radius and the others (discs) at 1.5 times it, sharing the flux equally.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from galaxyfit.galaxy import Galaxy
from galaxyfit.model.instance import ModelInstance
from galaxyfit.profiles.geometry import ell_comps_to_numpy
from galaxyfit.profiles.basis import Basis
from galaxyfit.profiles.light import LightProfile
from galaxyfit.profiles.linear import LinearLightProfile


def image_moments(dataset) -> dict | None:
    """Centroid (y, x) arcsec, axis ratio, angle (degrees counter-clockwise from +x), circularised half-light
    radius (arcsec) and total flux (data units) of the positive unmasked data; None if there is no positive flux."""
    ny, nx = dataset.shape
    ps_y, ps_x = dataset.pixel_scales
    weight = np.where(dataset.mask.array, 0.0, np.maximum(dataset.data, 0.0))
    total = float(weight.sum())
    if not total > 0:
        return None
    y = ((np.arange(ny) - (ny - 1) / 2.0) * ps_y)[:, None] * np.ones((1, nx))
    x = ((np.arange(nx) - (nx - 1) / 2.0) * ps_x)[None, :] * np.ones((ny, 1))
    cy, cx = float((weight * y).sum() / total), float((weight * x).sum() / total)
    dy, dx = y - cy, x - cx
    myy, mxx, mxy = (float((weight * v).sum() / total) for v in (dy * dy, dx * dx, dx * dy))
    trace, det = mxx + myy, mxx * myy - mxy * mxy
    root = math.sqrt(max(trace * trace / 4.0 - det, 0.0))
    major, minor = trace / 2.0 + root, max(trace / 2.0 - root, 1e-12)
    if not (major > 0 and math.isfinite(major)):
        return None  # no measurable extent (e.g. a pixel scale so small the moments underflow)
    axis_ratio = float(np.clip(math.sqrt(minor / major), 0.2, 1.0))
    angle = math.degrees(0.5 * math.atan2(2.0 * mxy, mxx - myy))
    phi = math.radians(angle)
    xp = dx * math.cos(phi) + dy * math.sin(phi)
    yp = -dx * math.sin(phi) + dy * math.cos(phi)
    radius = np.sqrt(axis_ratio * xp * xp + yp * yp / axis_ratio).ravel()
    order = np.argsort(radius)
    cumulative = np.cumsum(weight.ravel()[order])
    half_light = float(radius[order][np.searchsorted(cumulative, 0.5 * total)])
    return {"centre": (cy, cx), "axis_ratio": axis_ratio, "angle": angle, "half_light_radius": max(half_light, ps_x), "flux": total}


def moments_instance(instance, dataset):
    """The instance with each light profile's centre, ell_comps, size and intensity replaced by moment-based guesses
    (parameters a profile lacks are left alone); None if the data have no positive flux."""
    moments = image_moments(dataset)
    if moments is None:
        return None
    ell_comps = ell_comps_to_numpy(moments["axis_ratio"], moments["angle"])
    profiles = [(g, n) for g, galaxy in instance.galaxies.items() for n, c in galaxy.components.items()
                if isinstance(c, (LightProfile, LinearLightProfile, Basis))]
    count = len(profiles)
    new_galaxies = {}
    k = 0
    for galaxy_name, galaxy in instance.galaxies.items():
        components = {}
        for name, component in galaxy.components.items():
            if isinstance(component, (LinearLightProfile, Basis)):
                # Solved intensities need no guess; a basis (an MGE) keeps its fixed widths and takes the centre
                # and shape; a linear profile is sized like a standard one.
                components[name] = _geometry_guess(component, moments, ell_comps, 1.0 if count == 1 else (0.5 if k == 0 else 1.5))
                k += 1
            elif isinstance(component, LightProfile) and hasattr(component, "intensity"):
                scale = 1.0 if count == 1 else (0.5 if k == 0 else 1.5)
                fields = {f.name for f in dataclasses.fields(component)}
                changes = {key: value for key, value in (("centre", moments["centre"]), ("ell_comps", ell_comps)) if key in fields}
                if "effective_radius" in fields:
                    changes["effective_radius"] = scale * moments["half_light_radius"]
                elif "sigma" in fields:
                    changes["sigma"] = scale * moments["half_light_radius"] / 1.1774
                guess = dataclasses.replace(component, **changes)
                unit = dataclasses.replace(guess, intensity=1.0)
                flux = float(unit.total_flux(dataset.pixel_scales))
                if math.isfinite(flux) and flux > 0:
                    guess = dataclasses.replace(guess, intensity=moments["flux"] / count / flux)
                components[name] = guess
                k += 1
            else:
                components[name] = component
        new_galaxies[galaxy_name] = Galaxy(galaxy.redshift, **components)
    attributes = dict(instance.items())
    attributes["galaxies"] = ModelInstance(**new_galaxies)
    return ModelInstance(**attributes)


def _geometry_guess(component, moments, ell_comps, scale):
    if isinstance(component, Basis):
        members = [_geometry_guess(m, moments, ell_comps, None) for m in component.profile_list]
        return Basis(members, component.regularization)
    fields = {f.name for f in dataclasses.fields(component)}
    changes = {key: value for key, value in (("centre", moments["centre"]), ("ell_comps", ell_comps)) if key in fields}
    if scale is not None and "effective_radius" in fields:
        changes["effective_radius"] = scale * moments["half_light_radius"]
    return dataclasses.replace(component, **changes)


def moments_vector(model, dataset) -> np.ndarray | None:
    """The model's parameter vector at the moment-based guess (prior medians elsewhere), clipped into the priors'
    limits; None when the guess cannot be made (no positive flux, or galaxies not held by name)."""
    try:
        instance = moments_instance(model.instance_from_prior_medians(), dataset)
        if instance is None:
            return None
        vector = model.vector_from_instance(instance)
    except (AttributeError, TypeError, ValueError):
        return None
    return np.clip(vector, *model.interior_limits(1e-6))
