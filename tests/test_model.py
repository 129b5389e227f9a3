"""Model composition: default priors, prior maps, linking, fixing, vectors <-> instances, JSON, batched likelihood."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import galaxyfit as gf
from galaxyfit.errors import ModelError
from galaxyfit.model import Collection, GaussianPrior, LogUniformPrior, Model, TruncatedGaussianPrior, UniformPrior
from galaxyfit.model.priors import unit_for

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")


def bulge_disk_model():
    return Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)))


def test_default_priors_are_pyautogalaxys():
    sersic = Model(gf.lp.Sersic)
    assert sersic.parameter_names == ["centre_0", "centre_1", "ell_comps_0", "ell_comps_1", "intensity", "effective_radius", "sersic_index"]
    by_name = dict(zip(sersic.parameter_names, sersic.priors))
    assert repr(by_name["centre_0"]) == "GaussianPrior(mean=0.0, sigma=0.3)"
    assert repr(by_name["ell_comps_1"]) == "TruncatedGaussianPrior(mean=0.0, sigma=0.3, lower_limit=-1.0, upper_limit=1.0)"
    assert repr(by_name["intensity"]) == "LogUniformPrior(lower_limit=1e-06, upper_limit=1000000.0)"
    assert repr(by_name["effective_radius"]) == "UniformPrior(lower_limit=0.0, upper_limit=30.0)"
    assert repr(by_name["sersic_index"]) == "UniformPrior(lower_limit=0.8, upper_limit=5.0)"
    # distinct objects: two models never share a parameter by accident
    assert by_name["centre_0"] is not by_name["centre_1"]
    assert Model(gf.lp.Sersic).priors[0] is not sersic.priors[0]


def test_bulge_disk_has_13_parameters_and_linking_removes_two():
    model = bulge_disk_model()
    assert model.prior_count == 13
    assert model.parameter_names[0] == "galaxies.galaxy.bulge.centre_0"
    assert model.parameter_names[-1] == "galaxies.galaxy.disk.effective_radius"
    galaxy = model.galaxies.galaxy
    galaxy.disk.centre = galaxy.bulge.centre
    assert model.prior_count == 11
    instance = model.instance_from_vector(np.arange(11.0) + 1.0)
    assert instance.galaxies.galaxy.disk.centre == instance.galaxies.galaxy.bulge.centre == (1.0, 2.0)
    galaxy.disk.effective_radius = 1.2
    galaxy.bulge.sersic_index = UniformPrior(1.0, 6.0)
    assert model.prior_count == 10
    instance = model.instance_from_prior_medians()
    assert instance.galaxies.galaxy.disk.effective_radius == 1.2
    assert float(instance.galaxies.galaxy.bulge.sersic_index) == pytest.approx(3.5)
    assert "-> galaxies.galaxy.bulge.centre_0" in model.info
    assert "1.2 (fixed)" in model.info
    assert model.info.startswith("Total free parameters = 10")


def test_unknown_parameter_is_a_clear_error():
    with pytest.raises(ModelError, match="Sersic has no parameter 'sersic_indx'"):
        Model(gf.lp.Sersic, sersic_indx=4.0)
    with pytest.raises(ModelError, match="vector must have 13 entries"):
        bulge_disk_model().instance_from_vector(np.zeros(12))


@pytest.mark.parametrize(
    "prior, distribution",
    [
        (UniformPrior(-2.0, 3.0), stats.uniform(-2.0, 5.0)),
        (LogUniformPrior(1e-3, 1e2), stats.loguniform(1e-3, 1e2)),
        (GaussianPrior(0.5, 0.3), stats.norm(0.5, 0.3)),
        (TruncatedGaussianPrior(0.0, 0.3, -0.2, 1.0), stats.truncnorm(-0.2 / 0.3, 1.0 / 0.3, 0.0, 0.3)),
    ],
)
def test_prior_maps_match_scipy(prior, distribution):
    unit = np.array([0.01, 0.2, 0.5, 0.77, 0.99])
    np.testing.assert_allclose(np.asarray(prior.value_for(jnp.asarray(unit))), distribution.ppf(unit), rtol=1e-10, atol=1e-12)
    values = distribution.ppf(unit)
    np.testing.assert_allclose(np.asarray(prior.log_prior(jnp.asarray(values))), distribution.logpdf(values), rtol=1e-10)
    np.testing.assert_allclose([unit_for(prior, v) for v in values], unit, rtol=1e-9)
    lo, hi = prior.limits
    lo, hi = max(lo, distribution.ppf(1e-12)), min(hi, distribution.ppf(1 - 1e-12))
    total, _ = integrate.quad(lambda v: math.exp(float(prior.log_prior(v))), lo, hi, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_bad_priors_are_rejected():
    with pytest.raises(ModelError, match="UniformPrior needs finite lower_limit < upper_limit"):
        UniformPrior(1.0, 1.0)
    with pytest.raises(ModelError, match="LogUniformPrior needs 0 < lower_limit"):
        LogUniformPrior(0.0, 1.0)
    with pytest.raises(ModelError, match="GaussianPrior needs a finite mean and sigma > 0"):
        GaussianPrior(0.0, -1.0)


def test_vector_instance_round_trip_and_json():
    model = bulge_disk_model()
    model.galaxies.galaxy.disk.centre = model.galaxies.galaxy.bulge.centre
    model.galaxies.galaxy.bulge.sersic_index = UniformPrior(1.0, 6.0)
    model.galaxies.galaxy.disk.effective_radius = 1.6
    vector = np.array([0.01, -0.02, 0.1, 0.05, 1.0, 0.6, 4.0, 0.3, -0.2, 0.25])
    instance = model.instance_from_vector(vector)
    assert isinstance(instance.galaxies.galaxy.bulge, gf.lp.Sersic)
    assert isinstance(instance.galaxies.galaxy.disk, gf.lp.Exponential)
    assert instance.galaxies.galaxy.bulge.effective_radius == 0.6
    np.testing.assert_array_equal(model.vector_from_instance(instance), vector)

    restored = Model.from_json(model.to_json())
    assert restored.paths == model.paths
    assert restored.info == model.info
    assert [p.to_dict() for p in restored.priors] == [p.to_dict() for p in model.priors]
    unit = np.linspace(0.05, 0.95, model.prior_count)
    np.testing.assert_array_equal(np.asarray(restored.vector_from_unit_cube(unit)), np.asarray(model.vector_from_unit_cube(unit)))
    # the link survives: setting the (shared) bulge centre moves the disk too
    again = restored.instance_from_vector(vector)
    assert again.galaxies.galaxy.disk.centre == again.galaxies.galaxy.bulge.centre == (0.01, -0.02)
    assert again.galaxies.galaxy.disk.effective_radius == 1.6


def test_log_prior_sums_the_priors():
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic)))
    vector = np.array([0.1, -0.1, 0.2, 0.0, 3.0, 1.5, 2.5])
    ell = stats.truncnorm(-1 / 0.3, 1 / 0.3, 0, 0.3)
    expected = (stats.norm(0, 0.3).logpdf(0.1) + stats.norm(0, 0.3).logpdf(-0.1) + ell.logpdf(0.2) + ell.logpdf(0.0)
                + stats.loguniform(1e-6, 1e6).logpdf(3.0) + stats.uniform(0, 30).logpdf(1.5) + stats.uniform(0.8, 4.2).logpdf(2.5))
    assert float(model.log_prior(jnp.asarray(vector))) == pytest.approx(expected, rel=1e-12)
    vector[5] = -1.0  # effective radius outside its uniform prior
    assert float(model.log_prior(jnp.asarray(vector))) == -math.inf


def test_likelihood_of_vectors_is_one_jitted_vmapped_function(small_imaging):
    model = bulge_disk_model()
    analysis = gf.AnalysisImaging(small_imaging)

    def log_likelihood(vector):
        return analysis.log_likelihood_function(model.instance_from_vector(vector))

    batched = jax.jit(jax.vmap(log_likelihood))
    rng = np.random.default_rng(3)
    vectors = np.array(jax.vmap(model.vector_from_unit_cube)(jnp.asarray(rng.uniform(0.3, 0.7, (5, 13)))))
    values = np.asarray(batched(jnp.asarray(vectors)))
    one_by_one = [analysis.log_likelihood_function(model.instance_from_vector(v)) for v in vectors]
    np.testing.assert_allclose(values, one_by_one, rtol=1e-12)
    assert np.all(np.isfinite(values))


MODEL_FILE = """
galaxies:
  galaxy:
    redshift: 0.5
    bulge:
      type: Sersic
      sersic_index: {type: UniformPrior, lower_limit: 1.0, upper_limit: 6.0}
    disk:
      type: Exponential
      centre: bulge.centre
      effective_radius: 1.6
