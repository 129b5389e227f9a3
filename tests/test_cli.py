"""The galaxyfit command: simulate -> fit round trip, the demo with the optimiser, help texts and input errors."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galaxyfit.cli import DEMO_TRUTH, build_parser, main


def test_help_explains_options_with_units(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = capsys.readouterr().out
    for option in ("--noise-map", "--gain", "--read-noise", "--original-sky", "--psf", "--mask", "--pixel-scale", "--model",
                   "--search", "--output"):
        assert option in text
    assert "arcsec per pixel" in text and "electrons" in text
    assert {"demo", "fit", "simulate"} <= set(build_parser()._subparsers._group_actions[0].choices)


def test_simulate_then_fit_with_lm(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "sim"), "--size", "60"]) == 0
    header = fits.getheader(tmp_path / "sim" / "data.fits")
    assert header["PIXSCALE"] == pytest.approx(10.0 / 60)
    truth = json.loads((tmp_path / "sim" / "truth.json").read_text())
    assert truth["bulge"]["sersic_index"] == 4.0
    out = tmp_path / "fit"
    code = main(["fit", str(tmp_path / "sim" / "data.fits"), "--noise-map", str(tmp_path / "sim" / "noise_map.fits"),
                 "--psf", str(tmp_path / "sim" / "psf.fits"), "--mask", str(tmp_path / "sim" / "mask.fits"),
                 "--pixel-scale", str(10.0 / 60), "--model", "sersic+exponential", "--shared-centre", "--search", "lm",
                 "--output", str(out), "--quiet"])
    assert code == 0
    result = json.loads((out / "result.json").read_text())
    assert result["n_free_parameters"] == 11
    parameters = result["parameters"]
    expected = {"bulge.effective_radius": DEMO_TRUTH["bulge"]["effective_radius"], "bulge.sersic_index": 4.0,
                "disk.effective_radius": DEMO_TRUTH["disk"]["effective_radius"]}
    for name, value in expected.items():
        entry = parameters[f"galaxies.galaxy.{name}"]
        assert abs(entry["max_log_likelihood"] - value) < 5 * 0.5 * (entry["minus_1sigma"] + entry["plus_1sigma"]), name
    assert result["reduced_chi_squared"] == pytest.approx(1.0, abs=0.2)  # 0.87 at the truth for this seed and size
    assert (out / "fit.png").exists() and (out / "samples.csv").exists() and (out / "model.json").exists()
    assert "wrote" in capsys.readouterr().out


def test_fit_with_a_name_writes_the_full_output_folder_and_its_database_row(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "sim"), "--size", "40"]) == 0
    sim = tmp_path / "sim"
    command = ["fit", str(sim / "data.fits"), "--noise-map", str(sim / "noise_map.fits"), "--psf", str(sim / "psf.fits"),
               "--mask", str(sim / "mask.fits"), "--pixel-scale", str(10.0 / 40), "--model", "sersic", "--search", "lm",
               "--output", str(tmp_path / "out"), "--name", "demo_galaxy", "--path-prefix", "survey",
               "--database", str(tmp_path / "results.sqlite"), "--magnitude-zero-point", "25.0", "--quiet"]
    assert main(command) == 0
    (folder,) = (tmp_path / "out" / "survey" / "demo_galaxy").iterdir()
    for name in (".completed", "model.results", "search.summary", "files/samples_summary.json", "files/galaxies.json",
                 "image/dataset.fits", "image/fit.fits", "image/fit.png", "image/dataset.png"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "metadata.json").read_text())["dataset_name"] == str(sim / "data")
    latent = json.loads((folder / "files" / "latent" / "latent_summary.json").read_text())
    flux, magnitude = latent["galaxies.galaxy.total_flux"]["median"], latent["galaxies.galaxy.magnitude"]["median"]
    assert magnitude == pytest.approx(25.0 - 2.5 * np.log10(flux), abs=0.02)  # medians of draws: nearly exact
    capsys.readouterr()
    assert main(command) == 0  # the same fit again: the completed one is returned
    assert "the completed fit found there" in capsys.readouterr().out
    assert main(["results", str(tmp_path / "results.sqlite"), "--where", "galaxies.galaxy.bulge.sersic_index > 0",
                 "--columns", "name,galaxies.galaxy.bulge.sersic_index"]) == 0
    table = capsys.readouterr().out
    assert "demo_galaxy" in table and "sersic_index" in table
    assert main(["fit", str(sim / "data.fits"), "--pixel-scale", "0.25", "--noise-map", str(sim / "noise_map.fits"),
                 "--database", "x.sqlite"]) == 2
    assert "need --name" in capsys.readouterr().err


def test_demo_with_the_optimiser(tmp_path, capsys):
    assert main(["demo", "--search", "lm", "--size", "60", "--output", str(tmp_path / "demo")]) == 0
    text = capsys.readouterr().out
    assert "13 of 13 true values lie within the 3 sigma intervals" in text
    summary = json.loads((tmp_path / "demo" / "result.json").read_text())
    assert np.isfinite(summary["log_likelihood"])


def test_bad_inputs_are_clear_errors(tmp_path, capsys):
    main(["simulate", str(tmp_path / "sim"), "--size", "40"])
    data = str(tmp_path / "sim" / "data.fits")
    assert main(["fit", data, "--pixel-scale", "0.25"]) == 2
    assert "no noise model" in capsys.readouterr().err
    assert main(["fit", data, "--pixel-scale", "0.25", "--noise-map", str(tmp_path / "sim" / "noise_map.fits"), "--model", "sersik"]) == 2
    assert "unknown profile 'sersik'" in capsys.readouterr().err
    assert main(["simulate", str(tmp_path / "sim"), "--size", "40"]) == 2  # files exist: not overwritten silently
    assert "exist" in capsys.readouterr().err


def test_arguments_are_checked_before_fitting(tmp_path, capsys):
    main(["simulate", str(tmp_path / "sim"), "--size", "40"])
    data = str(tmp_path / "sim" / "data.fits")
    noise = ["--noise-map", str(tmp_path / "sim" / "noise_map.fits")]

    def error_of(argv):
        assert main(argv) == 2
        return capsys.readouterr().err

    assert "--read-noise: used only by Imfit's data-based noise model, which needs --gain" in error_of(
        ["fit", data, "--pixel-scale", "0.25", "--read-noise", "3", *noise])
    (tmp_path / "taken").write_text("")
    assert "taken is an existing file, not a folder" in error_of(["fit", data, "--pixel-scale", "0.25", *noise, "--output", str(tmp_path / "taken")])
    assert "taken is an existing file" in error_of(["fit", data, "--pixel-scale", "0.25", *noise, "--output", str(tmp_path / "taken" / "sub")])
    assert "taken is an existing file" in error_of(["simulate", str(tmp_path / "taken"), "--size", "40"])
    if Path("/proc/self").is_dir():  # a folder nobody can create: refused before the fit, not when saving after it
        assert "cannot create the folder" in error_of(["fit", data, "--pixel-scale", "0.25", *noise, "--search", "lm",
                                                       "--output", "/proc/galaxyfit-test/out"])
    # Numbers that cannot be right are refused by argparse naming the flag (not the Python argument behind it).
    for flag, bad, message in (("--pixel-scale", "-1", "must be a finite positive number"), ("--pixel-scale", "0", "must be a finite positive number"),
                               ("--pixel-scale", "nan", "must be a finite positive number"), ("--pixel-scale", "inf", "must be a finite positive number"),
                               ("--gain", "-4.7", "must be a finite positive number"), ("--read-noise", "-1", "must be a finite number >= 0"),
                               ("--original-sky", "nan", "must be a finite number >= 0"), ("--exposure-time", "0", "must be a finite positive number"),
                               ("--n-combined", "0", "must be a positive integer"), ("--mask-radius", "-3", "must be a finite positive number")):
        with pytest.raises(SystemExit):
            main(["fit", data, "--pixel-scale", "0.25", "--gain", "4.7", flag, bad])
        assert f"argument {flag}: {message}" in capsys.readouterr().err
    for argv in (["fit", data, "--pixel-scale", "0.25", *noise, "--n-live", "0"], ["simulate", str(tmp_path / "s0"), "--size", "0"],
                 ["fit", data, "--pixel-scale", "0.25", *noise, "--n-live", "abc"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "must be a positive integer" in capsys.readouterr().err
    for argv in (["fit", data, "--pixel-scale", "0.25", *noise, "--seed", "-5"], ["simulate", str(tmp_path / "s1"), "--seed", "4294967296"],
                 ["demo", "--seed", "x"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "--seed: must be an integer from 0 to 4294967295" in capsys.readouterr().err
    assert "--noise-map-is-variance needs --noise-map" in error_of(["fit", data, "--pixel-scale", "0.25", "--noise-map-is-variance"])
    for bad in ("0", "-1", "nan"):  # a redshift at or below zero gave NaN kpc sizes in result.json
        with pytest.raises(SystemExit):
            main(["fit", data, "--pixel-scale", "0.25", *noise, "--redshift", bad])
        assert "--redshift: must be a finite positive number" in capsys.readouterr().err


def test_help_lists_what_each_command_accepts(capsys):
    from galaxyfit.cli import build_parser
    from galaxyfit.profiles.light import PROFILES

    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    demo_help = " ".join(capsys.readouterr().out.split())
    assert "multinest" not in demo_help  # the demo does not offer it, so its help must not name it
    assert "(default 20261129)" in demo_help
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fit", "--help"])
    fit_help = " ".join(capsys.readouterr().out.split())
    known = fit_help.split("(known: ", 1)[1].split(")", 1)[0]
    assert set(known.split(", ")) == {name.lower() for name in PROFILES}  # every light profile, named in the help
    from galaxyfit.model.model_file import SHORTHAND

    assert set(known.split(", ")) == set(SHORTHAND)


def test_shorthand_names_every_light_profile():
    from galaxyfit.model.model_file import model_from_shorthand

    model = model_from_shorthand("sersic+exponentialcore+pointsource+gaussiansph", shared_centre=True)
    instance = model.instance_from_prior_medians()
    components = instance.galaxies.galaxy
    assert type(components.bulge).__name__ == "Sersic"
    assert type(components.disk).__name__ == "ExponentialCore"
    assert type(components.point_source).__name__ == "PointSource"
    assert type(components.gaussian).__name__ == "GaussianSph"
    assert components.point_source.centre == components.bulge.centre  # linked by shared_centre


def test_a_closed_pipe_loses_only_the_report(tmp_path):
    """``galaxyfit ... | head``: when the reader goes away, the command still does its work and writes its files,
    without a traceback or an "Exception ignored" message."""
    import subprocess
    import sys

    def run(*argv):
        read_end, write_end = os.pipe()
        os.close(read_end)  # nobody will read: the first write fails with EPIPE
        try:
            return subprocess.run([sys.executable, "-m", "galaxyfit", *argv], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300)
        finally:
            os.close(write_end)

    done = run("simulate", str(tmp_path / "sim"), "--size", "30")
    assert done.returncode == 0 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert (tmp_path / "sim" / "data.fits").is_file()
    sim = tmp_path / "sim"
    done = run("fit", str(sim / "data.fits"), "--noise-map", str(sim / "noise_map.fits"), "--psf", str(sim / "psf.fits"),
               "--mask", str(sim / "mask.fits"), "--pixel-scale", str(10.0 / 30), "--model", "sersic", "--search", "lm",
               "--quiet", "--output", str(tmp_path / "fit"))
    assert done.returncode == 0 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert json.loads((tmp_path / "fit" / "result.json").read_text())["log_likelihood"] > -1e99  # the fit ran and was saved


def test_timing_uses_the_demos_data(capsys):
    """`galaxyfit timing` times the likelihood of the demo's own simulated galaxy (same exposure time)."""
    import re

    import galaxyfit as gf
    from galaxyfit import cli

    assert main(["timing", "--size", "40"]) == 0
    printed = float(re.search(r"log likelihood at the truth (-?[0-9.]+)", capsys.readouterr().out).group(1))
    dataset = cli._simulated_dataset(40, 20261129, cli.DEMO_EXPOSURE_TIME)
    instance = gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=cli._demo_galaxy()))
    assert printed == pytest.approx(float(gf.AnalysisImaging(dataset).log_likelihood_function(instance)), abs=1e-3)


