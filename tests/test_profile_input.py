"""Hostile profile input: each test is built from a reproduction of a defect (a small Sersic index, pairs given as
arrays, malformed Imfit configuration files, converters outside their domain, total fluxes that raised) and fails
without its fix."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special

import galaxyfit as gf
from galaxyfit.errors import ModelError
from galaxyfit.imfit_config import read_imfit_config
from galaxyfit.integration import OverSampling
from galaxyfit.profiles import convert, geometry, light, operated
from galaxyfit.simulate import gaussian_psf, simulate_imaging

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

PIXEL_SCALES = 0.1
JAX_BACKEND = gf.Settings(over_sampling=OverSampling(backend="jax"))


@pytest.fixture(scope="module")
def dataset():
    truth = gf.Galaxy(0.5, bulge=gf.lp.Sersic((0.02, -0.01), (0.09, 0.05), 1.0, 0.3, 3.0))
    data, _ = simulate_imaging([truth], (16, 16), PIXEL_SCALES, gaussian_psf((5, 5), 0.1, 0.1), exposure_time=200.0, seed=3)
    return data


def instance_of(profile):
    return gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=gf.Galaxy(0.5, bulge=profile)))


def leaves(tree):
    return np.concatenate([np.ravel(np.asarray(leaf)) for leaf in jax.tree_util.tree_leaves(tree)])


# ---- 1. b_n for small Sersic indices -----------------------------------------------------------------------------


def test_small_sersic_index_b_n_halves_the_light():
    """Ciotti & Bertin's b_n is -0.455 at n = 0.1 and 0.131 at n = 0.2 (exact: 0.145); MacArthur et al.'s polynomial,
    Imfit's choice for n <= 0.36, puts half the light inside R_e to 0.4%, for Python floats and JAX arrays alike."""
    for n in (0.15, 0.2, 0.25, 0.3, 0.36):
        for b in (light.sersic_constant(n), float(light.sersic_constant(jnp.asarray(n)))):
            assert scipy.special.gammainc(2 * n, b) == pytest.approx(0.5, abs=4e-3)
            assert b == pytest.approx(scipy.special.gammaincinv(2 * n, 0.5), rel=0.02)
        # The integral of the law inside R_e is half its total flux.
        profile = light.SersicSph((0.0, 0.0), 1.0, 0.5, n)
        inner = scipy.integrate.quad(lambda r: float(profile.brightness(jnp.asarray(r * r))) * 2 * np.pi * r, 0, 0.5, epsrel=1e-11)[0]
        assert inner / PIXEL_SCALES**2 / float(profile.total_flux(PIXEL_SCALES)) == pytest.approx(0.5, abs=4e-3)


def test_sersic_brightness_is_monotonic_in_n_and_unchanged_above_036():
    n = np.linspace(light.SERSIC_INDEX_MIN, 1.0, 86)
    for radius in (0.5, 2.0, 4.0):  # relative to I(R_e), brighter with n inside and outside R_e
        values = np.array([float(light.SersicSph((0.0, 0.0), 1.0, 1.0, v).brightness_at(0.0, radius)) for v in n])
        assert (np.diff(values) > 0).all()
    # PyAutoGalaxy's expansion, bit for bit, above 0.36
    for v in (0.37, 1.0, 4.0):
        expected = 2.0 * v - 1.0 / 3.0 + 4.0 / (405.0 * v) + 46.0 / (25515.0 * v**2) + 131.0 / (1148175.0 * v**3) - 2194697.0 / (30690717750.0 * v**4)
        assert light.sersic_constant(v) == expected and float(light.sersic_constant(jnp.asarray(v))) == expected


def test_sersic_below_the_smallest_valid_index_is_invalid(dataset):
    """n = 0.1 rose outwards (I(2 R_e) = 1e202 for R_e = 5) with a finite likelihood and a NaN total flux."""
    analysis = gf.AnalysisImaging(dataset)
    profile = gf.lp.Sersic(sersic_index=0.1, effective_radius=5.0, intensity=1.0)
    assert float(analysis.log_likelihood_function(instance_of(profile))) == gf.INVALID_LOG_LIKELIHOOD
    assert math.isnan(float(profile.total_flux(PIXEL_SCALES)))
    core = gf.lp.SersicCore(sersic_index=0.1)
    assert float(analysis.log_likelihood_function(instance_of(core))) == gf.INVALID_LOG_LIKELIHOOD


