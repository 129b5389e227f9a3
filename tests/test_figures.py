"""Figures (galaxyfit.plot): files are real PNGs, colour scales are what the docstrings promise, the arcsec axes put
light where it is, the radial profile matches analytic profiles, the fit figure is fast enough for quick updates, and
figures that cannot be drawn are skipped without an error."""

import logging
import time

import numpy as np
import pytest
from scipy.special import gammaincinv

import galaxyfit as gf
from galaxyfit.plot import (annulus_radii, fit_figure, over_sampling_map, radial_profile, save_corner_figure,
                            save_dataset_figure, save_fit_figure, save_fit_figures, save_galaxy_figures,
                            save_radial_profile_figure, save_reconstruction_figure)
from galaxyfit.search.samples import Samples
from galaxyfit.simulate import gaussian_psf, simulate_imaging

PS = 0.1


def assert_png(path, min_size=(300, 300)):
    """``path`` is a PNG (signature) of at least ``min_size`` (width, height) pixels."""
    from PIL import Image

    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", path
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1], (path, image.size)


@pytest.fixture(scope="module")
def two_galaxies():
    """A 200 x 200 image (0.1"/pixel) of a bulge + disk galaxy and an off-centre companion, circular 8" mask, and a
    fit with linear profiles for the main galaxy and a slightly wrong companion."""
    main = gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), intensity=1.0,
                                            effective_radius=0.6, sersic_index=4.0),
                     disk=gf.lp.Exponential(centre=(0.0, 0.0), ell_comps=(0.29, -0.17), intensity=0.25,
                                            effective_radius=1.6))
    companion = gf.Galaxy(0.5, light=gf.lp.Sersic(centre=(3.0, -4.0), ell_comps=(0.0, 0.2), intensity=0.5,
                                                  effective_radius=0.4, sersic_index=1.5))
    dataset, _ = simulate_imaging(gf.Galaxies([main, companion]), (200, 200), PS, gaussian_psf((11, 11), 0.1, PS),
                                  exposure_time=300.0, seed=1)
    dataset = dataset.apply_mask(gf.Mask.circular(dataset.shape, PS, 8.0))
    linear = gf.Galaxy(0.5, bulge=gf.lp_linear.Sersic(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), effective_radius=0.6,
                                                     sersic_index=4.0),
                       disk=gf.lp_linear.Exponential(centre=(0.0, 0.0), ell_comps=(0.29, -0.17), effective_radius=1.6))
    wrong = gf.Galaxy(0.5, light=gf.lp.Sersic(centre=(3.0, -4.0), ell_comps=(0.0, 0.2), intensity=0.4,
                                              effective_radius=0.4, sersic_index=1.5))
    fit = gf.FitImaging(dataset, [linear, wrong], galaxy_names=["main", "companion"])
    np.asarray(fit.blurred_image_slim)  # the fit's own cost, not the figures'
    return dataset, fit


def posterior(n, d=4, seed=0):
    rng = np.random.default_rng(seed)
    names = [f"galaxies.galaxy.bulge.p{i}" for i in range(d)]
    parameters = rng.normal(size=(n, d)) * 0.1 + np.arange(d)
    return Samples(parameters, np.zeros(n), np.exp(-0.5 * np.sum((parameters - np.arange(d)) ** 2, axis=1)), names)


# ---- fit.png ------------------------------------------------------------------------------------------------------


