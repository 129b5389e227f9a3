"""``radial_profile.png``: surface brightness against radius in annuli about the galaxy centre, data against the model
and its components (AstroPhot's ``radial_light_profile``; what galaxy papers show)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from galaxyfit._precision import in_float64
from galaxyfit.plot import style


@dataclass
class RadialProfile:
    """Means in annuli. ``edges`` (K + 1,) arcsec; per annulus: ``radius`` (K,) the mean radius of its pixels,
    ``value`` (K,) the mean of the image there, ``error`` (K,) the standard error of that mean from the noise map,
    sqrt(sum sigma^2) / n (NaN without a noise map), ``count`` (K,) its pixels. Empty annuli are dropped."""

    edges: np.ndarray
    radius: np.ndarray
    value: np.ndarray
    error: np.ndarray
    count: np.ndarray


def annulus_radii(shape, pixel_scales, centre=(0.0, 0.0), quadratic_form=(1.0, 1.0, 0.0), axis_ratio: float = 1.0):
    """(N_y, N_x) radius (arcsec) of every pixel centre from ``centre`` (y, x): the major-axis radius
    ``sqrt(A_yy dy^2 + A_xx dx^2 + 2 A_xy dy dx) / sqrt(q)`` of the ellipses of a profile's ``quadratic_form``
    (its circularised radius squared, ``galaxyfit.profiles.geometry``) and ``axis_ratio`` q; the defaults give
    circles. Pixel centres follow ``galaxyfit.dataset.pixels``."""
    from galaxyfit.dataset.pixels import pixel_centres

    y, x = pixel_centres(shape, pixel_scales)
    dy = y[:, None] - float(centre[0])
    dx = x[None, :] - float(centre[1])
    a_yy, a_xx, a_xy = (float(v) for v in quadratic_form)
    squared = np.maximum(a_yy * dy * dy + a_xx * dx * dx + 2.0 * a_xy * dy * dx, 0.0)
    return np.sqrt(squared) / np.sqrt(float(axis_ratio))


def annulus_edges(r_max: float, step: float, growth: float = 1.15, max_bins: int = 40) -> np.ndarray:
    """Edges from 0 to ``r_max``: each annulus at least ``step`` (a pixel) wide and at least ``growth`` times the
    previous edge, so the core is resolved pixel by pixel and the faint outskirts are averaged over many pixels
    (wide outer annuli keep their S/N up)."""
    edges = [0.0]
    while edges[-1] < r_max and len(edges) <= max_bins:
        edges.append(max(edges[-1] + step, edges[-1] * growth))
    edges[-1] = min(edges[-1], r_max)
    return np.array(edges)


def radial_profile(image, radii, edges, mask=None, noise=None) -> RadialProfile:
    """The ``RadialProfile`` of ``image`` (N_y, N_x) in annuli ``edges`` of ``radii`` (``annulus_radii``), over the
    pixels that are not ``mask``ed (True = excluded) and finite; ``noise`` (N_y, N_x) gives the errors."""
    image = np.asarray(image, dtype=np.float64)
    use = np.isfinite(image)
    if mask is not None:
        use &= ~np.asarray(mask, dtype=bool)
    r = np.asarray(radii)[use]
    values = image[use]
    k = np.digitize(r, edges) - 1
    inside = (k >= 0) & (k < len(edges) - 1)
    k, r, values = k[inside], r[inside], values[inside]
    bins = len(edges) - 1
    count = np.bincount(k, minlength=bins).astype(float)
    total = np.bincount(k, weights=values, minlength=bins)
    radius = np.bincount(k, weights=r, minlength=bins)
    if noise is not None:
        variance = np.bincount(k, weights=np.asarray(noise, dtype=np.float64)[use][inside] ** 2, minlength=bins)
    else:
        variance = np.full(bins, np.nan)
    kept = count > 0
    n = count[kept]
    return RadialProfile(edges=np.asarray(edges), radius=radius[kept] / n, value=total[kept] / n,
                         error=np.sqrt(variance[kept]) / n, count=n)


@in_float64
def component_images(fit, galaxy_names) -> list[tuple[str, object, np.ndarray]]:
    """[("<galaxy>.<component>", component, (N,) its PSF-convolved model at the unmasked pixels)] for every light
    component (a profile, a basis as a whole, a solved sky level) with linear profiles at their solved intensities,
    and every pixelization's reconstruction, blurred. Rendered with ``galaxyfit.fit.model_image.blurred_slim`` on
    one-component galaxies: the same pixel integration and PSF as the fit."""
    from galaxyfit.fit.model_image import blurred_slim
    from galaxyfit.galaxy import Galaxies, Galaxy
    from galaxyfit.pixelization import Pixelization

    solved = fit.galaxies_linear_light_profiles_to_light_profiles()
    pixelized = {}
    if fit.inversion is not None and hasattr(fit.inversion, "reconstructed_slim_dict"):
        blurred = fit.inversion.reconstructed_slim_dict(blurred=True)
        pixelized = {(key.galaxy, key.component): v for key, v in blurred.items()}
    out = []
    for g, (name, galaxy) in enumerate(zip(galaxy_names, solved)):
        for component_name, component in galaxy.components.items():
            label = f"{name}.{component_name}"
            if isinstance(component, Pixelization):
                if (g, component_name) in pixelized:
                    out.append((label, component, np.asarray(pixelized[(g, component_name)])))
                continue
            one = Galaxies([Galaxy(galaxy.redshift, **{component_name: component})])
            out.append((label, component, np.asarray(blurred_slim(one, fit.plan))))
    return out


def save_radial_profile_figure(fit, path, title_prefix: str | None = None, galaxy_names=None,
                               elliptical: bool = True) -> str:
    """Write ``radial_profile.png`` (atomically) and return the path.

    Top panel: mean surface brightness (data units per pixel, log axis) in annuli about the centre of the brightest
    light component (the largest model flux inside the mask; without a profile, e.g. a pixelization alone, circles
    about the model's flux-weighted centroid) against radius (arcsec): the data (minus the dataset
    model's sky) with the standard error of each annulus's mean from the noise map, the total PSF-convolved model,
    and each component (``<galaxy>.<component>``, PSF-convolved, linear profiles at their solved intensities; a
    basis as a whole; a pixelization's reconstruction) averaged over the same pixels, so model and data are
    compared like for like. Annuli whose mean is not positive are left out of the
    log axis. Bottom panel: (data - model) / error per annulus.

    ``elliptical``: annuli are ellipses of that component's profile (its axis ratio and angle; a basis's first
    member), radius the semi-major axis; False: circles. ``galaxy_names``: labels of the galaxies (None:
    ``galaxies.galaxy_names_of``). Only unmasked pixels are used. Raises ``galaxyfit.errors.OutputError`` when
    ``path`` cannot be written, ValueError for a wrong number of ``galaxy_names``.
    """
    from galaxyfit.plot.galaxies import galaxy_names_of

    names = galaxy_names_of(fit, galaxy_names)
    figure = style.quiet(lambda: _figure(fit, names, title_prefix, elliptical))
    return style.save(figure, path)


def _reference_profile(components):
    """(label, profile) of the brightest component (largest model flux inside the mask) that has a centre: the
    profile itself, or a basis's first member (an MGE's Gaussians share one centre); (None, None) without any. Its
    flux comes from the component images the figure draws anyway (an analytic total flux would compile special
    functions, seconds on first use, and does not exist for every profile)."""
    best, best_flux = (None, None), -np.inf
    for label, component, slim in components:
        profile = component
        if not hasattr(profile, "centre"):
            members = getattr(component, "profile_list", ())
            profile = next((m for m in members if hasattr(m, "centre")), None)
        if profile is None:
            continue
        flux = float(np.sum(slim))
        if best[1] is None or flux > best_flux:
            best, best_flux = (label, profile), flux
    return best


def _centroid(fit, model_slim) -> tuple[float, float]:
    """Flux-weighted centre (y, x) arcsec of the model's positive pixels (the image centre without any)."""
    from galaxyfit.dataset.pixels import pixel_centres

    weights = np.clip(np.asarray(model_slim, dtype=np.float64), 0.0, None)
    if not weights.sum() > 0:
        return 0.0, 0.0
    y, x = pixel_centres(fit.dataset.shape, fit.dataset.pixel_scales)
    rows, cols = fit.plan.image_index
    return float(np.average(y[rows], weights=weights)), float(np.average(x[cols], weights=weights))


