"""The linear inversion (C++ kernel behind XLA FFI): exactness against a dense NumPy float64 implementation written
here, the positive-only solve's KKT conditions, implicit derivatives against finite differences, linear light
profiles, multi-Gaussian expansions and regularized bases in FitImaging, and rejected samples."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

import galaxyfit as gf
from galaxyfit import _core
from galaxyfit.kernels.inversion import FREE_SIGN, REGULARIZED, SolverSettings, invert
from galaxyfit.profiles import linear
from galaxyfit.profiles.basis import Basis
from galaxyfit.regularization import Constant, chain_neighbours

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

# ---- an independent dense implementation ---------------------------------------------------------------------------


def dense_solution(columns, data, inverse_noise, h, flags, positive_only=True, jitter=1e-3):
    """(s, A, D) by dense NumPy: A = B^T W B + H + J; s = A^-1 D, or the positive-only optimum by exhaustive search
    over passive sets (small k) or scipy's NNLS on the Cholesky form (no free-sign columns)."""
    b = np.asarray(columns) * inverse_noise
    y = np.asarray(data) * inverse_noise
    k = b.shape[0]
    regularized = np.array([bool(f & REGULARIZED) for f in flags])
    free = np.array([bool(f & FREE_SIGN) for f in flags])
    a = b @ b.T + (0.0 if h is None else np.asarray(h)) + np.diag(np.where(regularized, 0.0, jitter))
    d = b @ y
    if not positive_only:
        return np.linalg.solve(a, d), a, d
    if free.any():
        best, best_value = None, np.inf
        for passive in itertools.product([False, True], repeat=k):
            p = np.array(passive) | free
            s = np.zeros(k)
            s[p] = np.linalg.solve(a[np.ix_(p, p)], d[p])
            if np.any(s[~free] < 0):
                continue
            value = 0.5 * s @ a @ s - d @ s
            if value < best_value:
                best, best_value = s, value
        return best, a, d
    lower = np.linalg.cholesky(a)
    s, _ = scipy.optimize.nnls(lower.T, np.linalg.solve(lower, d), maxiter=100 * k)
    return s, a, d


def dense_log_evidence(columns, data, noise, h, flags, positive_only=True, jitter=1e-3):
    inverse_noise = 1.0 / noise
    s, a, d = dense_solution(columns, data, inverse_noise, h, flags, positive_only, jitter)
    chi2 = np.sum(((data - np.asarray(columns).T @ s) * inverse_noise) ** 2)
    regularized = np.array([bool(f & REGULARIZED) for f in flags])
    reg = 0.0 if h is None else s @ h @ s
    log_det = 0.0
    if regularized.any():
        log_det = np.linalg.slogdet(a[np.ix_(regularized, regularized)])[1] - np.linalg.slogdet(np.asarray(h)[np.ix_(regularized, regularized)])[1]
    return -0.5 * (chi2 + reg + log_det + np.sum(np.log(2 * np.pi * noise**2))), s