dataset_model:
  background_sky_level: {type: GaussianPrior, mean: 0.0, sigma: 0.01}
"""


def test_model_file_links_fixes_and_priors(tmp_path):
    """The YAML model file of model_file.py's docstring: 7 bulge + 2 disk ell + intensity + sky = 11 free parameters."""
    from galaxyfit.model.model_file import load_model

    path = tmp_path / "model.yaml"
    path.write_text(MODEL_FILE)
    model = load_model(path)
    assert model.prior_count == 7 + 3 + 1
    names = model.parameter_names
    assert "galaxies.galaxy.bulge.centre_0" in names and not any(n.startswith("galaxies.galaxy.disk.centre") for n in names)
    assert "galaxies.galaxy.disk.effective_radius" not in names and "dataset_model.background_sky_level" in names
    instance = model.instance_from_prior_medians()
    assert instance.galaxies.galaxy.disk.centre == instance.galaxies.galaxy.bulge.centre
    assert instance.galaxies.galaxy.disk.effective_radius == 1.6
    assert instance.galaxies.galaxy.bulge.sersic_index == pytest.approx(3.5)
    # Bad entries are refused when the file is read, naming the entry.
    for text, message in [("centre: [0.0]", "bulge.centre: needs 2 entries, got 1"),
                          ("effective_radius: -1", "bulge.effective_radius: must be positive, got -1"),
                          ("sersic_index: {type: UniformPrior, lower: 1}", "UniformPrior takes lower_limit, upper_limit")]:
        path.write_text(f"galaxies:\n  galaxy:\n    bulge:\n      type: Sersic\n      {text}\n")
        with pytest.raises(ModelError, match=message.replace("[", r"\[")):
            load_model(path)
