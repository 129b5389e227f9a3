"""Latent variables (galaxyfit.latent) against hand computations: fluxes against analytic integrals, magnitudes and
uJy for a zero point, axis ratios and angles from ell_comps, kpc against astropy's angular diameter distance,
half-light radii against a Sersic's R_e and a brute-force grid integration, B/T against the component fluxes;
linear profiles, NaN handling, posterior draws, summaries and files."""

import json
import math
import warnings

import numpy as np
import pytest
from scipy.special import gamma, gammaincinv

import galaxyfit as gf
from galaxyfit import latent
from galaxyfit.latent import (KINDS, LatentConfig, LatentSamples, compute_latent_samples, compute_latent_variables,
                              default_enabled, latent_keys, latent_results_text, latent_summary, write_latent_files)
from galaxyfit.model import Collection, Model, UniformPrior
from galaxyfit.search.samples import Samples, weighted_quantile

PIXEL = 0.1  # arcsec; the small_imaging fixture's pixel scale
AREA = PIXEL * PIXEL
ARCSEC = math.pi / 180.0 / 3600.0


def ell_comps(q, phi_degrees):
    """PyAutoGalaxy's ell_comps of axis ratio q and angle phi (counter-clockwise from +x), written out here."""
    f = (1.0 - q) / (1.0 + q)
    return (f * math.sin(2.0 * math.radians(phi_degrees)), f * math.cos(2.0 * math.radians(phi_degrees)))


def sersic_flux(intensity, effective_radius, n):
    """Graham & Driver (2005) eq. 2 with b from scipy: the integral of the Sersic law over the plane (R_e is the
    circularised radius in galaxyfit, so no axis-ratio factor), over the pixel area."""
    b = gammaincinv(2.0 * n, 0.5)
    return 2.0 * math.pi * n * effective_radius**2 * intensity * math.exp(b) * b ** (-2.0 * n) * gamma(2.0 * n) / AREA


def vector_of(model, values: dict) -> np.ndarray:
    return np.array([values[name] for name in model.parameter_names])


BULGE = dict(centre=(0.02, -0.01), q=0.7, phi=110.0, intensity=1.3, effective_radius=0.5, sersic_index=3.5)
DISK = dict(centre=(0.0, 0.03), q=0.45, phi=-30.0, intensity=0.4, sigma=0.9)


@pytest.fixture(scope="module")
def analysis(small_imaging):
    return gf.AnalysisImaging(small_imaging)


@pytest.fixture(scope="module")
def bulge_disk():
    """A free Sersic bulge and a free Gaussian disk at z = 0.5, and the values of their parameters."""
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=Model(gf.lp.Sersic),
                                                        disk=Model(gf.lp.Gaussian))))
    values = {}
    for name, p in (("bulge", BULGE), ("disk", DISK)):
        e = ell_comps(p["q"], p["phi"])
        values.update({f"galaxies.galaxy.{name}.centre_0": p["centre"][0], f"galaxies.galaxy.{name}.centre_1": p["centre"][1],
                       f"galaxies.galaxy.{name}.ell_comps_0": e[0], f"galaxies.galaxy.{name}.ell_comps_1": e[1],
                       f"galaxies.galaxy.{name}.intensity": p["intensity"]})
    values["galaxies.galaxy.bulge.effective_radius"] = BULGE["effective_radius"]
    values["galaxies.galaxy.bulge.sersic_index"] = BULGE["sersic_index"]
    values["galaxies.galaxy.disk.sigma"] = DISK["sigma"]
    return model, values


# ---- configuration --------------------------------------------------------------------------------------------------