def random_system(k=6, n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = np.linspace(-3, 3, n)
    columns = np.stack([np.exp(-0.5 * ((x - rng.uniform(-1, 1)) / rng.uniform(0.3, 1.5)) ** 2) for _ in range(k)])
    truth = rng.uniform(-0.5, 2.0, k)
    noise = np.full(n, 0.05)
    data = columns.T @ truth + noise * rng.standard_normal(n)
    return columns, data, noise


# ---- the kernel against the dense implementation --------------------------------------------------------------------


@pytest.mark.parametrize("positive_only", [False, True])
def test_kernel_matches_dense_numpy(positive_only):
    columns, data, noise = random_system()
    k = len(columns)
    h = np.zeros((k, k))
    block = np.arange(2, 6)
    h[np.ix_(block, block)] = Constant(0.7).regularization_matrix(chain_neighbours(4))
    for flags, hh in [((0,) * k, None), ((FREE_SIGN,) + (0,) * (k - 1), None),
                      ((0, FREE_SIGN) + (REGULARIZED,) * 4, h)]:
        expected, s_dense = dense_log_evidence(columns, data, noise, hh, flags, positive_only)
        out = invert(columns / noise, data / noise, hh, flags, SolverSettings(positive_only=positive_only))
        assert int(out.status) == 0
        ours = -0.5 * (float(out.evidence_term) + np.sum(np.log(2 * np.pi * noise**2)))
        assert ours == pytest.approx(expected, rel=1e-10, abs=0)
        np.testing.assert_allclose(out.reconstruction, s_dense, rtol=1e-7, atol=1e-9)
        if positive_only:
            free = np.array([bool(f & FREE_SIGN) for f in flags])
            assert np.all(np.asarray(out.reconstruction)[~free] >= 0)


def test_positive_only_solutions_satisfy_kkt_scale_free():
    """min(s, A s - D) = 0 to 1e-8 of |D|, at any overall scale of the data, on an MGE-like system (condition
    number beyond 1e10)."""
    n = 2000
    r = np.linspace(0.0, 3.0, n)
    sigmas = 10 ** np.linspace(-2, np.log10(3.0), 30)
    columns = np.stack([np.exp(-0.5 * (r / s) ** 2) for s in sigmas])
    data = np.exp(-((r / 0.6) ** 0.25)) - 0.02 * np.sin(5 * r)  # a cusp and a wiggle some amplitudes cannot follow
    for scale in (1e-6, 1.0, 1e6):
        out = _core.invert(columns, data * scale, None, np.zeros(30, np.int32), positive_only=True, diag_value=0.0)
        assert out["status"] == 0
        s = out["reconstruction"]
        a = columns @ columns.T
        d = columns @ (data * scale)
        assert np.linalg.cond(a) > 1e10
        kkt = np.minimum(s, a @ s - d)
        assert np.abs(kkt).max() <= 1e-8 * np.abs(d).max()
        assert np.all(s >= 0) and np.any(s == 0)


def test_failures_are_statuses_not_exceptions():
    columns, data, noise = random_system(k=3)
    bad = columns.copy()
    bad[1, 5] = np.nan
    assert _core.invert(bad, data, None, np.zeros(3, np.int32))["status"] == 3
    h = -np.eye(3)  # a regularization that is not positive definite
    assert _core.invert(columns, data, h, np.full(3, REGULARIZED, np.int32))["status"] == 1
    assert _core.invert(columns, data, None, np.full(3, REGULARIZED, np.int32))["status"] == 4


# ---- derivatives ---------------------------------------------------------------------------------------------------


def parametrised(theta):
    """Columns, data and H as smooth functions of theta = (centre, width, sky scale, coefficient)."""
    x = np.linspace(-3, 3, 300)
    columns = [jnp.exp(-0.5 * ((x - theta[0]) / (theta[1] * (1 + 0.3 * j))) ** 2) for j in range(5)]
    columns.append(jnp.ones(300) * theta[2])
    rng = np.random.default_rng(1)
    truth = jnp.exp(-0.5 * ((x - 0.2) / 0.5) ** 2) * 1.5 + 0.3 * jnp.exp(-0.5 * ((x + 0.4) / 0.9) ** 2) + 0.1
    data = truth + 0.05 * rng.standard_normal(300)
    h = jnp.zeros((6, 6))
    h = h.at[2:5, 2:5].set(Constant(theta[3]).regularization_matrix(chain_neighbours(3)))
    return jnp.stack(columns), data * (1 + 0.1 * theta[0]), h


FLAGS = (0, 0, REGULARIZED, REGULARIZED, REGULARIZED, FREE_SIGN)


@pytest.mark.parametrize("positive_only", [False, True])
def test_gradients_match_central_differences(positive_only):
    settings = SolverSettings(positive_only=positive_only)

    @jax.jit
    def output(theta):
        columns, data, h = parametrised(theta)
        return invert(columns / 0.05, data / 0.05, h, FLAGS, settings)

    theta = np.array([0.25, 0.55, 1.1, 1.3])
    step = 1e-6
    # ln det H holds ln(1e-8) (the chain's constant vector), computed to ~1e-8, too coarse for a difference quotient:
    # its derivative is checked against the eigenvalues mu of the chain's Laplacian, d/dc sum ln(c^2 mu + 1e-8).
    mu = np.linalg.eigvalsh(chain_neighbours(3).sum(1) * np.eye(3) - chain_neighbours(3))
    analytic = np.sum(2 * theta[3] * mu / (theta[3] ** 2 * mu + 1e-8))
    assert float(jax.grad(lambda t: output(t).log_det_regularization)(theta)[3]) == pytest.approx(analytic, rel=1e-7)
    for name in ("evidence_term", "chi_squared", "regularization_term", "log_det_curvature_reg"):
        gradient = np.asarray(jax.grad(lambda t: getattr(output(t), name))(theta))
        central = np.array([(float(getattr(output(theta + step * e), name)) - float(getattr(output(theta - step * e), name))) / (2 * step)
                            for e in np.eye(4)])
        np.testing.assert_allclose(gradient, central, rtol=2e-6, atol=1e-6 * np.abs(central).max(), err_msg=name)
    jacobian = np.asarray(jax.jacfwd(lambda t: output(t).reconstruction)(theta))
    central = np.stack([(np.asarray(output(theta + step * e).reconstruction) - np.asarray(output(theta - step * e).reconstruction)) / (2 * step)
                        for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(jacobian, central, rtol=1e-5, atol=1e-6 * np.abs(central).max())
    # reverse mode equals forward mode (to the ~1e-7 that tr(H^-1 dH) keeps: H's 1e-8 jitter makes H^-1 ~1e8), and a
    # batch equals single calls
    assert np.allclose(jax.jacrev(lambda t: output(t).evidence_term)(theta), jax.jacfwd(lambda t: output(t).evidence_term)(theta), rtol=1e-6)
    thetas = theta * np.array([[1.0], [1.01], [0.99]])
    batched = jax.jit(jax.vmap(lambda t: output(t).evidence_term))(thetas)
    np.testing.assert_allclose(batched, [float(output(t).evidence_term) for t in thetas], rtol=1e-13)


# ---- FitImaging with linear light profiles, MGEs and regularized bases ------------------------------------------------


@pytest.fixture(scope="module")
def analysis(small_imaging):
    return gf.AnalysisImaging(small_imaging.apply_mask(gf.Mask.circular(small_imaging.shape, 0.1, 2.0)))


def instance(**components):
    return gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=gf.Galaxy(0.5, **components)))


def mge(sigmas, ell_comps, regularization=None):
    return Basis([linear.Gaussian(centre=(0.0, 0.0), ell_comps=ell_comps, sigma=s) for s in sigmas], regularization)


SIGMAS = 10 ** np.linspace(-4, np.log10(2.0), 30)


@pytest.mark.parametrize("case", ["bulge_disk", "mge30", "mge_regularized"])
def test_log_evidence_equals_dense_numpy(analysis, sim_truth, case):
    bulge = {k: v for k, v in sim_truth["bulge"].items() if k != "intensity"}
    disk = {k: v for k, v in sim_truth["disk"].items() if k != "intensity"}
    components = {
        "bulge_disk": dict(bulge=linear.Sersic(**bulge), disk=linear.Exponential(**disk)),
        "mge30": dict(bulge=mge(SIGMAS, sim_truth["bulge"]["ell_comps"])),
        "mge_regularized": dict(bulge=mge(SIGMAS[:15], sim_truth["bulge"]["ell_comps"], Constant(0.5)),
                                disk=mge(SIGMAS[15:], sim_truth["disk"]["ell_comps"])),
    }[case]
    fit = analysis.fit_from(instance(**components))
    inversion = fit.inversion
    noise = np.asarray(analysis.plan.noise_slim)
    h = None if inversion.regularization_matrix is None else np.asarray(inversion.regularization_matrix)
    expected, s_dense = dense_log_evidence(np.asarray(inversion.columns), np.asarray(inversion.data), noise, h, inversion.flags)
    assert int(inversion.status) == 0
    assert float(fit.log_evidence) == pytest.approx(expected, rel=1e-10, abs=0)
    assert float(analysis.log_likelihood_function(instance(**components))) == pytest.approx(expected, rel=1e-10, abs=0)
    if h is None:  # nothing regularized: the evidence is the log likelihood
        assert float(fit.log_evidence) == pytest.approx(float(fit.log_likelihood), rel=1e-12)
    assert np.all(np.asarray(inversion.reconstruction) >= 0)


def test_linear_columns_are_the_standard_profiles_at_unit_intensity(analysis, sim_truth):
    """A linear Sersic's column equals the blurred image of lp.Sersic(intensity=1) from the parametric path, and the
    fit with solved intensities reports standard profiles at those intensities."""
    bulge = {k: v for k, v in sim_truth["bulge"].items() if k != "intensity"}
    fit = analysis.fit_from(instance(bulge=linear.Sersic(**bulge)))
    unit = analysis.fit_from(instance(bulge=gf.lp.Sersic(intensity=1.0, **bulge)))
    np.testing.assert_allclose(fit.inversion.columns[0], unit.blurred_image_slim, rtol=1e-12, atol=1e-15)
    solved = fit.galaxies_linear_light_profiles_to_light_profiles()[0].bulge
    assert isinstance(solved, gf.lp.Sersic) and float(solved.intensity) == float(fit.inversion.reconstruction[0]) > 0
    again = analysis.fit_from(gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=fit.galaxies_linear_light_profiles_to_light_profiles()[0])))
    np.testing.assert_allclose(again.blurred_image_slim, fit.blurred_image_slim, rtol=1e-10, atol=1e-13)
    assert np.isfinite(fit.inversion.reconstruction_noise_map).all()


