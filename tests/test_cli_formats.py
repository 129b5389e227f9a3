"""Imfit configuration files and GALFIT feedme files on the command line: the file's model, limits and noise keys
are used, and the best fit is written back in the same format, usable as the next input."""

import math

import numpy as np
import pytest

from conftest import shared_path
from galaxyfit.cli import main

IMFIT_CHI_SQUARED = 36828.577653  # ../shared/data/n3073_sdss_r_bulge_disk_psf_mask/CASE.md (Imfit's regression fit)


def test_imfit_config_on_the_command_line(tmp_path, capsys, monkeypatch):
    folder = shared_path("n3073_sdss_r_bulge_disk_psf_mask")
    monkeypatch.chdir(folder)
    args = ["fit", "n3073rss_small.fits", "--imfit-config", "imfit_config_n3073.dat", "--mask", "n3073rss_small_mask.fits",
            "--psf", "psf_moffat_35_n4699z.fits", "--pixel-scale", "1", "--search", "lm", "--output", str(tmp_path / "fit")]
    assert main(args) == 0
    out = capsys.readouterr().out
    # the file's GAIN, READNOISE and ORIGINAL_SKY are the noise model (no --noise-map or --gain was given)
    assert "noise from imfit_config_n3073.dat: gain 4.725, read_noise 4.3, original_sky 154.33" in out
    chi2 = float(out.split("chi^2 ")[1].split()[0])
    assert chi2 == pytest.approx(IMFIT_CHI_SQUARED, rel=1e-3)
    best = tmp_path / "fit" / "bestfit_parameters_imfit.dat"
    text = best.read_text()
    assert "GAIN" in text and "FUNCTION Sersic" in text and "0.0,90.0" in text  # the exponential's PA limits kept
    # the written file is the next input: starting at the optimum, LM stays there
    assert main([*args[:3], str(best), *args[4:-1], str(tmp_path / "again")]) == 0
    again = float(capsys.readouterr().out.split("chi^2 ")[1].split()[0])
    assert again == pytest.approx(chi2, rel=1e-6)


FEEDME = """# hand-written, in GALFIT's documented format
A) data.fits
B) imgblock.fits
C) noise_map.fits
D) psf.fits
E) 1
F) none
G) none
H) 6 55 8 57
I) 30 30
J) 25.0
K) {ps} {ps}
O) regular
P) 0

 0) sersic
 1) 30.5 30.5 1 1
 3) 17.5 1
 4) 4.0 1
 5) 3.0 1
 9) 0.8 1
10) 60.0 1
 Z) 0

 0) expdisk
 1) 30.5 30.5 1 1
 3) 17.5 1
 4) 6.0 1
 9) 0.5 1
10) 140.0 1
 Z) 0
"""


def test_galfit_feedme_on_the_command_line(tmp_path, capsys, monkeypatch):
    assert main(["simulate", str(tmp_path), "--size", "60", "--exposure-time", "1000"]) == 0
    ps = 10.0 / 60
    (tmp_path / "galfit.feedme").write_text(FEEDME.format(ps=ps))
    monkeypatch.chdir(tmp_path)  # GALFIT reads the files named in the feedme relative to the working directory
    capsys.readouterr()
    assert main(["fit", "data.fits", "--galfit-feedme", "galfit.feedme", "--search", "lm", "--output", "fit"]) == 0
    out = capsys.readouterr().out
    # H: x 6..55, y 8..57 (1-based, inclusive) -> 50 x 50 pixels; K gives the pixel scale
    assert "rows 7:57, columns 5:55 (0-based)" in out and f"50x50 pixels of {ps}" in out
    from galaxyfit.galfit_feedme import read_galfit_feedme

    written = read_galfit_feedme(tmp_path / "fit" / "galfit.01")
    assert [c.kind for c in written.components] == ["sersic", "expdisk"] and written.region is not None
    sersic = written.components[0].parameters
    # the demo galaxy's bulge (n 4, circularised R_e 0.6", q 0.8, major axis 30 deg from +x) at the full image's
    # centre, pixel (30.5, 30.5): GALFIT's positions stay in the input image's frame, its PA is from +y
    assert sersic[1][0].value == pytest.approx(30.5, abs=0.1) and sersic[1][1].value == pytest.approx(30.5, abs=0.1)
    assert sersic[5].value == pytest.approx(4.0, abs=0.3) and sersic[9].value == pytest.approx(0.8, abs=0.03)
    assert sersic[10].value == pytest.approx(120.0, abs=3.0)
    assert sersic[4].value == pytest.approx(0.6 / math.sqrt(0.8) / ps, rel=0.1)  # R_e along the major axis, pixels
    # read back as the next input, the model sits on the best fit: the galaxy 2 pixels below the region's centre
    model, start = written.model((60, 60))
    standard = model.instance_from_vector(start).galaxies.galaxy.sersic_1.standard()
    np.testing.assert_allclose(standard.centre, (-2 * ps, 0.0), atol=0.02)
    assert standard.effective_radius == pytest.approx(0.6, rel=0.1)