def test_config_defaults_overrides_and_unknown_kinds():
    import yaml
    import importlib.resources

    shipped = yaml.safe_load(importlib.resources.files("galaxyfit").joinpath("latent.yaml").read_text())
    assert default_enabled() == shipped and set(shipped) == set(KINDS)
    config = LatentConfig(enabled={"galaxy_magnitude": False}, magnitude_zero_point=25)
    assert config.enabled["galaxy_magnitude"] is False
    assert config.enabled["profile_total_flux"] == shipped["profile_total_flux"]  # the others keep the defaults
    assert config.magnitude_zero_point == 25.0 and config.draws == 100 and config.batch_size is None
    with pytest.raises(ValueError, match="known kinds are profile_total_flux"):
        LatentConfig(enabled={"total_galaxy_0_flux": True})
    with pytest.raises(ValueError):
        LatentConfig(draws=0)
    with pytest.raises(ValueError):
        LatentConfig(magnitude_zero_point=float("nan"))
    with pytest.raises(ValueError):
        LatentConfig(enabled={"galaxy_magnitude": "yes"})
    with pytest.raises(dataclasses_error()):
        config.draws = 3  # frozen
    with pytest.raises(TypeError):
        config.enabled["galaxy_magnitude"] = True  # and so is its table
    assert LatentConfig(**config.to_dict()) == config and hash(LatentConfig(**config.to_dict())) == hash(config)
    assert json.loads(json.dumps(config.to_dict()))["magnitude_zero_point"] == 25.0
    assert config.replace(enabled={"galaxy_magnitude": True}).enabled["galaxy_magnitude"] is True


def dataclasses_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_keys_name_every_kind(analysis, bulge_disk):
    model, _ = bulge_disk
    keys = latent_keys(analysis, model)
    g = "galaxies.galaxy"
    assert keys == [f"{g}.bulge.total_flux", f"{g}.bulge.axis_ratio", f"{g}.bulge.position_angle", f"{g}.bulge.effective_radius_kpc",
                    f"{g}.disk.total_flux", f"{g}.disk.axis_ratio", f"{g}.disk.position_angle", f"{g}.disk.effective_radius_kpc",
                    f"{g}.total_flux", f"{g}.magnitude", f"{g}.flux_mujy", f"{g}.effective_radius", f"{g}.effective_radius_kpc",
                    f"{g}.bulge_to_total"]
    fewer = latent_keys(analysis, model, {"profile_axis_ratio": False, "galaxy_effective_radius": False})
    assert f"{g}.bulge.axis_ratio" not in fewer and f"{g}.effective_radius" not in fewer and f"{g}.effective_radius_kpc" in fewer


# ---- one parameter vector against hand computations -----------------------------------------------------------------