def test_galaxy_model_images_use_the_solved_intensities(analysis, sim_truth):
    """Per-galaxy model images (FitImaging.galaxy_model_image_dict): each galaxy's blurred image with its linear
    profiles at their solved intensities; with a standard and a linear galaxy (plus a linear sky) they add up to
    the fit's blurred model, and the linear galaxy's equals the solved amplitudes times its columns."""
    bulge = {k: v for k, v in sim_truth["bulge"].items() if k != "intensity"}
    disk = {k: v for k, v in sim_truth["disk"].items() if k != "intensity"}
    standard = gf.Galaxy(0.5, disk=gf.lp.Exponential(intensity=0.2, **disk))
    solved = gf.Galaxy(0.5, bulge=linear.Sersic(**bulge), nucleus=mge(SIGMAS[:4], (0.0, 0.0)), sky=linear.Sky())
    fit = analysis.fit_from(gf.ModelInstance(galaxies=gf.ModelInstance(a=standard, b=solved)))
    images = fit.galaxy_model_image_dict
    assert list(images) == list(fit.galaxies)
    np.testing.assert_allclose(images[fit.galaxies[0]] + images[fit.galaxies[1]], fit.blurred_image, rtol=1e-10, atol=1e-12)
    inversion = fit.inversion
    expected = analysis.plan.native_from_slim(np.asarray(inversion.columns).T @ np.asarray(inversion.reconstruction))
    np.testing.assert_allclose(images[fit.galaxies[1]], expected, rtol=1e-10, atol=1e-12)
    assert float(inversion.reconstruction[0]) > 0


