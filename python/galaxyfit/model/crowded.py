"""A crowded field in one step: a model with a galaxy for every detected source, priors and a starting point from the
detections (as pysersic's multi-source fitting does; Pasha & Miller 2023, JOSS 8, 5703).

    field = crowded_field_model(dataset)                 # detect (galaxyfit.detect), build, start
    result = LevenbergMarquardt(initial=field.start).fit(field.model, AnalysisImaging(field.dataset))

Extended sources become ``extended`` profiles (Sersic by default), unresolved ones ``point`` profiles (PointSource:
the PSF scaled to a total flux). Neighbours of the brightest source are modelled (``neighbours="model"``) or
masked (``"mask"``: one galaxy, the others' segments masked).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from galaxyfit._precision import in_float64
from galaxyfit.errors import ModelError

#: Centre prior width in pixels: SEP's barycentres of bright sources are good to a tenth of a pixel, but a blended
#: neighbour's light moves one by about a pixel; two pixels keep a component from wandering onto a neighbour.
CENTRE_SIGMA_PIXELS = 2.0
#: Intensity (or flux) priors span this factor either side of the detection's value (log-uniform): Kron fluxes of
#: blended sources are off by tens of per cent, never by 100x.
INTENSITY_RANGE = 100.0
#: Size priors: log-uniform from a tenth of a pixel to this many times the detection's (deconvolved) size.
SIZE_RANGE = 10.0
#: Starting Sersic index: between a disc (1) and a bulge (4); Levenberg-Marquardt moves it within a few iterations.
START_SERSIC_INDEX = 2.0


class CrowdedField(NamedTuple):
    """What :func:`crowded_field_model` returns: the ``model`` (a Collection with ``galaxies.galaxy_k``, k = 0 the
    brightest), the ``start`` vector (parameters in ``model.parameter_names`` order, from the detections), the
    ``dataset`` to fit (the input one, or with the neighbours masked) and the ``detection`` (galaxyfit.detect)."""

    model: object
    start: np.ndarray
    dataset: object
    detection: object


def _deconvolved(size: float, psf_size: float, floor: float) -> float:
    """sqrt(size^2 - psf_size^2), at least ``floor``: exact for Gaussian light and PSF (their widths add in
    quadrature), a first guess otherwise."""
    return math.sqrt(max(size * size - psf_size * psf_size, floor * floor))


@in_float64
def crowded_field_model(dataset, detection=None, extended=None, point=None, neighbours: str = "model",
                        sky: bool = False, primary: int = 0, mask_grow: int = 3, redshift: float | None = None,
                        **detect_kwargs) -> CrowdedField:
    """A model with one galaxy per source of ``dataset`` (an ``Imaging``), priors and start from the detections.

    Parameters
    ----------
    detection : galaxyfit.detect.Detection or None
        Sources to model; None: ``detect_sources(dataset, **detect_kwargs)``.
    extended : light-profile class, default ``lp.Sersic``
        For resolved sources. Start: the detection's centre, its shape deconvolved from the PSF (second moments
        minus the PSF's, in quadrature), effective radius sqrt(r50^2 - r50_psf^2) (exact for Gaussians), Sersic index
        ``START_SERSIC_INDEX`` and the intensity that gives the Kron flux (``total_flux``).
    point : light-profile class, default ``lp.PointSource``
        For unresolved sources (``Source.point``): centre and total flux. ``lp.Gaussian`` also works (sigma
        starting at half a pixel).
    neighbours : "model" or "mask"
        "model": a galaxy per source. "mask": only source ``primary`` (0: the brightest) is modelled and the other
        sources' segments, grown by ``mask_grow`` pixels (outside the primary's own segment), are masked.
    sky : bool
        Add a free sky level, N(0, median noise), starting at 0.

    Priors: centres N(detection, max(``CENTRE_SIGMA_PIXELS`` pixels, 3 x SEP's position error)); intensities and
    fluxes log-uniform over ``INTENSITY_RANGE`` either side of the start; sizes log-uniform from 0.1 pixel to
    ``SIZE_RANGE`` x the start (at least 10 pixels); ell_comps and Sersic index PyAutoGalaxy's defaults.

    Raises ModelError when no source is detected, ``neighbours`` is not "model" or "mask", or ``primary`` is not a
    detected source's index.
    """
    from scipy import ndimage

    from galaxyfit.detect import detect_sources
    from galaxyfit.galaxy import DatasetModel, Galaxy
    from galaxyfit.model.model import Collection, Model
    from galaxyfit.model.priors import GaussianPrior, LogUniformPrior
    from galaxyfit.profiles import light
    from galaxyfit.profiles.geometry import ell_comps_to_numpy

    extended = light.Sersic if extended is None else extended
    point = light.PointSource if point is None else point
    if neighbours not in ("model", "mask"):
        raise ModelError(f"crowded_field_model: neighbours must be 'model' or 'mask', got {neighbours!r}")
    detection = detect_sources(dataset, **detect_kwargs) if detection is None else detection
    sources = list(detection.sources)
    if not sources:
        raise ModelError("crowded_field_model: no source detected above the threshold (lower it, e.g. threshold=1.0, or "
                         "check the noise map)")
    if isinstance(primary, bool) or not isinstance(primary, (int, np.integer)) or not 0 <= primary < len(sources):
        raise ModelError(f"crowded_field_model: primary must be the index of a detected source (0 to {len(sources) - 1}), "
                         f"got {primary!r}")
    if neighbours == "mask":
        own = detection.segmentation == sources[primary].segment
        others = (detection.segmentation > 0) & ~own
        grown = ndimage.binary_dilation(others, iterations=int(mask_grow)) & ~own if mask_grow > 0 else others
        dataset = dataset.apply_mask(np.asarray(dataset.mask.array, dtype=bool) | grown)
        sources = [sources[primary]]
    ps = min(dataset.pixel_scales)
    psf_r50 = detection.psf_half_light_radius
    psf_sigma = psf_r50 / math.sqrt(2.0 * math.log(2.0))
    noise = float(np.median(np.asarray(dataset.noise_map)[~np.asarray(dataset.mask.array, dtype=bool)]))

    galaxies, start = {}, {}
    for k, source in enumerate(sources):
        cls = point if source.point else extended
        name = "point_source" if source.point else "bulge"
        fields = {f.name for f in dataclasses.fields(cls)}
        if "centre" not in fields or "intensity" not in fields:
            raise ModelError(f"crowded_field_model: {cls.__name__} needs a centre and an intensity to stand for a source")
        sigma = max(CENTRE_SIGMA_PIXELS * ps, 3.0 * source.centre_error)
        guess = {"centre": source.centre}
        priors = {"centre": (GaussianPrior(source.centre[0], sigma), GaussianPrior(source.centre[1], sigma))}
        if "ell_comps" in fields:
            major = _deconvolved(source.sigma_major, psf_sigma, 0.5 * ps)
            minor = _deconvolved(source.sigma_minor, psf_sigma, 0.5 * ps)
            guess["ell_comps"] = ell_comps_to_numpy(float(np.clip(minor / major, 0.3, 1.0)), source.angle)
        half = _deconvolved(source.half_light_radius, psf_r50, 0.5 * ps)
        for size, scale in (("effective_radius", 1.0), ("sigma", 1.0 / math.sqrt(2.0 * math.log(2.0)))):
            if size in fields:
                value = half * scale if not source.point else 0.5 * ps
                guess[size] = value
                priors[size] = LogUniformPrior(0.1 * ps * scale, max(SIZE_RANGE * value, 10.0 * ps * scale))
        if "sersic_index" in fields:
            guess["sersic_index"] = START_SERSIC_INDEX
        profile = cls(**{key: value for key, value in guess.items()})
        unit_flux = float(dataclasses.replace(profile, intensity=1.0).total_flux(dataset.pixel_scales))
        if not (math.isfinite(unit_flux) and unit_flux > 0):
            raise ModelError(f"crowded_field_model: {cls.__name__} at {source.centre} has no finite total flux to start from")
        guess["intensity"] = max(source.flux, noise) / unit_flux
        priors["intensity"] = LogUniformPrior(guess["intensity"] / INTENSITY_RANGE, guess["intensity"] * INTENSITY_RANGE)
        component = Model(cls, **priors)
        galaxy_name = f"galaxy_{k}"
        galaxies[galaxy_name] = Model(Galaxy, redshift=redshift, **{name: component})
        for parameter, value in guess.items():
            if isinstance(value, tuple):
                for i, entry in enumerate(value):
                    start[f"galaxies.{galaxy_name}.{name}.{parameter}_{i}"] = entry
            else:
                start[f"galaxies.{galaxy_name}.{name}.{parameter}"] = value
    model = Collection(galaxies=Collection(**galaxies))
    if sky:
        model.dataset_model = Model(DatasetModel, background_sky_level=GaussianPrior(0.0, noise))
        start["dataset_model.background_sky_level"] = 0.0
    names = model.parameter_names
    missing = [n for n in names if n not in start]
    if missing:  # a free parameter the guesses above do not cover: its prior median
        medians = dict(zip(names, model.prior_medians))
        start.update({n: medians[n] for n in missing})
    vector = np.array([start[n] for n in names], dtype=np.float64)
    return CrowdedField(model, np.clip(vector, *model.interior_limits(1e-6)), dataset, detection)