def test_latents_match_hand_computations(analysis, bulge_disk):
    from astropy.cosmology import Planck15

    model, values = bulge_disk
    zp = 26.3
    keys = latent_keys(analysis, model)
    out = dict(zip(keys, compute_latent_variables(analysis, vector_of(model, values), model, LatentConfig(magnitude_zero_point=zp))))
    g = "galaxies.galaxy"
    bulge_flux = sersic_flux(BULGE["intensity"], BULGE["effective_radius"], BULGE["sersic_index"])
    # galaxyfit's Gaussian: I exp(-q R^2 / (2 sigma^2)) in the circularised radius R: integral 2 pi sigma^2 I / q
    disk_flux = 2.0 * math.pi * DISK["sigma"] ** 2 * DISK["intensity"] / DISK["q"] / AREA
    assert out[f"{g}.bulge.total_flux"] == pytest.approx(bulge_flux, rel=1e-5)  # b_n: Ciotti & Bertin vs scipy's exact
    assert out[f"{g}.disk.total_flux"] == pytest.approx(disk_flux, rel=1e-10)
    total = out[f"{g}.bulge.total_flux"] + out[f"{g}.disk.total_flux"]
    assert out[f"{g}.total_flux"] == pytest.approx(total, rel=1e-12)
    magnitude = -2.5 * math.log10(total) + zp
    assert out[f"{g}.magnitude"] == pytest.approx(magnitude, rel=1e-12)
    assert out[f"{g}.flux_mujy"] == pytest.approx(10 ** ((23.9 - magnitude) / 2.5), rel=1e-10)
    assert out[f"{g}.bulge_to_total"] == pytest.approx(out[f"{g}.bulge.total_flux"] / total, rel=1e-12)
    assert out[f"{g}.bulge.axis_ratio"] == pytest.approx(BULGE["q"], rel=1e-10)
    assert out[f"{g}.bulge.position_angle"] == pytest.approx(BULGE["phi"], abs=1e-8)
    assert out[f"{g}.disk.axis_ratio"] == pytest.approx(DISK["q"], rel=1e-10)
    assert out[f"{g}.disk.position_angle"] == pytest.approx(DISK["phi"], abs=1e-8)
    kpc_per_arcsec = Planck15.angular_diameter_distance(0.5).to_value("kpc") * ARCSEC
    assert out[f"{g}.bulge.effective_radius_kpc"] == pytest.approx(BULGE["effective_radius"] * kpc_per_arcsec, rel=1e-12)
    # a Gaussian of width sigma / sqrt(q) in R holds half its light within sqrt(2 ln 2) of that width
    disk_half = DISK["sigma"] / math.sqrt(DISK["q"]) * math.sqrt(2.0 * math.log(2.0))
    assert out[f"{g}.disk.effective_radius_kpc"] == pytest.approx(disk_half * kpc_per_arcsec, rel=1e-10)
    assert out[f"{g}.effective_radius_kpc"] == pytest.approx(out[f"{g}.effective_radius"] * kpc_per_arcsec, rel=1e-12)


def brightness_numpy(y, x, centre, q, phi, law):
    """Surface brightness written out in numpy: circularised radius R^2 = q x'^2 + y'^2 / q in the frame rotated by
    phi."""
    dy, dx = y - centre[0], x - centre[1]
    c, s = math.cos(math.radians(phi)), math.sin(math.radians(phi))
    xp, yp = c * dx + s * dy, -s * dx + c * dy
    return law(q * xp * xp + yp * yp / q)


def test_galaxy_half_light_radius_of_a_sersic_is_its_effective_radius(analysis):
    for profile, n in ((Model(gf.lp.SersicSph, intensity=1.0, effective_radius=0.6), 4.0),
                       (Model(gf.lp.Sersic, ell_comps=(0.0, 0.0), intensity=2.0, effective_radius=1.3), 1.0)):
        model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=profile)))
        model.galaxies.galaxy.bulge.sersic_index = n
        model.galaxies.galaxy.bulge.centre = (0.1, -0.2)
        keys = latent_keys(analysis, model, {"galaxy_magnitude": False, "galaxy_flux_mujy": False})
        out = dict(zip(keys, compute_latent_variables(analysis, np.zeros(0), model,
                                                      {"galaxy_magnitude": False, "galaxy_flux_mujy": False})))
        radius = 0.6 if n == 4.0 else 1.3
        assert out["galaxies.galaxy.effective_radius"] == pytest.approx(radius, rel=1e-3)
        assert out["galaxies.galaxy.bulge_to_total"] == pytest.approx(1.0)