@pytest.mark.parametrize("cls", [gf.lp.Sersic, gf.lp.SersicCore])
def test_small_index_cpp_and_jax_backends_agree(dataset, cls):
    """The C++ kernel evaluates b_n with Ciotti & Bertin's expansion; for n <= 0.36 its parameters are rescaled so
    that it draws the same law as the JAX backend, with the same gradients (also at the ends of that range)."""
    cpp, reference = gf.AnalysisImaging(dataset), gf.AnalysisImaging(dataset, settings=JAX_BACKEND)
    if cls is gf.lp.Sersic:  # the kernel's law, with its own b_n, evaluated here: Imfit's law
        n, radius = 0.2, np.array([0.2, 0.4, 0.8])
        _, (intensity, effective_radius, index) = cls(intensity=1.0, effective_radius=0.4, sersic_index=n).law()
        b_cpp = 2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n**2) + 131 / (1148175 * n**3) - 2194697 / (30690717750 * n**4)
        kernel = float(intensity) * np.exp(-b_cpp * ((radius / float(effective_radius)) ** (1 / n) - 1))
        b = 0.01945 - 0.8902 * n + 10.95 * n**2 - 19.67 * n**3 + 13.43 * n**4  # MacArthur et al. 2003, as Imfit
        np.testing.assert_allclose(kernel, np.exp(-b * ((radius / 0.4) ** (1 / n) - 1)), rtol=1e-12)
    def value_and_grad(analysis):
        def log_l(v):
            profile = cls(centre=(v[0], v[1]), ell_comps=(v[2], v[3]), intensity=v[4], effective_radius=v[5], sersic_index=v[6])
            return analysis.log_likelihood_function(instance_of(profile))

        return jax.jit(jax.value_and_grad(log_l))

    on_cpp, on_jax = value_and_grad(cpp), value_and_grad(reference)
    for n in (light.SERSIC_INDEX_MIN, 0.2, 0.36):
        v = jnp.array([0.03, -0.02, 0.05, 0.1, 1.0, 0.4, n])
        (value, grad), (ref_value, ref_grad) = on_cpp(v), on_jax(v)
        assert np.isfinite(float(value)) and float(value) > -1e10
        assert float(value) == pytest.approx(float(ref_value), rel=1e-12)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-8, atol=1e-8 * np.abs(ref_grad).max())


# ---- 2. pairs given as arrays --------------------------------------------------------------------------------------


def test_pairs_given_as_arrays_become_tuples_of_numbers(dataset):
    """centre=np.array([0.1, 0.0]) gave a vector likelihood [74.25 74.25], a NaN entry [-1e99, 440.6], a 1e7 centre
    that was not rejected, and jax.grad raised."""
    analysis = gf.AnalysisImaging(dataset)
    as_tuple = float(analysis.log_likelihood_function(instance_of(gf.lp.Sersic(centre=(0.1, 0.0)))))
    for pair in (np.array([0.1, 0.0]), np.array([0.1, 0.0], dtype=">f8"), jnp.array([0.1, 0.0]), [0.1, 0]):
        profile = gf.lp.Sersic(centre=pair, ell_comps=np.array([0.0, 0.0]))
        assert isinstance(profile.centre, tuple) and len(profile.centre) == 2 and isinstance(profile.ell_comps, tuple)
        value = analysis.log_likelihood_function(instance_of(profile))
        assert np.shape(value) == () and float(value) == pytest.approx(as_tuple, rel=1e-12)
    for bad in (np.array([np.nan, 0.0]), np.array([1e7, 0.0])):
        value = analysis.log_likelihood_function(instance_of(gf.lp.Sersic(centre=bad)))
        assert np.shape(value) == () and float(value) == gf.INVALID_LOG_LIKELIHOOD
    assert jax.tree_util.tree_structure(gf.lp.Sersic(centre=np.zeros(2))) == jax.tree_util.tree_structure(gf.lp.Sersic())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(centre=(0.0, 0.0, 0.0)), r"Sersic\.centre must be a pair.*3 entries"),
        (dict(centre=np.zeros(3)), r"Sersic\.centre must be a pair.*shape \(3,\)"),
        (dict(ell_comps=[0.1]), r"Sersic\.ell_comps must be a pair.*1 entries"),
        (dict(ell_comps=jnp.zeros(4)), r"Sersic\.ell_comps must be a pair.*shape \(4,\)"),
        (dict(centre=0.5), r"Sersic\.centre must be a pair.*shape \(\)"),
    ],
)
def test_pairs_of_another_length_are_refused(kwargs, match):
    with pytest.raises(ModelError, match=match):
        gf.lp.Sersic(**kwargs)


