"""Issue 17: a process compiles a likelihood once per model structure and dataset geometry, and fits of other datasets
of that geometry (other data, noise and PSF values) reuse it (``galaxyfit.search.compiled_cache``). The shared
functions must give the values of the functions compiled for each dataset alone (which embed its numbers), to 1e-12
relative: parametric profiles with separable, direct and FFT convolution, point sources, an oversampled PSF, an MGE
and linear profiles; a pixelization is not shared and keeps its own functions."""

import contextlib
import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.fit.plan import DatasetGeometry
from galaxyfit.model.model import Collection, Model
from galaxyfit.model.priors import LogUniformPrior, UniformPrior
from galaxyfit.search import compiled_cache
from galaxyfit.search.lm import LevenbergMarquardt
from galaxyfit.search.problem import FitProblem, _likelihood_functions
from galaxyfit.settings import Settings
from galaxyfit.simulate import gaussian_psf, simulate_imaging

# The tests here call and lower galaxyfit's jitted functions on JAX arrays of their own, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

SHAPE, PS = (32, 32), 0.1


@pytest.fixture(autouse=True)
def fresh_cache():
    compiled_cache.clear_compiled_cache()
    yield
    compiled_cache.set_enabled(True)
    compiled_cache.set_max_entries(compiled_cache.MAX_ENTRIES)
    compiled_cache.clear_compiled_cache()


_compiles = []


def _listener(name, seconds, **_):
    if name == "/jax/core/compile/backend_compile_duration":
        _compiles.append(seconds)


@contextlib.contextmanager
def counted_compiles():
    """Yields a list that holds, on exit, the number of XLA backend compilations inside the block."""
    jax.monitoring.register_event_duration_secs_listener(_listener)
    start, out = len(_compiles), []
    try:
        yield out
    finally:
        jax.monitoring.unregister_event_duration_listener(_listener)
        out.append(len(_compiles) - start)


def two_gaussian_psf(width, size=7):
    """A PSF that is not rank 1 (a core and a halo), so convolution is direct or FFT, not separable."""
    k = (np.arange(size) - size // 2) * PS
    r2 = k[:, None] ** 2 + k[None, :] ** 2
    psf = np.exp(-0.5 * r2 / width**2) + 0.2 * np.exp(-0.5 * r2 / (2.5 * width) ** 2)
    return psf / psf.sum()


def datasets(n, psf="gaussian", mask_radius=1.3, oversampled=False):
    """``n`` simulated datasets of one geometry with different galaxies, noise, and PSF values."""
    rng = np.random.default_rng(11)
    out = []
    for i in range(n):
        galaxy = gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=(rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1)),
                                                   ell_comps=(rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)),
                                                   intensity=rng.uniform(0.5, 2.0), effective_radius=rng.uniform(0.3, 0.6),
                                                   sersic_index=rng.uniform(1.0, 3.0)))
        width = rng.uniform(0.07, 0.14)
        kernel = gaussian_psf((7, 7), width, PS) if psf == "gaussian" else two_gaussian_psf(width)
        dataset, _ = simulate_imaging(gf.Galaxies([galaxy]), SHAPE, PS, kernel, exposure_time=rng.uniform(100, 400), seed=i)
        if oversampled:
            fine = gaussian_psf((15, 15), width * rng.uniform(0.9, 1.1), PS / 3) * (1.0 + 0.1 * rng.random((15, 15)))
            dataset = gf.Imaging(dataset.data, dataset.noise_map, kernel, PS, psf_oversampled=fine / fine.sum(),
                                 psf_oversampling=3, psf_oversampled_region=(10, 22, 10, 22))
        out.append(dataset.apply_mask(gf.Mask.circular(SHAPE, PS, mask_radius)))
    return out


def sersic_model(**galaxy):
    galaxy = galaxy or {"bulge": gf.lp.Sersic}
    return Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, **galaxy)))


def points_of(model, n, seed=3):
    rng = np.random.default_rng(seed)
    return np.array([model.prior_medians + 0.02 * rng.standard_normal(model.prior_count) for _ in range(n)])


def fresh_values(model, analysis, points):
    """ln L by functions compiled for this analysis alone (the dataset's numbers embedded as constants)."""
    chunk = analysis.batch_chunk_size(model)
    single, batched = _likelihood_functions(model, analysis, chunk)
    return np.asarray(batched(jnp.asarray(points))[0]), float(single(jnp.asarray(points[0])))


