"""Imfit configuration files in and out: every fixed flag and limit becomes a fixed value or an exact box prior
(through the Imfit-parameterised profiles), the start vector is the file's values, and the best-fit file we write
reads back (here and, where installed, in pyimfit) to the same model."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.errors import ModelError
from galaxyfit.imfit_config import read_imfit_config, write_imfit_config
from galaxyfit.model import Collection, GaussianPrior, LogUniformPrior, Model, UniformPrior
from galaxyfit.profiles import convert, light
from galaxyfit.profiles.parameterised import ImfitExponential, ImfitGaussian, ImfitMoffat, ImfitSersic

SHAPE = (70, 64)  # (N_y, N_x): not square, so a swapped axis shows
PS = 0.5

CONFIG = """GAIN 4.0
X0 40.3 30,50
Y0 35.7 fixed
FUNCTION Sersic
PA 30 0,90
ell 0.4 0.1,0.5
n 2.5 fixed
I_e 10 0,100
r_e 8 1,50
FUNCTION Exponential
PA 120
ell 0.6
I_0 50
h 6
X0 20 fixed
Y0 50 10,60
FUNCTION Gaussian
PA 75 50,100
ell 0.3 fixed
I_0 20 20,20
sigma 4
FUNCTION Moffat
PA 150
ell 0.2
I_0 30
fwhm 5 2,9
beta 2.5 1,6
FUNCTION FlatSky
I_sky 1.5 0,3
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.dat"
    path.write_text(CONFIG)
    return read_imfit_config(path)


def _box(prior):
    assert isinstance(prior, UniformPrior), prior
    return prior.limits


def test_every_fixed_flag_and_limit_is_honoured(config):
    model, start = config.model(SHAPE, PS)
    g0 = model.galaxies.galaxy_0
    g1 = model.galaxies.galaxy_1
    s, e = g0.sersic_0, g0.exponential_1
    # X0 30,50 -> x = (X0 - (64+1)/2) * 0.5; Y0 fixed -> (35.7 - 35.5) * 0.5
    assert _box(s.centre[1]) == pytest.approx(((30 - 32.5) * PS, (50 - 32.5) * PS), rel=1e-15)
    assert s.centre[0] == pytest.approx((35.7 - 35.5) * PS, rel=1e-12) and isinstance(s.centre[0], float)
    assert e.centre[1] is s.centre[1]  # one centre per function set, as in Imfit
    assert _box(s.position_angle) == (0.0, 90.0)
    assert _box(s.axis_ratio) == pytest.approx((0.5, 0.9), rel=1e-15)  # ell 0.1,0.5 -> q = 1 - ell
    assert s.sersic_index == 2.5
    assert _box(s.intensity) == (0.0, 100.0)
    assert _box(s.effective_radius_major) == pytest.approx((1 * PS, 50 * PS), rel=1e-15)
    # no limits: the documented defaults around the value
    assert _box(e.position_angle) == (30.0, 210.0)
    assert _box(e.axis_ratio) == (0.0, 1.0)
    assert isinstance(e.intensity, LogUniformPrior) and e.intensity.limits == (1e-6, 1e6)
    assert _box(e.scale_length) == (0.0, 30.0)
    gauss, moffat = g1.gaussian_0, g1.moffat_1
    assert gauss.centre[1] == pytest.approx((20 - 32.5) * PS) and _box(gauss.centre[0]) == pytest.approx(((10 - 35.5) * PS, (60 - 35.5) * PS))
    assert gauss.axis_ratio == pytest.approx(0.7) and gauss.intensity == 20.0  # fixed, and lo == hi fixes too
    assert isinstance(gauss.centre[0], UniformPrior) and moffat.centre[0] is gauss.centre[0]
    assert _box(moffat.fwhm_major) == pytest.approx((2 * PS, 9 * PS)) and _box(moffat.beta) == (1.0, 6.0)
    assert _box(model.dataset_model.background_sky_level) == (0.0, 3.0)
    assert model.prior_count == (1 + 4 + 4) + (1 + 2 + 5) + 1  # (X0, Sersic, Exponential), (Y0, Gaussian, Moffat), sky
    # the start vector is the file's values: its instance equals the standard conversions (convert.py)
    instance = model.instance_from_vector(start)
    assert instance.dataset_model.background_sky_level == 1.5
    for got, want in [(instance.galaxies.galaxy_0.sersic_0, convert.sersic_from_imfit(40.3, 35.7, 30, 0.4, 2.5, 10, 8, SHAPE, PS)),
                      (instance.galaxies.galaxy_0.exponential_1, convert.exponential_from_imfit(40.3, 35.7, 120, 0.6, 50, 6, SHAPE, PS)),
                      (instance.galaxies.galaxy_1.gaussian_0, convert.gaussian_from_imfit(20, 50, 75, 0.3, 20, 4, SHAPE, PS)),
                      (instance.galaxies.galaxy_1.moffat_1, convert.moffat_from_imfit(20, 50, 150, 0.2, 30, 5, 2.5, SHAPE, PS))]:
        standard = got.standard()
        assert type(standard) is type(want)
        for name in standard.parameter_names:
            np.testing.assert_allclose(np.ravel(getattr(standard, name)), np.ravel(getattr(want, name)), rtol=1e-13, atol=1e-15)