def test_array_pairs_under_jit_vmap_and_grad(dataset):
    analysis = gf.AnalysisImaging(dataset)

    def log_l(centre):
        return analysis.log_likelihood_function(instance_of(gf.lp.Sersic(centre=centre, intensity=1.0, effective_radius=0.3)))

    def log_l_pair(y, x):
        return log_l((y, x))

    centre = jnp.array([0.02, -0.03])
    grad = jax.jit(jax.grad(log_l))(centre)
    assert grad.shape == (2,)
    np.testing.assert_allclose(grad, jax.grad(log_l_pair, argnums=(0, 1))(0.02, -0.03), rtol=1e-12)
    batch = jnp.array([[0.02, -0.03], [0.0, 0.05], [np.nan, 0.0]])
    values = jax.jit(jax.vmap(log_l))(batch)
    assert values.shape == (3,) and float(values[2]) == gf.INVALID_LOG_LIKELIHOOD
    assert float(values[0]) == pytest.approx(float(log_l(centre)), rel=1e-12)
    # JAX rebuilds profiles from placeholder leaves (vmap's in_axes) and stacked leaves (a batch of instances).
    stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), gf.lp.Sersic(centre=np.array([0.0, 0.1])), gf.lp.Sersic())
    assert jax.vmap(lambda p: p.brightness_at(0.1, 0.1))(stacked).shape == (2,)


# ---- 3. Imfit configuration files ----------------------------------------------------------------------------------

CONFIG = """GAIN 4.725
X0   10.0   5,15
Y0   10.0   5,15
FUNCTION Sersic
PA    18.0   0,90
ell   0.2    0,1
n     1.5    0.5,5
I_e   15     0,500
r_e   5      0,100
FUNCTION Moffat
PA    0
ell   0
I_0   1.0
fwhm  3.0
beta  3.1
"""


@pytest.mark.parametrize(
    "old, new, match",
    [
        ("GAIN 4.725", "GAIN", r":1: GAIN has no value"),
        ("GAIN 4.725", "GAIN abc", r":1: GAIN must be a number, got 'abc'"),
        ("FUNCTION Moffat", "FUNCTION", r":10: FUNCTION has no function name"),
        ("ell   0.2    0,1", "ell 1.5", r":6: Sersic parameter ell must be in \[0, 1\)"),
        ("beta  3.1", "beta 0", r":15: Moffat parameter beta must be positive"),
        ("beta  3.1", "beta -2", r":15: Moffat parameter beta must be positive"),
        ("I_e   15     0,500", "I_e nan", r":8: Sersic parameter I_e must be finite"),
        ("r_e   5      0,100", "r_e -5", r":9: Sersic parameter r_e must be positive"),
        ("Y0   10.0   5,15", "Y0 inf", r":3: Y0 must be finite"),
        ("fwhm  3.0", "fwhm 0", r":14: Moffat parameter fwhm must be positive"),
        ("I_e   15     0,500", "I_e 15 10,0", r":8: limits of Sersic parameter I_e must be 'lo,hi' with lo <= hi"),
        ("I_e   15     0,500", "I_e 15 nan,nan", r":8: a limit of Sersic parameter I_e must be finite"),
        ("I_e   15     0,500", "I_e 600 0,500", r":8: Sersic parameter I_e = 600 lies outside its limits 0,500"),
        ("GAIN 4.725", "EXPTIME -3", r":1: EXPTIME must be positive"),
        ("GAIN 4.725", "NCOMBINED 2.5", r":1: NCOMBINED must be a positive integer"),
        ("n     1.5    0.5,5", "n 0.1", r":7: Sersic parameter n must be >= 0\.15"),
        ("I_e   15     0,500", "I_0 15", r":4: Imfit function Sersic lacks parameter 'I_e'"),
    ],
)
def test_malformed_imfit_configuration_names_file_line_and_parameter(tmp_path, old, new, match):
    path = tmp_path / "config.dat"
    path.write_text(CONFIG.replace(old, new))
    with pytest.raises(ModelError, match=f"config.dat{match}"):
        config = read_imfit_config(path)
        config.model((20, 20), 0.4)