def test_fit_figure_scales_titles_and_axes(two_galaxies):
    _, fit = two_galaxies
    figure = fit_figure(fit, title="NGC 1")
    axes = figure.axes[:6]
    images = [ax.images[0] for ax in axes]
    data, sn, model, residual, normalized, chi2 = images
    assert data.norm is model.norm  # one normalisation object: equal limits and stretch
    assert (data.norm.vmin, data.norm.vmax) == (model.norm.vmin, model.norm.vmax)
    for shown in (residual, normalized):
        assert shown.norm.vmin == pytest.approx(-shown.norm.vmax) and shown.norm.vmax > 0
        assert shown.get_cmap().name.startswith("RdBu")
    assert normalized.norm.vmax >= 3.0 and chi2.norm.vmin == 0.0 and sn.norm.vmin == 0.0
    assert all(ax.get_title().startswith("NGC 1: ") for ax in axes)
    assert figure._suptitle.get_text().startswith("NGC 1: ")
    units = [figure.axes[6 + k].get_ylabel() for k in range(6)]
    assert units == ["data units", "S/N", "data units", "data units", "σ", "χ²"]
    # masked pixels are blank (NaN), and the window is the mask's bounding box in arcsec
    assert np.isnan(data.get_array()[0, 0]) or np.ma.is_masked(data.get_array()[0, 0])
    left, right, bottom, top = data.get_extent()
    assert left == pytest.approx(-8.1 - 0.05, abs=0.11) and top == pytest.approx(8.1 + 0.05, abs=0.11)


def test_arcsec_axes_put_light_where_it_is():
    """A compact source at (y, x) = (+1.0, +0.5)" is drawn at (+1.0, +0.5) on the axes: row 0 at the bottom
    (origin="lower"), (0, 0) at the image centre as in galaxyfit.dataset.pixels."""
    source = gf.Galaxy(0.5, light=gf.lp.Gaussian(centre=(1.0, 0.5), ell_comps=(0.0, 0.0), intensity=50.0, sigma=0.15))
    dataset, _ = simulate_imaging(gf.Galaxies([source]), (40, 50), PS, gaussian_psf((5, 5), 0.05, PS),
                                  exposure_time=1000.0, seed=2)
    fit = gf.FitImaging(dataset, [source])
    shown = fit_figure(fit).axes[0].images[0]
    array = np.ma.filled(shown.get_array(), np.nan)
    i, j = np.unravel_index(np.nanargmax(array), array.shape)
    left, right, bottom, top = shown.get_extent()
    x = left + (j + 0.5) * (right - left) / array.shape[1]
    y = bottom + (i + 0.5) * (top - bottom) / array.shape[0]
    assert (y, x) == (pytest.approx(1.0, abs=0.051), pytest.approx(0.5, abs=0.051))


def test_fit_figure_renders_200x200_in_under_a_second(two_galaxies, tmp_path):
    """Quick updates redraw fit.png many times during a search: after the first call (fonts, colour maps, the kept
    figure) a 200 x 200 fit must draw in under a second (asserted < 2 s for a loaded CI machine)."""
    from galaxyfit.plot import fit as fit_module

    dataset, fit = two_galaxies
    fit_module._TEMPLATES.clear()
    start = time.perf_counter()
    save_fit_figure(fit, tmp_path / "first.png", title="quick update")
    first = time.perf_counter() - start
    other = gf.FitImaging(dataset, fit.galaxies, galaxy_names=["main", "companion"])  # a new fit: new arrays
    walls, cpus = [], []
    for k in range(3):
        start, cpu = time.perf_counter(), time.process_time()
        save_fit_figure(other if k % 2 else fit, tmp_path / "fit.png", title="quick update")
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    print(f"fit.png 200x200: first call {first:.3f} s; then wall {[round(t, 3) for t in walls]} s, "
          f"cpu {[round(t, 3) for t in cpus]} s")
    assert_png(tmp_path / "fit.png", (1000, 600))
    assert min(walls) < 2.0  # target < 1 s; 2 s leaves room for a loaded CI machine


