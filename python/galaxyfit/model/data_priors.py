"""Priors from the data: the light's moments, default priors scaled to them, and a warning when a model's centre
priors cannot reach the light.

PyAutoGalaxy's default priors assume a cutout centred on the galaxy in arcsec-sized units (centre N(0, 0.3"),
effective radius U(0, 30"), intensity logU(1e-6, 1e6)). An image whose galaxy sits 10" from the centre (NGC 3073 in
``../shared/data``) or whose data are in other units is then outside the prior, and a sampler cannot find it. The
functions here measure the light once (:func:`image_moments`) and put the priors where the light is
(:func:`data_driven_priors`, used by ``model_from_shorthand(..., dataset=...)``); :func:`centroid_outside_prior_warning`
says so before sampling when a model's centre priors exclude the light.

Orientation (DESIGN.md): the centre of pixel [i, j] of an N_y x N_x image is y = (i - (N_y - 1)/2) ps_y,
x = (j - (N_x - 1)/2) ps_x arcsec (row 0 at the bottom); angles counter-clockwise from +x.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from galaxyfit.errors import DatasetError, ModelError

#: Default detection threshold of :func:`image_moments`, in units of each pixel's noise (1-sigma noise map): the
#: light's footprint is the connected region above it. 2 sigma keeps a pure-noise pixel out with probability 0.977 and
#: 8-connectivity joins the few that pass only to each other, far less than to a galaxy's footprint.
DEFAULT_THRESHOLD = 2.0

#: Window of the windowed centroid (``_windowed_centre``): a quarter of the light's moment width, at least 3 pixels
#: (a narrower window than SExtractor's weighs only the core, which image edges and masks rarely cut).
WINDOW_FRACTION = 0.25
WINDOW_PIXELS = 3.0

#: Centre prior width in pixels: the light centroid of a symmetric source is unbiased and measured to well under a
#: pixel, but a mask or an asymmetric disc shifts it; three pixels is PyAutoGalaxy's N(0, 0.3") for 0.1" pixels.
CENTRE_SIGMA_PIXELS = 3.0
#: ... and as a fraction of the half-light radius, for large galaxies whose centroid a mask or a lopsided disc moves
#: by more than a few pixels.
CENTRE_SIGMA_FRACTION = 0.1
#: A centroid further than this many sigma from a Gaussian centre prior's mean is outside it (3 sigma: 0.27 % of the
#: prior's mass lies further out).
OUTSIDE_SIGMAS = 3.0


@dataclass(frozen=True)
class ImageMoments:
    """The light's moments (:func:`image_moments`). Lengths in arcsec, angles in degrees counter-clockwise from +x,
    fluxes in data units summed over pixels (data units x pixels), surface brightnesses in data units per pixel.

    centre : (y, x) windowed centroid (SExtractor's XWIN, YWIN).
    isophotal_centre : (y, x) flux-weighted centroid of the footprint.
    sigma_major, sigma_minor : square roots of the eigenvalues of the flux-weighted second-moment matrix (for an
        elliptical Gaussian, its widths along the axes).
    axis_ratio : sigma_minor / sigma_major.
    angle : major-axis angle, 0.5 atan2(2 M_xy, M_xx - M_yy).
    half_light_radius : circularised radius sqrt(q) a of the ellipse (of the moments' shape) holding half the flux.
    flux : sum of the data over the footprint.
    peak : brightest footprint pixel.
    noise : median 1-sigma noise of the unmasked pixels.
    extent : largest distance from the centroid to an unmasked pixel centre.
    total_positive_flux : sum of the positive unmasked data (every source, not only the footprint's).
    footprint : (N_y, N_x) bool, the pixels used.
    """

    centre: tuple[float, float]
    isophotal_centre: tuple[float, float]
    sigma_major: float
    sigma_minor: float
    axis_ratio: float
    angle: float
    half_light_radius: float
    flux: float
    peak: float
    noise: float
    extent: float
    total_positive_flux: float
    footprint: np.ndarray


def image_moments(dataset, threshold: float | None = DEFAULT_THRESHOLD) -> ImageMoments:
    """Flux-weighted moments of the light's footprint in ``dataset`` (an ``Imaging``: data, noise_map, mask, pixel
    scales).

    Footprint: the unmasked pixels with ``data > threshold * noise_map``, grouped into 8-connected regions
    (``scipy.ndimage.label``), of which the one with the largest summed data is kept -- SExtractor's isophotal
    footprint (Bertin & Arnouts 1996, A&AS 117, 393, sections 4-6) of the brightest source, so that noise, sky
    residuals and detached neighbours do not weigh in. ``threshold=0`` keeps the connected positive pixels, ``None``
    every positive unmasked pixel.

    With w_k the data of footprint pixel k at r_k = (y_k, x_k) and F = sum w_k (Bertin & Arnouts eqs. 11-20):
    isophotal centroid c = sum w_k r_k / F; second moments M = sum w_k (r_k - c)(r_k - c)^T / F;
    sigma_major^2, sigma_minor^2 = (M_xx + M_yy)/2 +- sqrt(((M_xx - M_yy)/2)^2 + M_xy^2);
    angle = atan2(2 M_xy, M_xx - M_yy) / 2. The reported ``centre`` is the windowed centroid started from c
    (``_windowed_centre``: Gaussian-weighted, so that a galaxy cut by the image edge or a mask is still centred on its
    core), and the half-light radius is measured about it. For an elliptical Gaussian sampled at pixel centres with
    widths of a few pixels these are its centre, widths, angle and flux to rounding (such sums are exact to
    exp(-2 pi^2 sigma^2 / ps^2) by Poisson summation); a threshold truncates the wings, so thresholded sizes and
    fluxes are isophotal (smaller than the total ones).

    Raises DatasetError when no unmasked pixel has positive data above the threshold, or for a negative threshold.
    """
    if threshold is not None and not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold >= 0):
        raise DatasetError(f"image_moments: threshold must be a finite number >= 0 (noise sigmas) or None, got {threshold!r}")
    data = np.asarray(dataset.data, dtype=np.float64)
    noise_map = np.asarray(dataset.noise_map, dtype=np.float64)
    unmasked = ~np.asarray(dataset.mask.array if hasattr(dataset.mask, "array") else dataset.mask, dtype=bool)
    ny, nx = data.shape
    ps_y, ps_x = dataset.pixel_scales
    positive = unmasked & (data > 0)
    if threshold is None:
        footprint = positive
    else:
        from scipy import ndimage

        above = positive & (data > threshold * noise_map)
        labels, count = ndimage.label(above, structure=np.ones((3, 3), dtype=int))
        if count == 0:
            footprint = above
        else:
            sums = ndimage.sum_labels(data, labels, index=np.arange(1, count + 1))
            footprint = labels == 1 + int(np.argmax(sums))
    weight = np.where(footprint, data, 0.0)
    flux = float(weight.sum())
    if not flux > 0:
        raise DatasetError(f"image_moments: no unmasked pixel has data above {threshold} x the noise map "
                           "(an empty or all-negative image, or a mask that hides the source)")
    y = (np.arange(ny) - (ny - 1) / 2.0) * ps_y
    x = (np.arange(nx) - (nx - 1) / 2.0) * ps_x
    yy, xx = np.meshgrid(y, x, indexing="ij")
    cy, cx = float((weight * yy).sum() / flux), float((weight * xx).sum() / flux)
    isophotal = (cy, cx)
    dy, dx = yy - cy, xx - cx
    m_yy, m_xx, m_xy = (float((weight * v).sum() / flux) for v in (dy * dy, dx * dx, dx * dy))
    half_trace = 0.5 * (m_xx + m_yy)
    root = math.hypot(0.5 * (m_xx - m_yy), m_xy)
    # A footprint of one pixel has zero second moments: a pixel's own width (ps^2 / 12 per axis) is the floor.
    floor = min(ps_x, ps_y) ** 2 / 12.0
    sigma_major = math.sqrt(max(half_trace + root, floor))
    sigma_minor = math.sqrt(max(half_trace - root, floor))
    angle = math.degrees(0.5 * math.atan2(2.0 * m_xy, m_xx - m_yy))
    q = sigma_minor / sigma_major
    cy, cx = _windowed_centre(data, unmasked, yy, xx, (cy, cx), max(WINDOW_PIXELS * min(ps_x, ps_y), WINDOW_FRACTION * math.sqrt(sigma_major * sigma_minor)))
    dy, dx = yy - cy, xx - cx
    phi = math.radians(angle)
    along = dx * math.cos(phi) + dy * math.sin(phi)
    across = -dx * math.sin(phi) + dy * math.cos(phi)
    radius = np.sqrt(q * along**2 + across**2 / q)[footprint]  # circularised elliptical radius
    order = np.argsort(radius)
    cumulative = np.cumsum(data[footprint][order])
    half_light = float(radius[order][min(np.searchsorted(cumulative, 0.5 * flux), len(order) - 1)])
    distance = np.sqrt(dy**2 + dx**2)[unmasked]
    return ImageMoments(
        centre=(cy, cx), isophotal_centre=isophotal, sigma_major=sigma_major, sigma_minor=sigma_minor, axis_ratio=q, angle=angle,
        half_light_radius=max(half_light, 0.5 * min(ps_x, ps_y)), flux=flux, peak=float(data[footprint].max()),
        noise=float(np.median(noise_map[unmasked])), extent=float(distance.max()),
        total_positive_flux=float(data[positive].sum()), footprint=footprint)


def _windowed_centre(data, unmasked, yy, xx, start, width, tolerance=1e-9, max_iterations=200):
    """SExtractor's windowed centroid (XWIN/YWIN; SExtractor manual, "Windowed positional parameters"): the fixed
    point of c = sum w_k I_k r_k / sum w_k I_k with w_k = exp(-|r_k - c|^2 / (2 s^2)) over the unmasked pixels, from
    ``start``, with the window ``width`` s. SExtractor takes s = half-light diameter / sqrt(8 ln 2) (the sigma of a
    Gaussian source); :func:`image_moments` passes a quarter of the moments' circularised width (at least
    ``WINDOW_PIXELS`` pixels), which weighs the core: light cut off by the image edge or a mask moves it far less
    (NGC 3073, cut by the image's right edge, in ``../shared/data``: 0.03" from Imfit's centre with s = 2.4", 0.2"
    with s = 8", 1.5" for the isophotal centroid). For a symmetric source it is the centre of symmetry exactly.
    Falls back to ``start`` if the weighted flux is not positive."""
    cy, cx = start
    image = np.where(unmasked, data, 0.0)
    for _ in range(max_iterations):
        w = image * np.exp(-0.5 * ((yy - cy) ** 2 + (xx - cx) ** 2) / width**2)
        total = float(w.sum())
        if not total > 0:
            return start
        ny_, nx_ = float((w * yy).sum() / total), float((w * xx).sum() / total)
        step = math.hypot(ny_ - cy, nx_ - cx)
        cy, cx = ny_, nx_
        if step < tolerance * width:
            break
    return cy, cx


# ---- priors -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataPriors:
    """Prior settings from the data (:func:`data_driven_priors`); lengths in arcsec, brightness in data units per
    pixel, fluxes in data units x pixels."""

    centre: tuple[float, float]
    centre_sigma: float
    size_limits: tuple[float, float]
    intensity_limits: tuple[float, float]
    flux_limits: tuple[float, float]
    sky_sigma: float

    def centre_priors(self):
        from galaxyfit.model.priors import GaussianPrior

        return (GaussianPrior(self.centre[0], self.centre_sigma), GaussianPrior(self.centre[1], self.centre_sigma))

    def size_prior(self, scale: float = 1.0):
        from galaxyfit.model.priors import LogUniformPrior

        return LogUniformPrior(self.size_limits[0] * scale, self.size_limits[1] * scale)

    def intensity_prior(self):
        from galaxyfit.model.priors import LogUniformPrior

        return LogUniformPrior(*self.intensity_limits)

    def flux_prior(self):
        from galaxyfit.model.priors import LogUniformPrior

        return LogUniformPrior(*self.flux_limits)


def data_driven_priors(dataset, moments: ImageMoments | None = None) -> DataPriors:
    """Prior settings for a one-galaxy model of ``dataset`` from its light's moments (:func:`image_moments` with the
    default threshold unless ``moments`` is given):

    - centre: Gaussian around the centroid, sigma = max(``CENTRE_SIGMA_PIXELS`` pixels, ``CENTRE_SIGMA_FRACTION``
      x half-light radius): the centroid of a symmetric galaxy is its centre to a fraction of a pixel, so the width
      only has to cover asymmetries and masks (a few pixels, or a tenth of the galaxy's size for a large one);
    - sizes (effective radius; a Gaussian's sigma divided by 1.1774, its half-light radius over sigma): log-uniform
      from a tenth of a pixel (below which a profile is a point) to twice the largest distance from the centroid to
      an unmasked pixel (a larger component is a sky offset within the data), so every scale between is equally
      likely a priori;
    - intensity (surface brightness, data units per pixel): log-uniform from 1e-3 x the median noise (a component
      that faint contributes S/N < 0.1 even summed over 10^4 pixels) to 1e3 x the brightest footprint pixel (a
      Sersic much smaller than the PSF has I_e tens of times the blurred peak: n = 4, r_e = 0.1 pixel and a
      1.5-pixel PSF give ~40x);
    - total fluxes (``PointSource.intensity``): log-uniform from 1e-3 x the median noise to 10 x the summed positive
      data;
    - sky level: Gaussian N(0, median noise), since a residual sky of more than the per-pixel noise shows by eye.

    Raises DatasetError as :func:`image_moments`.
    """
    m = moments if moments is not None else image_moments(dataset)
    ps = min(dataset.pixel_scales)
    sigma = max(CENTRE_SIGMA_PIXELS * ps, CENTRE_SIGMA_FRACTION * m.half_light_radius)
    size = (0.1 * ps, 2.0 * max(m.extent, m.half_light_radius, ps))
    intensity = (1e-3 * m.noise, 1e3 * m.peak)
    flux = (1e-3 * m.noise, 10.0 * max(m.total_positive_flux, m.flux))
    return DataPriors(centre=m.centre, centre_sigma=sigma, size_limits=size, intensity_limits=intensity,
                      flux_limits=flux, sky_sigma=m.noise)


#: Parameters given data-driven priors, by kind; a Gaussian's sigma is scaled by 1 / sqrt(2 ln 2) (half-light
#: radius = 1.1774 sigma) so that the same prior covers the same physical sizes.
_SIZES = {"effective_radius": 1.0, "sigma": 1.0 / math.sqrt(2.0 * math.log(2.0))}


def apply_data_priors(model, priors: DataPriors):
    """Replace, in every light-profile ``Model`` below ``model`` (a ``Model`` or ``Collection``, walked through
    galaxies and a Basis' profile list), the priors of ``centre``, ``intensity``, ``effective_radius`` and ``sigma``
    with ``priors``' ones, in place; returns ``model``. A prior shared by several parameters (a link, such as
    ``shared_centre``) is replaced by one new prior, so links survive. Fixed values are left alone."""
    from galaxyfit.model.model import Collection, Model
    from galaxyfit.model.priors import Prior
    from galaxyfit.profiles.light import LightProfile, PointSource
    from galaxyfit.profiles.linear import LinearLightProfile

    replaced: dict[int, object] = {}

    def new(old, make):
        if id(old) not in replaced:
            replaced[id(old)] = make()
        return replaced[id(old)]

    def visit(node):
        if isinstance(node, tuple):
            for entry in node:
                visit(entry)
            return
        if not isinstance(node, (Model, Collection)):
            return
        cls = getattr(node, "cls", None)
        profile = isinstance(cls, type) and issubclass(cls, (LightProfile, LinearLightProfile))
        attributes = node._attributes
        for name, value in list(attributes.items()):
            if profile and name == "centre" and isinstance(value, tuple) and len(value) == 2:
                fresh = priors.centre_priors()
                attributes[name] = tuple(new(v, lambda f=f: f) if isinstance(v, Prior) else v for v, f in zip(value, fresh))
            elif profile and name == "intensity" and isinstance(value, Prior):
                attributes[name] = new(value, priors.flux_prior if issubclass(cls, PointSource) else priors.intensity_prior)
            elif profile and name in _SIZES and isinstance(value, Prior):
                attributes[name] = new(value, lambda s=_SIZES[name]: priors.size_prior(s))
            else:
                visit(value)

    visit(model)
    return model


# ---- the warning ----------------------------------------------------------------------------------------------------


class CentroidOutsidePriorWarning(UserWarning):
    """The light's centroid lies outside the centre prior of every light profile of the model."""


def _outside(prior, value: float) -> str | None:
    """Why ``value`` lies outside ``prior`` (None if inside): beyond ``OUTSIDE_SIGMAS`` of a Gaussian's mean, or
    outside a bounded prior's limits."""
    from galaxyfit.model.priors import GaussianPrior, TruncatedGaussianPrior

    lower, upper = prior.limits
    if not lower <= value <= upper:
        return f"outside its limits [{lower:g}, {upper:g}]"
    if isinstance(prior, (GaussianPrior, TruncatedGaussianPrior)):
        z = abs(value - prior.mean) / prior.sigma
        if z > OUTSIDE_SIGMAS:
            return f"{z:.3g} sigma from its mean"
    return None


def _centre_priors(model):
    """(path, (prior_y, prior_x)) of every light profile below ``model`` whose centre has a prior."""
    from galaxyfit.model.model import Collection, Model
    from galaxyfit.model.priors import Prior

    found = []

    def visit(node, path):
        if isinstance(node, tuple):
            for i, entry in enumerate(node):
                visit(entry, path + (str(i),))
            return
        if not isinstance(node, (Model, Collection)):
            return
        for name, value in node._attributes.items():
            if name == "centre" and isinstance(value, tuple) and len(value) == 2 and isinstance(node, Model):
                if any(isinstance(v, Prior) for v in value):
                    found.append((".".join(path), value))
            else:
                visit(value, path + (name,))

    visit(model, ())
    return found


def centroid_outside_prior_warning(model, dataset, threshold: float | None = DEFAULT_THRESHOLD) -> list[str]:
    """Warn (:class:`CentroidOutsidePriorWarning`, a UserWarning) before a search when the light's centroid
    (:func:`image_moments` of the brightest footprint) lies outside the centre prior of every light profile of
    ``model`` -- beyond ``OUTSIDE_SIGMAS`` sigma of a Gaussian prior's mean, or outside a bounded prior -- so that no
    component can sit on the light (a sampler then piles its points against the prior's edge). The message names the
    centroid, each component and its priors.

    Only "every component" is judged: in a model of several sources (``crowded_field_model``) or a galaxy with an
    offset companion, components away from the brightest source's centroid are intended. Fixed centres are not
    priors and are not judged. Nothing happens (returns []) when ``dataset`` is None or has no ``data`` (another
    kind of analysis), the model has no centre priors, or the image has no positive flux.

    Returns the paths of the components named in the warning ([] when there is none).
    """
    if dataset is None or not hasattr(dataset, "data") or not hasattr(dataset, "noise_map"):
        return []
    components = _centre_priors(model)
    if not components:
        return []
    try:
        centroid = image_moments(dataset, threshold).centre
    except DatasetError:
        return []
    reasons = {}
    for path, pair in components:
        why = [f"{axis} {_outside(p, c)}" for axis, p, c in zip("yx", pair, centroid)
               if not isinstance(p, (int, float)) and _outside(p, c) is not None]
        if not why:
            return []  # some component can reach the light
        reasons[path] = (pair, "; ".join(why))
    listed = "; ".join(f"{path}.centre = ({pair[0]!r}, {pair[1]!r}): the centroid's {why}"
                       for path, (pair, why) in reasons.items())
    warnings.warn(
        f"the light's centroid (y, x) = ({centroid[0]:.4g}, {centroid[1]:.4g}) arcsec lies outside the centre prior of "
        f"every light profile: {listed}. The search will look for the galaxy where there is none; centre the priors "
        "on the light (model_from_shorthand(..., dataset=dataset), or GaussianPrior(mean=..., sigma=...) for each "
        "centre; on the command line --model sersic+exponential takes them from the data).",
        CentroidOutsidePriorWarning, stacklevel=3)
    return list(reasons)


def check_data_priors_input(dataset, where: str) -> None:
    """ModelError naming ``where`` unless ``dataset`` looks like an ``Imaging`` (data, noise_map, mask, pixel
    scales)."""
    missing = [a for a in ("data", "noise_map", "mask", "pixel_scales") if not hasattr(dataset, a)]
    if missing:
        raise ModelError(f"{where}: dataset must be a galaxyfit Imaging (with data, noise_map, mask and pixel_scales), "
                         f"got {type(dataset).__name__} without {', '.join(missing)}")