def test_galaxy_half_light_radius_of_bulge_and_disk_against_a_grid(analysis, bulge_disk):
    model, values = bulge_disk
    config = LatentConfig(magnitude_zero_point=25.0)
    keys = latent_keys(analysis, model, config)
    out = dict(zip(keys, compute_latent_variables(analysis, vector_of(model, values), model, config)))
    b = gammaincinv(2.0 * BULGE["sersic_index"], 0.5)
    laws = [
        (BULGE, lambda s: BULGE["intensity"] * np.exp(-b * ((np.sqrt(s) / BULGE["effective_radius"]) ** (1.0 / BULGE["sersic_index"]) - 1.0))),
        (DISK, lambda s: DISK["intensity"] * np.exp(-0.5 * DISK["q"] * s / DISK["sigma"] ** 2)),
    ]
    fluxes = [sersic_flux(BULGE["intensity"], BULGE["effective_radius"], BULGE["sersic_index"]) * AREA,
              2.0 * math.pi * DISK["sigma"] ** 2 * DISK["intensity"] / DISK["q"]]
    cy = sum(f * p["centre"][0] for f, (p, _) in zip(fluxes, laws)) / sum(fluxes)
    cx = sum(f * p["centre"][1] for f, (p, _) in zip(fluxes, laws)) / sum(fluxes)
    h = 0.005  # brute force: a fine grid around the flux-weighted centre, summed in order of distance
    axis = (np.arange(-1000, 1000) + 0.5) * h
    y, x = np.meshgrid(axis + cy, axis + cx, indexing="ij")
    image = sum(brightness_numpy(y, x, p["centre"], p["q"], p["phi"], law) for p, law in laws) * h * h
    distance = np.hypot(y - cy, x - cx).ravel()
    order = np.argsort(distance)
    enclosed = np.cumsum(image.ravel()[order])
    half = np.interp(0.5 * sum(fluxes), enclosed, distance[order])
    assert out["galaxies.galaxy.effective_radius"] == pytest.approx(half, rel=1e-3)


def test_kpc_with_a_free_redshift_and_none_at_zero(analysis):
    from astropy.cosmology import Planck15

    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=UniformPrior(0.0, 3.0),
                                                        bulge=gf.lp.Exponential(effective_radius=0.8, intensity=0.5))))
    config = {"galaxy_magnitude": False, "galaxy_flux_mujy": False}
    keys = latent_keys(analysis, model, config)
    for z in (0.3, 2.1):
        out = dict(zip(keys, compute_latent_variables(analysis, np.array([z]), model, config)))
        scale = Planck15.angular_diameter_distance(z).to_value("kpc") * ARCSEC
        assert out["galaxies.galaxy.bulge.effective_radius_kpc"] == pytest.approx(0.8 * scale, rel=1e-12)
    out = dict(zip(keys, compute_latent_variables(analysis, np.array([0.0]), model, config)))
    assert math.isnan(out["galaxies.galaxy.bulge.effective_radius_kpc"]) and math.isnan(out["galaxies.galaxy.effective_radius_kpc"])
    assert out["galaxies.galaxy.effective_radius"] > 0  # arcsec need no redshift
    other = gf.AnalysisImaging(analysis.dataset, cosmology=Planck15.clone(H0=50.0))
    out = dict(zip(keys, compute_latent_variables(other, np.array([1.0]), model, config)))
    assert out["galaxies.galaxy.bulge.effective_radius_kpc"] == pytest.approx(
        0.8 * Planck15.clone(H0=50.0).angular_diameter_distance(1.0).to_value("kpc") * ARCSEC, rel=1e-12)


@pytest.mark.parametrize("profile", [
    gf.lp.Moffat(ell_comps=ell_comps(0.6, 10.0), intensity=2.0, alpha=0.4, beta=2.5),
    gf.lp.ElsonFreeFallSph(intensity=1.0, effective_radius=0.3, eta=1.8),
    gf.lp.Chameleon(ell_comps=ell_comps(0.7, 40.0), intensity=1.0, core_radius_0=0.05, core_radius_1=0.6),
    gf.lp.SersicCore(ell_comps=ell_comps(0.8, 0.0), effective_radius=0.7, sersic_index=3.0, radius_break=0.05, gamma=0.3, alpha=2.0),
])
@pytest.mark.usefixtures("jax_float64")  # its own jax.jit (conftest.py)
def test_half_light_radii_of_other_laws(profile):
    """Closed forms (Moffat, Elson-Fall-Freeman, Chameleon) and the numerical rule (core-Sersic) against a
    brute-force cumulative trapezoid integral of the law over the equal-area radius R (R^2 = s / sqrt(det A):
    det A = 1, but 1/q^2 for the Chameleon's elliptical radius) on 400,000 log-spaced radii."""
    a_yy, a_xx, a_xy = (float(v) for v in profile.quadratic_form())
    root_det = math.sqrt(a_yy * a_xx - a_xy * a_xy)
    log_r = np.linspace(math.log(1e-9), math.log(1e4), 400_001)
    r = np.exp(log_r)
    integrand = 2.0 * math.pi * r * r * np.asarray(profile.brightness(r * r * root_det))  # d(enclosed) / d log R
    enclosed = np.concatenate([[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(log_r))])
    total = float(profile.total_flux(PIXEL)) * AREA
    expected = np.exp(np.interp(0.5 * total, enclosed, log_r))
    import jax

    assert float(jax.jit(latent.circularised_half_light_radius)(profile)) == pytest.approx(expected, rel=1e-5)


