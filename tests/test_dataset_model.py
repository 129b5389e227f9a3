"""``DatasetModel``: the tilted sky plane (non-linear slopes, and the linear plane Sky + SkySlopeY + SkySlopeX) and
``grid_offset`` (PyAutoArray's convention: profiles evaluated on the grid minus the offset)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.errors import ModelError
from galaxyfit.fit import FitImaging
from galaxyfit.profiles.linear import SkySlopeX, SkySlopeY, sky_plane_components

NY, NX, PS = 30, 26, 0.1
LEVEL, SLOPE_Y, SLOPE_X = 0.7, -0.45, 0.3  # data units per pixel, per arcsec


def plane():
    """The sky plane in numpy: row 0 at the bottom, y = (i - (NY - 1) / 2) ps, x = (j - (NX - 1) / 2) ps."""
    y = (np.arange(NY) - (NY - 1) / 2.0)[:, None] * PS
    x = (np.arange(NX) - (NX - 1) / 2.0)[None, :] * PS
    return LEVEL + SLOPE_Y * y + SLOPE_X * x


def psf():
    k = np.arange(5) - 2
    p = np.exp(-0.5 * (k[:, None] ** 2 + (k[None, :] - 0.3) ** 2) / 1.2**2)
    return p / p.sum()


GALAXY = gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=(0.05, -0.1), ell_comps=(0.1, 0.05), intensity=1.5, effective_radius=0.4,
                                           sersic_index=2.0))


def galaxy_image():
    blank = gf.Imaging(np.zeros((NY, NX)), np.ones((NY, NX)), psf(), PS)
    return np.asarray(FitImaging(blank, [GALAXY]).blurred_image)


@pytest.mark.usefixtures("jax_float64")  # grads of its own (conftest.py)
def test_nonlinear_plane_is_subtracted_as_numpy_does():
    rng = np.random.default_rng(4)
    noise = np.full((NY, NX), 0.05)
    data = galaxy_image() + plane() + noise * rng.standard_normal((NY, NX))
    mask = np.zeros((NY, NX), dtype=bool)
    mask[:3, :5] = True
    ds = gf.Imaging(data, noise, psf(), PS, mask=mask)
    model = gf.DatasetModel(LEVEL, background_sky_slope_y=SLOPE_Y, background_sky_slope_x=SLOPE_X)
    fit = FitImaging(ds, [GALAXY], model)
    subtracted = FitImaging(gf.Imaging(data - plane(), noise, psf(), PS, mask=mask), [GALAXY])
    assert float(fit.log_likelihood) == pytest.approx(float(subtracted.log_likelihood), rel=1e-13)
    # Noise-free: the plane and the galaxy explain the data exactly (a sign or orientation error would not).
    exact = FitImaging(gf.Imaging(galaxy_image() + plane(), noise, psf(), PS, mask=mask), [GALAXY], model)
    assert float(exact.chi_squared) < 1e-20
    # The slopes are differentiable parameters of the fit.
    def chi2(v):
        return FitImaging(ds, [GALAXY], gf.DatasetModel(v[0], background_sky_slope_y=v[1], background_sky_slope_x=v[2])).chi_squared

    v = jnp.array([LEVEL, SLOPE_Y, SLOPE_X])
    grad = jax.jit(jax.grad(chi2))(v)
    for k in range(3):
        step = jnp.zeros(3).at[k].set(1e-6)
        assert float(grad[k]) == pytest.approx(float((chi2(v + step) - chi2(v - step)) / 2e-6), rel=1e-6, abs=1e-6)


def test_linear_plane_recovers_the_exact_amplitudes():
    noise = np.full((NY, NX), 0.05)
    data = galaxy_image() + plane()
    galaxy = gf.Galaxy(0.5, bulge=GALAXY.bulge, **sky_plane_components())
    fit = FitImaging(gf.Imaging(data, noise, psf(), PS), [galaxy])
    # The 1e-3 the solver adds to the curvature diagonal (PyAutoArray's) biases amplitudes by ~1e-3 / F only.
    np.testing.assert_allclose(np.asarray(fit.inversion.reconstruction), [LEVEL, SLOPE_Y, SLOPE_X], rtol=1e-6)
    assert np.abs(np.asarray(fit.residual_map)).max() < 1e-6
    solved = fit.galaxies_linear_light_profiles_to_light_profiles()[0]
    assert solved.sky_slope_y.intensity == pytest.approx(SLOPE_Y, rel=1e-6)
    assert type(solved.sky_slope_x).__name__ == "SkyLevelSlopeX"
    # The whole-image model shows the plane (unblurred) on top of the galaxy.
    model_image = np.asarray(fit.model_image)
    blank = FitImaging(gf.Imaging(np.zeros((NY, NX)), noise, psf(), PS), [GALAXY]).model_image
    np.testing.assert_allclose(model_image - np.asarray(blank), plane(), atol=1e-5)
    # Negative amplitudes are solved (free sign) with the positive-only solver too.
    assert fit.plan.settings.use_positive_only_solver and float(fit.inversion.reconstruction[1]) < 0
    assert isinstance(SkySlopeY(), gf.lp_linear.Sky) and isinstance(SkySlopeX(), gf.lp_linear.Sky)


def test_grid_offset_moves_the_model_by_plus_the_offset():
    ds = gf.Imaging(np.zeros((NY, NX)), np.ones((NY, NX)), psf(), PS)
    base = np.asarray(FitImaging(ds, [GALAXY]).blurred_image)
    # A whole-pixel offset (2 rows up, 3 columns left) is the image moved by as many pixels (translation invariance of
    # the pixel integrals); compared away from the edges the roll wraps.
    moved = np.asarray(FitImaging(ds, [GALAXY], gf.DatasetModel(grid_offset=(2 * PS, -3 * PS))).blurred_image)
    np.testing.assert_allclose(moved[2:, :-3], base[:-2, 3:], atol=1e-12 * base.max())
    # A fractional offset equals moving every centre by +offset (PyAutoArray: the grid minus the offset).
    offset = (0.037, -0.052)
    shifted = gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=(0.05 + offset[0], -0.1 + offset[1]), ell_comps=(0.1, 0.05),
                                                intensity=1.5, effective_radius=0.4, sersic_index=2.0))
    a = np.asarray(FitImaging(ds, [GALAXY], gf.DatasetModel(grid_offset=offset)).blurred_image)
    b = np.asarray(FitImaging(ds, [shifted]).blurred_image)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)
    assert np.abs(a - base).max() > 1e-2 * base.max()


@pytest.mark.usefixtures("jax_float64")  # grads of its own (conftest.py)
def test_grid_offset_is_a_free_parameter_of_the_likelihood():
    from galaxyfit.model import Collection, Model
    from galaxyfit.model.priors import GaussianPrior

    data = np.asarray(FitImaging(gf.Imaging(np.zeros((NY, NX)), np.ones((NY, NX)), psf(), PS), [GALAXY],
                                 gf.DatasetModel(grid_offset=(0.02, -0.03))).blurred_image)
    ds = gf.Imaging(data, np.full((NY, NX), 0.01), psf(), PS)
    model = Collection(galaxies=Collection(galaxy=GALAXY),
                       dataset_model=Model(gf.DatasetModel, grid_offset=(GaussianPrior(0.0, 0.1), GaussianPrior(0.0, 0.1))))
    assert model.prior_count == 2
    analysis = gf.AnalysisImaging(ds)
    noise_normalization = NY * NX * np.log(2 * np.pi * 0.01**2)

    def log_l(v):
        return analysis.log_likelihood_function(model.instance_from_vector(v))

    # At the true offset the model is the data: ln L = -noise normalization / 2.
    assert float(jax.jit(log_l)(jnp.array([0.02, -0.03]))) == pytest.approx(-0.5 * noise_normalization, abs=1e-8)
    grad = jax.grad(log_l)(jnp.array([0.025, -0.03]))
    assert float(grad[0]) < 0.0  # moving back towards 0.02 raises the likelihood


def test_dataset_model_checks_and_refusals():
    with pytest.raises(ModelError, match="grid_offset must be a pair"):
        gf.DatasetModel(grid_offset=0.1)
    with pytest.raises(ModelError, match="grid_offset is not implemented with pixelizations"):
        pix = gf.Galaxy(0.5, pixelization=gf.Pixelization(mesh=gf.mesh.RectangularUniform((6, 6)), regularization=gf.reg.Constant(1.0)))
        FitImaging(gf.Imaging(np.zeros((NY, NX)), np.ones((NY, NX)), psf(), PS), [pix], gf.DatasetModel(grid_offset=(0.1, 0.0)))
    # Non-finite values are flagged and zeroed (for the likelihood's rejection of a sample).
    safe, valid = gf.DatasetModel(1.0, grid_offset=(np.nan, 0.0), background_sky_slope_x=np.inf).sanitized()
    assert not bool(valid) and float(safe.grid_offset[0]) == 0.0 and float(safe.background_sky_slope_x) == 0.0
    assert float(safe.background_sky_level) == 1.0
