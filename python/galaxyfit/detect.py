"""Source detection on an ``Imaging``: every source's position, flux, size and shape, and whether it is resolved.

Detection and photometry are SEP's (Barbary 2016, JOSS 1, 58), the library form of Source Extractor (Bertin & Arnouts
1996, A&AS 117, 393): thresholding at ``threshold`` x the noise map after a matched filter, 8-connected pixels,
multi-threshold deblending, then Kron ("AUTO") fluxes and half-light radii in apertures that mask the other sources'
segments. The data are taken as sky-subtracted (galaxyfit's convention: the dataset holds data minus sky).

Coordinates: SEP's pixel (x, y) = (column, row), 0-based, becomes galaxyfit's (y, x) in arcsec from the image centre,
y = (row - (N_y - 1)/2) ps_y, x = (column - (N_x - 1)/2) ps_x (DESIGN.md; row 0 is the bottom, so SEP's angle
counter-clockwise from +x is galaxyfit's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from galaxyfit.errors import DatasetError

#: Kron aperture: 2.5 Kron radii, at least 3.5 (SExtractor's PHOT_AUTOPARAMS defaults, Bertin & Arnouts 1996 s. 10.4).
KRON_FACTOR = 2.5
KRON_MINIMUM = 3.5
#: A source is unresolved (a point source) unless the PSF broadened by a Gaussian of ``BROADENING`` x the PSF's
#: sigma fits the pixels around it better by more than ``POINT_SOURCE_DELTA_CHI2`` -- both with a local plane for a
#: neighbour's wings and both re-centred (:func:`psf_fit`); the two fits have the same number of parameters, so
#: Delta chi^2 = 25 is a 5-sigma preference for a resolved source. The idea of SExtractor's SPREAD_MODEL (Desai et
#: al. 2012, ApJ 757, 83): compare the PSF with a slightly extended model, not the PSF's chi^2 with its expectation,
#: which a neighbour's curved wing inflates. On bench/bench_crowded.py's field the stars give Delta chi^2 -124 and
#: -38 and the galaxies +175 to +866 (80-pixel fits).
POINT_SOURCE_DELTA_CHI2 = 25.0
#: ... and a source whose half-light radius is more than this many times the PSF's is extended whatever that test
#: says: a faint, wide galaxy barely changes the chi^2 of a PSF-sized fit, so the test alone called one a star.
EXTENDED_SIZE_RATIO = 3.0
BROADENING = 2.0 / 3.0
#: The PSF fits use the pixels within this many PSF half-light radii (at least 2.5 pixels), and re-centre on the
#: fitted shift up to this many times.
PSF_FIT_RADIUS = 3.0
PSF_FIT_ITERATIONS = 3


@dataclass(frozen=True)
class Source:
    """One detected source. Lengths in arcsec, angle in degrees counter-clockwise from +x, fluxes in data units x
    pixels.

    centre : (y, x) SEP's isophotal barycentre; for a point source, the position of its PSF fit.
    centre_error : 1-sigma position error (arcsec), from SEP's errx2, erry2 (background noise only).
    flux : Kron (AUTO) flux, other sources' segments masked.
    half_light_radius : radius of the circle holding half of ``flux`` (PSF-convolved).
    axis_ratio, angle : of the isophotal second moments (PSF-convolved).
    sigma_major, sigma_minor : SEP's a, b: RMS extents along the axes (arcsec).
    peak : brightest pixel; npix : pixels in the isophote; segment : its id in the segmentation map.
    point : whether it is unresolved (``spread`` <= ``POINT_SOURCE_DELTA_CHI2`` and a half-light radius at most
        ``EXTENDED_SIZE_RATIO`` times the PSF's).
    psf_chi2 : chi^2 per degree of freedom of the PSF fit (:func:`psf_fit`).
    spread : chi^2 of the PSF fit minus chi^2 of the broadened PSF's (positive: resolved).
    """

    centre: tuple[float, float]
    centre_error: float
    flux: float
    half_light_radius: float
    axis_ratio: float
    angle: float
    sigma_major: float
    sigma_minor: float
    peak: float
    npix: int
    segment: int
    point: bool
    psf_chi2: float
    spread: float


@dataclass(frozen=True)
class Detection:
    """What :func:`detect_sources` found: ``sources`` (brightest first), the ``segmentation`` map ((N_y, N_x) int32,
    0 = sky, else ``Source.segment``) and the PSF's half-light radius (arcsec) used to call sources unresolved."""

    sources: list
    segmentation: np.ndarray
    psf_half_light_radius: float


def _native(array) -> np.ndarray:
    # a writeable, C-ordered, native-endian float64 copy: SEP refuses read-only buffers (the dataset's arrays are)
    return np.array(array, dtype=np.float64, order="C", copy=True)


def psf_half_light_radius(psf, pixel_scale: float) -> float:
    """Half-light radius (arcsec) of a PSF image (odd shape, centred on its central pixel) by the same circular
    aperture photometry as the sources (SEP ``flux_radius``, sub-pixel sampling 5), normalised to its sum."""
    import sep

    psf = _native(psf)
    ky, kx = psf.shape
    if ky == 1 and kx == 1:
        return 0.5 * pixel_scale  # no PSF: a point fills one pixel
    radius, _ = sep.flux_radius(psf, np.array([kx // 2], float), np.array([ky // 2], float), np.array([min(ky, kx) / 2.0]),
                                0.5, normflux=np.array([psf.sum()]), subpix=5)
    return float(radius[0]) * pixel_scale


def psf_fit(data, noise, mask, psf, y: float, x: float, radius: float) -> tuple[float, float, int, tuple[float, float]]:
    """(chi^2 per degree of freedom, flux, degrees of freedom, (row, column)) of the weighted linear least-squares fit
    of f P(r - r0) + f_x dP/dx + f_y dP/dy + c + g_x (x - x0) + g_y (y - y0) to the unmasked pixels within ``radius``
    pixels of r0 = (y, x) (array indices: row, column; ``data``, ``noise`` (1 sigma), ``mask`` (True = excluded) are
    (N_y, N_x) arrays, ``psf`` an odd-sized image). P is the unit-sum PSF interpolated at the offsets (cubic B-spline,
    ``scipy.ndimage.map_coordinates``); its first derivatives absorb a sub-pixel error in the position (a linearised
    shift, d = -(f_y, f_x) / f), and the fit is repeated at r0 + d up to ``PSF_FIT_ITERATIONS`` times (while
    |d| <= 1 pixel); the plane takes up a neighbour's wings. ``flux`` = f, the point source's total flux; the
    position is the last r0. DAOPHOT's PSF fitting (Stetson 1987, PASP 99, 191) in a local window.
    (nan, nan, 0, (y, x)) when fewer than 10 pixels remain."""
    for _ in range(PSF_FIT_ITERATIONS):
        chi2, flux, dof, shift = _psf_fit_once(data, noise, mask, psf, y, x, radius)
        if not (math.isfinite(flux) and flux > 0) or math.hypot(*shift) > 1.0:
            break  # no point-like core to re-centre on: the first fit stands
        y, x = y + shift[0], x + shift[1]
    return chi2, flux, dof, (y, x)


def broadened_psf(psf, sigma_pixels: float) -> np.ndarray:
    """The PSF image convolved with a circular Gaussian of ``sigma_pixels`` (``scipy.ndimage.gaussian_filter``),
    renormalised to the PSF's sum: the image of a barely resolved source."""
    from scipy import ndimage

    broad = ndimage.gaussian_filter(np.asarray(psf, dtype=np.float64), sigma_pixels, mode="constant")
    return broad * (np.sum(psf) / np.sum(broad))


def _psf_fit_once(data, noise, mask, psf, y, x, radius):
    from scipy import ndimage

    ky, kx = psf.shape
    ny, nx = data.shape
    r = int(math.ceil(radius))
    i0, j0 = int(round(y)), int(round(x))
    rows = np.arange(max(i0 - r, 0), min(i0 + r + 1, ny))
    cols = np.arange(max(j0 - r, 0), min(j0 + r + 1, nx))
    ii, jj = np.meshgrid(rows, cols, indexing="ij")
    use = ((ii - y) ** 2 + (jj - x) ** 2 <= radius * radius) & ~mask[ii, jj]
    ii, jj = ii[use], jj[use]
    if ii.size < 10:
        return math.nan, math.nan, 0, (0.0, 0.0)
    dy, dx = ii - y, jj - x
    unit = psf / psf.sum()
    coords = np.array([dy + ky // 2, dx + kx // 2])
    p = ndimage.map_coordinates(unit, coords, order=3, mode="constant")
    h = 0.5
    p_x = (ndimage.map_coordinates(unit, coords + [[0.0], [h]], order=3, mode="constant")
           - ndimage.map_coordinates(unit, coords - [[0.0], [h]], order=3, mode="constant")) / (2 * h)
    p_y = (ndimage.map_coordinates(unit, coords + [[h], [0.0]], order=3, mode="constant")
           - ndimage.map_coordinates(unit, coords - [[h], [0.0]], order=3, mode="constant")) / (2 * h)
    design = np.column_stack([p, p_x, p_y, np.ones_like(p), dx, dy]) / noise[ii, jj][:, None]
    target = data[ii, jj] / noise[ii, jj]
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coefficients
    dof = ii.size - design.shape[1]
    f = float(coefficients[0])
    # f P(r - r0 - d) ~ f P(r - r0) - f d . grad P: the position is off by d = -(f_y, f_x) / f
    shift = (-float(coefficients[2]) / f, -float(coefficients[1]) / f) if f != 0 else (0.0, 0.0)
    return float(residual @ residual / dof), f, int(dof), shift


def detect_sources(dataset, threshold: float = 1.5, minarea: int = 5, deblend_cont: float = 0.005,
                   deblend_nthresh: int = 32, point_delta_chi2: float = POINT_SOURCE_DELTA_CHI2) -> Detection:
    """Detect the sources of ``dataset`` (an ``Imaging``; sky-subtracted data, 1-sigma noise map, mask, PSF) with SEP.

    Parameters
    ----------
    threshold : float
        Detection threshold in units of the noise map (after SEP's default 3x3 matched filter).
    minarea : int
        Fewest pixels of a source.
    deblend_cont, deblend_nthresh :
        SEP's deblending contrast and number of thresholds (SExtractor's DEBLEND_MINCONT, DEBLEND_NTHRESH).
    point_delta_chi2 : float
        A source whose PSF fit (:func:`psf_fit`) is worse than the broadened PSF's by at most this is unresolved
        (``Source.point``); its flux is then the PSF fit's. A negative value calls every source extended.

    Returns a :class:`Detection`, sources sorted by flux, brightest first (an empty list when nothing is above the
    threshold). Raises DatasetError for a non-positive threshold or minarea, or pixel scales that differ in x and y
    (SEP's apertures are circular in pixels).
    """
    import sep

    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold > 0):
        raise DatasetError(f"detect_sources: threshold must be a positive number of noise sigmas, got {threshold!r}")
    if isinstance(minarea, bool) or not isinstance(minarea, (int, np.integer)) or minarea < 1:
        raise DatasetError(f"detect_sources: minarea must be a positive integer (pixels), got {minarea!r}")
    ps_y, ps_x = dataset.pixel_scales
    if not math.isclose(ps_y, ps_x, rel_tol=1e-9):
        raise DatasetError(f"detect_sources needs square pixels, got pixel scales {dataset.pixel_scales}")
    ps = ps_x
    data, noise = _native(dataset.data), _native(dataset.noise_map)
    mask = np.array(dataset.mask.array, dtype=bool, order="C", copy=True)
    # SEP treats masked pixels as zero data with infinite noise; noise there may be anything, so give it a value.
    noise = np.where(mask, 1.0, noise)
    data = np.where(mask, 0.0, data)
    ny, nx = data.shape
    psf_r50 = psf_half_light_radius(dataset.psf, ps)
    objects, segmentation = sep.extract(data, threshold, err=noise, mask=mask, minarea=int(minarea),
                                        deblend_nthresh=int(deblend_nthresh), deblend_cont=float(deblend_cont),
                                        segmentation_map=True)
    if len(objects) == 0:
        return Detection([], np.asarray(segmentation, dtype=np.int32), psf_r50)
    segmentation = np.ascontiguousarray(segmentation, dtype=np.int32)
    ids = np.arange(1, len(objects) + 1, dtype=np.int32)
    x, y = objects["x"].astype(float), objects["y"].astype(float)
    a = np.maximum(objects["a"].astype(float), 1e-3)
    b = np.clip(objects["b"].astype(float), 1e-3, a)
    theta = np.clip(objects["theta"].astype(float), -math.pi / 2, math.pi / 2)
    kron, _ = sep.kron_radius(data, x, y, a, b, theta, 6.0, mask=mask, segmap=segmentation, seg_id=ids)
    kron = np.where(np.isfinite(kron) & (kron > 0), kron, KRON_MINIMUM)
    r = np.maximum(KRON_FACTOR * kron, KRON_MINIMUM)
    flux, _, _ = sep.sum_ellipse(data, x, y, a, b, theta, r, mask=mask, segmap=segmentation, seg_id=ids, subpix=1)
    isophotal = objects["flux"].astype(float)
    flux = np.where(np.isfinite(flux) & (flux > 0), flux, isophotal)
    r50, _ = sep.flux_radius(data, x, y, 6.0 * a, 0.5, normflux=flux, mask=mask, segmap=segmentation, seg_id=ids, subpix=5)
    r50 = np.where(np.isfinite(r50) & (r50 > 0), r50, np.sqrt(a * b))
    psf = np.asarray(dataset.psf, dtype=np.float64)
    fit_radius = max(PSF_FIT_RADIUS * psf_r50 / ps, 2.5)
    broad = broadened_psf(psf, max(0.5, BROADENING * psf_r50 / ps / math.sqrt(2.0 * math.log(2.0))))
    tests = [psf_fit(data, noise, mask, psf, float(y[k]), float(x[k]), fit_radius) for k in range(len(objects))]
    spreads = [c * d - psf_fit(data, noise, mask, broad, float(y[k]), float(x[k]), fit_radius)[0] * d
               for k, (c, _, d, _) in enumerate(tests)]
    point = np.array([point_delta_chi2 >= 0 and psf.size > 1 and math.isfinite(spread) and f > 0 and spread <= point_delta_chi2
                      and radius * ps <= EXTENDED_SIZE_RATIO * psf_r50
                      for (_, f, _, _), spread, radius in zip(tests, spreads, r50)])
    flux = np.where(point, [f for _, f, _, _ in tests], flux)
    # a star's position from its PSF fit (the barycentre of its isophote is pulled by a neighbour's wing)
    y = np.where(point, [position[0] for *_, position in tests], y)
    x = np.where(point, [position[1] for *_, position in tests], x)
    sources = []
    for k in np.argsort(-flux):
        half = float(r50[k]) * ps
        sources.append(Source(
            centre=((float(y[k]) - (ny - 1) / 2.0) * ps, (float(x[k]) - (nx - 1) / 2.0) * ps),
            centre_error=math.sqrt(max(float(objects["errx2"][k]) + float(objects["erry2"][k]), 0.0) / 2.0) * ps,
            flux=float(flux[k]), half_light_radius=half, axis_ratio=float(b[k] / a[k]),
            angle=math.degrees(float(theta[k])), sigma_major=float(a[k]) * ps, sigma_minor=float(b[k]) * ps,
            peak=float(objects["peak"][k]), npix=int(objects["npix"][k]), segment=int(ids[k]),
            point=bool(point[k]), psf_chi2=float(tests[k][0]), spread=float(spreads[k])))
    return Detection(sources, segmentation, psf_r50)
