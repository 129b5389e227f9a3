"""AnalysisImaging and FitImaging: float64, jit/vmap/grad, invalid models, and the fit statistics' definitions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal

import galaxyfit as gf
from galaxyfit.integration import OverSampling
from galaxyfit.simulate import blurred_model_image, gaussian_psf, simulate_imaging

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

TRUTH = gf.Galaxy(
    0.5,
    bulge=gf.lp.Sersic((0.02, -0.01), (0.0962250449, 0.0555555556), 1.0, 0.3, 3.0),
    disk=gf.lp.Exponential((0.02, -0.01), (0.2886751346, -0.1666666667), 0.25, 0.8),
)


@pytest.fixture(scope="module")
def dataset():
    psf = gaussian_psf((7, 7), 0.1, 0.1)
    data, _ = simulate_imaging([TRUTH], (40, 40), 0.1, psf, exposure_time=200.0, seed=3)
    return data.apply_mask(gf.Mask.circular(data.shape, 0.1, 1.5))


def instance_of(galaxy, sky=None):
    galaxies = gf.ModelInstance(galaxy=galaxy)
    if sky is None:
        return gf.ModelInstance(galaxies=galaxies)
    return gf.ModelInstance(galaxies=galaxies, dataset_model=gf.DatasetModel(sky))


def test_log_likelihood_definition_in_float64(dataset):
    analysis = gf.AnalysisImaging(dataset)
    fit = analysis.fit_from(instance_of(TRUTH), n_free_parameters=11)
    used = ~dataset.mask.array
    model = fit.blurred_image[used]
    data, noise = dataset.data[used], dataset.noise_map[used]
    chi2 = np.sum(((data - model) / noise) ** 2)
    norm = np.sum(np.log(2 * np.pi * noise**2))
    assert float(fit.chi_squared) == pytest.approx(chi2, rel=1e-13)
    assert float(fit.noise_normalization) == pytest.approx(norm, rel=1e-13)
    log_l = analysis.log_likelihood_function(instance_of(TRUTH))
    assert log_l.dtype == jnp.float64
    assert float(log_l) == pytest.approx(-0.5 * (chi2 + norm), rel=1e-13)
    assert float(fit.reduced_chi_squared) == pytest.approx(chi2 / used.sum(), rel=1e-13)
    assert float(fit.reduced_chi_squared_dof) == pytest.approx(chi2 / (used.sum() - 11), rel=1e-13)
    np.testing.assert_allclose(fit.residual_map[used], data - model, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fit.normalized_residual_map[used], (data - model) / noise, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fit.chi_squared_map[used], ((data - model) / noise) ** 2, rtol=0, atol=1e-12)
    assert (fit.residual_map[~used] == 0).all()
    # The compiled program computes in float64 from end to end (traced in float64: conftest.py's jax_float64).
    hlo = jax.jit(analysis.log_likelihood_function).lower(instance_of(TRUTH)).as_text()
    assert "f64" in hlo and "f32" not in hlo and "bf16" not in hlo


def test_background_sky_is_subtracted_from_the_data(dataset):
    analysis = gf.AnalysisImaging(dataset)
    fit = analysis.fit_from(instance_of(TRUTH, sky=0.05))
    used = ~dataset.mask.array
    chi2 = np.sum(((dataset.data[used] - 0.05 - fit.blurred_image[used]) / dataset.noise_map[used]) ** 2)
    assert float(fit.chi_squared) == pytest.approx(chi2, rel=1e-13)


def test_jit_vmap_grad(dataset):
    analysis = gf.AnalysisImaging(dataset)

    def log_l(v):
        galaxy = gf.Galaxy(0.5, bulge=gf.lp.Sersic((v[0], v[1]), (v[2], v[3]), v[4], v[5], v[6]))
        return analysis.log_likelihood_function(instance_of(galaxy))

    base = jnp.array([0.02, -0.01, 0.1, 0.05, 1.2, 0.4, 2.5])
    batch = base + jnp.array([[0.0] * 7, [0.01, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0.2, 0.1, 0.5]])
    batched = jax.jit(jax.vmap(log_l))(batch)
    for i in range(3):
        assert float(batched[i]) == pytest.approx(float(jax.jit(log_l)(batch[i])), rel=1e-12)
    grad = jax.jit(jax.grad(log_l))(base)
    eps = 1e-6
    for k in range(7):
        step = jnp.zeros(7).at[k].set(eps)
        fd = (log_l(base + step) - log_l(base - step)) / (2 * eps)
        assert float(grad[k]) == pytest.approx(float(fd), rel=1e-5, abs=1e-4)
    # A batch of instances (pytrees) vmaps directly too.
    instances = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *[instance_of(TRUTH), instance_of(TRUTH)])
    values = jax.vmap(analysis.log_likelihood_function)(instances)
    assert values.shape == (2,) and float(values[0]) == pytest.approx(float(values[1]))


def test_invalid_models_return_minus_1e99_with_finite_gradients(dataset):
    analysis = gf.AnalysisImaging(dataset)

    def log_l(v):
        galaxy = gf.Galaxy(0.5, bulge=gf.lp.Sersic((v[0], v[1]), (v[2], v[3]), v[4], v[5], v[6]))
        return analysis.log_likelihood_function(instance_of(galaxy))

    invalid = [
        [0.0, 0.0, 0.9, 0.9, 1.0, 0.4, 2.5],  # |ell_comps| > 1
        [0.0, 0.0, 0.1, 0.1, 1.0, -0.4, 2.5],  # negative radius
        [0.0, 0.0, 0.1, 0.1, 1.0, 0.4, 0.0],  # zero Sersic index
        [np.nan, 0.0, 0.1, 0.1, 1.0, 0.4, 2.5],
        [0.0, 0.0, 0.1, 0.1, np.inf, 0.4, 2.5],
    ]
    valid = [0.0, 0.0, 0.1, 0.1, 1.0, 0.4, 2.5]
    batch = jnp.array(invalid + [valid])
    values = jax.jit(jax.vmap(log_l))(batch)
    np.testing.assert_array_equal(values[:-1], gf.INVALID_LOG_LIKELIHOOD)
    assert float(values[-1]) > -1e10
    grads = jax.jit(jax.vmap(jax.grad(log_l)))(batch)
    assert np.isfinite(np.asarray(grads)).all()
    np.testing.assert_array_equal(grads[:-1], 0.0)


OVERFLOWING = [  # parameters that pass the physical checks but overflow float64 inside the model
    ("Sersic", "sersic_index", 0.05),  # Ciotti & Bertin's b_n < 0: the profile grows outwards
    ("Sersic", "sersic_index", 0.003),
    ("SersicCore", "gamma", 30.0),
    ("SersicCore", "alpha", 0.001),
    ("ExponentialCore", "radius_break", 1000.0),
    ("Gaussian", "sigma", 1e-99),  # below the workable range
    ("Moffat", "alpha", 1e-160),
    ("Sersic", "effective_radius", 1e-160),
    ("Chameleon", "core_radius_1", 1e300),
    ("Sersic", "intensity", 1e300),
    ("Exponential", "centre", (1e300, 0.0)),
    ("Sersic", "centre", (1e20, 0.0)),  # beyond 1e6": a pixel index would overflow
]


@pytest.mark.parametrize("name, field, value", OVERFLOWING)
def test_overflowing_models_are_invalid_with_zero_derivatives_in_every_mode(dataset, name, field, value):
    """-1e99 and exactly zero derivatives (grad, jacfwd, jacrev) where the model overflows: before the guard,
    reverse mode pulled the discarded branch's 0 * inf back to the parameters as NaN. The residual function flags
    the model as invalid."""
    import dataclasses

    analysis = gf.AnalysisImaging(dataset)
    profile = dataclasses.replace(getattr(gf.lp, name)(), **{field: value})

    def log_l(p):
        return analysis.log_likelihood_function(instance_of(gf.Galaxy(0.5, p=p)))

    def residuals(p):
        return analysis.normalized_residuals_function(instance_of(gf.Galaxy(0.5, p=p)))

    assert float(jax.jit(log_l)(profile)) == gf.INVALID_LOG_LIKELIHOOD
    assert not bool(residuals(profile)[1])
    derivatives = [jax.jit(jax.grad(log_l))(profile), jax.jit(jax.jacfwd(log_l))(profile),
                   jax.jit(jax.jacrev(log_l))(profile)]
    for tree in derivatives:
        leaves = np.concatenate([np.ravel(np.asarray(leaf)) for leaf in jax.tree_util.tree_leaves(tree)])
        np.testing.assert_array_equal(leaves, 0.0)
    # The guard leaves valid models' gradients alone (a finite difference agrees).
    good = dataclasses.replace(getattr(gf.lp, name)(), centre=(0.01, -0.02))
    grad = jax.grad(log_l)(good)
    eps = 1e-6
    fd = (log_l(dataclasses.replace(good, intensity=good.intensity + eps)) - log_l(dataclasses.replace(good, intensity=good.intensity - eps))) / (2 * eps)
    assert float(grad.intensity) == pytest.approx(float(fd), rel=1e-6)


def test_jax_backend_far_centre_and_circular_hessian(dataset):
    """The reference (JAX) backend too: a centre 1e20" away is invalid with zero derivatives, and the Hessian at a
    circular model (ell_comps = (0, 0), the default) is finite."""
    analysis = gf.AnalysisImaging(dataset, settings=gf.Settings(over_sampling=OverSampling(backend="jax")))

    def log_l(v):
        return analysis.log_likelihood_function(instance_of(gf.Galaxy(0.5, bulge=gf.lp.Sersic((v[0], v[1]), (v[2], v[3]), v[4], v[5], v[6]))))

    far = jnp.array([1e20, 0.0, 0.05, 0.03, 1.0, 0.3, 3.0])
    bright = jnp.array([0.0, 0.0, 0.05, 0.03, 1e49, 0.3, 3.0])  # valid, but ln L ~ -1e102: floored at -1e99
    for v in (far, bright):
        assert float(log_l(v)) == gf.INVALID_LOG_LIKELIHOOD
        np.testing.assert_array_equal(jax.grad(log_l)(v), 0.0)
    hessian = np.asarray(jax.jit(jax.hessian(log_l))(jnp.array([0.02, -0.01, 0.0, 0.0, 1.0, 0.3, 3.0])))
    assert np.isfinite(hessian).all()
    np.testing.assert_allclose(hessian, hessian.T, rtol=1e-10, atol=1e-8)


def test_adapt_images_of_the_wrong_kind_are_refused_by_name(dataset):
    with pytest.raises(TypeError, match="adapt_images must be a galaxyfit.AdaptImages"):
        gf.AnalysisImaging(dataset, adapt_images={"galaxy": np.ones(dataset.shape)})
    adapt = gf.AdaptImages(galaxy_name_image_dict={"galaxy": np.ones(dataset.shape)})
    assert gf.AnalysisImaging(dataset, adapt_images=adapt).adapt_images is adapt


def test_default_cosmology_is_planck15(dataset):
    assert gf.AnalysisImaging(dataset).cosmology.name == "Planck15"


def test_convolution_methods_agree(dataset):
    values = {}
    for method in ["direct", "fft", "separable"]:
        analysis = gf.AnalysisImaging(dataset, settings=gf.Settings(convolution=method))
        values[method] = float(analysis.log_likelihood_function(instance_of(TRUTH)))
    assert values["direct"] == pytest.approx(values["fft"], rel=1e-12)
    assert values["direct"] == pytest.approx(values["separable"], rel=1e-12)


def test_delta_psf_leaves_the_model_unblurred():
    shape = (15, 15)
    delta = np.zeros((5, 5))
    delta[2, 2] = 1.0
    galaxy = gf.Galaxy(0.5, disk=gf.lp.Exponential((0.1, 0.0), (0.1, 0.2), 1.0, 0.4))
    blurred = blurred_model_image([galaxy], shape, 0.1, delta)
    unblurred = blurred_model_image([galaxy], shape, 0.1, None)
    np.testing.assert_allclose(blurred, unblurred, rtol=1e-14)


def test_model_is_the_scipy_convolution_of_the_padded_profile_image():
    shape, psf = (24, 20), gaussian_psf((7, 5), 0.15, 0.1)
    galaxy = gf.Galaxy(0.5, disk=gf.lp.Sersic((0.8, -0.7), (0.1, 0.2), 1.0, 0.6, 2.0))  # light spills over the edge
    dataset = gf.Imaging(np.zeros(shape), np.ones(shape), psf, 0.1)
    fit = gf.FitImaging(dataset, [galaxy])
    plan = fit.plan
    from galaxyfit.fit.model_image import unblurred_box

    box = np.asarray(unblurred_box(fit.galaxies, plan))
    expected = scipy.signal.convolve(box, psf, mode="same")
    r0, c0 = plan.box_origin
    np.testing.assert_allclose(fit.blurred_image, expected[-r0 : -r0 + shape[0], -c0 : -c0 + shape[1]], rtol=1e-12)
    # Without padding (PyAutoGalaxy's behaviour) the edge loses the light from beyond the image.
    no_pad = gf.FitImaging(dataset, [galaxy], settings=gf.Settings(over_sampling=OverSampling(pad_outside_image=False)))
    assert no_pad.blurred_image[-1, 0] < fit.blurred_image[-1, 0]
    assert no_pad.blurred_image[12, 10] == pytest.approx(fit.blurred_image[12, 10], rel=1e-3)


def test_model_image_covers_the_whole_image_with_exact_pixel_means():
    """Far outside the mask and the PSF padding too (it was zero beyond the likelihood's box): the pixel means of a
    circular Gaussian, exp(-r^2 / 2 sigma^2), are products of erf differences."""
    from scipy.special import erf

    shape, ps, sigma, (yc, xc) = (40, 36), 0.1, 0.4, (0.13, -0.07)
    dataset = gf.Imaging(np.zeros(shape), np.ones(shape), gaussian_psf((5, 5), 0.1, ps), ps)
    dataset = dataset.apply_mask(gf.Mask.circular(shape, ps, 0.6))
    galaxy = gf.Galaxy(0.5, light=gf.lp.GaussianSph((yc, xc), 2.0, sigma))

    def means(n, centre):
        edges = (np.arange(n + 1) - 0.5 - (n - 1) / 2.0) * ps
        return sigma * np.sqrt(np.pi / 2) / ps * np.diff(erf((edges - centre) / (np.sqrt(2) * sigma)))

    exact = 2.0 * np.outer(means(shape[0], yc), means(shape[1], xc))
    adaptive = gf.FitImaging(dataset, [galaxy]).model_image
    # Within 1.5e-6 of the peak (2) everywhere; 0.2 % where the tail falls 3.5x per pixel (the stencil's sixth order).
    np.testing.assert_allclose(adaptive, exact, rtol=2e-3, atol=3e-6)
    assert (adaptive[[0, 0, -1, -1], [0, -1, 0, -1]] > 0).all()
    uniform = gf.FitImaging(dataset, [galaxy], settings=gf.Settings(over_sampling=OverSampling.pyautogalaxy(4))).model_image
    np.testing.assert_allclose(uniform, exact, rtol=0.05, atol=1e-4)  # pixel centres outside the mask


def test_operated_profiles_are_added_after_convolution():
    shape, psf = (21, 21), gaussian_psf((9, 9), 0.2, 0.1)
    dataset = gf.Imaging(np.zeros(shape), np.ones(shape), psf, 0.1)
    nucleus = gf.lp_operated.Gaussian((0.0, 0.0), (0.0, 0.0), 5.0, 0.15)
    only_nucleus = gf.FitImaging(dataset, [gf.Galaxy(0.5, nucleus=nucleus)])
    plain = gf.FitImaging(dataset, [gf.Galaxy(0.5, nucleus=gf.lp.Gaussian((0.0, 0.0), (0.0, 0.0), 5.0, 0.15))])
    # (model_image is rendered on the whole image, the fit on its box: coordinates differ by rounding)
    np.testing.assert_allclose(only_nucleus.blurred_image, only_nucleus.model_image, rtol=1e-12, atol=1e-15)
    assert only_nucleus.blurred_image[10, 10] > plain.blurred_image[10, 10]
    point = gf.FitImaging(dataset, [gf.Galaxy(0.5, star=gf.lp.PointSource((0.0, 0.0), 3.0))])
    assert point.blurred_image.sum() == pytest.approx(3.0, rel=1e-12)
    np.testing.assert_allclose(point.blurred_image[6:15, 6:15], 3.0 * dataset.psf, rtol=1e-12)


def test_psf_footprint_dilation_matches_scipy_and_scales_to_large_psfs():
    """The region the model is rendered on is the unmasked region dilated by the PSF's rectangle: the same pixels as
    scipy's binary_dilation, in time and memory independent of the PSF size (a 201x201 PSF once took 13 GB)."""
    import scipy.ndimage

    from galaxyfit.fit.plan import dilated_by_rectangle

    rng = np.random.default_rng(5)
    for shape, height, width in (((40, 50), 5, 7), ((61, 61), 51, 51), ((30, 20), 3, 1), ((25, 25), 1, 9), ((90, 80), 21, 35)):
        region = rng.random(shape) > 0.97
        expected = scipy.ndimage.binary_dilation(region, structure=np.ones((height, width), dtype=bool))
        np.testing.assert_array_equal(dilated_by_rectangle(region, height, width), expected)
    disc = np.zeros((461, 461), dtype=bool)
    disc[200:261, 200:261] = True
    grown = dilated_by_rectangle(disc, 401, 401)  # a fixed-size structure this big would need ~40 GB of scipy's work
    assert grown.all()