def _geometry(components, elliptical, fallback_centre):
    """(centre, quadratic form, axis ratio, label of the reference component or None, a description); circles about
    ``fallback_centre`` when no component has a centre (a pixelization alone)."""
    label, profile = _reference_profile(components)
    if profile is None:
        y, x = fallback_centre
        return (y, x), (1.0, 1.0, 0.0), 1.0, None, f"circles about the model's centroid ({y:.3g}, {x:.3g})″"
    centre = tuple(float(v) for v in np.asarray(profile.centre, dtype=np.float64))
    where = f"({centre[0]:.3g}, {centre[1]:.3g})″"
    if not elliptical:
        return centre, (1.0, 1.0, 0.0), 1.0, label, f"circles about {where}"
    e_y, e_x = (float(v) for v in np.asarray(getattr(profile, "ell_comps", (0.0, 0.0)), dtype=np.float64))
    # ell_comps = f (sin 2 phi, cos 2 phi), f = (1 - q) / (1 + q) (galaxyfit.profiles.geometry); in numpy, because
    # eager JAX would compile each scalar operation on first use
    f = min(np.hypot(e_y, e_x), 0.999)
    q = (1.0 - f) / (1.0 + f)
    angle = np.degrees(0.5 * np.arctan2(e_y, e_x)) % 180.0
    form = tuple(float(v) for v in np.asarray(profile.quadratic_form(), dtype=np.float64))
    return centre, form, q, label, f"ellipses of {label} about {where}, q = {q:.2f}, φ = {angle:.0f}°"