def test_linear_point_source_recovers_its_true_intensity(sim_truth):
    """A galaxy with a linear PointSource and a linear Sersic (issue 13, item 3): the PointSource's column is the
    standard PointSource at unit intensity (the shifted PSF, added after convolution), and on an image simulated
    with lp.PointSource at a known intensity plus noise, its solved intensity lies within 3 reported sigma of it."""
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    assert "intensity" not in [f.name for f in gf.lp_linear.PointSource.__dataclass_fields__.values()]
    assert gf.lp_linear.PointSource.standard_class is gf.lp.PointSource and gf.lp_linear.PointSource.operated
    bulge = {k: v for k, v in sim_truth["bulge"].items() if k != "intensity"}
    # off the pixel grid (a sub-pixel shift of the PSF); 5% of the bulge's flux (816), whose cusp it must be told from
    centre, true_intensity = (0.043, -0.028), 40.0
    truth = gf.Galaxy(0.5, bulge=gf.lp.Sersic(intensity=1.0, **bulge), nucleus=gf.lp.PointSource(centre, true_intensity))
    dataset, _ = simulate_imaging(gf.Galaxies([truth]), (40, 40), 0.1, gaussian_psf((11, 11), 0.1, 0.1),
                                  exposure_time=300.0, seed=3)
    analysis = gf.AnalysisImaging(dataset.apply_mask(gf.Mask.circular(dataset.shape, 0.1, 1.8)))
    linear_instance = instance(bulge=linear.Sersic(**bulge), nucleus=gf.lp_linear.PointSource(centre=centre))
    fit = analysis.fit_from(linear_instance)
    assert int(fit.inversion.status) == 0
    unit = analysis.fit_from(instance(nucleus=gf.lp.PointSource(centre, 1.0)))
    np.testing.assert_allclose(fit.inversion.columns[1], unit.blurred_image_slim, rtol=1e-12, atol=1e-15)
    intensities = fit.linear_light_profile_intensity_dict
    solved = float(intensities[linear_instance.galaxies.galaxy.nucleus])
    error = float(fit.inversion.reconstruction_noise_map[1])
    assert 0 < error < 0.05 * true_intensity
    assert abs(solved - true_intensity) < 3 * error, (solved, error)
    assert float(intensities[linear_instance.galaxies.galaxy.bulge]) == pytest.approx(1.0, rel=0.05)
    nucleus = fit.galaxies_linear_light_profiles_to_light_profiles()[0].nucleus
    assert isinstance(nucleus, gf.lp.PointSource) and float(nucleus.intensity) == solved
    assert float(analysis.log_likelihood_function(linear_instance)) == pytest.approx(float(fit.log_evidence), rel=1e-10)