@pytest.mark.usefixtures("jax_float64")  # its own jit/vmap/grad (conftest.py)
def test_parameterised_profiles_evaluate_as_standard_under_jit_vmap_grad():
    y, x = np.meshgrid(np.linspace(-3, 3, 7), np.linspace(-3, 3, 9), indexing="ij")
    cases = [(ImfitSersic, (0.2, -0.1), [33.0, 0.55, 3.0, 1.4, 2.2]), (ImfitExponential, (0.0, 0.3), [100.0, 0.4, 5.0, 0.9]),
             (ImfitGaussian, (-0.2, 0.1), [10.0, 0.8, 2.0, 0.7]), (ImfitMoffat, (0.1, 0.1), [170.0, 0.6, 4.0, 1.1, 3.0])]
    for cls, centre, values in cases:
        profile = cls(centre, *values)
        standard = profile.standard()
        np.testing.assert_allclose(profile.brightness_at(y, x), standard.brightness_at(y, x), rtol=1e-14)
        assert float(profile.total_flux(0.1)) == pytest.approx(float(standard.total_flux(0.1)), rel=1e-14)


    # traced: one class (the others share the machinery, ReparameterisedProfile)
    def total(v):
        return ImfitSersic((v[0], v[1]), *v[2:]).brightness_at(y, x).sum()

    centre, values = cases[0][1], cases[0][2]
    vector = jnp.array([*centre, *values])
    expected = float(ImfitSersic(centre, *values).standard().brightness_at(y, x).sum())
    assert float(jax.jit(total)(vector)) == pytest.approx(expected, rel=1e-13)
    gradient = jax.grad(total)(vector)
    assert np.all(np.isfinite(gradient)) and np.all(gradient[2:] != 0)
    # the brightness is linear in the intensity (vector[4]): its derivative is the image at unit intensity
    unit = float(ImfitSersic(centre, values[0], values[1], 1.0, *values[3:]).brightness_at(y, x).sum())
    assert float(gradient[4]) == pytest.approx(unit, rel=1e-12)
    batch = jax.vmap(total)(jnp.stack([vector, vector.at[4].add(10.0)]))
    assert float(batch[0]) == pytest.approx(expected, rel=1e-13) and float(batch[1]) == pytest.approx(expected + 10 * unit, rel=1e-12)


def test_likelihood_of_the_imfit_model_equals_that_of_the_standard_profiles(config):
    model, start = config.model(SHAPE, PS)
    instance = model.instance_from_vector(start)
    standard = [gf.Galaxy(0.5, **{k: p.standard() for k, p in g.components.items()}) for _, g in instance.galaxies.items()]
    rng = np.random.default_rng(1)
    data = rng.normal(0.0, 1.0, SHAPE)
    from galaxyfit.simulate import gaussian_psf

    dataset = gf.Imaging(data, np.ones(SHAPE), gaussian_psf((5, 5), 0.6, PS), PS)
    analysis = gf.AnalysisImaging(dataset)
    ours = float(analysis.log_likelihood_function(instance))
    theirs = float(gf.FitImaging(dataset, standard, instance.dataset_model).log_likelihood)
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_written_best_fit_reads_back_to_the_same_model(config, tmp_path):
    model, start = config.model(SHAPE, PS)
    moved = np.array(start, dtype=float)
    moved += 0.01 * np.abs(moved) * np.linspace(-1, 1, moved.size)  # a "best fit" inside the boxes
    instance = model.instance_from_vector(moved)
    path = write_imfit_config(tmp_path / "bestfit.dat", instance, SHAPE, PS, model=model, image=config.image)
    again = read_imfit_config(path)
    assert again.image == config.image
    model2, start2 = again.model(SHAPE, PS)
    assert model2.parameter_names == model.parameter_names
    np.testing.assert_allclose(start2, moved, rtol=1e-10, atol=1e-12)
    for p, q in zip(model.priors, model2.priors):
        assert type(p) is type(q)
        if isinstance(p, UniformPrior):
            np.testing.assert_allclose(q.limits, p.limits, rtol=1e-12, atol=1e-13)
    text = path.read_text()
    assert "n         2.5                     fixed" in text and "Y0        35.7" in text
    # the file's fixed parameters stay fixed: same fixed values in the written model
    assert model2.galaxies.galaxy_0.sersic_0.sersic_index == 2.5
    assert model2.galaxies.galaxy_1.gaussian_0.intensity == 20.0