def _figure(fit, names, prefix, elliptical):
    components = component_images(fit, names)
    model_slim = np.asarray(fit.blurred_image_slim)
    centre, form, q, reference, geometry = _geometry(components, elliptical, _centroid(fit, model_slim))
    plan = fit.plan
    mask = np.asarray(fit.dataset.mask.array)
    radii = annulus_radii(fit.dataset.shape, fit.dataset.pixel_scales, centre, form, q)
    r_max = float(np.max(radii[~mask]))
    edges = annulus_edges(r_max, step=float(min(fit.dataset.pixel_scales)))
    data = plan.native_from_slim(np.asarray(fit.data_slim), fill=np.nan)
    noise = plan.native_from_slim(np.asarray(plan.noise_slim), fill=np.nan)
    model = plan.native_from_slim(model_slim, fill=np.nan)
    observed = radial_profile(data, radii, edges, mask, noise)
    total = radial_profile(model, radii, edges, mask)

    figure = style.new_figure((7.5, 7.0))
    top = figure.add_axes((0.12, 0.33, 0.83, 0.6))
    bottom = figure.add_axes((0.12, 0.08, 0.83, 0.2), sharex=top)
    positive = observed.value > 0
    low = np.minimum(observed.error, observed.value * (1 - 1e-3))  # error bars stop above zero on a log axis
    top.errorbar(observed.radius[positive], observed.value[positive],
                 yerr=[low[positive], observed.error[positive]], fmt="o", ms=3.5, color="black", ecolor="0.4",
                 elinewidth=1, capsize=0, label="data", zorder=3)
    top.plot(total.radius, np.where(total.value > 0, total.value, np.nan), color="C3", lw=2, label="model (total)",
             zorder=2)
    if len(components) > 1:
        for k, (label, _, slim) in enumerate(components):
            part = radial_profile(plan.native_from_slim(slim, fill=np.nan), radii, edges, mask)
            top.plot(part.radius, np.where(part.value > 0, part.value, np.nan), lw=1.3, ls="--", color=f"C{k % 10}"
                     if k % 10 != 3 else "C9", label=label)
    top.set_yscale("log")
    values = np.concatenate([observed.value[positive], total.value[total.value > 0]])
    if values.size:
        top.set_ylim(values.min() / 2.0, values.max() * 2.0)
    top.set_ylabel("surface brightness (data units / pixel)", fontsize=9)
    top.legend(fontsize=8, loc="upper right", framealpha=0.85)
    top.tick_params(labelsize=8, direction="in", which="both", labelbottom=False)
    top.set_title(style.titled(f"radial profile: {geometry}", prefix), fontsize=10)
    top.grid(alpha=0.25, which="major")
    # PSF-convolved components: state it, since unconvolved profiles would be steeper in the core
    top.text(0.02, 0.02, "model and components PSF-convolved, averaged over the same pixels as the data",
             transform=top.transAxes, fontsize=7, color="0.3")

    common = min(len(observed.value), len(total.value))
    with np.errstate(invalid="ignore", divide="ignore"):
        pull = (observed.value[:common] - total.value[:common]) / observed.error[:common]
    bottom.axhline(0.0, color="0.5", lw=1)
    bottom.plot(observed.radius[:common], pull, "o", ms=3, color="black")
    limit = style.symmetric_limit(pull, percentile=100.0, minimum=3.0) * 1.15
    bottom.set_ylim(-limit, limit)
    bottom.set_ylabel("(data - model) / σ", fontsize=9)
    radius_label = "semi-major axis (arcsec)" if elliptical and reference is not None else "radius (arcsec)"
    bottom.set_xlabel(radius_label, fontsize=9)
    bottom.tick_params(labelsize=8, direction="in")
    top.set_xlim(0.0, edges[-1] * 1.02)
    return figure