# ---- linear profiles, NaN handling ----------------------------------------------------------------------------------


def test_linear_profiles_give_their_solved_fluxes(analysis, sim_truth):
    bulge = Model(gf.lp_linear.Sersic, centre=sim_truth["bulge"]["centre"], ell_comps=sim_truth["bulge"]["ell_comps"],
                  sersic_index=sim_truth["bulge"]["sersic_index"])
    disk = {k: v for k, v in sim_truth["disk"].items() if k != "intensity"}
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=bulge, disk=gf.lp_linear.Exponential(**disk))))
    vector = np.array([sim_truth["bulge"]["effective_radius"]])
    keys = latent_keys(analysis, model, LatentConfig(magnitude_zero_point=25.0))
    out = dict(zip(keys, compute_latent_variables(analysis, vector, model, LatentConfig(magnitude_zero_point=25.0))))
    assert all(np.isfinite(list(out.values())))
    solved = np.asarray(analysis.fit_from(model.instance_from_vector(vector)).inversion.reconstruction)
    instance = model.instance_from_vector(vector)
    unit_bulge = float(instance.galaxies.galaxy.bulge.unit_profile().total_flux(PIXEL))
    unit_disk = float(instance.galaxies.galaxy.disk.unit_profile().total_flux(PIXEL))
    assert out["galaxies.galaxy.bulge.total_flux"] == pytest.approx(solved[0] * unit_bulge, rel=1e-8)
    assert out["galaxies.galaxy.disk.total_flux"] == pytest.approx(solved[1] * unit_disk, rel=1e-8)
    # the data were simulated from the truth: the solved fluxes are near the true ones
    true_bulge = float(gf.lp.Sersic(**sim_truth["bulge"]).total_flux(PIXEL))
    assert out["galaxies.galaxy.bulge.total_flux"] == pytest.approx(true_bulge, rel=0.05)


def test_basis_point_source_and_sky(analysis):
    """A basis of linear Gaussians, a linear point source and a linear sky: one flux per component (the basis summed),
    no latent for the sky, and everything finite."""
    sigmas = [0.05, 0.15, 0.4, 1.0, 2.0]
    basis = Model(gf.lp_basis.Basis, profile_list=[gf.lp_linear.Gaussian(sigma=s) for s in sigmas])
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=basis, nucleus=gf.lp_linear.PointSource(),
                                                        sky=gf.lp_linear.Sky())))
    config = LatentConfig(magnitude_zero_point=25.0)
    keys = latent_keys(analysis, model, config)
    g = "galaxies.galaxy"
    assert keys == [f"{g}.bulge.total_flux", f"{g}.nucleus.total_flux", f"{g}.total_flux", f"{g}.magnitude", f"{g}.flux_mujy",
                    f"{g}.effective_radius", f"{g}.effective_radius_kpc", f"{g}.bulge_to_total"]
    out = dict(zip(keys, compute_latent_variables(analysis, np.zeros(0), model, config)))
    assert all(np.isfinite(list(out.values())))
    solved = np.asarray(analysis.fit_from(model.instance_from_vector(np.zeros(0))).inversion.reconstruction)
    units = [2.0 * math.pi * s * s / AREA for s in sigmas]  # a unit-intensity Gaussian's flux
    assert out[f"{g}.bulge.total_flux"] == pytest.approx(float(np.dot(solved[:5], units)), rel=1e-8)
    assert out[f"{g}.nucleus.total_flux"] == pytest.approx(solved[5], rel=1e-8)
    assert out[f"{g}.bulge_to_total"] == pytest.approx(out[f"{g}.bulge.total_flux"] / out[f"{g}.total_flux"], rel=1e-12)


