"""Hostile input to models, priors and model files: each is refused at once with a ModelError that names the file
and entry, instead of a traceback, a RecursionError or a failure deep inside a search."""

import json
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import galaxyfit as gf
from galaxyfit.errors import ModelError
from galaxyfit.model import Collection, GaussianPrior, LogUniformPrior, Model, TruncatedGaussianPrior, UniformPrior
from galaxyfit.model.model_file import load_model
from galaxyfit.model.priors import unit_for


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def refused(path, message):
    """load_model(path) raises a ModelError naming the file and matching ``message``."""
    with pytest.raises(ModelError, match=re.escape(str(path)) + ".*" + message):
        load_model(path)


BULGE = "galaxies:\n  galaxy:\n    bulge:\n      type: Sersic\n      {}\n"


@pytest.mark.parametrize("entry, message", [
    ("centre: bulge", r"bulge\.centre: the link 'bulge' names a whole component"),
    ("centre: galaxies", r"bulge\.centre: the link 'galaxies' names a whole component"),
    ("intensity: [1.0, 2.0]", r"bulge\.intensity: needs one number or prior, got 2 entries"),
    ("intensity: bulge.centre", r"bulge\.intensity: needs one number or prior, got 2 entries"),
    ("centre: 0.0", r"bulge\.centre: needs 2 entries \(a pair of numbers or priors\), got 0\.0"),
    ("centre: [0.0, [1.0, 2.0]]", r"bulge\.centre: needs a number or a prior, got 2 entries"),
    ("effective_radius: .nan", r"bulge\.effective_radius: must be a finite number, got nan"),
    ("intensity: bulge.cls", r"bulge\.intensity: link 'bulge\.cls' names no parameter"),
])
def test_links_and_shapes_are_checked_when_the_file_loads(tmp_path, entry, message):
    """A link to a whole component recursed forever; pairs for numbers and numbers for pairs failed in the search."""
    refused(write(tmp_path, "model.yaml", BULGE.format(entry)), message)


def test_numbers_pyyaml_reads_as_text_are_numbers(tmp_path):
    path = write(tmp_path, "model.yaml", BULGE.format("effective_radius: 1e-1\n      sersic_index: {type: UniformPrior, lower_limit: 1e0, upper_limit: 6}"))
    bulge = load_model(path).galaxies.galaxy.bulge
    assert bulge.effective_radius == 0.1 and bulge.sersic_index.lower_limit == 1.0


def test_model_attributes_are_checked_when_set():
    sersic = Model(gf.lp.Sersic)
    for name, value, message in [("centre", 0.0, "Sersic.centre: needs 2 entries"),
                                 ("intensity", (1.0, 2.0), "Sersic.intensity: needs one number or prior, got 2 entries"),
                                 ("intensity", sersic, "Sersic.intensity: needs a number or a prior, got a whole component"),
                                 ("centre", (0.0, Model(gf.lp.Sersic)), "Sersic.centre: needs a number or a prior"),
                                 ("effective_radius", math.inf, "Sersic.effective_radius: must be a finite number")]:
        with pytest.raises(ModelError, match=re.escape(message)):
            setattr(sersic, name, value)
    with pytest.raises(ModelError, match="Sersic.intensity: needs one number"):
        Model(gf.lp.Sersic, intensity=(GaussianPrior(), GaussianPrior()))
    collection = Collection(inner=Collection())
    with pytest.raises(ModelError, match="Collection.outer: a model cannot contain itself"):
        collection.inner.outer = collection
    with pytest.raises(ModelError, match="Galaxy.disk: a galaxy component must be a profile"):
        Model(gf.Galaxy, disk=GaussianPrior())
    assert sersic.info  # nothing was half-assigned


TRUNCATED_JSON = '{"galaxies": {"galaxy": {"bulge": {"type": "Sersic"'


