"""What Imfit, GALFIT and PyAutoGalaxy users expect of the command and the package: PyAutoGalaxy's grid/mask/image
names (number for number, FITS order), fit statistics as Imfit reports them, sizes in kpc only with a redshift, a
cheap ``import galaxyfit`` and ``--help``, and SIGTERM handled like Ctrl-C."""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import galaxyfit as gf

# PyAutoGalaxy 2026.10.26.1's values, made by (bench/.peers-venv/bin/python):
#   grid = ag.Grid2D.uniform(shape_native=(4, 5), pixel_scales=0.2)
#   s = ag.lp.Sersic(centre=(0.1, -0.05), ell_comps=(0.2, -0.1), intensity=2.0, effective_radius=0.5, sersic_index=2.5)
#   e = ag.lp.Exponential(centre=(-0.1, 0.05), ell_comps=(-0.1, 0.1), intensity=0.5, effective_radius=0.8)
#   s.image_2d_from(grid=grid).native; ag.Galaxy(redshift=0.5, bulge=s, disk=e).image_2d_from(grid=grid).native
#   ag.Mask2D.circular(shape_native=(7, 7), pixel_scales=0.1, radius=0.25, centre=(0.1, 0.0))
# (their .native: row 0 at the top)
PYAG_SERSIC = np.array([
    [2.033092746246573, 5.069726304023931, 9.866926514175223, 5.462473035995554, 2.2377586792487776],
    [3.0900032100120622, 11.242857287804554, 24.306350047450263, 5.404728314473331, 1.9439390200173414],
    [3.445723333120353, 8.32615504145144, 8.053840569318806, 3.13719812179252, 1.3771924095000683],
    [2.6172670254352393, 3.733628099827465, 3.0164596346622323, 1.6822492382461967, 0.9015737699220481]])
PYAG_GALAXY = np.array([
    [2.8886209826971814, 6.091722791414157, 10.934424606935538, 6.419566319951191, 3.0035047251877307],
    [4.177625559827411, 12.701054344944275, 25.98882877044047, 6.879701798226236, 3.0427117272459654],
    [4.571008769403945, 9.964501893989798, 10.297958599519333, 5.096686558797256, 2.736639279741575],
    [3.5454106600257145, 5.01980292511807, 4.643425017894536, 3.295848468029847, 2.173413032052619]])
PYAG_MASK = np.array([
    [1, 1, 0, 0, 0, 1, 1], [1, 0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0, 1],
    [1, 1, 0, 0, 0, 1, 1], [1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]], dtype=bool)

REPO = Path(__file__).resolve().parents[1]


def _profiles():
    s = gf.lp.Sersic(centre=(0.1, -0.05), ell_comps=(0.2, -0.1), intensity=2.0, effective_radius=0.5, sersic_index=2.5)
    e = gf.lp.Exponential(centre=(-0.1, 0.05), ell_comps=(-0.1, 0.1), intensity=0.5, effective_radius=0.8)
    return s, e


def test_image_2d_from_matches_pyautogalaxy_in_fits_order():
    s, e = _profiles()
    grid = gf.Grid2D.uniform(shape_native=(4, 5), pixel_scales=0.2)
    image = s.image_2d_from(grid)
    assert isinstance(image, gf.Array2D) and image.native.shape == (4, 5) and image.slim.shape == (20,)
    # FITS order: our row 0 is the bottom row, PyAutoGalaxy's the top
    np.testing.assert_allclose(np.flipud(image.native), PYAG_SERSIC, rtol=1e-13)
    galaxy = gf.Galaxy(0.5, bulge=s, disk=e)
    np.testing.assert_allclose(np.flipud(galaxy.image_2d_from(grid).native), PYAG_GALAXY, rtol=1e-13)
    # the galaxy's image is the sum of its profiles'; a plain (N, 2) array of points is evaluated without averaging
    points = np.array([[0.1, -0.05], [0.3, 0.2]])
    expected = np.asarray(s.brightness_at(points[:, 0], points[:, 1]) + e.brightness_at(points[:, 0], points[:, 1]))
    np.testing.assert_allclose(np.asarray(galaxy.image_2d_from(points)), expected, rtol=1e-14)
    # one sub-pixel per pixel: the pixel centres, which the grid's coordinates are (y grows with the row)
    centres = gf.Grid2D.uniform(shape_native=(4, 5), pixel_scales=0.2, over_sample_size=1)
    assert centres.native[0, 0, 0] == pytest.approx(-0.3) and centres.native[-1, 0, 0] == pytest.approx(0.3)
    np.testing.assert_allclose(s.image_2d_from(centres).slim, np.asarray(s.brightness_at(centres.slim[:, 0], centres.slim[:, 1])))