def test_written_standard_profiles_keep_linear_limits_and_fixed_index(tmp_path):
    sersic = Model(light.Sersic, centre=(UniformPrior(-1.0, 1.0), UniformPrior(-2.0, 2.0)), intensity=UniformPrior(0.0, 50.0), sersic_index=3.0)
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=sersic)))
    profile = light.Sersic((0.2, -0.4), (0.1, -0.2), 12.0, 1.3, 3.0)
    instance = model.instance_from_vector(model.vector_from_instance(gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=gf.Galaxy(0.5, bulge=profile)))))
    path = write_imfit_config(tmp_path / "b.dat", instance, SHAPE, PS, model=model)
    read = read_imfit_config(path)
    function = read.function_sets[0].functions[0]
    expected = convert.to_imfit(profile, SHAPE, PS)
    for key in ("PA", "ell", "n", "I_e", "r_e"):
        assert function.parameters[key].value == pytest.approx(expected[key], rel=1e-14)
    assert function.parameters["n"].fixed and function.parameters["I_e"].limits == (0.0, 50.0)
    assert read.function_sets[0].x0.limits == pytest.approx((-2.0 / PS + 32.5, 2.0 / PS + 32.5))
    assert function.parameters["PA"].limits is None and not function.parameters["r_e"].fixed


def test_pyimfit_reads_the_written_file_and_makes_the_same_image(config, tmp_path):
    pyimfit = pytest.importorskip("pyimfit")
    model, start = config.model(SHAPE, PS)
    instance = model.instance_from_vector(start)
    path = write_imfit_config(tmp_path / "bestfit.dat", instance, SHAPE, PS, model=model, image=config.image)
    description = pyimfit.parse_config_file(str(path))
    limits = [lim for lim in description.getParameterLimits()]
    assert (30.0, 50.0) in limits and (0.0, 90.0) in limits
    image = pyimfit.Imfit(description).getModelImage(shape=SHAPE)
    ny, nx = SHAPE
    yy, xx = np.meshgrid((np.arange(ny) - (ny - 1) / 2) * PS, (np.arange(nx) - (nx - 1) / 2) * PS, indexing="ij")
    ours = sum(np.asarray(p.brightness_at(yy, xx)) for _, g in instance.galaxies.items() for p in g.light_profiles) + 1.5
    # Imfit samples each pixel at its centre, except for sub-pixel sampling within ~10 pixels of a centre
    far = np.ones(SHAPE, bool)
    for _, g in instance.galaxies.items():
        c = g.light_profiles[0].centre
        far &= np.hypot(yy - c[0], xx - c[1]) > 12 * PS
    assert far.sum() > 3000
    np.testing.assert_allclose(image[far], ours[far], rtol=1e-12)