@pytest.mark.parametrize("name, content, message", [
    ("model.yaml", b"galaxies:\n  g\xff: {}\n", r"not UTF-8 text \(byte 0xff at offset 13\)"),
    ("model.json", b'{"galaxies": {"g\xfe": {}}}', r"not UTF-8 text \(byte 0xfe"),
    ("model.json", TRUNCATED_JSON, "not valid JSON"),
    ("model.json", "null", "a model file needs a 'galaxies' section, got None"),
    ("model.json", "5", "a model file needs a 'galaxies' section, got 5"),
    ("model.yaml", BULGE.format("sersic_index: {type: UniformPrior, lower_limit: abc, upper_limit: 1}"),
     r"galaxies\.galaxy\.bulge\.sersic_index: UniformPrior: lower_limit must be a real number, got 'abc'"),
    ("model.yaml", BULGE.format("sersic_index: {type: UniformPrior, lower_limit: [1], upper_limit: 2}"),
     r"bulge\.sersic_index: UniformPrior: lower_limit must be a real number, got \[1\]"),
    ("model.yaml", BULGE.format("sersic_index: {type: UniformPrior, lower_limit: 3, upper_limit: 1}"),
     r"galaxies\.galaxy\.bulge\.sersic_index: UniformPrior needs finite lower_limit < upper_limit"),
    ("model.yaml", BULGE.format("sersic_index: {type: [UniformPrior]}"), r"bulge\.sersic_index: unknown prior type"),
    ("model.yaml", "galaxies: [a, b]\n", r"galaxies must be a mapping of galaxy names to galaxies, got \['a', 'b'\]"),
    ("model.yaml", "galaxies:\n  galaxy: [1, 2]\n", r"galaxies\.galaxy must be a mapping of component names"),
    ("model.yaml", "galaxies:\n  1: {}\n", "galaxies: names must be text, got 1"),
    ("model.yaml", "galaxies:\n  galaxy: {}\ndataset_model: 5\n", "dataset_model must be a mapping of parameters to values, got 5"),
    ("model.yaml", BULGE.format("centre: &a [*a, 1]"), "entries nest too deeply, or contain themselves through YAML anchors"),
    ("model.yaml", "galaxies:\n  galaxy:\n    bulge:\n      type: [Sersic]\n", r"galaxies\.galaxy\.bulge: unknown profile type \['Sersic'\]"),
    ("model.yaml", "galaxies:\n  galaxy:\n    redshift: -2\n", r"galaxies\.galaxy\.redshift: must be a finite number >= 0, a prior, or None \(not given\), got -2"),
    ("model.yaml", "galaxies:\n  galaxy:\n    redshift: .inf\n", r"galaxies\.galaxy\.redshift: must be a finite number >= 0"),
    ("model.yaml", "galaxies:\n  galaxy:\n    redshift: {type: GaussianPrior, mean: 0.5, sigma: 0.1}\n",
     r"galaxies\.galaxy\.redshift: a redshift prior must not reach below 0"),
])
def test_malformed_model_files_name_the_file_and_entry(tmp_path, name, content, message):
    refused(write(tmp_path, name, content), message)


def test_redshift_zero_is_allowed_and_negative_is_refused():
    assert Model(gf.Galaxy, redshift=0).redshift == 0.0
    assert Model(gf.Galaxy, redshift=TruncatedGaussianPrior(0.5, 0.1, 0.0, math.inf)).prior_count == 1
    for redshift in (-2.0, math.nan, math.inf, (0.5, 0.5)):
        with pytest.raises(ModelError, match="Galaxy.redshift: must be a finite number >= 0, a prior, or None"):
            Model(gf.Galaxy, redshift=redshift)
    galaxy = Model(gf.Galaxy)
    with pytest.raises(ModelError, match="Galaxy.redshift"):
        galaxy.redshift = -0.1


def one_sersic_dict():
    return Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic))).to_dict()


def bulge_of(d):
    return d["model"]["attributes"]["galaxies"]["attributes"]["galaxy"]["attributes"]["bulge"]