def test_imfit_configuration_that_is_fine_still_reads(tmp_path):
    path = tmp_path / "config.dat"
    path.write_bytes(CONFIG.replace("GAIN 4.725", "GAIN 4.725  # gain in e-/ADU, caf\xe9").replace("beta  3.1", "beta  3.1\nNCOMBINED 2").encode("latin-1"))
    config = read_imfit_config(path)
    assert config.image == {"gain": 4.725, "n_combined": 2}
    model, start = config.model((20, 20), 0.4)
    assert np.isfinite(start).all()
    # a Gaussian with sigma 0 (Imfit's width in pixels) is refused as well
    gaussian = tmp_path / "gaussian.dat"
    gaussian.write_text("X0 10\nY0 10\nFUNCTION Gaussian\nPA 0\nell 0\nI_0 1\nsigma 0\n")
    with pytest.raises(ModelError, match=r"gaussian\.dat:7: Gaussian parameter sigma must be positive"):
        read_imfit_config(gaussian)


def test_unreadable_imfit_configuration_files(tmp_path):
    with pytest.raises(ModelError, match=r"missing\.dat: cannot read the Imfit configuration file"):
        read_imfit_config(tmp_path / "missing.dat")
    binary = tmp_path / "binary.dat"
    binary.write_bytes(b"GAIN 4\nX0 \x00\xff\xfe\x93 3\n")
    with pytest.raises(ModelError, match=r"binary\.dat:2: not text"):
        read_imfit_config(binary)


# ---- 4. converters -------------------------------------------------------------------------------------------------

SHAPE = (20, 20)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: convert.to_imfit(gf.lp.PointSource(), SHAPE, 0.1), "no Imfit equivalent is defined here for PointSource"),
        (lambda: convert.to_imfit(operated.Gaussian(), SHAPE, 0.1), "operated.*convolves every function with the PSF"),
        (lambda: convert.to_imfit(operated.MoffatSph(), SHAPE, 0.1), "operated.*blurred twice"),
        (lambda: convert.sersic_to_pysersic(gf.lp.Gaussian(), SHAPE, 0.1), "needs a Sersic.*got Gaussian"),
        (lambda: convert.moffat_from_imfit(10, 10, 0, 0.1, 1.0, 3.0, 0.0, SHAPE, 0.1), "beta must be positive.*0.0"),
        (lambda: convert.moffat_from_imfit(10, 10, 0, 0.1, 1.0, 3.0, -2.0, SHAPE, 0.1), "beta must be positive.*-2.0"),
        (lambda: convert.to_imfit(gf.lp.Moffat(beta=0.0), SHAPE, 0.1), r"Moffat\.beta must be positive"),
        (lambda: convert.to_imfit(gf.lp.Sersic(ell_comps=(np.nan, 0.0)), SHAPE, 0.1), r"Sersic\.ell_comps\[0\] must be finite"),
        (lambda: convert.to_imfit(gf.lp.Sersic(ell_comps=(0.0, 1.5)), SHAPE, 0.1), r"ell_comps must have magnitude < 1.*1\.5"),
        (lambda: convert.sersic_to_pysersic(gf.lp.Sersic(ell_comps=(0.0, 1.5)), SHAPE, 0.1), r"ell_comps must have magnitude < 1"),
        (lambda: convert.to_imfit(gf.lp.Sersic(centre=(np.inf, 0.0)), SHAPE, 0.1), r"Sersic\.centre\[0\] must be finite"),
        (lambda: convert.to_imfit(gf.lp.Sersic(effective_radius=-1.0), SHAPE, 0.1), r"Sersic\.effective_radius must be positive"),
        (lambda: convert.sersic_from_imfit(10, 10, 0, 0.2, 2.0, 1.0, 5.0, SHAPE, -1), "pixel_scales must be positive.*-1"),
        (lambda: convert.sersic_from_imfit(10, 10, 0, 1.2, 2.0, 1.0, 5.0, SHAPE, 0.1), r"ell must be .*\[0, 1\).*1\.2"),
        (lambda: convert.gaussian_from_imfit(10, 10, 0, 0.2, 1.0, 0.0, SHAPE, 0.1), "sigma must be positive"),
        (lambda: convert.to_imfit(gf.lp.Sersic(), SHAPE, 0.0), "pixel_scales must be positive.*0.0"),
        (lambda: convert.to_imfit(gf.lp.Sersic(), SHAPE, (0.1, np.nan)), "pixel_scales must be finite"),
        (lambda: convert.to_imfit(gf.lp.Sersic(), (20, 0), 0.1), "shape must be"),
    ],
)
def test_converters_refuse_input_outside_their_domain(call, match):
    with pytest.raises(ModelError, match=match):
        call()