def test_sky_plane_and_oversampled_psf_on_the_command_line(tmp_path, capsys):
    import json

    from astropy.io import fits

    from galaxyfit.dataset.pixels import pixel_centres
    from galaxyfit.simulate import gaussian_psf

    assert main(["simulate", str(tmp_path / "sim"), "--size", "40", "--exposure-time", "2000"]) == 0
    ps = 0.25
    y, x = pixel_centres((40, 40), ps)
    plane = 0.05 + 0.02 * y[:, None] - 0.01 * x[None, :]  # data units per pixel; slopes per arcsec from the centre
    with fits.open(tmp_path / "sim" / "data.fits") as hdus:
        fits.writeto(tmp_path / "tilted.fits", hdus[0].data + plane, hdus[0].header)
    fits.writeto(tmp_path / "fine_psf.fits", gaussian_psf((21, 21), 0.1, ps / 3))  # the same PSF sampled 3x finer
    common = [str(tmp_path / "tilted.fits"), "--noise-map", str(tmp_path / "sim" / "noise_map.fits"), "--pixel-scale",
              str(ps), "--model", "sersic+exponential", "--search", "lm", "--fit-sky-plane"]
    assert main(["fit", *common, "--psf", str(tmp_path / "sim" / "psf.fits"), "--output", str(tmp_path / "plane")]) == 0
    solved = json.loads((tmp_path / "plane" / "result.json").read_text())["linear_light_profile_intensities"]
    for name, truth in (("sky", 0.05), ("sky_slope_y", 0.02), ("sky_slope_x", -0.01)):
        entry = solved[f"galaxies.galaxy.{name}"]
        assert abs(entry["intensity"] - truth) < 4 * entry["error"], (name, entry, truth)
    capsys.readouterr()
    assert main(["fit", *common, "--psf-oversampled", str(tmp_path / "fine_psf.fits"), "--psf-oversampling", "3",
                 "--psf-oversampled-region", "11:30,11:30", "--output", str(tmp_path / "fine")]) == 0
    description = json.loads((tmp_path / "fine" / "result.json").read_text())["dataset"]["psf_oversampled"]
    assert description["oversampling"] == 3 and description["region"] == [10, 30, 10, 30]
    assert main(["fit", *common, "--psf-oversampling", "3", "--output", str(tmp_path / "bad")]) == 2
    assert "--psf-oversampled FILE, which is missing" in capsys.readouterr().err


FINE_FEEDME = """A) data.fits
B) out.fits
C) noise_map.fits
D) fine_psf.fits
E) 3
F) none
J) 20.0
K) 0.25 0.25
 0) sersic
 1) 20.5 20.5 1 1
 3) 15.0 1
 4) 2.5 1
 5) 3.0 1
 9) 0.8 1
10) 120.0 1
"""


def test_feedme_with_a_finer_psf_and_option_checks(tmp_path, capsys, monkeypatch):
    """E) 3: D is the PSF sampled 3x finer, used as the oversampled PSF; J) is the magnitudes' zero point; options
    that cannot apply are refused with status 2, not ignored."""
    import json

    from astropy.io import fits

    from galaxyfit.simulate import gaussian_psf

    assert main(["simulate", str(tmp_path), "--size", "40", "--exposure-time", "1000"]) == 0
    fits.writeto(tmp_path / "fine_psf.fits", gaussian_psf((31, 31), 0.1, 0.25 / 3))
    (tmp_path / "fine.feedme").write_text(FINE_FEEDME)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["fit", "data.fits", "--galfit-feedme", "fine.feedme", "--search", "lm", "--output", "fit"]) == 0
    out = capsys.readouterr().out
    assert "3x finer than the data (E)" in out and "zero point (J) 20" in out
    result = json.loads((tmp_path / "fit" / "result.json").read_text())
    assert result["dataset"]["psf_oversampled"]["oversampling"] == 3
    (row,) = result["components"].values()
    # the reported GALFIT magnitude is the fitted one (J and the image's EXPTIME, 1 s here)
    fitted = float(next(v for k, v in result["parameters"].items() if k.endswith("magnitude"))["max_log_likelihood"])
    assert row["galfit"]["mag"] == pytest.approx(fitted, abs=1e-9)
    for extra, message in ((["--fit-sky"], "--fit-sky (add a FlatSky function or a sky component"),
                           (["--magnitude-zero-point", "inf"], "must be a finite number"),
                           (["--psf-oversampled", "fine_psf.fits"], "needs --psf-oversampling N")):
        try:
            status = main(["fit", "data.fits", "--galfit-feedme", "fine.feedme", "--search", "lm", *extra])
        except SystemExit as exit:  # argparse's own errors
            status = exit.code
        assert status == 2 and message in capsys.readouterr().err, extra