def test_json_models_are_checked_like_model_files(tmp_path):
    path = tmp_path / "model.json"
    cases = [(lambda d: bulge_of(d)["attributes"].update(intensity={"prior": "99"}),
              r"model\.galaxies\.galaxy\.bulge\.intensity: prior '99' is not among the 'priors'"),
             (lambda d: bulge_of(d).update({"class": "Nope"}), r"model\.galaxies\.galaxy\.bulge: unknown class 'Nope'"),
             (lambda d: bulge_of(d)["attributes"].update(colour={"value": 1.0}), r"bulge\.colour: Sersic has no parameter 'colour'"),
             (lambda d: bulge_of(d)["attributes"].update(effective_radius={"value": -3}), r"bulge\.effective_radius: must be positive, got -3"),
             (lambda d: bulge_of(d)["attributes"].update(intensity={"value": "1"}), r"bulge\.intensity: 'value' must be a number"),
             (lambda d: bulge_of(d)["attributes"].update(centre={"value": 0.0}), r"bulge\.centre: needs 2 entries"),
             (lambda d: d["priors"].update({"0": {"type": "UniformPrior", "lower_limit": 5, "upper_limit": 1}}),
              r"priors\.0: UniformPrior needs finite lower_limit < upper_limit"),
             (lambda d: d["priors"].update({"0": {"type": "GaussianPrior", "mean": 0.0}}), r"priors\.0: GaussianPrior takes mean, sigma"),
             (lambda d: d["model"]["attributes"]["galaxies"]["attributes"]["galaxy"]["attributes"].update(redshift={"value": -2}),
              r"model\.galaxies\.galaxy\.redshift: must be a finite number >= 0"),
             (lambda d: d["model"]["attributes"].pop("galaxies"), "the model needs a 'galaxies' collection")]
    for change, message in cases:
        d = one_sersic_dict()
        change(d)
        path.write_text(json.dumps(d))
        refused(path, message)
    with pytest.raises(ModelError, match="not valid JSON"):
        Model.from_json('{"model": ')
    with pytest.raises(ModelError, match="expected {'model'"):
        Model.from_json("[]")


def test_json_attributes_left_out_get_the_default_priors():
    """A Sersic listing only its intensity had 1 free parameter, effective_radius 0.6 and n = 4 fixed."""
    d = one_sersic_dict()
    attributes = bulge_of(d)["attributes"]
    for name in list(attributes):
        if name != "intensity":
            del attributes[name]
    del d["model"]["attributes"]["galaxies"]["attributes"]["galaxy"]["attributes"]["redshift"]
    model = Model.from_dict(d)
    default = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic)))
    assert model.parameter_names == default.parameter_names
    assert [repr(p) for p in model.priors] == [repr(p) for p in default.priors]
    assert model.galaxies.galaxy.redshift is None  # none given: no sizes in kpc (a distance is not assumed)


def scipy_truncnorm(mean, sigma, lower, upper):
    return stats.truncnorm((lower - mean) / sigma, (upper - mean) / sigma, mean, sigma)


UNIT = np.concatenate([[1e-12, 1e-6, 1e-3], np.linspace(0.01, 0.99, 23), [1 - 1e-3, 1 - 1e-6, 1 - 1e-12]])


@pytest.mark.usefixtures("jax_float64")  # its own jit/vmap of the priors (conftest.py)
@pytest.mark.parametrize("mean, sigma, lower, upper", [
    (0.0, 1.0, 10.0, 20.0), (0.0, 0.1, 4.0, 5.0), (0.0, 1.0, -20.0, -10.0), (0.0, 1.0, 38.0, 40.0), (0.0, 1.0, 40.0, math.inf),
    (0.0, 1.0, -math.inf, -40.0), (3.0, 2.0, 50.0, 1e4), (0.0, 1.0, 5.0, 6.0),
    (0.0, 0.3, -1.0, 1.0), (0.0, 1.0, -1.0, math.inf), (2.0, 3.0, -math.inf, 1.0), (0.0, 1.0, -40.0, 40.0), (1.0, 1.0, 1.0, 1.5),
])
def test_truncated_gaussian_matches_scipy_in_far_tails(mean, sigma, lower, upper):
    """With both limits far above the mean the CDF was 1 - tiny: every value was the upper limit, log_prior raised
    a math domain error and unit_for divided by zero."""
    prior = TruncatedGaussianPrior(mean, sigma, lower, upper)
    distribution = scipy_truncnorm(mean, sigma, lower, upper)
    # scipy's ppf near u = 1 loses digits in some cases (7.05854 for 7.05853656 at 1 - 1e-10 with limits -1, inf),
    # and so does its isf in others: the upper half is the mirrored distribution's ppf at 1 - u (exact for u >= 0.5)
    mirrored = scipy_truncnorm(-mean, sigma, -upper, -lower)
    expected = np.where(UNIT <= 0.5, distribution.ppf(UNIT), -mirrored.ppf(1.0 - UNIT))
    numpy_values = np.array([float(prior.value_for(u)) for u in UNIT])
    jax_values = np.asarray(jax.jit(jax.vmap(prior.value_for))(jnp.asarray(UNIT)))
    np.testing.assert_allclose(numpy_values, expected, rtol=1e-10)
    np.testing.assert_allclose(jax_values, expected, rtol=1e-10)
    assert lower < expected[0] and expected[-1] < upper
    np.testing.assert_allclose(np.asarray(prior.log_prior(jnp.asarray(expected))), distribution.logpdf(expected), rtol=1e-10)
    np.testing.assert_allclose([float(prior.log_prior(v)) for v in expected], distribution.logpdf(expected), rtol=1e-10)
    middle = (UNIT > 1e-4) & (UNIT < 1 - 1e-4)
    np.testing.assert_allclose([unit_for(prior, v) for v in expected[middle]], UNIT[middle], rtol=1e-7)
    assert math.isfinite(prior.median) and lower < prior.median < upper


