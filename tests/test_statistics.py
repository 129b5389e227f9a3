"""The C++ chi^2 kernel (XLA FFI) against float64 numpy, under jit/vmap and every differentiation mode."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.kernels.statistics import chi_squared
from galaxyfit.simulate import gaussian_psf, simulate_imaging

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")


def _arrays(n, batch=(), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=batch + (n,)), rng.normal(size=n), rng.uniform(0.2, 3.0, size=n)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 2828, 63428])
def test_matches_numpy_in_float64(n):
    model, data, inverse_noise = _arrays(n)
    expected = np.sum(((data - model) * inverse_noise) ** 2)
    assert float(jax.jit(chi_squared)(model, data, inverse_noise)) == pytest.approx(expected, rel=1e-13)
    # Blocked, compensated summation: no drift even over a constant series of a million terms.
    ones = np.ones(1_000_003)
    assert float(chi_squared(np.zeros_like(ones), ones * 0.1, ones)) == pytest.approx(1_000_003 * 0.01, rel=1e-13)


def test_vmap_is_one_batched_call_and_agrees():
    model, data, inverse_noise = _arrays(501, batch=(5, 3))
    batched = jax.jit(jax.vmap(jax.vmap(chi_squared, (0, None, None)), (0, None, None)))
    expected = np.sum(((data - model) * inverse_noise) ** 2, axis=-1)
    np.testing.assert_allclose(batched(model, data, inverse_noise), expected, rtol=1e-13)
    hlo = jax.jit(jax.vmap(chi_squared, (0, None, None))).lower(model[0], data, inverse_noise).as_text()
    assert hlo.count("galaxyfit_chi_squared") == 1
    # A batched data vector (a vmapped sky level) takes the plain-JAX path and agrees.
    skies = jnp.array([0.0, 0.5, -1.0])
    values = jax.vmap(lambda s: chi_squared(model[0, 0], data - s, inverse_noise))(skies)
    np.testing.assert_allclose(values, [np.sum(((data - s - model[0, 0]) * inverse_noise) ** 2) for s in np.asarray(skies)], rtol=1e-13)


def test_derivatives_match_the_formula_in_every_mode():
    model, data, inverse_noise = _arrays(40, seed=1)

    def reference(m, d, w):
        return jnp.sum(((d - m) * w) ** 2)

    for argnum in range(3):
        args = (model, data, inverse_noise)
        for transform in (jax.grad, jax.jacfwd, jax.jacrev, jax.hessian):
            ours = transform(chi_squared, argnums=argnum)(*args)
            expected = transform(reference, argnums=argnum)(*args)
            np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="same pixel count"):
        chi_squared(model, data[:-1], inverse_noise)
    with pytest.raises(ValueError, match="at least one axis"):
        chi_squared(1.0, 2.0, 1.0)


def test_overflow_gives_inf_not_nan():
    """An infinite term in an early block once turned the compensated sum into inf - inf = NaN."""
    model, data, inverse_noise = _arrays(2048)
    model[0] = np.inf
    assert float(chi_squared(model, data, inverse_noise)) == np.inf
    assert float(chi_squared(np.full(2048, 1e160), data, inverse_noise)) == np.inf
    model[0] = np.nan
    assert np.isnan(float(chi_squared(model, data, inverse_noise)))


def test_the_likelihood_sums_its_chi_squared_in_the_kernel():
    truth = gf.Galaxy(0.5, bulge=gf.lp.Sersic((0.0, 0.0), (0.1, 0.0), 1.0, 0.3, 2.0))
    data, _ = simulate_imaging([truth], (30, 30), 0.1, gaussian_psf((5, 5), 0.1, 0.1), exposure_time=100.0, seed=2)
    analysis = gf.AnalysisImaging(data.apply_mask(gf.Mask.circular(data.shape, 0.1, 1.2)))
    instance = gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=truth))
    hlo = jax.jit(analysis.log_likelihood_function).lower(instance).as_text()
    assert "galaxyfit_chi_squared" in hlo
    fit = analysis.fit_from(instance)
    assert float(fit.chi_squared) == pytest.approx(float(np.sum(np.asarray(fit.chi_squared_slim))), rel=1e-13)