@pytest.mark.parametrize("text,match", [
    ("X0 10\nY0 10\nFUNCTION EdgeOnDisk\nPA 1\n", r"config.dat:3: Imfit function 'EdgeOnDisk' has no galaxyfit equivalent"),
    ("X0 10\nY0 10\nFUNCTION Gaussian\nPA 1\nell 0.1\nI_0 1\nsigma 2\nr_e 3\n", r"config.dat:8: .*Gaussian has no parameter 'r_e'"),
    ("X0 10\nY0 10\nFUNCTION Gaussian\nPA 1\nell 0.1\nI_0 1\n", r"config.dat:3: .*lacks parameter 'sigma'"),
    ("X0 10\nY0 10\nFUNCTION FlatSky\nI_sky 1\nFUNCTION FlatSky\nI_sky 2\n", r"config.dat:5: a second FlatSky"),
    ("X0 10\nY0 10\nFUNCTION Gaussian\nPA 1\nell 0.1\nI_0 -1\nsigma 2\n", r"config.dat:6: Gaussian parameter I_0: .*give limits"),
])
def test_refusals_name_file_and_line(tmp_path, text, match):
    path = tmp_path / "config.dat"
    path.write_text(text)
    with pytest.raises(ModelError, match=match):
        read_imfit_config(path).model((20, 20), 1.0)


def test_default_priors_hold_values_outside_galaxyfit_defaults(tmp_path):
    path = tmp_path / "config.dat"
    path.write_text("X0 10\nY0 10\nFUNCTION Sersic\nPA 10\nell 0.1\nn 9\nI_e 3e7\nr_e 100\n")
    model, start = read_imfit_config(path).model((20, 20), 1.0)
    s = model.galaxies.galaxy.sersic_0
    assert isinstance(s.centre[0], GaussianPrior) and (s.centre[0].mean, s.centre[0].sigma) == (-0.5, 0.3)
    assert s.sersic_index.limits == (0.8, 18.0) and s.intensity.limits == (1e-6, 3e9) and s.effective_radius_major.limits == (0.0, 1000.0)
    assert math.isfinite(model.log_prior(start))


def test_command_line_helpers(config, tmp_path):
    from types import SimpleNamespace

    from galaxyfit.imfit_config import model_from_imfit_config, write_imfit_best_fit

    model, start, parsed = model_from_imfit_config(config.path, SHAPE, PS)
    assert parsed.image == {"gain": 4.0} and model.prior_count == len(start)
    result = SimpleNamespace(analysis=SimpleNamespace(dataset=SimpleNamespace(shape=SHAPE, pixel_scales=(PS, PS))), model=model,
                             max_log_likelihood_instance=model.instance_from_vector(start))
    path = write_imfit_best_fit(tmp_path / "best.dat", result, parsed)
    _, start2, again = model_from_imfit_config(path, SHAPE, PS)
    assert again.image == parsed.image
    np.testing.assert_allclose(start2, start, rtol=1e-12, atol=1e-14)


@pytest.mark.usefixtures("jax_float64")  # its own jit/vmap/grad (conftest.py)
def test_traced_likelihood_and_its_gradient(tmp_path):
    path = tmp_path / "one.dat"
    path.write_text("X0 12.2 8,16\nY0 10.6\nFUNCTION Sersic\nPA 40 0,90\nell 0.3 0,0.8\nn 1.7 0.5,6\nI_e 5 0,50\nr_e 4 1,10\n")
    shape = (22, 24)
    model, start = read_imfit_config(path).model(shape, PS)
    from galaxyfit.simulate import gaussian_psf

    data = np.random.default_rng(2).normal(0.0, 1.0, shape)
    analysis = gf.AnalysisImaging(gf.Imaging(data, np.ones(shape), gaussian_psf((3, 3), 0.5, PS), PS))

    def log_likelihood(v):
        return analysis.log_likelihood_function(model.instance_from_vector(v))

    concrete = float(log_likelihood(np.asarray(start)))
    standard = model.instance_from_vector(start).galaxies.galaxy.sersic_0.standard()
    assert concrete == pytest.approx(float(gf.FitImaging(analysis.dataset, [gf.Galaxy(0.5, s=standard)]).log_likelihood), rel=1e-12)
    value, gradient = jax.jit(jax.value_and_grad(log_likelihood))(jnp.asarray(start))
    assert float(value) == pytest.approx(concrete, rel=1e-12)
    assert np.all(np.isfinite(gradient)) and np.all(np.asarray(gradient) != 0)
    # the intensity gradient against a central difference (the likelihood is quadratic in the intensity)
    i = model.parameter_names.index("galaxies.galaxy.sersic_0.intensity")
    step = np.zeros(len(start))
    step[i] = 1e-3
    difference = (log_likelihood(np.asarray(start) + step) - log_likelihood(np.asarray(start) - step)) / 2e-3
    assert float(gradient[i]) == pytest.approx(float(difference), rel=1e-6)