def test_mask2d_circular_matches_pyautogalaxy():
    mask = gf.Mask2D.circular(shape_native=(7, 7), pixel_scales=0.1, radius=0.25, centre=(0.1, 0.0))
    np.testing.assert_array_equal(np.flipud(mask.array), PYAG_MASK)
    grid = gf.Grid2D.from_mask(mask)
    assert grid.slim.shape == (int((~PYAG_MASK).sum()), 2)
    assert np.all(np.hypot(grid.slim[:, 0] - 0.1, grid.slim[:, 1]) <= 0.25 + 1e-12)
    assert gf.Mask2D.circular(shape_native=(7, 7), pixel_scales=0.1, radius=0.25, invert=True).pixels_in_mask == 49 - 21
    from galaxyfit.errors import DatasetError

    with pytest.raises(DatasetError, match="shape_native"):
        gf.Mask2D.circular(shape_native=(7,), pixel_scales=0.1, radius=0.25)
    with pytest.raises(DatasetError, match="grid must be a Grid2D"):
        _profiles()[0].image_2d_from(np.zeros((3, 3)))


# ---- fit statistics ------------------------------------------------------------------------------------------------


def test_information_criteria_are_imfits():
    from galaxyfit.search.fit_statistics import information_criteria

    out = information_criteria(1000.0, 900, 7)
    assert out["degrees_of_freedom"] == 893
    assert out["reduced_chi_squared"] == pytest.approx(1000.0 / 893, rel=1e-15)
    assert out["aic"] == pytest.approx(1000.0 + 14 + 2 * 7 * 8 / (900 - 7 - 1), rel=1e-15)
    assert out["bic"] == pytest.approx(1000.0 + 7 * math.log(900), rel=1e-15)
    # Imfit's own figures for its NGC 3073 regression fit (../shared/data/n3073_sdss_r_bulge_disk_psf_mask/CASE.md,
    # from imfit_textout4): chi^2 36828.577653, 28754 valid pixels, 11 free parameters
    imfit = information_criteria(36828.577653, 28754, 11)
    assert imfit["degrees_of_freedom"] == 28743 and imfit["reduced_chi_squared"] == pytest.approx(1.281306, abs=5e-7)
    assert imfit["aic"] == pytest.approx(36850.586838, abs=5e-7) and imfit["bic"] == pytest.approx(36941.509507, abs=5e-7)
    none = information_criteria(5.0, 3, 3)
    assert math.isnan(none["reduced_chi_squared"]) and math.isnan(none["aic"])


def _lm_result(tmp_path, linear=False, redshift=None):
    from galaxyfit.model import Collection, Model
    from galaxyfit.search import LevenbergMarquardt
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    truth = gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=(0.05, -0.1), ell_comps=(0.1, 0.05), intensity=1.0, effective_radius=0.5,
                                              sersic_index=2.0))
    psf = gaussian_psf((7, 7), 0.1, 0.1)
    dataset, _ = simulate_imaging([truth], (30, 30), 0.1, psf, exposure_time=300.0, seed=3)
    cls = gf.lp_linear.Sersic if linear else gf.lp.Sersic
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=redshift, bulge=cls)))
    return LevenbergMarquardt(seed=1).fit(model, gf.AnalysisImaging(dataset)), dataset