def test_nan_never_raises(analysis, bulge_disk, monkeypatch):
    model, values = bulge_disk
    keys = latent_keys(analysis, model)
    bad = dict(values, **{"galaxies.galaxy.disk.sigma": -1.0})  # outside the valid domain
    monkeypatch.setattr(latent, "_zero_point_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = dict(zip(keys, compute_latent_variables(analysis, vector_of(model, bad), model)))
        compute_latent_variables(analysis, vector_of(model, values), model)
    assert len([w for w in caught if "magnitude_zero_point" in str(w.message)]) == 1  # one warning, not one per call
    assert math.isnan(out["galaxies.galaxy.magnitude"]) and math.isnan(out["galaxies.galaxy.flux_mujy"])
    for key in ("disk.total_flux", "disk.effective_radius_kpc", "total_flux", "effective_radius", "bulge_to_total"):
        assert math.isnan(out[f"galaxies.galaxy.{key}"]), key
    assert out["galaxies.galaxy.bulge.total_flux"] > 0  # the valid component keeps its value
    # a structural failure is NaN too
    with pytest.warns(UserWarning, match="could not be computed"):
        out = compute_latent_variables(analysis, np.zeros(3), model)
    assert all(math.isnan(v) for v in out)
    with pytest.raises(NotImplementedError):
        compute_latent_variables(analysis, vector_of(model, values), model, {k: False for k in KINDS})
    # no component named bulge: no bulge-to-total key
    disk_only = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, disk=gf.lp.Exponential())))
    assert not any(k.endswith("bulge_to_total") for k in latent_keys(analysis, disk_only))


# ---- posterior draws, summary, files -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def posterior(analysis):
    """Samples of (bulge intensity, effective radius, Sersic index) around a truth, a few of them invalid."""
    model = Collection(galaxies=Collection(galaxy=Model(
        gf.Galaxy, redshift=0.5, bulge=Model(gf.lp.Sersic, centre=(0.0, 0.0), ell_comps=ell_comps(0.8, 20.0)),
        disk=gf.lp.Exponential(ell_comps=ell_comps(0.5, 60.0), intensity=0.25, effective_radius=1.6))))
    rng = np.random.default_rng(4)
    n = 400
    parameters = np.column_stack([rng.normal(1.0, 0.05, n), rng.normal(0.6, 0.03, n), rng.normal(4.0, 0.2, n)])
    parameters[:4, 1] = -1.0  # effective radius < 0: NaN latents in these rows
    log_likelihood = -0.5 * np.sum(((parameters - [1.0, 0.6, 4.0]) / [0.05, 0.03, 0.2]) ** 2, axis=1)
    weights = rng.uniform(0.5, 1.5, n)
    samples = Samples(parameters, log_likelihood, weights, model.parameter_names)
    return model, samples