def test_kept_fit_figure_draws_what_a_fresh_one_draws(two_galaxies, tmp_path):
    """The figure kept between quick updates, redrawn for a second fit, is pixel for pixel the fresh figure."""
    from PIL import Image

    from galaxyfit.plot import fit as fit_module

    dataset, fit = two_galaxies
    truth = [gf.Galaxy(0.5, light=gf.lp.Sersic(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), intensity=1.0,
                                               effective_radius=0.6, sersic_index=4.0))]
    second = gf.FitImaging(dataset, truth)
    fit_module._TEMPLATES.clear()
    save_fit_figure(fit, tmp_path / "first.png", title="t")
    save_fit_figure(second, tmp_path / "kept.png", title="t")
    fit_module._TEMPLATES.clear()
    save_fit_figure(second, tmp_path / "fresh.png", title="t")
    kept, fresh = (np.asarray(Image.open(tmp_path / name)) for name in ("kept.png", "fresh.png"))
    assert kept.shape == fresh.shape and np.array_equal(kept, fresh)


# ---- dataset.png, subtracted images ---------------------------------------------------------------------------------


def test_dataset_figure_and_over_sampling_map(two_galaxies, tmp_path):
    dataset, _ = two_galaxies
    assert save_dataset_figure(dataset, tmp_path / "dataset.png", title_prefix="NGC 1") == str(tmp_path / "dataset.png")
    assert_png(tmp_path / "dataset.png", (1000, 600))
    uniform, note = over_sampling_map(dataset, gf.OverSampling.pyautogalaxy(4))
    unmasked = ~dataset.mask.array
    assert np.all(uniform[unmasked] == 4) and set(np.unique(uniform[~unmasked])) == {0.0, 1.0}
    assert "uniform" in note
    adaptive, note = over_sampling_map(dataset, gf.Settings())
    assert np.all(adaptive[unmasked] == 1) and "adaptive" in note and "pixelizations: 4²" in note
    with pytest.raises(TypeError, match="over_sampling"):
        over_sampling_map(dataset, 4)


def test_subtracted_images_remove_the_other_galaxies(two_galaxies, tmp_path):
    _, fit = two_galaxies
    paths = save_galaxy_figures(fit, tmp_path, None, title_prefix="NGC 1")
    assert set(paths) == {"main", "companion"}
    for path in paths.values():
        assert_png(path, (1000, 300))
    from galaxyfit.plot.galaxies import galaxy_images

    data, images = galaxy_images(fit)
    model = fit.plan.native_from_slim(np.asarray(fit.blurred_image_slim), fill=np.nan)
    np.testing.assert_allclose(np.nansum(images, axis=0)[~fit.dataset.mask.array], model[~fit.dataset.mask.array],
                               rtol=1e-8, atol=1e-12)
    with pytest.raises(ValueError, match="2 galaxies"):
        save_galaxy_figures(fit, tmp_path, ["only one"])


# ---- radial profile -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gaussian", "sersic"])
def test_radial_profile_of_a_noiseless_model_is_the_analytic_profile(kind):
    """Annulus means of a noiseless, pixel-integrated model (no PSF) at their mean radius against the profile's formula,
    written here: an elliptical Gaussian (major-axis radius r: I0 exp(-q^2 r^2 / (2 sigma^2))) and a circular
    Sersic (b_n from scipy's inverse incomplete gamma function)."""
    if kind == "gaussian":
        q, angle, sigma = 0.6, 30.0, 0.5
        from galaxyfit.profiles.geometry import ell_comps_to_numpy

        profile = gf.lp.Gaussian(centre=(0.3, -0.2), ell_comps=ell_comps_to_numpy(q, angle), intensity=2.0, sigma=sigma)

        def analytic(r):
            return 2.0 * np.exp(-(q * r) ** 2 / (2 * sigma**2))
    else:
        q, n, r_e = 1.0, 2.0, 0.8
        b = gammaincinv(2 * n, 0.5)
        profile = gf.lp.Sersic(centre=(0.3, -0.2), ell_comps=(0.0, 0.0), intensity=1.5, effective_radius=r_e,
                               sersic_index=n)

        def analytic(r):
            return 1.5 * np.exp(-b * ((r / r_e) ** (1 / n) - 1))
    from galaxyfit.simulate import blurred_model_image

    image = blurred_model_image([gf.Galaxy(0.5, light=profile)], (80, 80), PS, np.ones((1, 1)))
    radii = annulus_radii(image.shape, PS, profile.centre, np.asarray(profile.quadratic_form(), dtype=float), q)
    edges = np.arange(0.0, 2.5, 0.1)
    measured = radial_profile(image, radii, edges)
    for target in (0.4, 0.8, 1.5):
        k = int(np.argmin(np.abs(measured.radius - target)))
        assert measured.value[k] == pytest.approx(analytic(measured.radius[k]), rel=0.03), (kind, target)
    # errors from a noise map: sqrt(sum sigma^2) / n
    noisy = radial_profile(image, radii, edges, noise=np.full(image.shape, 0.2))
    np.testing.assert_allclose(noisy.error, 0.2 / np.sqrt(noisy.count))