def test_narrow_gaussians_are_integrated_exactly():
    """A Gaussian far narrower than a pixel puts its exact flux into the pixels (the quadrature patch missed it), and
    pixel means match the bivariate normal probabilities of the pixels (scipy, 1e-14 tolerance)."""
    from scipy.stats import multivariate_normal

    from galaxyfit.integration import BoxGrid, _gaussian_covariance, kernel_parameters, narrow_gaussian_box, profile_image

    grid = BoxGrid(y0=-1.0, x0=-1.0, shape=(21, 21), pixel_scales=(0.1, 0.1))
    for sigma, ell, centre in [(1e-4, (0.1, 0.05), (0.0, 0.0)), (0.02, (0.2, 0.25), (0.05, 0.049)), (0.004, (0.6, 0.0), (0.013, -0.021))]:
        gaussian = gf.lp.Gaussian(centre=centre, ell_comps=ell, intensity=1.0, sigma=sigma)
        image = np.asarray(profile_image(gaussian, grid, gf.OverSampling()))
        total = float(gaussian.total_flux(0.1))
        assert image.sum() == pytest.approx(total, rel=1e-12)
        _, params = kernel_parameters(gaussian)
        np.testing.assert_array_equal(image, np.asarray(narrow_gaussian_box(params, grid)))
        var_y, var_x, cov = (float(v) for v in _gaussian_covariance(params))
        normal = multivariate_normal(mean=centre, cov=[[var_y, cov], [cov, var_x]], abseps=1e-14, releps=1e-14, maxpts=10**7)
        iy, ix = np.unravel_index(np.argmax(image), image.shape)
        for r, c in itertools.product(range(iy - 1, iy + 2), range(ix - 1, ix + 2)):
            y0, x0 = -1.0 + (r - 0.5) * 0.1, -1.0 + (c - 0.5) * 0.1
            expected = normal.cdf([y0 + 0.1, x0 + 0.1], lower_limit=[y0, x0]) * total
            assert abs(image[r, c] - expected) < 1e-12 * total


