"""The linear objects of a set of galaxies and their columns of the inversion.

Each linear light profile is one column: its image at unit intensity, pixel-integrated on the plan's box (so the
light from beyond the mask and the image edge is blurred in, as for standard profiles), PSF-convolved and read out at
the unmasked pixels (PyAutoGalaxy's ``operated_mapping_matrix``). Profiles of one law are rendered in one batched C++
call and convolved in one batched call. A linear ``Sky`` is a column of ones and its slopes ``SkySlopeY`` /
``SkySlopeX`` the pixel centres' y / x (not convolved); a linear ``PointSource`` is the shifted PSF (already
"operated"). With an oversampled PSF, the columns at its pixels are computed as the parametric model is there
(``galaxyfit.fit.psf_oversampled``). A ``Basis`` contributes its linear members in order and,
with a regularization, the matching block of H (a chain over its members).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from galaxyfit.fit.plan import ImagePlan
from galaxyfit.integration import (kernel_parameters, may_be_narrow_gaussian, narrow_gaussian_box, narrow_gaussian_major_sigma,
                                   known_float, narrow_gaussian_window, narrow_limit, point_source_image, profile_image,
                                   surely_narrow_gaussian)
from galaxyfit.kernels.inversion import FREE_SIGN, REGULARIZED
from galaxyfit.profiles.linear import LinearLightProfile, PointSource, Sky, sky_column
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
    """(k, N) images of the linear profiles at unit intensity, PSF-convolved, at the unmasked pixels (at an
    oversampled PSF's pixels, by the oversampled path)."""
    profiles = [p for _, p in linear_profiles(galaxies)]
    rows: list = [None] * len(profiles)
    blurred = [i for i, p in enumerate(profiles) if not p.operated and not isinstance(p, Sky)]
    over = plan.settings.over_sampling
    fine = plan.psf_oversampled
    targets = _oversampled_targets(profiles, blurred, plan) if fine is not None else {}
    normal_needed = fine is None or not fine.covers_all
    if blurred and normal_needed:
        if over.mode == "adaptive" and over.backend == "cpp":
            boxes, direct = _adaptive_cpp_boxes(profiles, blurred, plan)
            for i, column in direct.items():
                rows[i] = column
        else:
            boxes = {i: profile_image(profiles[i].unit_profile(), plan.grid, over) for i in blurred}
        if boxes:
            order = sorted(boxes)
            convolved = _convolved(jnp.stack([boxes[i] for i in order]), plan)
            for j, i in enumerate(order):
                rows[i] = convolved[j]
    for i, p in enumerate(profiles):
        if isinstance(p, Sky):
            rows[i] = jnp.asarray(sky_column(p, plan.y_slim, plan.x_slim))
        elif isinstance(p, PointSource):
            if normal_needed:
                box = point_source_image(p.unit_profile(), plan.grid, plan.psf)
                rows[i] = plan.slim_from_box(box)
        elif p.operated:
            rows[i] = plan.slim_from_box(profile_image(p.unit_profile(), plan.grid, over))
    for i, value in targets.items():
        rows[i] = fine.merged(value, rows[i] if normal_needed else 0.0)
    return jnp.stack(rows)


def _oversampled_targets(profiles, blurred, plan: ImagePlan) -> dict:
    """{column index: (n_target,) values at the oversampled PSF's pixels} for the blurred profiles (sub-pixel boxes
    convolved with the fine PSF, averaged to pixels) and point sources (the fine PSF shifted, averaged)."""
    from galaxyfit.fit.model_image import point_sources_fine_box

    fine = plan.psf_oversampled
    targets = {}
    if blurred:
        boxes = jnp.stack([profile_image(profiles[i].unit_profile(), fine.grid, plan.settings.over_sampling) for i in blurred])
        values = fine.blurred_targets(boxes)
        targets.update((i, values[j]) for j, i in enumerate(blurred))
    for i, p in enumerate(profiles):
        if isinstance(p, PointSource):
            targets[i] = fine.binned_targets(point_sources_fine_box([p.unit_profile()], fine))
    return targets


#: A window of 3 x 3 pixels holds a Gaussian narrower than this many pixels (major axis) to rounding: its edges lie at
#: least one pixel, 12 sigma, from the centre.
_TINY_GAUSSIAN_PIXELS = 1.0 / 12.0


def _window_columns(params, plan: ImagePlan, half: int):
    """(m, N) blurred columns of narrow Gaussians (kernel parameters ``params`` (m, 7)) from their exact
    ``narrow_gaussian_window``, convolved as stamps."""
    windows, row0, col0 = jax.vmap(lambda q: narrow_gaussian_window(q, plan.grid, half))(params)
    if plan.zero_outside_image:  # PyAutoGalaxy's convention: no light beyond the image edge
        size = 2 * half + 1
        padded = jnp.pad(jnp.asarray(plan.inside_image, dtype=windows.dtype), size)
        windows = windows * jax.vmap(lambda r, c: jax.lax.dynamic_slice(padded, (r + size, c + size), (size, size)))(row0, col0)
    return plan.convolver.window_columns(windows, row0, col0)


def _convolved(boxes, plan: ImagePlan):
    """(m, N) the PSF convolution of boxes (m, H, W) at the unmasked pixels (no light beyond the image edge in
    PyAutoGalaxy's convention)."""
    return plan.convolver(boxes * plan.inside_image if plan.zero_outside_image else boxes)


def _adaptive_cpp_boxes(profiles, blurred, plan: ImagePlan) -> tuple[dict, dict]:
    """(unconvolved boxes, blurred columns) of the blurred profiles, by index. Boxes are rendered by law in batched
    C++ calls (Gaussians that may be narrower than half a pixel get their exact integrals where they are,
    ``narrow_gaussian_box``).

    Gaussians of a fixed sigma below a quarter of a pixel come back as columns instead, exact windows convolved
    as stamps (~10 us each instead of a render and a whole-box convolution), in two groups behind one ``lax.cond``
    each on the widths, which depend on the traced axis ratio: below 0.05 pixel 3 x 3 windows, or 11 x 11 if some
    axis ratio is extreme; up to 0.25 pixel 11 x 11 windows, or the general route if some Gaussian's major axis
    reaches half a pixel. Every Gaussian gets the numbers the general route gives it, to rounding."""
    from galaxyfit.integration import _render_config
    from galaxyfit.kernels.profile_image import render_profile
    from galaxyfit.profiles.light import LAW_GAUSSIAN

    grid = plan.grid
    config = _render_config(grid, plan.settings.over_sampling)
    tiny = _TINY_GAUSSIAN_PIXELS * min(grid.pixel_scales)
    limit = narrow_limit(grid)

    boxes, columns, by_law, surely, maybe = {}, {}, {}, [], []
    for i in blurred:
        profile = profiles[i].unit_profile()
        law, params = kernel_parameters(profile)
        if _vmapped(params):
            # Under vmap a lax.cond computes both branches (and broadcasts the convolution's static operands), and
            # batched stamps become grouped convolutions and gathers that XLA runs ~100x slower: the general route.
            by_law.setdefault(law, []).append((i, params, may_be_narrow_gaussian(profile, grid)))
        elif surely_narrow_gaussian(profile, grid):  # the regular rules would miss its light anyway
            surely.append((i, params))
        elif may_be_narrow_gaussian(profile, grid) and _fixed_below(profile.sigma, 0.5 * limit):
            maybe.append((i, params))  # narrow unless its axis ratio is below ~0.25
        else:
            by_law.setdefault(law, []).append((i, params, may_be_narrow_gaussian(profile, grid)))
    if surely:
        stacked = jnp.stack([params for _, params in surely])
        tiny_enough = jnp.all(jax.vmap(narrow_gaussian_major_sigma)(stacked) < tiny)
        windowed = jax.lax.cond(tiny_enough, lambda q: _window_columns(q, plan, 1), lambda q: _window_columns(q, plan, 5),
                                stacked)
        columns.update((i, windowed[j]) for j, (i, _) in enumerate(surely))
    if maybe:
        stacked = jnp.stack([params for _, params in maybe])

        def regular(q):
            return _convolved(_exact_where_narrow(render_profile(LAW_GAUSSIAN, q, config), q, grid, limit), plan)

        narrow = jnp.all(jax.vmap(narrow_gaussian_major_sigma)(stacked) < limit)
        windowed = jax.lax.cond(narrow, lambda q: _window_columns(q, plan, 5), regular, stacked)
        columns.update((i, windowed[j]) for j, (i, _) in enumerate(maybe))
    for law, members in by_law.items():
        stacked = jnp.stack([params for _, params, _ in members])
        narrow = np.array([j for j, (_, _, maybe_) in enumerate(members) if maybe_], dtype=int)
        images = render_profile(law, stacked, config)
        if len(narrow):  # Gaussians that may be narrower than half a pixel: exact integrals where they are
            images = images.at[narrow].set(_exact_where_narrow(images[narrow], stacked[narrow], grid, limit))
        for j, (i, _, _) in enumerate(members):
            boxes[i] = images[j]
    return boxes, columns


def _exact_where_narrow(images, params, grid, limit):
    """``images`` (m, H, W) of Gaussians by the regular rules, with the exact integrals where one is narrow."""
    exact = jax.vmap(lambda q: narrow_gaussian_box(q, grid))(params)
    is_narrow = jax.vmap(narrow_gaussian_major_sigma)(params) < limit
    return jnp.where(is_narrow[:, None, None], exact, images)


def _fixed_below(value, bound) -> bool:
    sigma = known_float(value)
    return sigma is not None and sigma < bound


def _vmapped(x) -> bool:
    """Whether ``x`` is being traced under ``jax.vmap`` (directly, or as the primal of a JVP): vmap's tracers carry
    a ``batch_dim`` (JAX keeps their class private)."""
    while isinstance(x, jax.core.Tracer):
        if hasattr(x, "batch_dim"):
            return True
        x = getattr(x, "primal", None)
    return False


def unblurred_column_images(galaxies, plan: ImagePlan) -> list[np.ndarray]:
    """Each linear profile's unit-intensity image over the whole image, before the PSF (for figures and outputs)."""
    out = []
    for _, p in linear_profiles(galaxies):
        if isinstance(p, Sky):
            out.append(np.asarray(sky_column(p, *plan.image_coordinates()), dtype=np.float64))
        elif isinstance(p, PointSource):
            out.append(np.asarray(point_source_image(p.unit_profile(), plan.image_grid, plan.psf)))
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
