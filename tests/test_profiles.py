"""Light profiles: laws, analytic total fluxes, geometry conversions, pytree behaviour."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.special

import galaxyfit  # noqa: F401
from galaxyfit import integration
from galaxyfit.profiles import geometry, light, operated

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

PIXEL_SCALES = (0.05, 0.07)
PIXEL_AREA = 0.05 * 0.07
ELL = geometry.ell_comps_to_numpy(0.6, 35.0)

PROFILES = [
    light.Sersic((0.1, -0.2), ELL, 2.0, 0.7, 3.3),
    light.SersicSph((0.0, 0.0), 1.5, 0.4, 1.7),
    light.Exponential((0.0, 0.1), ELL, 0.3, 1.2),
    light.ExponentialSph((0.0, 0.0), 0.3, 1.2),
    light.DevVaucouleurs((0.0, 0.0), ELL, 0.5, 0.8),
    light.DevVaucouleursSph((0.0, 0.0), 0.5, 0.8),
    light.SersicCore((0.0, 0.0), ELL, 0.9, 3.0, 0.05, 0.4, 0.3, 2.5),
    light.SersicCoreSph((0.0, 0.0), 0.9, 2.0, 0.02, 0.4, 0.2, 3.0),
    light.ExponentialCore((0.0, 0.0), ELL, 0.9, 0.03, 0.4, 0.25, 3.0),
    light.ExponentialCoreSph((0.0, 0.0), 0.9, 0.03, 0.4, 0.25, 3.0),
    light.Gaussian((0.0, 0.0), ELL, 3.0, 0.3),
    light.GaussianSph((0.0, 0.0), 3.0, 0.3),
    light.Moffat((0.0, 0.0), ELL, 2.0, 0.4, 2.5),
    light.MoffatSph((0.0, 0.0), 2.0, 0.4, 2.5),
    light.ElsonFreeFall((0.0, 0.0), ELL, 1.0, 0.5, 2.2),
    light.ElsonFreeFallSph((0.0, 0.0), 1.0, 0.5, 2.2),
    light.Chameleon((0.0, 0.0), ELL, 1.0, 0.02, 0.6),
    light.ChameleonSph((0.0, 0.0), 1.0, 0.02, 0.6),
]


def numerical_total_flux(profile):
    """Integral of I over the plane / pixel area: for s = z^T A z, integral f(s) dA = integral f(r^2) 2 pi r dr / sqrt(det A)."""
    a_yy, a_xx, a_xy = (float(v) for v in profile.quadratic_form())
    det = a_yy * a_xx - a_xy**2

    # Composite Gauss-Legendre in t = ln r over r in [1e-11, 1e13] (the integrand is smooth in t).
    nodes, weights = np.polynomial.legendre.leggauss(24)
    edges = np.linspace(np.log(1e-11), np.log(1e13), 401)
    t = ((edges[1:] - edges[:-1])[:, None] * (nodes + 1) / 2 + edges[:-1, None]).ravel()
    w = ((edges[1:] - edges[:-1])[:, None] * weights / 2).ravel()
    r = np.exp(t)
    values = np.asarray(profile.brightness(jnp.asarray(r * r))) * 2 * np.pi * r * r
    return float(np.sum(values * w)) / np.sqrt(det) / PIXEL_AREA


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: type(p).__name__)
def test_total_flux_matches_numerical_integration(profile):
    analytic = float(profile.total_flux(PIXEL_SCALES))
    assert analytic == pytest.approx(numerical_total_flux(profile), rel=1e-7)


def test_total_flux_of_an_elliptical_gaussian_on_a_grid():
    profile = light.Gaussian((0.013, -0.02), geometry.ell_comps_to_numpy(0.5, 70.0), 2.0, 0.2)
    h = 0.004
    g = np.arange(-3.0, 3.0, h) + h / 2
    total = float(profile.brightness_at(g[:, None], g[None, :]).sum()) * h * h / PIXEL_AREA
    assert total == pytest.approx(float(profile.total_flux(PIXEL_SCALES)), rel=1e-9)


def test_sersic_constant_halves_the_light():
    # Ciotti & Bertin's expansion is asymptotic in n: 4e-4 relative at n = 0.5, 3e-5 at n = 1, 1e-7 at n = 4.
    for n, tolerance in [(0.5, 4e-4), (1.0, 3e-5), (2.5, 1e-6), (4.0, 1e-7), (8.0, 1e-8)]:
        exact = scipy.optimize.brentq(lambda b: scipy.special.gammainc(2 * n, b) - 0.5, 1e-3, 50)
        assert float(light.sersic_constant(n)) == pytest.approx(exact, rel=tolerance)
    assert float(light.sersic_constant(1.0)) == pytest.approx(1.678346, abs=1e-4)


def test_sersic_law_and_parameter_meaning():
    profile = light.Sersic((0.0, 0.0), (0.0, 0.0), 2.0, 0.5, 4.0)
    # intensity is the brightness at the effective radius
    assert float(profile.brightness_at(0.0, 0.5)) == pytest.approx(2.0, rel=1e-14)
    # half the total light lies inside R_e (circularised radius; also for an ellipse, as det A = 1)
    elliptical = light.Sersic((0.0, 0.0), ELL, 2.0, 0.5, 4.0)
    inner = scipy.integrate.quad(lambda r: float(elliptical.brightness(jnp.asarray(r * r))) * 2 * np.pi * r, 0, 0.5, epsrel=1e-11, limit=200)[0]
    assert inner / PIXEL_AREA / float(elliptical.total_flux(PIXEL_SCALES)) == pytest.approx(0.5, rel=2e-4)


def test_exponential_core_sph_is_the_circular_exponential_core_and_matches_pyautogalaxy():
    """PyAutoGalaxy 2026.10.26.1: ExponentialCoreSph(centre, effective_radius=0.6, radius_break=0.01, intensity=0.05,
    gamma=0.25, alpha=3.0) is ExponentialCore with ell_comps=(0, 0), itself SersicCore with sersic_index=1."""
    import galaxyfit as gf

    assert gf.lp.ExponentialCoreSph() == light.ExponentialCoreSph((0.0, 0.0), 0.6, 0.01, 0.05, 0.25, 3.0)
    args = dict(centre=(0.1, -0.2), effective_radius=0.9, radius_break=0.03, intensity=0.4, gamma=0.25, alpha=3.0)
    sph = light.ExponentialCoreSph(**args)
    grid = integration.BoxGrid(y0=-0.5, x0=-0.45, shape=(21, 19), pixel_scales=(0.05, 0.05))
    image = np.asarray(integration.profile_image(sph, grid, integration.OverSampling()))
    for same in (light.ExponentialCore(ell_comps=(0.0, 0.0), **args), light.SersicCoreSph(sersic_index=1.0, **args)):
        other = np.asarray(integration.profile_image(same, grid, integration.OverSampling()))
        assert np.abs(image - other).max() <= 1e-12 * np.abs(other).max()
    assert float(sph.total_flux(PIXEL_SCALES)) == pytest.approx(
        float(light.ExponentialCore(ell_comps=(0.0, 0.0), **args).total_flux(PIXEL_SCALES)), rel=1e-12)
    # PyAutoGalaxy's values at (y, x) points (arcsec, y up in both), made with bench/.peers-venv/bin/python:
    #   p = ag.lp.ExponentialCoreSph(centre=(0.1, -0.2), effective_radius=0.9, radius_break=0.03, intensity=0.4,
    #                                gamma=0.25, alpha=3.0)
    #   p.image_2d_from(grid=ag.Grid2DIrregular([(0.11, -0.19), (0.12, -0.2), (0.1, -0.15), (0.4, 0.2), (-0.5, -0.9),
    #                                            (1.3, 1.1)]))
    # (ag.lp.ExponentialCore with ell_comps=(0, 0) gives the same numbers, bit for bit).
    points = np.array([(0.11, -0.19), (0.12, -0.2), (0.1, -0.15), (0.4, 0.2), (-0.5, -0.9), (1.3, 1.1)])
    theirs = [0.4652926592342735, 0.43103145063778436, 0.37277038548790215, 0.15944561851240638,
              0.07259110067591114, 0.014952556499513372]
    np.testing.assert_allclose(np.asarray(sph.brightness_at(points[:, 0], points[:, 1])), theirs, rtol=1e-12, atol=0)


def test_gaussian_and_moffat_widths_are_minor_axis_widths():
    q, phi = 0.5, 30.0
    ell = geometry.ell_comps_to_numpy(q, phi)
    g = light.Gaussian((0.0, 0.0), ell, 1.0, 0.2)
    minor = np.deg2rad(phi + 90.0)
    major = np.deg2rad(phi)
    # At sigma along the minor axis the Gaussian falls to exp(-1/2); along the major axis at sigma / q.
    assert float(g.brightness_at(0.2 * np.sin(minor), 0.2 * np.cos(minor))) == pytest.approx(np.exp(-0.5), rel=1e-12)
    assert float(g.brightness_at(0.4 * np.sin(major), 0.4 * np.cos(major))) == pytest.approx(np.exp(-0.5), rel=1e-12)
    m = light.Moffat((0.0, 0.0), ell, 1.0, 0.3, 2.0)
    assert float(m.brightness_at(0.3 * np.sin(minor), 0.3 * np.cos(minor))) == pytest.approx(0.25, rel=1e-12)


@pytest.mark.parametrize("q,phi", [(0.3, 0.0), (0.7, 45.0), (0.5, 120.0), (1.0, 10.0), (0.9, -30.0)])
def test_ell_comps_round_trip(q, phi):
    ell = geometry.ell_comps_from(q, phi)
    q2, phi2 = geometry.axis_ratio_and_angle_from(ell)
    assert float(q2) == pytest.approx(q, rel=1e-12)
    if q < 1.0:
        assert (float(phi2) - phi) % 180.0 == pytest.approx(0.0, abs=1e-9) or (float(phi2) - phi) % 180.0 == pytest.approx(180.0, abs=1e-9)
        assert -45.0 < float(phi2) <= 135.0


def test_circularised_radius_quadratic_form():
    q, phi = 0.4, 25.0
    ell = geometry.ell_comps_from(q, phi)
    form = geometry.circular_quadratic_form(ell)
    a = np.deg2rad(phi)
    for dy, dx in [(0.3, 0.1), (-0.2, 0.5), (1.0, 0.0)]:
        xp = dx * np.cos(a) + dy * np.sin(a)
        yp = -dx * np.sin(a) + dy * np.cos(a)
        assert float(geometry.radius_squared(form, dy, dx)) == pytest.approx(q * xp**2 + yp**2 / q, rel=1e-12)
    a_yy, a_xx, a_xy = (float(v) for v in form)
    assert a_yy * a_xx - a_xy**2 == pytest.approx(1.0, rel=1e-12)


def test_profiles_are_pytrees_that_jit_and_vmap():
    profile = light.Sersic((0.1, 0.2), (0.05, -0.1), 1.0, 0.5, 2.0)
    leaves = jax.tree_util.tree_leaves(profile)
    assert leaves == [0.1, 0.2, 0.05, -0.1, 1.0, 0.5, 2.0]
    batch = jax.tree_util.tree_map(lambda v: jnp.full(3, v) * jnp.array([1.0, 1.1, 1.2]), profile)
    values = jax.vmap(lambda p: p.brightness_at(0.3, 0.3))(batch)
    assert values.shape == (3,)
    grad = jax.grad(lambda p: p.brightness_at(0.3, 0.3))(profile)
    assert isinstance(grad, light.Sersic) and np.isfinite(jax.tree_util.tree_leaves(grad)).all()
    assert operated.Gaussian().operated and not light.Gaussian().operated
    assert light.PointSource().operated


def test_cusp_laws_stay_finite_at_the_centre():
    for profile in [light.Sersic(), light.SersicCore(), light.Exponential(), light.Chameleon()]:
        value, grad = jax.value_and_grad(lambda p: p.brightness_at(p.centre[0], p.centre[1]))(profile)
        assert np.isfinite(float(value))
        assert np.isfinite(np.array(jax.tree_util.tree_leaves(grad))).all()


def test_second_derivatives_at_a_circular_profile_are_finite_and_exact():
    """At ell_comps = (0, 0), every profile's default, the Hessian with respect to ell_comps was NaN: the clamp of
    |e| had a floor whose second derivative overflows. A circular Sersic's brightness is smooth in ell_comps there,
    so its Hessian must match finite differences of its gradient."""

    def brightness(e):
        profile = light.Sersic((0.0, 0.0), (e[0], e[1]), 1.0, 0.3, 3.0)
        form = geometry.circular_quadratic_form(profile.ell_comps)
        return profile.brightness(geometry.radius_squared(form, 0.1, 0.2))

    zero = jnp.zeros(2)
    hessian = np.asarray(jax.hessian(brightness)(zero))
    grad = jax.grad(brightness)
    eps = 1e-6
    fd = np.stack([(grad(zero.at[k].set(eps)) - grad(zero.at[k].set(-eps))) / (2 * eps) for k in range(2)])
    np.testing.assert_allclose(hessian, fd, rtol=1e-6, atol=1e-8)
    # Profiles whose width depends on q itself (a cone in ell_comps at 0) still get finite derivatives there.
    gaussian = lambda e: light.Gaussian((0.0, 0.0), (e[0], e[1]), 1.0, 0.3).total_flux((0.1, 0.1))  # noqa: E731
    assert np.isfinite(np.asarray(jax.hessian(gaussian)(zero))).all()
