"""A crowded field in one step (issue 16): SEP detection (galaxyfit.detect), a model with a galaxy per source
(galaxyfit.model.crowded) and Levenberg-Marquardt from the detections back to the simulated truth.

The field is a small version of bench/bench_crowded.py's: 64x64 pixels of 0.1", a 21x21 Gaussian PSF (sigma 0.15"),
two Sersic galaxies and a star on one galaxy's outskirts (1.2" from its centre).
"""

import math
import warnings

import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.detect import detect_sources, psf_fit
from galaxyfit.errors import DatasetError, ModelError
from galaxyfit.model.crowded import CENTRE_SIGMA_PIXELS, crowded_field_model
from galaxyfit.model.data_priors import centroid_outside_prior_warning
from galaxyfit.model.priors import GaussianPrior
from galaxyfit.profiles.geometry import ell_comps_to_numpy
from galaxyfit.search import LevenbergMarquardt
from galaxyfit.simulate import gaussian_psf, simulate_imaging

PS = 0.1
TRUTH = [
    gf.lp.Sersic(centre=(1.0, -1.0), ell_comps=ell_comps_to_numpy(0.7, 40.0), intensity=0.6, effective_radius=0.5, sersic_index=1.5),
    gf.lp.Sersic(centre=(-1.5, 1.4), ell_comps=ell_comps_to_numpy(0.6, 110.0), intensity=0.8, effective_radius=0.35, sersic_index=2.5),
    gf.lp.PointSource(centre=(1.7, 0.0), intensity=15.0),
]


@pytest.fixture(scope="module")
def field():
    psf = gaussian_psf((21, 21), 0.15, PS)
    dataset, _ = simulate_imaging([gf.Galaxy(0.5, light=p) for p in TRUTH], (64, 64), PS, psf, exposure_time=300.0, seed=7)
    return dataset


def nearest(centre):
    return min(TRUTH, key=lambda p: math.hypot(p.centre[0] - centre[0], p.centre[1] - centre[1]))


def test_detection_finds_every_source_within_a_pixel_and_tells_stars_from_galaxies(field):
    detection = detect_sources(field)
    assert len(detection.sources) == 3
    assert [s.flux for s in detection.sources] == sorted((s.flux for s in detection.sources), reverse=True)
    for source in detection.sources:
        truth = nearest(source.centre)
        assert math.hypot(source.centre[0] - truth.centre[0], source.centre[1] - truth.centre[1]) < PS
        assert source.point == isinstance(truth, gf.lp.PointSource)
        assert np.count_nonzero(detection.segmentation == source.segment) == source.npix
    star = next(s for s in detection.sources if s.point)
    assert star.flux == pytest.approx(15.0, rel=0.05)  # the PSF fit's flux, the galaxy's wing taken by the plane
    # the PSF's half-light radius: a Gaussian's is sigma sqrt(2 ln 2); aperture photometry spreads each sampled value
    # over its pixel, a box of variance ps^2 / 12 added to sigma^2
    sigma = math.sqrt(0.15**2 + PS**2 / 12.0)
    assert detection.psf_half_light_radius == pytest.approx(sigma * math.sqrt(2.0 * math.log(2.0)), rel=0.01)
    with pytest.raises(DatasetError, match="threshold must be a positive number"):
        detect_sources(field, threshold=0.0)


def test_the_psf_fit_of_a_star_is_chi2_one_and_its_flux():
    psf = gaussian_psf((21, 21), 0.15, PS)
    star = gf.lp.PointSource(centre=(0.23, -0.31), intensity=40.0)
    dataset, model = simulate_imaging([gf.Galaxy(0.5, light=star)], (41, 41), PS, psf, exposure_time=300.0, seed=2)
    row, column = 0.23 / PS + 20.0, -0.31 / PS + 20.0
    data, noise = np.array(dataset.data), np.array(dataset.noise_map)
    chi2, flux, dof, (fit_row, fit_column) = psf_fit(data, noise, np.zeros(data.shape, bool), psf, row + 0.2, column - 0.1, 5.0)
    assert abs(dof - (math.pi * 25.0 - 6)) < 6  # the pixels within 5 of the position, less the 6 coefficients
    assert abs(chi2 - 1.0) < 5.0 * math.sqrt(2.0 / dof)
    assert flux == pytest.approx(40.0, rel=0.02)
    assert math.hypot(fit_row - row, fit_column - column) < 0.05  # the 0.2-pixel start error, re-centred away
    noiseless = psf_fit(np.array(model), noise, np.zeros(data.shape, bool), psf, row, column, 5.0)
    # PointSource shifts the PSF by Keys' cubic convolution, psf_fit by a cubic B-spline: close, not identical
    assert noiseless[0] < 0.02 and noiseless[1] == pytest.approx(40.0, rel=1e-3)