def assert_shared_equals_fresh(model, sets, settings=None, n_points=4):
    """Each dataset's shared FitProblem gives the fresh values (1e-12 relative, batched and single); every problem
    after the first shares its functions. Returns the problems."""
    points = points_of(model, n_points)
    problems = []
    for dataset in sets:
        analysis = gf.AnalysisImaging(dataset, settings=settings)
        problem = FitProblem(model, analysis)
        assert problem.sharing is not None
        shared = problem.log_likelihood(points)
        single = problem.log_likelihood_of(points[0])
        fresh, fresh_single = fresh_values(model, analysis, points)
        assert np.all(fresh > -1e98)
        np.testing.assert_allclose(shared, fresh, rtol=1e-12, atol=0)
        np.testing.assert_allclose(single, fresh_single, rtol=1e-12, atol=0)
        problems.append(problem)
    assert len({p.sharing.key for p in problems}) == 1
    return problems


# ---- equal values ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("psf, convolution, method", [("gaussian", "auto", "separable"), ("two", "auto", "direct"),
                                                      ("two", "fft", "fft")])
def test_shared_likelihood_equals_the_datasets_own(psf, convolution, method):
    sets = datasets(3, psf)
    settings = Settings(convolution=convolution)
    assert gf.AnalysisImaging(sets[0], settings=settings).plan.convolver.method == method
    assert len({float(np.sum(d.data)) for d in sets}) == 3 and len({float(d.psf[3, 3]) for d in sets}) == 3
    assert_shared_equals_fresh(sersic_model(), sets, settings)


def test_point_sources_sky_and_grid_offset_use_each_datasets_psf_and_data():
    galaxy = Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, nucleus=gf.lp.PointSource)
    model = Collection(galaxies=Collection(galaxy=galaxy),
                       dataset_model=Model(gf.DatasetModel, background_sky_level=UniformPrior(-0.1, 0.1)))
    assert_shared_equals_fresh(model, datasets(3, "two"))


def test_oversampled_psf():
    model = sersic_model(bulge=gf.lp.Sersic, nucleus=gf.lp.PointSource)
    sets = datasets(3, "two", oversampled=True)
    assert gf.AnalysisImaging(sets[0]).plan.psf_oversampled is not None
    assert_shared_equals_fresh(model, sets)


def test_linear_profiles_and_mge():
    from galaxyfit.profiles import linear

    mge = Model(gf.Galaxy, redshift=0.5, bulge=gf.model_util.mge_model_from(1.2, total_gaussians=6),
                disk=Model(linear.Exponential))
    model = Collection(galaxies=Collection(galaxy=mge))
    problems = assert_shared_equals_fresh(model, datasets(3), n_points=2)
    assert problems[0].analysis.batch_chunk_size(model) == 1  # the lax.map path


def test_pixelizations_keep_their_own_functions():
    pixelization = Model(gf.Pixelization, mesh=gf.mesh.RectangularUniform((6, 6)), regularization=gf.reg.Constant)
    model = sersic_model(pixelization=pixelization)
    points = points_of(model, 2)
    for dataset in datasets(2):
        analysis = gf.AnalysisImaging(dataset)
        problem = FitProblem(model, analysis)
        assert problem.sharing is None
        np.testing.assert_array_equal(problem.log_likelihood(points), fresh_values(model, analysis, points)[0])
    assert len(compiled_cache.CACHE) == 0


# ---- reuse ---------------------------------------------------------------------------------------------------------


def test_three_galaxies_of_one_geometry_compile_once():
    model = sersic_model()
    points = points_of(model, 4)
    counts, problems = [], []
    for dataset in datasets(3):
        with counted_compiles() as n:
            problem = FitProblem(model, gf.AnalysisImaging(dataset))
            problem.log_likelihood(points)  # a batch of 4
            problem.log_likelihood(points[:1])  # a batch of 1
            problem.log_likelihood_of(points[0])
        counts.append(n[0])
        problems.append(problem)
    assert counts[0] >= 3 and counts[1:] == [0, 0], counts
    (single, batched) = compiled_cache.CACHE.get(("likelihood", None) + problems[0].sharing.key)
    assert batched._cache_size() == 2 and single._cache_size() == 1  # one executable per batch size, not per galaxy
    # the program is the same text for every galaxy (the data are arguments): JAX's persistent cache can serve it too
    zeros = jnp.zeros((4, model.prior_count))
    assert problems[0]._batched.lower(zeros).as_text() == problems[2]._batched.lower(zeros).as_text()


def lm_fit(model, dataset):
    return LevenbergMarquardt(quick_update_seconds=None, n_draws=64, progress=False).fit(model, gf.AnalysisImaging(dataset))