@pytest.mark.parametrize("pyautogalaxy_edges", [False, True])
def test_narrow_gaussian_columns_equal_their_whole_box_convolutions(small_imaging, pyautogalaxy_edges):
    """The stamp route for fixed-sigma Gaussians below half a pixel (3 x 3 or 11 x 11 exact windows convolved as
    stamps, behind a lax.cond on the traced axis ratio) gives the columns of the whole-box route: the exact pixel
    integrals on the box, PSF-convolved by the plan's convolver -- for moderate axis ratios (3 x 3 windows), an
    extreme one (11 x 11 windows, and the regular rules for the wider group), a centre near the image edge, and
    PyAutoGalaxy's no-light-beyond-the-edge convention."""
    from galaxyfit.fit.linear_objects import blurred_columns
    from galaxyfit.integration import kernel_parameters, narrow_gaussian_box, narrow_gaussian_major_sigma, profile_image

    settings = gf.Settings(over_sampling=gf.OverSampling(pad_outside_image=not pyautogalaxy_edges))
    dataset = small_imaging.apply_mask(gf.Mask.circular(small_imaging.shape, 0.1, 2.0))
    analysis = gf.AnalysisImaging(dataset, settings=settings)
    plan = analysis.plan
    half_width = 0.1 * (dataset.shape[1] - 1) / 2
    sigmas = [1e-4, 0.001, 0.004, 0.01, 0.03, 0.045]  # 0.001 - 0.45 pixel: both groups
    for ell, centre in [((0.1, 0.05), (0.013, -0.021)), ((0.9, 0.3), (0.05, 0.049)), ((0.2, -0.1), (0.31, half_width - 0.02))]:
        gaussians = [linear.Gaussian(centre=centre, ell_comps=ell, sigma=s) for s in sigmas]
        columns = np.asarray(jax.jit(lambda: blurred_columns([gf.Galaxy(0.5, bulge=Basis(gaussians))], plan))())
        for j, gaussian in enumerate(gaussians):
            _, params = kernel_parameters(gaussian.unit_profile())
            if float(narrow_gaussian_major_sigma(params)) < 0.05:
                box = narrow_gaussian_box(params, plan.grid)
            else:  # wider than half a pixel at this axis ratio: the regular rules
                box = profile_image(gaussian.unit_profile(), plan.grid, settings.over_sampling)
            if plan.zero_outside_image:
                box = box * plan.inside_image
            expected = np.asarray(plan.convolver(box[None]))[0]
            assert np.abs(expected).max() > 0
            # (1e-12: the two routes round differently; 3.2e-13 of the maximum seen on an AVX-512 machine)
            np.testing.assert_allclose(columns[j], expected, rtol=0, atol=1e-12 * np.abs(expected).max(),
                                       err_msg=f"sigma {sigmas[j]}, ell {ell}, centre {centre}")


def test_vmap_of_an_mge_likelihood_equals_one_at_a_time(analysis):
    """jax.vmap over an MGE's geometry (its narrow Gaussians then skip the lax.cond, which vmap would turn into both
    branches) gives the values and gradients of lax.map, which takes the cond."""
    def log_evidence(v):
        return analysis.log_likelihood_function(instance(bulge=Basis(
            [linear.Gaussian(centre=(v[0], v[1]), ell_comps=(v[2], v[3]), sigma=s) for s in SIGMAS[::3]])))

    vectors = jnp.asarray([[0.0, 0.0, 0.1, 0.05], [0.02, -0.03, 0.3, -0.2], [0.01, 0.01, 0.9, 0.3], [0.0, 0.05, -0.4, 0.0]])
    one_at_a_time = jax.jit(lambda vs: jax.lax.map(jax.value_and_grad(log_evidence), vs))(vectors)
    batched = jax.jit(jax.vmap(jax.value_and_grad(log_evidence)))(vectors)
    np.testing.assert_allclose(batched[0], one_at_a_time[0], rtol=1e-12)
    np.testing.assert_allclose(batched[1], one_at_a_time[1], rtol=1e-8, atol=1e-8 * float(jnp.abs(one_at_a_time[1]).max()))