def test_latent_samples_and_summary(analysis, posterior, tmp_path):
    model, samples = posterior
    config = LatentConfig(magnitude_zero_point=25.0, draws=300, batch_size=128)
    result = compute_latent_samples(analysis, samples, model, config)
    assert result.values.shape == (300, len(result.keys)) and result.keys == latent_keys(analysis, model, config)
    np.testing.assert_allclose(result.weights, 1.0 / 300)
    summary = latent_summary(result)
    # independently: the analytic bulge flux of every sample, its weighted median and 1-sigma bounds
    valid = samples.parameters[:, 1] > 0
    fluxes = np.array([sersic_flux(i, r, n) for i, r, n in samples.parameters[valid]])
    expected = weighted_quantile(fluxes, samples.weights[valid], 0.5)
    spread = weighted_quantile(fluxes, samples.weights[valid], 0.8413) - weighted_quantile(fluxes, samples.weights[valid], 0.1587)
    entry = summary["galaxies.galaxy.bulge.total_flux"]
    assert abs(entry["median"] - expected) < 0.15 * spread
    assert entry["lower_3sigma"] <= entry["lower_1sigma"] < entry["median"] < entry["upper_1sigma"] <= entry["upper_3sigma"]
    assert entry["upper_1sigma"] - entry["lower_1sigma"] == pytest.approx(spread, rel=0.25)
    disk = float(gf.lp.Exponential(ell_comps=ell_comps(0.5, 60.0), intensity=0.25, effective_radius=1.6).total_flux(PIXEL))
    assert summary["galaxies.galaxy.disk.total_flux"]["median"] == pytest.approx(disk, rel=1e-12)
    assert summary["galaxies.galaxy.disk.axis_ratio"]["median"] == pytest.approx(0.5, rel=1e-10)
    assert summary["galaxies.galaxy.bulge_to_total"]["median"] == pytest.approx(expected / (expected + disk), rel=0.02)
    # the maximum-likelihood entry is the latent at the best sample
    best = dict(zip(latent_keys(analysis, model, config),
                    compute_latent_variables(analysis, samples.max_log_likelihood_vector, model, config)))
    for key, value in summary.items():
        assert value["max_log_likelihood"] == pytest.approx(best[key], rel=1e-10, nan_ok=True), key
    # the invalid rows are NaN and ignored by the summary
    assert np.isnan(result.values).any() and all(np.isfinite(v["median"]) for v in summary.values())

    paths = write_latent_files(tmp_path, result, summary)
    assert paths["samples"] == tmp_path / "files" / "latent" / "samples.csv"
    reread = LatentSamples.from_csv(paths["samples"])
    assert reread.keys == result.keys
    np.testing.assert_array_equal(reread.values, result.values)
    on_disk = json.loads(paths["summary"].read_text())
    assert set(on_disk) == set(result.keys)
    assert set(on_disk["galaxies.galaxy.total_flux"]) == {"median", "lower_1sigma", "upper_1sigma", "lower_3sigma",
                                                           "upper_3sigma", "max_log_likelihood"}
    text = (tmp_path / "latent.results").read_text()
    assert text == latent_results_text(summary) and "galaxies.galaxy.bulge_to_total" in text
    assert not list(tmp_path.rglob("*.tmp"))


def test_latents_nan_in_every_draw_are_dropped(analysis, posterior, monkeypatch):
    model, samples = posterior
    at_rest = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.0, bulge=model.galaxies.galaxy.bulge,
                                                          disk=gf.lp.Exponential())))
    monkeypatch.setattr(latent, "_zero_point_warned", False)
    with pytest.warns(UserWarning) as caught:
        result = compute_latent_samples(analysis, samples, at_rest, LatentConfig(draws=20))
    messages = [str(w.message) for w in caught]
    dropped = [m for m in messages if "NaN in every draw" in m]
    assert len(dropped) == 1 and "effective_radius_kpc" in dropped[0] and "magnitude" not in dropped[0]
    assert sum("magnitude_zero_point" in m for m in messages) == 1
    assert not any(k.endswith("_kpc") or k.endswith("magnitude") or k.endswith("flux_mujy") for k in result.keys)
    assert "galaxies.galaxy.total_flux" in result.keys