@pytest.mark.parametrize("linear", [False, True])
def test_fit_statistics_of_a_result(tmp_path, linear):
    from galaxyfit.search.fit_statistics import component_table, fit_statistics, statistics_text

    result, dataset = _lm_result(tmp_path, linear)
    stats = fit_statistics(result)
    fit = result.max_log_likelihood_fit
    keep = ~dataset.mask.array
    chi2 = float(np.sum(((dataset.data[keep] - np.asarray(fit.model_data_slim)) / dataset.noise_map[keep]) ** 2))
    assert stats["chi_squared"] == pytest.approx(chi2, rel=1e-10)
    n, k = int((~dataset.mask.array).sum()), 7  # every Sersic parameter is fitted, solved or sampled
    assert (stats["n_pixels"], stats["n_fitted_parameters"]) == (n, k)
    assert stats["n_linear_intensities"] == (1 if linear else 0)
    assert stats["bic"] == pytest.approx(chi2 + k * math.log(n), rel=1e-12)
    assert stats["aic"] == pytest.approx(chi2 + 2 * k + 2 * k * (k + 1) / (n - k - 1), rel=1e-12)
    assert "reduced chi^2" in statistics_text(stats) and "BIC" in statistics_text(stats)
    table = component_table(result, zero_point=25.0)
    (row,) = table.values()
    flux = row["total_flux"]
    assert row["magnitude"] == pytest.approx(25.0 - 2.5 * math.log10(flux), rel=1e-14)
    imfit, galfit = row["imfit"], row["galfit"]
    centre = row["pyautogalaxy"]["centre"]
    # 1-based pixel centres: the image centre of a 30x30 image is pixel 15.5
    assert imfit["X0"] == pytest.approx(15.5 + centre[1] / 0.1, rel=1e-12)
    assert imfit["Y0"] == pytest.approx(15.5 + centre[0] / 0.1, rel=1e-12)
    assert (galfit["x"], galfit["y"], galfit["PA"], galfit["n"]) == (imfit["X0"], imfit["Y0"], imfit["PA"], imfit["n"])
    assert galfit["q"] == pytest.approx(1 - imfit["ell"], rel=1e-14) and galfit["component"] == "sersic"
    summary = result.summary()
    assert summary["fit_statistics"]["bic"] == stats["bic"] and summary["reduced_chi_squared"] == stats["reduced_chi_squared"]
    json.dumps(summary)  # every number in it is plain


def test_sizes_in_kpc_only_with_a_redshift(tmp_path):
    without, _ = _lm_result(tmp_path, redshift=None)
    assert without.latent and not any(key.endswith("_kpc") for key in without.latent)
    assert "galaxies.galaxy.bulge.total_flux" in without.latent
    with_z, _ = _lm_result(tmp_path, redshift=0.05)
    assert "galaxies.galaxy.bulge.effective_radius_kpc" in with_z.latent
    # z = 0.05 with Planck15: ~0.98 kpc per arcsec, so a ~0.5" radius is ~0.5 kpc (not the ~3 kpc of z = 0.5)
    from astropy.cosmology import Planck15

    kpc_per_arcsec = Planck15.angular_diameter_distance(0.05).to_value("kpc") * math.pi / 180 / 3600
    radius_arcsec = with_z.max_log_likelihood_instance.galaxies.galaxy.bulge.effective_radius  # circularised, as the latent
    assert with_z.latent["galaxies.galaxy.bulge.effective_radius_kpc"]["max_log_likelihood"] == pytest.approx(
        radius_arcsec * kpc_per_arcsec, rel=1e-6)


# ---- start-up cost and signals ---------------------------------------------------------------------------------------


def _python(code: str, **kwargs):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO, **kwargs)