def test_rejected_inversions_give_the_rejected_value_and_zero_gradients(analysis):
    def log_evidence(coefficient):
        return analysis.log_likelihood_function(instance(bulge=mge(SIGMAS[20::2], (0.1, 0.05), Constant(coefficient))))

    with pytest.raises(gf.errors.ModelError, match="Constant.coefficient must be a finite number >= 0"):
        log_evidence(-1.0)  # given by hand: an error; proposed by a search (traced): a rejected sample
    value, gradient = jax.jit(log_evidence), jax.jit(jax.grad(log_evidence))
    assert float(value(jnp.asarray(-1.0))) == gf.INVALID_LOG_LIKELIHOOD
    assert float(gradient(jnp.asarray(-1.0))) == 0.0
    step = 1e-6
    central = (float(value(jnp.asarray(0.3 + step))) - float(value(jnp.asarray(0.3 - step)))) / (2 * step)
    assert float(gradient(jnp.asarray(0.3))) == pytest.approx(central, rel=1e-5)


def test_searches_count_rejected_likelihoods_by_reason(small_imaging):
    """Issue 13: a failed inversion is a rejected sample whose reason is countable. The analysis gives each value a
    reason code; FitProblem counts them by reason (a search records them in result.timing["rejected"])."""
    from galaxyfit.analysis.analysis_imaging import REJECTION_REASONS
    from galaxyfit.search.problem import FitProblem

    dataset = small_imaging.apply_mask(gf.Mask.circular(small_imaging.shape, 0.1, 1.5))
    model = gf.model.Collection(galaxies=gf.model.Collection(galaxy=gf.model.Model(
        gf.Galaxy, redshift=0.5, bulge=gf.model.Model(Basis, profile_list=[linear.Gaussian(sigma=s) for s in SIGMAS[18::3]],
                                                      regularization=gf.model.Model(Constant)))))
    good = model.prior_medians
    names = model.parameter_names
    bad_parameters = good.copy()
    bad_parameters[[i for i, n in enumerate(names) if n.endswith("coefficient")][0]] = -1.0
    problem = FitProblem(model, gf.AnalysisImaging(dataset))
    values = problem.log_likelihood(np.stack([good, bad_parameters, bad_parameters]))
    assert values[0] > -1e98 and values[1] == values[2] == gf.INVALID_LOG_LIKELIHOOD
    assert problem.rejection_counts == {"parameters outside their valid ranges": 2}
    # Weights of 1e200 overflow the curvature matrix: the inversion itself fails, and says why.
    overflowing = gf.Imaging(small_imaging.data, np.full(small_imaging.shape, 1e-200), small_imaging.psf, 0.1)
    with pytest.warns(RuntimeWarning):
        analysis = gf.AnalysisImaging(overflowing.apply_mask(dataset.mask))
    problem = FitProblem(model, analysis)
    assert problem.log_likelihood(good[None])[0] == gf.INVALID_LOG_LIKELIHOOD
    assert problem.rejection_counts == {REJECTION_REASONS[13]: 1} == {"linear inversion failed: a value is not finite": 1}


def test_batches_split_over_threads_give_the_values_of_one_thread(small_imaging):
    """FitProblem splits a batch of linear models over the cores (lax.map runs on one); every point keeps its value."""
    from galaxyfit.search.problem import FitProblem

    dataset = small_imaging.apply_mask(gf.Mask.circular(small_imaging.shape, 0.1, 1.5))
    model = gf.model.Collection(galaxies=gf.model.Collection(galaxy=gf.model.Model(
        gf.Galaxy, redshift=0.5, bulge=gf.model_util.mge_model_from(1.5, total_gaussians=8))))
    problem = FitProblem(model, gf.AnalysisImaging(dataset), max_batch=4)
    points = problem.prior_transform(np.random.default_rng(2).random((4, model.prior_count)))
    problem.threads = 1
    one = problem.log_likelihood(points)
    problem.threads = 2
    two = problem.log_likelihood(points)
    problem.close()
    np.testing.assert_array_equal(two, one)
    assert np.all(one > -1e98)


