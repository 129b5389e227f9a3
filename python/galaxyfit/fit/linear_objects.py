"""The linear objects of a set of galaxies and their columns of the inversion.

Each linear light profile is one column: its image at unit intensity, pixel-integrated on the plan's box (so the
light from beyond the mask and the image edge is blurred in, as for standard profiles), PSF-convolved and read out at
the unmasked pixels (PyAutoGalaxy's ``operated_mapping_matrix``). Profiles of one law are rendered in one batched C++
call and convolved in one batched call. A linear ``Sky`` is a column of ones (not convolved); a linear
``PointSource`` is the shifted PSF (already "operated"). A ``Basis`` contributes its linear members in order and,
with a regularization, the matching block of H (a chain over its members).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit.fit.plan import ImagePlan
from galaxyfit.integration import (kernel_parameters, may_be_narrow_gaussian, narrow_gaussian_box, narrow_gaussian_major_sigma,
                                   narrow_limit, point_source_image, profile_image, surely_narrow_gaussian)
from galaxyfit.kernels.inversion import FREE_SIGN, REGULARIZED
from galaxyfit.profiles.linear import LinearLightProfile, PointSource, Sky
from galaxyfit.regularization import chain_neighbours


@dataclass(frozen=True)
class LinearColumn:
    """Where a column comes from: galaxy index, component name, index inside a basis (None outside one)."""

    galaxy: int
    component: str
    member: int | None


def linear_profiles(galaxies) -> list[tuple[LinearColumn, LinearLightProfile]]:
    """Every linear light profile of the galaxies, in galaxy, component and basis-member order."""
    out = []
    for g, galaxy in enumerate(galaxies):
        for name, component in galaxy.components.items():
            if isinstance(component, LinearLightProfile):
                out.append((LinearColumn(g, name, None), component))
            elif hasattr(component, "profile_list"):
                members = [p for p in component.profile_list if isinstance(p, LinearLightProfile)]
                out.extend((LinearColumn(g, name, i), p) for i, p in enumerate(members))
    return out


def has_linear_objects(galaxies) -> bool:
    return bool(linear_profiles(galaxies))


def column_flags(galaxies) -> tuple[int, ...]:
    """InversionColumnFlag per column: regularized inside a regularized basis, free sign for a Sky."""
    flags = []
    for g, galaxy in enumerate(galaxies):
        for name, component in galaxy.components.items():
            if isinstance(component, LinearLightProfile):
                flags.append(FREE_SIGN if isinstance(component, Sky) else 0)
            elif hasattr(component, "profile_list"):
                regularized = component.regularization is not None
                for p in component.profile_list:
                    if isinstance(p, LinearLightProfile):
                        flags.append((REGULARIZED if regularized else 0) | (FREE_SIGN if isinstance(p, Sky) else 0))
    return tuple(flags)


def regularization_matrix(galaxies, k: int):
    """H (k, k): block diagonal over the regularized bases (each a chain over its linear members); None when nothing
    is regularized."""
    blocks, start = [], 0
    for galaxy in galaxies:
        for component in galaxy.components.values():
            if isinstance(component, LinearLightProfile):
                start += 1
            elif hasattr(component, "profile_list"):
                size = sum(isinstance(p, LinearLightProfile) for p in component.profile_list)
                if component.regularization is not None and size:
                    blocks.append((start, size, component.regularization.regularization_matrix(chain_neighbours(size))))
                start += size
    if not blocks:
        return None
    h = jnp.zeros((k, k))
    for start, size, block in blocks:
        h = h.at[start : start + size, start : start + size].set(block)
    return h


def blurred_columns(galaxies, plan: ImagePlan):
    """(k, N) images of the linear profiles at unit intensity, PSF-convolved, at the unmasked pixels."""
    profiles = [p for _, p in linear_profiles(galaxies)]
    rows: list = [None] * len(profiles)
    blurred = [i for i, p in enumerate(profiles) if not p.operated and not isinstance(p, Sky)]
    over = plan.settings.over_sampling
    if blurred:
        boxes = {}
        if over.mode == "adaptive" and over.backend == "cpp":
            from galaxyfit.integration import _render_config
            from galaxyfit.kernels.profile_image import render_profile

            by_law: dict[int, list[int]] = {}
            parameters = {}
            surely_narrow = []
            for i in blurred:
                law, params = kernel_parameters(profiles[i].unit_profile())
                parameters[i] = params
                if surely_narrow_gaussian(profiles[i].unit_profile(), plan.grid):
                    surely_narrow.append(i)  # exact integrals only: the regular rules would miss its light anyway
                else:
                    by_law.setdefault(law, []).append(i)
            if surely_narrow:
                exact = jax.vmap(lambda q: narrow_gaussian_box(q, plan.grid))(jnp.stack([parameters[i] for i in surely_narrow]))
                for j, i in enumerate(surely_narrow):
                    boxes[i] = exact[j]
            config = _render_config(plan.grid, over)
            for law, members in by_law.items():
                stacked = jnp.stack([parameters[i] for i in members])
                images = render_profile(law, stacked, config)
                narrow = [j for j, i in enumerate(members) if may_be_narrow_gaussian(profiles[i].unit_profile(), plan.grid)]
                if narrow:  # Gaussians narrower than a pixel: exact integrals, one vmapped computation for all
                    chosen = stacked[np.asarray(narrow)]
                    exact = jax.vmap(lambda q: narrow_gaussian_box(q, plan.grid))(chosen)
                    is_narrow = jax.vmap(narrow_gaussian_major_sigma)(chosen) < narrow_limit(plan.grid)
                    images = images.at[np.asarray(narrow)].set(jnp.where(is_narrow[:, None, None], exact, images[np.asarray(narrow)]))
                for j, i in enumerate(members):
                    boxes[i] = images[j]
        else:
            for i in blurred:
                boxes[i] = profile_image(profiles[i].unit_profile(), plan.grid, over)
        stack = jnp.stack([boxes[i] for i in blurred])
        if plan.zero_outside_image:
            stack = stack * plan.inside_image
        convolved = plan.convolver(stack)
        for j, i in enumerate(blurred):
            rows[i] = convolved[j]
    for i, p in enumerate(profiles):
        if isinstance(p, Sky):
            rows[i] = jnp.ones(plan.pixels_in_mask)
        elif isinstance(p, PointSource):
            box = point_source_image(p.unit_profile(), plan.grid, plan.dataset.psf)
            rows[i] = plan.slim_from_box(box)
        elif p.operated:
            rows[i] = plan.slim_from_box(profile_image(p.unit_profile(), plan.grid, over))
    return jnp.stack(rows)


def unblurred_column_images(galaxies, plan: ImagePlan) -> list[np.ndarray]:
    """Each linear profile's unit-intensity image over the whole image, before the PSF (for figures and outputs)."""
    out = []
    for _, p in linear_profiles(galaxies):
        if isinstance(p, Sky):
            out.append(np.ones(plan.dataset.shape))
        elif isinstance(p, PointSource):
            out.append(np.asarray(point_source_image(p.unit_profile(), plan.image_grid, plan.dataset.psf)))
        else:
            out.append(np.asarray(profile_image(p.unit_profile(), plan.image_grid, plan.settings.over_sampling)))
    return out


def replace_linear_profiles(galaxies, reconstruction) -> "Galaxies":
    """The galaxies with each linear profile (also inside bases) replaced by ``lp_instance_from`` its amplitude in
    ``reconstruction`` (column order)."""
    from galaxyfit.galaxy import Galaxies, Galaxy
    from galaxyfit.profiles.basis import Basis

    index = 0
    out = []
    for galaxy in galaxies:
        components = {}
        for name, component in galaxy.components.items():
            if isinstance(component, LinearLightProfile):
                components[name] = component.lp_instance_from(reconstruction[index])
                index += 1
            elif isinstance(component, Basis):
                members = []
                for p in component.profile_list:
                    if isinstance(p, LinearLightProfile):
                        members.append(p.lp_instance_from(reconstruction[index]))
                        index += 1
                    else:
                        members.append(p)
                components[name] = Basis(members, component.regularization)
            else:
                components[name] = component
        out.append(Galaxy(galaxy.redshift, **components))
    return Galaxies(out)