@pytest.mark.parametrize("make, message", [
    (lambda: TruncatedGaussianPrior(0.0, math.inf, -1.0, 1.0), "TruncatedGaussianPrior needs a finite mean, finite sigma > 0"),
    (lambda: TruncatedGaussianPrior(math.nan, 1.0), "TruncatedGaussianPrior needs a finite mean"),
    (lambda: UniformPrior(-1e308, 1e308), r"UniformPrior: upper_limit - lower_limit overflows float64"),
    (lambda: UniformPrior("0", "1"), "UniformPrior: lower_limit must be a real number, got '0' \\(str\\)"),
    (lambda: UniformPrior(0.0, None), "UniformPrior: upper_limit must be a real number, got None"),
    (lambda: UniformPrior(False, 1.0), "UniformPrior: lower_limit must be a real number, got False"),
    (lambda: UniformPrior(np.bool_(True), 2.0), "UniformPrior: lower_limit must be a real number"),
    (lambda: GaussianPrior(1j, 1.0), r"GaussianPrior: mean must be a real number, got 1j \(complex\)"),
    (lambda: GaussianPrior(0.0, np.array([1.0])), "GaussianPrior: sigma must be a real number"),
    (lambda: LogUniformPrior(1.0, 10**400), "LogUniformPrior needs 0 < lower_limit < upper_limit < inf"),
    (lambda: TruncatedGaussianPrior(0.0, 1.0, "a", 1.0), "TruncatedGaussianPrior: lower_limit must be a real number"),
])
def test_bad_prior_arguments_are_model_errors(make, message):
    with pytest.raises(ModelError, match=message):
        make()


def test_prior_arguments_may_be_numpy_values_of_any_real_dtype():
    big = np.array(2.0, dtype=">f8")
    prior = TruncatedGaussianPrior(np.float32(0.5), big, np.int16(-3), np.array(7, dtype=">i4"))
    assert prior.to_dict() == {"type": "TruncatedGaussianPrior", "mean": 0.5, "sigma": 2.0, "lower_limit": -3.0, "upper_limit": 7.0}
    assert all(type(v) is float for v in prior.to_dict().values() if not isinstance(v, str))
    assert UniformPrior(np.uint8(1), np.longdouble(2.5)).median == 1.75


@pytest.mark.usefixtures("jax_float64")  # its own JAX arrays (conftest.py)
def test_extreme_log_uniform_limits_give_finite_values():
    """log(upper / lower) overflowed for 5e-324 .. 1e308: the median and every draw were inf or NaN."""
    prior = LogUniformPrior(5e-324, 1e308)
    unit = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    assert np.all(np.isfinite(np.asarray(prior.value_for(jnp.asarray(unit)))))  # (XLA flushes 5e-324 to 0)
    values = prior.value_for(unit)
    assert np.all(np.isfinite(values)) and values[0] == 5e-324 and values[-1] == pytest.approx(1e308, rel=1e-12)
    assert math.isfinite(prior.median) and math.isfinite(float(prior.log_prior(1.0)))
    assert unit_for(prior, prior.median) == pytest.approx(0.5, rel=1e-12)