def test_the_model_has_a_galaxy_per_source_with_priors_at_the_detections(field):
    crowded = crowded_field_model(field, sky=True)
    model, detection = crowded.model, crowded.detection
    assert list(model.galaxies._attributes) == ["galaxy_0", "galaxy_1", "galaxy_2"]
    assert model.prior_count == 7 + 7 + 3 + 1
    assert crowded.start.shape == (model.prior_count,) and crowded.dataset is field
    for k, source in enumerate(detection.sources):
        galaxy = getattr(model.galaxies, f"galaxy_{k}")
        component = galaxy.point_source if source.point else galaxy.bulge
        assert component.cls is (gf.lp.PointSource if source.point else gf.lp.Sersic)
        for prior, value in zip(component.centre, source.centre):
            assert isinstance(prior, GaussianPrior) and prior.mean == value and prior.sigma >= CENTRE_SIGMA_PIXELS * PS
        lower, upper = component.intensity.limits
        assert lower < crowded.start[model.parameter_names.index(f"galaxies.galaxy_{k}.{'point_source' if source.point else 'bulge'}.intensity")] < upper
    with warnings.catch_warnings():  # the brightest source's centroid lies in galaxy_0's centre prior: no warning
        warnings.simplefilter("error")
        assert centroid_outside_prior_warning(model, field) == []
    # neighbours masked: one galaxy, the others' segments (grown) masked, the primary's kept
    masked = crowded_field_model(field, neighbours="mask", mask_grow=2)
    assert list(masked.model.galaxies._attributes) == ["galaxy_0"] and masked.model.prior_count == 7
    seg = masked.detection.segmentation
    primary = masked.detection.sources[0].segment
    assert masked.dataset.mask.array[(seg > 0) & (seg != primary)].all()
    assert not masked.dataset.mask.array[seg == primary].any()
    with pytest.raises(ModelError, match="neighbours must be 'model' or 'mask'"):
        crowded_field_model(field, neighbours="subtract")
    with pytest.raises(ModelError, match="primary must be the index of a detected source"):
        crowded_field_model(field, neighbours="mask", primary=3)
    blank = gf.Imaging(np.zeros((32, 32)), np.ones((32, 32)), None, PS)
    with pytest.raises(ModelError, match="no source detected"):
        crowded_field_model(blank)


def test_lm_from_the_detections_recovers_the_truth(field):
    crowded = crowded_field_model(field)
    model = crowded.model
    result = LevenbergMarquardt(initial=crowded.start, check=False).fit(model, gf.AnalysisImaging(field))
    best = result.max_log_likelihood_vector
    errors = np.array(result.search["errors"])
    truth = {}
    for name, galaxy in model.galaxies._attributes.items():
        component_name, component = next((k, v) for k, v in galaxy._attributes.items() if k != "redshift")
        centre = (component.centre[0].mean, component.centre[1].mean)
        for field_name in component._attributes:
            value = getattr(nearest(centre), field_name)
            for i, v in enumerate(value if isinstance(value, tuple) else (value,)):
                suffix = f"_{i}" if isinstance(value, tuple) else ""
                truth[f"galaxies.{name}.{component_name}.{field_name}{suffix}"] = v
    true = np.array([truth[n] for n in model.parameter_names])
    pulls = (best - true) / errors
    assert np.all(np.isfinite(errors)) and np.max(np.abs(pulls)) < 5.0, dict(zip(model.parameter_names, pulls.round(2)))
    # and the optimum is at least as good as the truth (chi^2 of the truth from the same analysis)
    analysis = gf.AnalysisImaging(field)
    assert result.search["chi_squared"] <= float(analysis.fit_from(model.instance_from_vector(true)).chi_squared)


def test_a_faint_wide_galaxy_is_not_called_a_star():
    """From a new user's field: an exponential of R_e 0.8" (6x the PSF's half-light radius) barely changes the chi^2
    of a PSF-sized fit, so the PSF-vs-broadened-PSF test alone called it unresolved; its measured size decides."""
    import galaxyfit as gf
    from galaxyfit.detect import detect_sources
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    galaxies = [gf.Galaxy(None, bulge=gf.lp.Sersic(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), intensity=1.0, effective_radius=0.6, sersic_index=3.0)),
                gf.Galaxy(None, disk=gf.lp.Exponential(centre=(3.0, -3.5), ell_comps=(0.2, -0.1), intensity=0.4, effective_radius=0.8)),
                gf.Galaxy(None, star=gf.lp.PointSource(centre=(-2.0, -4.0), intensity=500.0))]
    dataset, _ = simulate_imaging(galaxies, (120, 120), 0.1, gaussian_psf((21, 21), 0.1, 0.1), exposure_time=150.0, seed=3)
    sources = detect_sources(dataset).sources
    assert len(sources) == 3

    def at(y, x):
        return min(sources, key=lambda s: (s.centre[0] - y) ** 2 + (s.centre[1] - x) ** 2)

    assert not at(3.0, -3.5).point and at(3.0, -3.5).half_light_radius > 0.5
    assert at(-2.0, -4.0).point and not at(0.0, 0.0).point
