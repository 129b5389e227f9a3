"""The C++ profile-image kernel against the JAX reference implementation, its Jacobian, its vector math, and its JAX
transformations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import galaxyfit  # noqa: F401
from galaxyfit import _core, integration
from galaxyfit.integration import BoxGrid, OverSampling
from galaxyfit.kernels.profile_image import RenderConfig, render_profile, render_profile_jacobian
from galaxyfit.profiles import geometry, light, operated

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

ELL = geometry.ell_comps_to_numpy(0.6, 35.0)
PROFILES = [
    light.Sersic((0.013, -0.021), ELL, 1.0, 0.15, 2.5),
    light.SersicSph((0.02, 0.0), 1.0, 0.1, 4.5),
    light.Exponential((0.2, -0.1), ELL, 1.0, 0.3),
    light.DevVaucouleurs((0.013, 0.02), ELL, 1.0, 0.2),
    light.SersicCore((0.004, 0.011), ELL, 0.3, 3.0, 0.03, 1.0, 0.3, 2.0),
    light.ExponentialCore((0.0, 0.0), ELL, 0.3, 0.02, 1.0, 0.25, 3.0),
    light.Gaussian((0.01, 0.02), ELL, 1.0, 0.04),
    light.Moffat((0.0, 0.0), ELL, 1.0, 0.05, 2.5),
    light.ElsonFreeFall((0.01, 0.0), ELL, 1.0, 0.1, 1.7),
    light.Chameleon((0.006, -0.004), ELL, 1.0, 0.01, 0.2),
    light.ChameleonSph((0.006, -0.004), 1.0, 0.01, 0.2),
    operated.Gaussian((0.0, 0.01), ELL, 1.0, 0.05),
    light.Sersic((3.0, 0.0), ELL, 1.0, 0.15, 2.5),  # centre far outside the box
    light.Sersic((0.025, 0.025), (0.0, 0.0), 1.0, 0.1, 4.0),  # centre on a pixel corner
    light.ExponentialCoreSph((0.01, -0.02), 0.3, 0.02, 1.0, 0.25, 3.0),
]
GRID = BoxGrid(y0=-0.5, x0=-0.45, shape=(21, 19), pixel_scales=(0.05, 0.05))


def test_kernel_dispatches_to_an_instruction_set():
    assert _core.kernel_instruction_set() in ("baseline", "x86-64-v3", "x86-64-v4")


def test_vector_exp_log_log1p_are_accurate_to_a_few_ulp():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-708.0, 709.78, 200001), rng.normal(0, 5, 50000)])
    exact = np.exp(x)
    assert np.max(np.abs(_core.simd_math(0, x) - exact) / np.spacing(exact)) <= 4
    special = _core.simd_math(0, np.array([710.0, -800.0, np.inf, -np.inf, np.nan, 0.0]))
    np.testing.assert_array_equal(special[[0, 1, 2, 3, 5]], [np.inf, 0.0, np.inf, 0.0, 1.0])
    assert np.isnan(special[4])

    y = np.concatenate([np.exp(np.linspace(-740.0, 709.0, 200001)), rng.random(50000) * 10, [5e-320, 1e-310]])
    exact = np.log(y)
    scale = np.spacing(np.maximum(np.abs(exact), 1e-300))
    assert np.max(np.abs(_core.simd_math(1, y) - exact) / scale) <= 4
    with np.errstate(divide="ignore", invalid="ignore"):
        special = _core.simd_math(1, np.array([0.0, -1.0, np.inf, np.nan, 1.0]))
    assert special[0] == -np.inf and np.isnan(special[1]) and special[2] == np.inf and np.isnan(special[3]) and special[4] == 0.0

    z = np.concatenate([10 ** np.linspace(-300, 3, 100000), -0.999 * rng.random(1000)])
    exact = np.log1p(z)
    assert np.max(np.abs(_core.simd_math(2, z) - exact) / np.spacing(np.abs(exact))) <= 4


def _config(settings=OverSampling()):
    return RenderConfig(GRID.y0, GRID.x0, 0.05, 0.05, 21, 19, settings.patch_rings, settings.cusp_radial_nodes, settings.cusp_tangential_nodes)


def _name(p):
    return f"{type(p).__name__}{tuple(float(c) for c in p.centre)}"


@pytest.mark.parametrize("profile", PROFILES, ids=_name)
def test_kernel_matches_the_jax_reference(profile):
    expected = np.asarray(jax.jit(lambda p: integration.profile_image(p, GRID, OverSampling(backend="jax")))(profile))
    image = np.asarray(integration.profile_image(profile, GRID, OverSampling()))
    assert np.abs(image - expected).max() <= 1e-13 * np.abs(expected).max()


@pytest.mark.parametrize("profile", [PROFILES[i] for i in (0, 3, 4, 7, 9, 13)], ids=_name)
def test_kernel_jacobian_matches_jax_autodiff_of_the_reference(profile):
    reference = OverSampling(backend="jax")
    # Jacobian w.r.t. the profile's own parameters, through the parameter mapping, against JAX autodiff.
    jac_cpp = jax.jacfwd(lambda p: integration.profile_image(p, GRID, OverSampling()))(profile)
    jac_ref = jax.jit(jax.jacfwd(lambda p: integration.profile_image(p, GRID, reference)))(profile)
    for got, want in zip(jax.tree_util.tree_leaves(jac_cpp), jax.tree_util.tree_leaves(jac_ref)):
        want = np.asarray(want)
        assert np.abs(np.asarray(got) - want).max() <= 1e-12 * max(np.abs(want).max(), 1e-300)


def test_other_rules_match_the_reference_too():
    settings = OverSampling(patch_rings=((1, 5), (2, 3), (4, 2), (5, 1)), cusp_radial_nodes=5, cusp_tangential_nodes=7)
    for profile in PROFILES[:3]:
        expected = np.asarray(integration.adaptive_image(profile, GRID, settings))
        image = np.asarray(integration.profile_image(profile, GRID, settings))
        assert np.abs(image - expected).max() <= 1e-13 * np.abs(expected).max()


def test_transformations_of_the_kernel():
    profile = PROFILES[0]
    law, params = integration.kernel_parameters(profile)
    config = _config()
    batch = jnp.stack([params, params.at[0].add(0.01), params.at[6].add(0.3)])
    batched = jax.jit(jax.vmap(lambda p: render_profile(law, p, config)))(batch)
    for i in range(3):
        np.testing.assert_allclose(batched[i], render_profile(law, batch[i], config), rtol=1e-15, atol=0)
    hlo = jax.jit(jax.vmap(lambda p: render_profile(law, p, config))).lower(batch).as_text()
    assert hlo.count("galaxyfit_render_profile_f64") == 1 and "while" not in hlo

    weights = np.random.default_rng(1).normal(size=(21, 19))

    def loss(p):
        return jnp.sum(render_profile(law, p, config) * weights)

    grad = jax.grad(loss)(params)
    eps = 1e-6
    for k in range(len(params)):
        step = jnp.zeros_like(params).at[k].set(eps)
        fd = (loss(params + step) - loss(params - step)) / (2 * eps)
        assert float(grad[k]) == pytest.approx(float(fd), rel=1e-6, abs=1e-8 * float(jnp.abs(grad).max()))
    np.testing.assert_allclose(jax.jacfwd(lambda p: render_profile(law, p, config))(params),
                               jax.jacrev(lambda p: render_profile(law, p, config))(params), rtol=1e-12, atol=1e-12)
    image, jacobian = render_profile_jacobian(law, params, config)
    assert jacobian.shape == (len(params), 21, 19)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        jax.hessian(loss)(params)


def test_invalid_parameters_give_non_finite_images_not_crashes():
    law, params = integration.kernel_parameters(PROFILES[0])
    bad = np.asarray(params).copy()
    bad[0] = np.nan
    image = _core.render_profile(law, bad, GRID.y0, GRID.x0, 0.05, 0.05, 21, 19, list(OverSampling().patch_rings), 8, 8)
    assert np.isnan(image).all()
    with pytest.raises(ValueError, match="params must have shape"):
        _core.render_profile(law, bad[:5], GRID.y0, GRID.x0, 0.05, 0.05, 21, 19, [(1, 8)], 8, 8)
    with pytest.raises(ValueError, match="ring distances"):
        _core.render_profile(law, bad, GRID.y0, GRID.x0, 0.05, 0.05, 21, 19, [(3, 8), (2, 4)], 8, 8)
    with pytest.raises(ValueError, match="reach at least distance 2"):
        _core.render_profile(law, bad, GRID.y0, GRID.x0, 0.05, 0.05, 21, 19, [(1, 8)], 8, 8)


def test_column_spans_render_only_those_pixels_and_match_the_reference():
    rng = np.random.default_rng(3)
    begin = rng.integers(0, 10, size=21).astype(np.int32)
    end = np.minimum(begin + rng.integers(0, 12, size=21), 19).astype(np.int32)
    grid = BoxGrid(y0=GRID.y0, x0=GRID.x0, shape=GRID.shape, pixel_scales=GRID.pixel_scales, span_begin=begin, span_end=end)
    inside = grid.span_mask()
    for profile in (PROFILES[0], PROFILES[7], PROFILES[12]):
        full = np.asarray(integration.profile_image(profile, GRID, OverSampling()))
        spans = np.asarray(integration.profile_image(profile, grid, OverSampling()))
        reference = np.asarray(integration.profile_image(profile, grid, OverSampling(backend="jax")))
        assert np.abs(spans - reference).max() <= 1e-13 * np.abs(reference).max()
        # Inside the spans (and in the patch) the pixels are those of the whole box; elsewhere zero.
        kept = spans != 0
        assert np.all(kept[inside]) and np.abs(spans[kept] - full[kept]).max() <= 1e-13 * np.abs(full).max()
        assert kept.sum() < full.size
        jac_spans = jax.jacfwd(lambda p: integration.profile_image(p, grid, OverSampling()))(profile)
        jac_ref = jax.jacfwd(lambda p: integration.profile_image(p, grid, OverSampling(backend="jax")))(profile)
        for got, want in zip(jax.tree_util.tree_leaves(jac_spans), jax.tree_util.tree_leaves(jac_ref)):
            assert np.abs(np.asarray(got) - np.asarray(want)).max() <= 1e-12 * max(np.abs(np.asarray(want)).max(), 1e-300)
    law, params = integration.kernel_parameters(PROFILES[0])
    with pytest.raises(ValueError, match="row 2 has a column span"):
        bad = end.copy()
        bad[2] = 40
        _core.render_profile(law, params, GRID.y0, GRID.x0, 0.05, 0.05, 21, 19, [(3, 8)], 8, 8, False, list(begin), list(bad))
    with pytest.raises(ValueError, match="one entry per box row"):
        _core.render_profile(law, params, GRID.y0, GRID.x0, 0.05, 0.05, 21, 19, [(3, 8)], 8, 8, False, [0], [1])


def test_sum_of_profiles_in_one_pass_matches_the_sum_of_single_renders():
    from galaxyfit.kernels.profile_image import render_profiles

    begin = np.full(21, 2, dtype=np.int32)
    end = np.full(21, 15, dtype=np.int32)
    grids = [GRID, BoxGrid(y0=GRID.y0, x0=GRID.x0, shape=GRID.shape, pixel_scales=GRID.pixel_scales, span_begin=begin, span_end=end)]
    # A cusp at a patch that leaves the spans, a far-away centre, and laws without a cusp.
    chosen = [PROFILES[0], PROFILES[2], PROFILES[7], PROFILES[12], PROFILES[13]]
    for grid in grids:
        separate = sum(np.asarray(integration.profile_image(p, grid, OverSampling())) for p in chosen)
        together = np.asarray(integration.profiles_image(chosen, grid, OverSampling()))
        assert np.abs(together - separate).max() <= 1e-13 * np.abs(separate).max()
    laws, params = zip(*(integration.kernel_parameters(p) for p in chosen[:2]))
    config = integration._render_config(GRID, OverSampling())
    # vmap with one profile batched and the other fixed: one C++ call.
    batch = jnp.stack([params[0], params[0].at[5].mul(1.1), params[0].at[1].add(0.02)])
    f = jax.vmap(lambda p: render_profiles(laws, [p, params[1]], config))
    batched = jax.jit(f)(batch)
    for i in range(3):
        single = render_profile(laws[0], batch[i], config) + render_profile(laws[1], params[1], config)
        np.testing.assert_allclose(batched[i], single, rtol=0, atol=1e-13 * float(jnp.abs(single).max()))
    hlo = jax.jit(f).lower(batch).as_text()
    assert hlo.count("galaxyfit_render_profiles_f64") == 1 and "while" not in hlo
    # Derivatives: those of the sum of the single renders.
    weights = np.random.default_rng(2).normal(size=(21, 19))
    grads = jax.grad(lambda a, b: jnp.sum(render_profiles(laws, [a, b], config) * weights), argnums=(0, 1))(*params)
    expected = jax.grad(
        lambda a, b: jnp.sum((render_profile(laws[0], a, config) + render_profile(laws[1], b, config)) * weights),
        argnums=(0, 1))(*params)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * float(jnp.abs(want).max()))
    with pytest.raises(ValueError, match="one parameter array per law"):
        render_profiles(laws, [params[0]], config)


@pytest.mark.parametrize("gamma, alpha", [(1.0, 2.0), (0.5, 30.0)])
def test_fused_sum_with_a_cusp_centred_on_a_pixel_centre(gamma, alpha):
    # (0, 0) is a pixel centre of GRID: there a cusped law's stencil value is huge (or infinite), far above the pixel
    # mean. The fused render must leave it out, not add and subtract it (which cancelled catastrophically or gave
    # inf - inf = NaN; found by an adversarial review).
    core = light.SersicCore((0.0, 0.0), (0.05, 0.1), 0.5, 4.0, 0.05, 1.0, gamma, alpha)
    disk = light.Exponential((0.0, 0.0), (0.05, 0.1), 0.25, 0.8)
    reference = np.asarray(jax.jit(lambda ps: integration.profiles_image(ps, GRID, OverSampling(backend="jax")))([core, disk]))
    for profiles in ([core, disk], [disk, core]):
        fused = np.asarray(integration.profiles_image(profiles, GRID, OverSampling()))
        assert np.isfinite(fused).all()
        assert np.abs(fused - reference).max() <= 1e-13 * np.abs(reference).max()
