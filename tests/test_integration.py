"""Pixel integration of light profiles against independent high-resolution quadrature."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

import galaxyfit  # noqa: F401
from galaxyfit import integration
from galaxyfit.integration import BoxGrid, OverSampling
from galaxyfit.profiles import geometry, light

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

PS = 0.05  # arcsec per pixel


def _graded_rule(n, power=4):
    t, w = np.polynomial.legendre.leggauss(n)
    t, w = (t + 1) / 2, w / 2
    return t**power, w * power * t ** (power - 1)


def exact_pixel_mean(profile, y, x, h=PS, n=64):
    """Mean brightness over the pixel centred at (y, x): the pixel is split along the lines through the profile centre
    and each part integrated with a tensor Gauss-Legendre rule graded (t^4) towards the corner nearest the centre --
    a different rule from the library's triangles; it agrees with scipy's adaptive dblquad to 1e-10
    (``test_reference_quadrature_agrees_with_scipy``)."""
    cy, cx = (float(c) for c in profile.centre)
    ys = sorted({y - h / 2, y + h / 2} | ({cy} if y - h / 2 < cy < y + h / 2 else set()))
    xs = sorted({x - h / 2, x + h / 2} | ({cx} if x - h / 2 < cx < x + h / 2 else set()))
    u, wu = _graded_rule(n)
    py, px, weights = [], [], []
    for y0, y1 in zip(ys[:-1], ys[1:]):
        yy = y0 + (y1 - y0) * u if abs(y0 - cy) <= abs(y1 - cy) else y1 - (y1 - y0) * u
        for x0, x1 in zip(xs[:-1], xs[1:]):
            xx = x0 + (x1 - x0) * u if abs(x0 - cx) <= abs(x1 - cx) else x1 - (x1 - x0) * u
            grid_y, grid_x = np.meshgrid(yy, xx, indexing="ij")
            py.append(grid_y.ravel())
            px.append(grid_x.ravel())
            weights.append((np.outer(wu, wu) * (y1 - y0) * (x1 - x0)).ravel())
    values = np.asarray(profile.brightness_at(jnp.asarray(np.concatenate(py)), jnp.asarray(np.concatenate(px))))
    return float(np.sum(values * np.concatenate(weights))) / (h * h)


def test_reference_quadrature_agrees_with_scipy():
    profile = light.Sersic((PS / 2, PS / 2), geometry.ell_comps_to_numpy(0.5, 30.0), 1.0, 0.1, 4.0)
    f = jax.jit(lambda yy, xx: profile.brightness_at(yy, xx))
    pieces = [(0.0, PS / 2, 0.0, PS / 2), (PS / 2, PS, 0.0, PS / 2), (0.0, PS / 2, PS / 2, PS), (PS / 2, PS, PS / 2, PS)]
    total = sum(
        scipy.integrate.dblquad(lambda xx, yy: float(f(yy, xx)), y0, y1, x0, x1, epsabs=0, epsrel=1e-10)[0]
        for y0, y1, x0, x1 in pieces
    )
    assert exact_pixel_mean(profile, PS / 2, PS / 2) == pytest.approx(total / PS**2, rel=1e-9)


def box_around_origin(n=9):
    return BoxGrid(y0=-(n // 2) * PS, x0=-(n // 2) * PS, shape=(n, n), pixel_scales=(PS, PS))


@pytest.mark.parametrize("axis_ratio", [1.0, 0.5])
@pytest.mark.parametrize("where", ["pixel centre", "pixel corner"])
def test_central_pixel_of_a_compact_de_vaucouleurs_within_0p1_percent(axis_ratio, where):
    # n = 4, R_e = 0.1" on 0.05" pixels: R_e is two pixels, the cusp holds a large share of the central pixel's light.
    centre = (0.0, 0.0) if where == "pixel centre" else (PS / 2, PS / 2)
    profile = light.Sersic(centre, geometry.ell_comps_to_numpy(axis_ratio, 30.0), 1.0, 0.1, 4.0)
    grid = box_around_origin()
    image = np.asarray(integration.profile_image(profile, grid, OverSampling()))
    exact = exact_pixel_mean(profile, 0.0, 0.0)
    assert image[4, 4] == pytest.approx(exact, rel=1e-3)
    # The default rule does much better than required; keep a record of how much.
    assert image[4, 4] == pytest.approx(exact, rel=1e-4)
    # Neighbours too (the cusp touches them when the centre is on a corner).
    for i, j in [(4, 5), (5, 5), (3, 4), (6, 6)]:
        y, x = (i - 4) * PS, (j - 4) * PS
        assert image[i, j] == pytest.approx(exact_pixel_mean(profile, y, x), rel=1e-4)


@pytest.mark.parametrize(
    "profile",
    [
        light.Sersic((0.013, -0.021), geometry.ell_comps_to_numpy(0.6, 70.0), 1.0, 0.15, 2.5),
        light.Exponential((-0.02, 0.007), geometry.ell_comps_to_numpy(0.4, 10.0), 1.0, 0.2),
        light.SersicCore((0.004, 0.011), geometry.ell_comps_to_numpy(0.8, 5.0), 0.3, 3.0, 0.03, 1.0, 0.3, 2.0),
        light.Gaussian((0.01, 0.02), geometry.ell_comps_to_numpy(0.5, 45.0), 1.0, 0.04),
        light.Moffat((0.0, 0.0), (0.0, 0.0), 1.0, 0.05, 2.5),
        light.Chameleon((0.006, -0.004), geometry.ell_comps_to_numpy(0.7, 100.0), 1.0, 0.01, 0.2),
    ],
    ids=lambda p: type(p).__name__,
)
def test_every_pixel_of_the_box_against_quadrature(profile):
    grid = box_around_origin(11)
    image = np.asarray(integration.profile_image(profile, grid, OverSampling()))
    rng = np.random.default_rng(0)
    picks = [(5, 5), (5, 6), (4, 5), (0, 0), (10, 3)] + [tuple(p) for p in rng.integers(0, 11, size=(6, 2))]
    peak = image.max()
    for i, j in picks:
        exact = exact_pixel_mean(profile, -5 * PS + i * PS, -5 * PS + j * PS)
        # 2e-4 relative, or 3e-5 of the peak where the profile has fallen below ~1e-3 of it (far wings of steep laws,
        # e.g. a Gaussian of minor-axis width 0.8 pixel, 4-5 pixels out, where relative errors reach 1%).
        assert abs(image[i, j] - exact) <= 2e-4 * abs(exact) + 3e-5 * peak, (i, j, image[i, j], exact)


def test_patch_follows_the_centre_anywhere_including_outside_the_box():
    grid = box_around_origin(9)
    for centre in [(0.3, 0.3), (-0.19, 0.21), (0.5, -0.5), (3.0, 0.0)]:
        profile = light.Sersic(centre, (0.0, 0.0), 1.0, 0.15, 3.0)
        image = np.asarray(integration.profile_image(profile, grid, OverSampling()))
        for i, j in [(0, 0), (8, 8), (0, 8), (4, 4)]:
            exact = exact_pixel_mean(profile, -4 * PS + i * PS, -4 * PS + j * PS)
            assert image[i, j] == pytest.approx(exact, rel=3e-4), (centre, i, j)


def test_uniform_mode_is_a_plain_sub_grid_mean():
    grid = BoxGrid(y0=-0.1, x0=-0.1, shape=(5, 5), pixel_scales=(0.05, 0.05), fine_pixels=np.array([12]), coarse_pixels=np.array([0, 7]))
    profile = light.Gaussian((0.01, 0.0), (0.0, 0.0), 1.0, 0.03)
    image = np.asarray(integration.profile_image(profile, grid, OverSampling(mode="uniform", sub_size=4, sub_size_blurring=1)))
    offsets = (np.arange(4) + 0.5) / 4 - 0.5
    expected = np.mean([float(profile.brightness_at(o * 0.05, p * 0.05)) for o in offsets for p in offsets])
    assert image[2, 2] == pytest.approx(expected, rel=1e-14)
    assert image[0, 0] == pytest.approx(float(profile.brightness_at(-0.1, -0.1)), rel=1e-14)
    assert image[1, 2] == pytest.approx(float(profile.brightness_at(-0.05, 0.0)), rel=1e-14)
    assert image[4, 4] == 0.0


def test_point_source_is_the_shifted_psf_with_its_flux():
    grid = BoxGrid(y0=-0.5, x0=-0.5, shape=(21, 21), pixel_scales=(0.05, 0.05))
    yy, xx = np.mgrid[-3:4, -3:4]
    psf = np.exp(-0.5 * (yy**2 + xx**2) / 1.2**2)
    psf /= psf.sum()
    # On a pixel centre it is the PSF itself.
    on_pixel = np.asarray(integration.point_source_image(light.PointSource((0.1, -0.15), 2.0), grid, psf))
    expected = np.zeros((21, 21))
    expected[12 - 3 : 12 + 4, 7 - 3 : 7 + 4] = 2.0 * psf
    np.testing.assert_allclose(on_pixel, expected, atol=1e-15)
    # Off a pixel centre the flux is kept and the light centroid follows the centre.
    off = light.PointSource((0.1 + 0.013, -0.15 + 0.021), 2.0)
    image = np.asarray(integration.point_source_image(off, grid, psf))
    assert image.sum() == pytest.approx(2.0, rel=1e-12)
    y, x = np.mgrid[:21, :21] * 0.05 - 0.5
    assert (image * y).sum() / image.sum() == pytest.approx(0.113, abs=2e-3)
    assert (image * x).sum() / image.sum() == pytest.approx(-0.129, abs=2e-3)
    # The centre has a finite, non-zero gradient.
    grad = jax.grad(lambda p: jnp.sum(integration.point_source_image(p, grid, psf) * jnp.asarray(y)))(off)
    assert np.isfinite(grad.centre[0]) and abs(float(grad.centre[0])) > 0.5


def test_gradients_through_the_adaptive_rule_are_finite_with_the_centre_on_a_pixel():
    grid = box_around_origin(9)

    def total(p):
        return jnp.sum(integration.profile_image(p, grid, OverSampling()))

    for profile in [light.Sersic((0.0, 0.0), (0.0, 0.0), 1.0, 0.1, 4.0), light.SersicCore(), light.Chameleon()]:
        grad = jax.grad(total)(profile)
        assert np.isfinite(np.array(jax.tree_util.tree_leaves(grad))).all()
    # And it matches finite differences.
    profile = light.Sersic((0.004, -0.007), geometry.ell_comps_to_numpy(0.7, 20.0), 1.0, 0.1, 3.0)
    grad = jax.grad(total)(profile)
    eps = 1e-6
    for name in ["effective_radius", "sersic_index"]:
        up = total(profile.__class__(**{**profile.__dict__, name: getattr(profile, name) + eps}))
        down = total(profile.__class__(**{**profile.__dict__, name: getattr(profile, name) - eps}))
        assert float(getattr(grad, name)) == pytest.approx(float(up - down) / (2 * eps), rel=1e-5)


def test_stencil_rule_is_sixth_order_against_exact_gaussian_pixel_means():
    # A round Gaussian's pixel mean is a product of erf differences, so the error of rule 1 can be measured exactly:
    # halving the pixel must cut it by ~2^6 = 64 (a second-order Taylor-corrected midpoint would give ~16).
    from scipy.special import ndtr

    sigma = 0.3
    profile = light.Gaussian((0.0, 0.0), (0.0, 0.0), 1.0, sigma)
    errors = []
    for h in (0.1, 0.05):
        n = int(round(1.6 / h)) + 1
        grid = BoxGrid(y0=-(n // 2) * h, x0=-(n // 2) * h, shape=(n, n), pixel_scales=(h, h))
        image = np.asarray(integration.stencil_pixel_means(profile, grid))
        centres = grid.y0 + np.arange(n) * h
        axis = (ndtr((centres + h / 2) / sigma) - ndtr((centres - h / 2) / sigma)) * sigma * np.sqrt(2 * np.pi) / h
        errors.append(np.abs(image - np.outer(axis, axis)).max())
    assert errors[0] / errors[1] > 45
    assert errors[1] < 5e-7  # of a peak of 1


def test_over_sampling_settings_are_checked_when_made():
    with pytest.raises(ValueError, match="patch_rings"):
        OverSampling(patch_rings=((3, 4), (1, 6)))
    with pytest.raises(ValueError, match="mode"):
        OverSampling(mode="fancy")
    # The C++ kernel's limits are reported at construction, not at the first likelihood call.
    with pytest.raises(ValueError, match="at most 8 patch rings of order <= 64"):
        OverSampling(patch_rings=((2, 80),))
    with pytest.raises(ValueError, match="at most 8 patch rings"):
        OverSampling(patch_rings=tuple((d, 2) for d in range(1, 10)))
    with pytest.raises(ValueError, match="64 cusp nodes"):
        OverSampling(cusp_radial_nodes=65)
    # The JAX reference has no such limits.
    assert OverSampling(patch_rings=((2, 80),), backend="jax").patch_rings == ((2, 80),)
    with pytest.raises(ValueError, match="reach at least distance 2"):
        OverSampling(patch_rings=((1, 6),))