def test_import_galaxyfit_does_not_import_jax_and_help_is_fast():
    out = _python("import sys, time; t = time.perf_counter(); import galaxyfit; d = time.perf_counter() - t; "
                  "print(d, 'jax' in sys.modules, 'numpy' in sys.modules)")
    seconds, jax_loaded, _ = out.stdout.split()
    assert jax_loaded == "False", out.stderr
    assert float(seconds) < 1.0
    # using a name loads JAX, and changes none of its process-wide settings (galaxyfit._precision, tests/test_precision.py)
    out = _python("import galaxyfit as gf, jax; gf.lp; print(jax.config.jax_enable_x64)")
    assert out.stdout.strip() == "False", out.stderr
    out = _python("from galaxyfit.fit import FitImaging; import jax; print(jax.config.jax_enable_x64)")
    assert out.stdout.strip() == "False", out.stderr
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "galaxyfit", "fit", "--help"], capture_output=True, text=True, timeout=60, cwd=REPO)
    elapsed = time.perf_counter() - start
    assert out.returncode == 0 and "--pixel-scale" in out.stdout
    assert elapsed < 2.0  # measured ~0.1 s; generous for a loaded CI machine (the bar is 0.5 s, quiet)
    out = _python("import sys; from galaxyfit import cli; cli.build_parser(); print('jax' in sys.modules, 'sqlalchemy' in sys.modules)")
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    """A fit sent SIGTERM stops with a message and exit status 143, leaving its checkpoint to resume from."""
    from galaxyfit.cli import main

    data = tmp_path / "data"
    assert main(["simulate", str(data), "--size", "40"]) == 0
    command = [sys.executable, "-m", "galaxyfit", "fit", str(data / "data.fits"), "--noise-map", str(data / "noise_map.fits"),
               "--psf", str(data / "psf.fits"), "--pixel-scale", "0.25", "--model", "sersic+exponential",
               "--output", str(tmp_path / "out"), "--name", "sigterm", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None and not list((tmp_path / "out").glob("sigterm/*/files/search_internal/*")):
        time.sleep(0.5)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "terminated (SIGTERM)" in stderr and "resume" in stderr
    assert list((tmp_path / "out").glob("sigterm/*/files/search_internal/*"))


def test_sigterm_handler_is_installed_by_the_main_thread_only(monkeypatch):
    from galaxyfit import cli

    import galaxyfit.search  # noqa: F401  (importing installs nothing)

    before = signal.getsignal(signal.SIGTERM)
    during = []
    monkeypatch.setattr(cli, "_run", lambda argv, synchronous_dispatch=False: during.append(signal.getsignal(signal.SIGTERM)) or 0)
    # in a thread (as a Dask worker runs fits) the command leaves the process's handlers alone
    thread = threading.Thread(target=cli.main, args=([],))
    thread.start()
    thread.join()
    assert during == [before]
    cli.main([])  # the main thread: SIGTERM raises Terminated (a KeyboardInterrupt) while it runs, then is restored
    assert during[1] is cli._raise_terminated and issubclass(cli.Terminated, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before


def test_multinest_error_names_everything_missing(monkeypatch, tmp_path):
    import importlib.util

    from galaxyfit.search import multinest

    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    monkeypatch.setattr("ctypes.util.find_library", lambda name: None)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pymultinest" else real_find_spec(name, *a))
    with pytest.raises(multinest.MultiNestUnavailable) as both:
        multinest.load_pymultinest()
    assert "pip install pymultinest" in str(both.value) and "libmultinest.so" in str(both.value)
    (tmp_path / "libmultinest.so").write_bytes(b"")  # the library found on LD_LIBRARY_PATH: only pymultinest is missing
    assert multinest.missing_multinest_parts() == ["the pymultinest package (pip install pymultinest)"]


def test_command_line_fits_several_bands_jointly(tmp_path, capsys):
    """galaxyfit fit a.fits b.fits: per-band options by position, one shared geometry, each band's intensities
    solved; the joint folder holds a folder per band."""
    from galaxyfit.cli import main

    for name, size, seed in (("g", 30, 1), ("r", 36, 2)):
        assert main(["simulate", str(tmp_path / name), "--size", str(size), "--seed", str(seed)]) == 0
    images = [str(tmp_path / b / "data.fits") for b in ("g", "r")]
    common = ["--noise-map", *(str(tmp_path / b / "noise_map.fits") for b in ("g", "r")),
              "--psf", *(str(tmp_path / b / "psf.fits") for b in ("g", "r")), "--model", "sersic", "--search", "lm",
              "--output", str(tmp_path / "out")]
    capsys.readouterr()
    assert main(["fit", *images, "--pixel-scale", str(10 / 30), "0.1", "0.2", *common]) == 2
    assert "--pixel-scale: give one value (used for all 2 images) or one per image (2), got 3" in capsys.readouterr().err
    assert main(["fit", *images, "--pixel-scale", str(10 / 30), str(10 / 36), *common]) == 0
    out = capsys.readouterr().out
    assert "fitted as linear:sersic" in out and out.count("reduced chi^2") == 2 and "g_data" in out and "r_data" in out
    (folder,) = (tmp_path / "out" / "multiband").iterdir()
    for band in (0, 1):
        assert (folder / "analyses" / f"analysis_{band}" / "files" / "samples_summary.json").is_file()
    assert (folder / ".completed").is_file()