@pytest.mark.slow
def test_fit_with_nuts_prints_its_convergence_and_resumes_when_run_again(tmp_path, capsys):
    """`--search nuts` (issue 20): the posterior with R-hat, ESS and divergences on the screen and in result.json, no
    evidence, a checkpoint in the output folder, and the same command again resumes from it with identical draws
    (about 60-90 s on 2 cores)."""
    import re

    main(["simulate", str(tmp_path / "sim"), "--size", "40"])
    sim, out = tmp_path / "sim", tmp_path / "out"
    command = ["fit", str(sim / "data.fits"), "--pixel-scale", "0.25", "--noise-map", str(sim / "noise_map.fits"),
               "--psf", str(sim / "psf.fits"), "--model", "sersic", "--search", "nuts", "--seed", "3", "--quiet",
               "--output", str(out)]
    assert main(command) == 0
    text = capsys.readouterr().out
    shown = re.search(r"NUTS: 4 chains x 1500 draws; max R-hat ([\d.]+), min ESS (\d+), (\d+) divergent", text)
    assert shown, text
    assert float(shown[1]) < 1.01 and int(shown[2]) > 1000
    first = json.loads((out / "result.json").read_text())
    assert first["search"]["name"] == "nuts" and first["log_evidence"] is None
    assert first["search"]["max_r_hat"] == pytest.approx(float(shown[1]), abs=1e-4)
    assert (out / "nuts_checkpoint.pickle").is_file()
    samples = (out / "samples.csv").read_text()
    assert main(command) == 0
    assert "resuming from checkpoint" in capsys.readouterr().err
    again = json.loads((out / "result.json").read_text())
    assert again["search"].get("resumed") == "checkpoint"
    assert (out / "samples.csv").read_text() == samples