def test_radial_profile_figure(two_galaxies, tmp_path):
    _, fit = two_galaxies
    path = save_radial_profile_figure(fit, tmp_path / "radial_profile.png", title_prefix="NGC 1")
    assert_png(path, (600, 600))
    assert save_radial_profile_figure(fit, tmp_path / "circles.png", elliptical=False)


# ---- corner --------------------------------------------------------------------------------------------------------


def test_corner_figure(tmp_path, caplog):
    path = save_corner_figure(posterior(2000), tmp_path / "corner.png", title_prefix="NGC 1")
    assert_png(path, (600, 600))
    with caplog.at_level(logging.WARNING):
        assert save_corner_figure(posterior(3, d=4), tmp_path / "few.png") is None
    assert not (tmp_path / "few.png").exists() and "skipped" in caplog.text
    constant = posterior(500)
    constant.parameters[:, 1] = 0.7  # a fixed parameter: corner itself would raise "no dynamic range"
    assert_png(save_corner_figure(constant, tmp_path / "constant.png", max_parameters=2), (300, 300))
    assert_png(save_corner_figure(posterior(12, d=4), tmp_path / "small.png"), (300, 300))


# ---- reconstruction and everything at once ------------------------------------------------------------------------


def test_reconstruction_figure_only_with_a_mesh(two_galaxies, tmp_path):
    psf = gaussian_psf((5, 5), 0.1, PS)
    truth = [gf.Galaxy(0.5, light=gf.lp.Sersic(centre=(0.05, -0.02), ell_comps=(0.1, 0.05), intensity=2.0,
                                               effective_radius=0.5, sersic_index=2.0))]
    dataset, _ = simulate_imaging(truth, (24, 24), PS, psf, exposure_time=300.0, seed=3)
    dataset = dataset.apply_mask(gf.Mask.circular(dataset.shape, PS, 1.0))
    pixelization = gf.Pixelization(mesh=gf.mesh.RectangularUniform(shape=(8, 8)),
                                   regularization=gf.reg.Constant(coefficient=1.0))
    fit = gf.FitImaging(dataset, [gf.Galaxy(0.5, pixelization=pixelization)])
    path = save_reconstruction_figure(fit, tmp_path / "reconstruction.png", title_prefix="NGC 1")
    assert_png(path, (1000, 250))
    assert save_reconstruction_figure(two_galaxies[1], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_save_fit_figures_keeps_going_when_one_fails(two_galaxies, tmp_path, caplog):
    _, fit = two_galaxies
    start = time.perf_counter()
    written = save_fit_figures(fit, tmp_path, samples=posterior(1000), title_prefix="NGC 1")
    print(f"all figures after a 200x200 fit: {time.perf_counter() - start:.2f} s")
    assert set(written) == {"fit", "subtracted_main", "subtracted_companion", "radial_profile", "corner"}
    for path in written.values():
        assert_png(path)
    with caplog.at_level(logging.WARNING):
        written = save_fit_figures(fit, tmp_path / "again", samples=object())  # not Samples: the corner fails
    assert "corner" not in written and "fit" in written and "radial_profile" in written
    assert "figure corner" in caplog.text