def test_command_line_fits_linear_profiles_and_an_mge(tmp_path, capsys):
    import json

    from galaxyfit.cli import main

    assert main(["simulate", str(tmp_path / "sim"), "--size", "48"]) == 0
    sim = tmp_path / "sim"
    common = [str(sim / "data.fits"), "--noise-map", str(sim / "noise_map.fits"), "--psf", str(sim / "psf.fits"),
              "--mask", str(sim / "mask.fits"), "--pixel-scale", str(10 / 48), "--shared-centre", "--search", "lm", "--quiet"]
    assert main(["fit", *common, "--model", "linear:sersic+exponential", "--output", str(tmp_path / "linear")]) == 0
    printed = capsys.readouterr().out
    assert "solved intensities" in printed and "galaxy.bulge" in printed
    result = json.loads((tmp_path / "linear" / "result.json").read_text())
    bulge = result["linear_light_profile_intensities"]["galaxies.galaxy.bulge"]
    assert bulge["intensity"] > 0 and bulge["error"] > 0
    assert "galaxies.galaxy.bulge.intensity" not in result["parameters"]  # solved, not sampled
    assert result["total_fluxes"]["galaxies.galaxy.bulge"] > 0
    assert main(["fit", *common, "--model", "mge:5x2", "--output", str(tmp_path / "mge")]) == 0
    result = json.loads((tmp_path / "mge" / "result.json").read_text())
    assert result["n_free_parameters"] == 6 and len(result["linear_light_profile_intensities"]) == 10
    assert main(["fit", *common, "--model", "mge:ten"]) == 2
    assert "expected 'mge:N' or 'mge:NxK'" in capsys.readouterr().err


#: PyAutoGalaxy 2026.10.26.1's NumPy path on sim_bulge_disk (3" mask, its 4x4 over-sampling) at the true geometry:
#: ``bench/.peers-venv/bin/python bench/peers/pyag_linear.py sim_bulge_disk`` (2026-12-06; the log evidence, which
#: its log_likelihood_function returns when there is an inversion, and the solved intensities).
PYAG_LINEAR = {
    "linear_sersic": (-5521.281510365124, [1.4627637772682576]),
    "linear_bulge_disk": (3866.8341556981372, [1.0075245413268068, 0.25224093127147884]),
    "mge30": (2224.032284590582, [0.0] * 12 + [0.03944031244959656, 1.224467123029171, 3.595893526476081, 7.820729391162463,
                                               14.984791827569326, 15.660104611369135, 10.230581318523106, 9.839165958826857,
                                               0.0, 4.747214659310274, 0.7469170816192459, 1.3250112792326372,
                                               0.46147753366882877, 0.6961204667733724, 0.010737597928753334,
                                               0.3760580386250407, 0.0, 0.0]),
}


def test_parity_with_pyautogalaxy_linear_profiles_and_mge(sim_truth):
    import json

    from conftest import shared_path

    folder = shared_path("sim", "sim_bulge_disk")
    scale = json.loads((folder / "sim_info.json").read_text())["pixel_scale"]
    dataset = gf.Imaging.from_fits(folder / "data.fits", scale, noise_map_path=folder / "noise_map.fits", psf_path=folder / "psf.fits")
    dataset = dataset.apply_mask(gf.Mask.circular(dataset.shape, scale, 3.0))
    analysis = gf.AnalysisImaging(dataset, settings=gf.Settings(over_sampling=gf.OverSampling.pyautogalaxy(4)))
    bulge = {k: v for k, v in sim_truth["bulge"].items() if k != "intensity"}
    disk = {k: v for k, v in sim_truth["disk"].items() if k != "intensity"}
    sigmas = 10 ** np.linspace(-4, np.log10(3.0), 30)
    cases = {"linear_sersic": dict(bulge=linear.Sersic(**bulge)),
             "linear_bulge_disk": dict(bulge=linear.Sersic(**bulge), disk=linear.Exponential(**disk)),
             "mge30": dict(bulge=mge(sigmas, bulge["ell_comps"]))}
    for name, components in cases.items():
        expected, intensities = PYAG_LINEAR[name]
        value = float(jax.jit(lambda: analysis.log_likelihood_function(instance(**components)))())
        assert value == pytest.approx(expected, rel=1e-10), name  # the issue asks 1e-6; it agrees to rounding
        fit = analysis.fit_from(instance(**components), compiled=True)
        np.testing.assert_allclose(fit.inversion.reconstruction, intensities, rtol=1e-7, atol=1e-9, err_msg=name)