def test_levenberg_marquardt_reuses_its_functions_and_finds_the_same_optima():
    model = sersic_model()
    sets = datasets(3)
    shared, counts = [], []
    for dataset in sets:
        with counted_compiles() as n:
            result = lm_fit(model, dataset)
        counts.append(n[0])
        shared.append(result)
    assert counts[1:] == [0, 0], counts
    assert shared[1].timing["compile_s"] < 0.05
    made = compiled_cache.CACHE.misses
    compiled_cache.set_enabled(False)
    for dataset, result in zip(sets, shared):
        alone = lm_fit(model, dataset)
        np.testing.assert_allclose(result.max_log_likelihood_vector, alone.max_log_likelihood_vector, rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(result.log_likelihood, alone.log_likelihood, rtol=1e-12)
    assert compiled_cache.CACHE.misses == made  # nothing was shared while off


def test_fit_images_and_latents_are_shared():
    from galaxyfit.fit.fit_imaging import FitImaging
    from galaxyfit.latent import LatentConfig, _compiled

    model = sersic_model()
    instance = model.instance_from_vector(points_of(model, 1)[0])
    analyses = [gf.AnalysisImaging(d) for d in datasets(3)]
    counts = []
    for analysis in analyses:
        with counted_compiles() as n:
            fit = analysis.fit_from(instance, compiled=True)
        counts.append(n[0])
        alone = FitImaging(analysis.dataset, analysis.galaxies_via_instance_from(instance), plan=analysis.plan)
        np.testing.assert_allclose(np.asarray(fit.parametric_image_slim), np.asarray(alone.parametric_image_slim),
                                   rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(float(fit.log_likelihood), float(alone.log_likelihood), rtol=1e-12)
    assert counts[1:] == [0, 0], counts
    config = LatentConfig()
    assert _compiled(analyses[0], model, config) is _compiled(analyses[2], copy.deepcopy(model), config)


# ---- keys ------------------------------------------------------------------------------------------------------------


def test_model_keys_follow_structure_and_fixed_values_not_priors():
    key = compiled_cache.model_key
    base = sersic_model()
    other_priors = sersic_model(bulge=Model(gf.lp.Sersic, intensity=LogUniformPrior(1e-3, 1e3)))
    fixed = sersic_model(bulge=Model(gf.lp.Sersic, sersic_index=4.0))
    fixed_other = sersic_model(bulge=Model(gf.lp.Sersic, sersic_index=1.0))
    assert key(base) == key(other_priors) == key(copy.deepcopy(base))
    assert len({key(base), key(fixed), key(fixed_other)}) == 3
    linked = sersic_model(bulge=gf.lp.Sersic, disk=gf.lp.Exponential)
    unlinked = copy.deepcopy(linked)
    linked.galaxies.galaxy.disk.centre = linked.galaxies.galaxy.bulge.centre
    assert key(linked) != key(unlinked)
    assert key(object()) is None


def test_geometry_keys_follow_mask_shape_and_method_not_values():
    sets = datasets(2)
    keys = [gf.AnalysisImaging(d).plan.geometry_key() for d in sets]
    assert keys[0] == keys[1]
    other_mask = sets[0].apply_mask(gf.Mask.circular(SHAPE, PS, 1.0))
    assert gf.AnalysisImaging(other_mask).plan.geometry_key() != keys[0]
    direct = gf.AnalysisImaging(sets[0], settings=Settings(convolution="direct")).plan.geometry_key()
    assert direct != keys[0]  # the separable method was chosen from the PSF's values
    non_separable = datasets(1, "two")[0]
    assert gf.AnalysisImaging(non_separable).plan.geometry_key() != keys[0]


def test_a_model_changed_after_its_fit_started_does_not_change_that_fit():
    model = sersic_model()
    sets = datasets(2)
    first = FitProblem(model, gf.AnalysisImaging(sets[0]))
    points = points_of(model, 3)
    before = first.log_likelihood(points[:1])
    reference = copy.deepcopy(model)
    model.galaxies.galaxy.bulge.sersic_index = UniformPrior(0.5, 8.0)  # a new prior: same structure
    model.galaxies.galaxy.bulge.effective_radius = 0.4  # fixed now: another structure, another key
    second = FitProblem(model, gf.AnalysisImaging(sets[1]))
    assert second.sharing.key != first.sharing.key
    # a new batch size traces again: with the structure the first fit started with
    expected = fresh_values(reference, first.analysis, points)[0]
    np.testing.assert_allclose(first.log_likelihood(points), expected, rtol=1e-12)
    np.testing.assert_array_equal(first.log_likelihood(points[:1]), before)


def test_the_cache_is_bounded():
    compiled_cache.set_max_entries(2)
    model = sersic_model()
    for radius in (1.0, 1.2, 1.4):
        FitProblem(model, gf.AnalysisImaging(datasets(1, mask_radius=radius)[0]))
    assert len(compiled_cache.CACHE) == 2
    with pytest.raises(ValueError):
        compiled_cache.set_max_entries(0)


def test_a_shared_plan_refuses_to_read_its_datasets_numbers():
    plan = gf.AnalysisImaging(datasets(1)[0]).plan
    shared = plan.with_data_arrays(plan.data_arrays())
    assert isinstance(shared.dataset, DatasetGeometry) and shared.dataset.shape == SHAPE
    for name in ("data", "noise_map", "psf"):
        with pytest.raises(TypeError, match="shared"):
            getattr(shared.dataset, name)