def test_converters_still_round_trip():
    profile = gf.lp.Moffat((0.2, -0.1), geometry.ell_comps_to_numpy(0.7, 30.0), 2.0, 0.4, 2.5)
    imfit = convert.to_imfit(profile, SHAPE, 0.1)
    back = convert.moffat_from_imfit(imfit["X0"], imfit["Y0"], imfit["PA"], imfit["ell"], imfit["I_0"], imfit["fwhm"], imfit["beta"], SHAPE, 0.1)
    np.testing.assert_allclose(leaves(back), leaves(profile), rtol=1e-12, atol=1e-14)
    pysersic = convert.sersic_to_pysersic(gf.lp.Exponential(), SHAPE, 0.1)
    assert pysersic["n"] == 1.0 and pysersic["flux"] == pytest.approx(float(gf.lp.Exponential().total_flux(0.1)), rel=1e-15)


# ---- 5. total fluxes -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "profile",
    [
        gf.lp.Sersic(sersic_index=0.0),  # ZeroDivisionError
        gf.lp.Sersic(effective_radius=1e300),  # OverflowError
        gf.lp.SersicCore(effective_radius=-1.0),  # TypeError (complex)
        gf.lp.Gaussian(sigma=-1.0),  # a positive number
        gf.lp.Moffat(beta=0.0),  # inf
        gf.lp.ElsonFreeFall(eta=-1.0),
        gf.lp.Chameleon(core_radius_0=-1.0),
        gf.lp.Exponential(ell_comps=(0.0, 1.5)),
        gf.lp.PointSource(centre=(1e7, 0.0)),
    ],
    ids=lambda p: type(p).__name__,
)
def test_total_flux_outside_the_valid_domain_is_nan(profile):
    assert math.isnan(float(profile.total_flux(PIXEL_SCALES)))


def test_total_flux_of_extreme_valid_parameters():
    # Huge n: the plain formula's terms (~2n log b) cancelled to 3.6 instead of ~2 pi sqrt(pi n) I_e R_e^2 / area.
    for n in (1e6, 1e16, 1e49):
        expected = 2 * math.pi * math.sqrt(math.pi * n) * 0.1 * 0.6**2 / PIXEL_SCALES**2
        assert float(gf.lp.Sersic(sersic_index=n).total_flux(PIXEL_SCALES)) == pytest.approx(expected, rel=1e-6)
    # continuous where the large-n series takes over
    below, above = (float(gf.lp.Sersic(sersic_index=n).total_flux(PIXEL_SCALES)) for n in (100.0, np.nextafter(100.0, 101.0)))
    assert above == pytest.approx(below, rel=1e-12)  # (the plain formula is good to ~1e-13 there)
    # alpha = 1e-8 raised OverflowError; its integral exceeds float64 (the core is exp(~1e75) times brighter)
    assert float(gf.lp.SersicCore(alpha=1e-8).total_flux(PIXEL_SCALES)) == math.inf
    # A factor exp(~750) overflows on its own although the flux is representable for a small intensity.
    small = [float(gf.lp.ExponentialCore(alpha=0.068, intensity=i).total_flux(PIXEL_SCALES)) for i in (1e-300, 2e-300)]
    assert np.isfinite(small).all() and small[0] > 0 and small[1] == pytest.approx(2 * small[0], rel=1e-12)
    assert float(gf.lp.Moffat(beta=0.5).total_flux(PIXEL_SCALES)) == math.inf  # diverges
    assert float(gf.lp.Moffat(beta=0.5, intensity=-1.0).total_flux(PIXEL_SCALES)) == -math.inf
    assert float(gf.lp.Gaussian(intensity=0.0).total_flux(PIXEL_SCALES)) == 0.0


def test_total_flux_never_raises_over_a_posterior_like_scatter():
    """Derived quantities are computed over posterior samples: any numbers must give a number, never an exception."""
    specials = [0.0, -1e-300, 1e300, -np.inf, np.nan, 1e-8, 1e49, -2.5]
    for cls in light.PROFILES.values():
        base = cls()
        for field in dataclasses.fields(base):
            for value in specials:
                new = (value, 0.0) if isinstance(getattr(base, field.name), tuple) else value
                flux = dataclasses.replace(base, **{field.name: new}).total_flux(PIXEL_SCALES)
                assert isinstance(float(flux), float)


def test_total_flux_needs_positive_pixel_scales():
    for scales in (0.0, -0.1, (0.1, 0.0), np.nan):
        with pytest.raises(ModelError, match="pixel_scales must be a positive finite"):
            gf.lp.Sersic().total_flux(scales)
