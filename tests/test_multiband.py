"""Joint multi-band fits (``galaxyfit.analysis.factor_graph``, PyAutoFit's AnalysisFactor / FactorGraphModel): the
joint likelihood is the sum of the bands', shared parameters are one dimension, per-band ones are free per band,
searches fit the graph and return one result per band, outputs are written per band and resumed, and a three-band
bulge + disk is recovered with tighter shared parameters than any band gives alone."""

import copy
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.analysis.analysis_imaging import INVALID_LOG_LIKELIHOOD, REJECTED_PARAMETERS
from galaxyfit.analysis.factor_graph import (
    AnalysisFactor,
    CombinedResult,
    FactorGraphModel,
    fix_parameters,
    free_per_band,
    graph_from_datasets,
)
from galaxyfit.errors import ModelError
from galaxyfit.latent import GALAXY_KINDS, PROFILE_KINDS
from galaxyfit.model import Collection, Model, UniformPrior
from galaxyfit.search import LevenbergMarquardt, Nautilus
from galaxyfit.search.problem import FitProblem
from galaxyfit.simulate import gaussian_psf, simulate_imaging

# The tests here compose galaxyfit's JAX functions in their own jit/vmap/grad, in float64 (conftest.py).
pytestmark = pytest.mark.usefixtures("jax_float64")

# Three bands of one galaxy: a redder bulge (bright in band 0) and a bluer disk, each band with its own PSF, pixel
# scale, exposure time (so noise) and, for band 2, a circular mask.
CENTRE, BULGE_N, BULGE_RE, DISK_ELL, DISK_RE = (0.02, -0.03), 3.0, 0.4, (0.2, -0.1), 1.0
BANDS = [dict(bulge=1.0, disk=0.5, psf=0.08, scale=0.10, exposure=300.0, mask=None),
         dict(bulge=0.6, disk=0.6, psf=0.12, scale=0.12, exposure=500.0, mask=None),
         dict(bulge=0.3, disk=0.7, psf=0.15, scale=0.10, exposure=200.0, mask=1.8)]
TRUTH = [CENTRE[0], CENTRE[1], BULGE_RE, BULGE_N, DISK_ELL[0], DISK_ELL[1], DISK_RE]
SIZE = 40


def true_galaxy(band):
    return gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=CENTRE, ell_comps=(0.0, 0.0), intensity=band["bulge"],
                                              effective_radius=BULGE_RE, sersic_index=BULGE_N),
                     disk=gf.lp.Exponential(centre=CENTRE, ell_comps=DISK_ELL, intensity=band["disk"], effective_radius=DISK_RE))


def make_datasets(noise_free: bool = False):
    out = []
    for i, band in enumerate(BANDS):
        dataset, model_image = simulate_imaging(gf.Galaxies([true_galaxy(band)]), (SIZE, SIZE), band["scale"],
                                                gaussian_psf((11, 11), band["psf"], band["scale"]),
                                                exposure_time=band["exposure"], seed=i + 1)
        if noise_free:
            dataset = gf.Imaging(model_image, dataset.noise_map, dataset.psf, dataset.pixel_scales)
        if band["mask"] is not None:
            dataset = dataset.apply_mask(gf.Mask.circular((SIZE, SIZE), band["scale"], band["mask"]))
        out.append(dataset)
    return out


def bulge_disk_model(lp):
    """Round bulge + elliptical disk sharing the bulge's centre (7 non-linear parameters; with ``gf.lp`` also the
    two intensities)."""
    bulge = Model(lp.Sersic, ell_comps=(0.0, 0.0))
    disk = Model(lp.Exponential)
    disk.centre = bulge.centre
    return Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=bulge, disk=disk)))


@pytest.fixture(scope="module")
def datasets():
    return make_datasets()


def band_vector(graph, factor, vector):
    """A band's own parameter vector from a global one, matched by prior id (independently of the graph's own
    ``factor_indices``, which matches the global model's objects)."""
    position = {prior.id: i for i, prior in enumerate(graph.global_prior_model.priors)}
    return np.array([vector[position[prior.id]] for prior in factor.prior_model.priors])


def test_bands_differ(datasets):
    """The bands really have their own PSF, noise, mask and pixel scale (else the sums below prove little)."""
    scales = [d.pixel_scales[0] for d in datasets]
    assert scales == [0.10, 0.12, 0.10]
    assert not np.allclose(datasets[0].psf, datasets[1].psf) and not np.allclose(datasets[1].psf, datasets[2].psf)
    assert not np.allclose(datasets[0].noise_map, datasets[2].noise_map)
    assert datasets[0].mask.pixels_in_mask == SIZE * SIZE and datasets[2].mask.pixels_in_mask < 0.7 * SIZE * SIZE


def test_combined_log_likelihood_is_the_sum_of_the_bands(datasets):
    """Shared geometry and per-band (free) intensities: the graph's ln L equals the sum of each band's own analysis
    of its own model's instance, to 1e-12, at prior draws; and a band's own intensity moves only that band's term."""
    model = bulge_disk_model(gf.lp)
    graph = graph_from_datasets(datasets, model)
    glob = graph.global_prior_model
    assert model.prior_count == 9 and glob.prior_count == 7 + 2 * 3  # geometry once, two intensities per band
    joint = jax.jit(lambda v: graph.log_likelihood_function(glob.instance_from_vector(v)))
    bands = [jax.jit(lambda v, f=f: f.analysis.log_likelihood_function(f.prior_model.instance_from_vector(v)))
             for f in graph.model_factors]
    rng = np.random.default_rng(4)
    vectors = [glob.prior_medians] + list(FitProblem(glob, graph).prior_transform(rng.random((4, glob.prior_count))))
    for vector in vectors:
        terms = [float(f(band_vector(graph, factor, vector))) for f, factor in zip(bands, graph.model_factors)]
        assert len(set(terms)) == 3 and all(t > -1e98 for t in terms)
        assert float(joint(vector)) == pytest.approx(sum(terms), rel=1e-12, abs=0)
    # band 1's bulge intensity is its own parameter: changing it changes band 1's term alone
    name = "analysis_1.galaxies.galaxy.bulge.intensity"
    assert name in glob.parameter_names
    moved = np.array(vectors[0], dtype=float)
    moved[glob.parameter_names.index(name)] *= 1.5
    before = [float(f(band_vector(graph, fc, vectors[0]))) for f, fc in zip(bands, graph.model_factors)]
    after = [float(f(band_vector(graph, fc, moved))) for f, fc in zip(bands, graph.model_factors)]
    assert before[0] == after[0] and before[2] == after[2] and before[1] != after[1]
    assert float(joint(moved)) == pytest.approx(sum(after), rel=1e-12, abs=0)


def test_jit_vmap_of_the_graph_equals_the_loop(datasets):
    """The batched function the searches call (FitProblem: jit of vmap, or of lax.map for linear profiles) and a
    plain jit(vmap) give each vector's value from a Python loop over single evaluations."""
    for lp in (gf.lp, gf.lp_linear):
        graph = graph_from_datasets(datasets, bulge_disk_model(lp))
        glob = graph.global_prior_model
        problem = FitProblem(glob, graph, max_batch=8)
        points = problem.prior_transform(np.random.default_rng(1).random((6, glob.prior_count)))
        single = jax.jit(lambda v: graph.log_likelihood_function(glob.instance_from_vector(v)))
        loop = np.array([float(single(p)) for p in points])
        batched = problem.log_likelihood(points)
        vmapped = np.asarray(jax.jit(jax.vmap(lambda v: graph.log_likelihood_function(glob.instance_from_vector(v))))(points))
        assert np.all(loop > -1e98)
        np.testing.assert_allclose(batched, loop, rtol=1e-10, atol=0)
        np.testing.assert_allclose(vmapped, loop, rtol=1e-10, atol=0)
        problem.close()


def test_shared_priors_by_copy_and_freeing_one_per_band(datasets):
    """PyAutoFit's semantics: a deep copy of a model keeps its priors (one parameter); a new prior on one copy frees
    that parameter in that band alone; a parameter linked within the model stays linked when freed per band."""
    model = bulge_disk_model(gf.lp_linear)
    analyses = [gf.AnalysisImaging(d) for d in datasets]
    graph = FactorGraphModel(*[AnalysisFactor(copy.deepcopy(model), a) for a in analyses])
    assert graph.global_prior_model.prior_count == model.prior_count == 7

    copies = [copy.deepcopy(model) for _ in analyses]
    copies[1].galaxies.galaxy.bulge.effective_radius = UniformPrior(0.05, 3.0)
    graph = FactorGraphModel(*[AnalysisFactor(m, a, name=n) for m, a, n in zip(copies, analyses, ("g", "r", "i"))])
    glob = graph.global_prior_model
    assert glob.prior_count == 8 and "r.galaxies.galaxy.bulge.effective_radius" in glob.parameter_names
    vector = glob.prior_medians.copy()
    vector[glob.parameter_names.index("r.galaxies.galaxy.bulge.effective_radius")] = 0.7
    vector[glob.parameter_names.index("g.galaxies.galaxy.bulge.effective_radius")] = 0.3
    instance = glob.instance_from_vector(vector)
    assert [float(i.galaxies.galaxy.bulge.effective_radius) for i in graph.factor_instances(instance)] == [0.3, 0.7, 0.3]

    # free_per_band: the centre pair freed per band keeps the disk on the bulge's centre in each band
    band = free_per_band(model, ("centre",))
    graph = FactorGraphModel(AnalysisFactor(model, analyses[0]), AnalysisFactor(band, analyses[1]))
    glob = graph.global_prior_model
    assert glob.prior_count == 7 + 2
    vector = glob.prior_medians.copy()
    vector[glob.parameter_names.index("analysis_1.galaxies.galaxy.bulge.centre_0")] = 0.25
    second = graph.factor_instances(glob.instance_from_vector(vector))[1].galaxies.galaxy
    assert float(second.bulge.centre[0]) == float(second.disk.centre[0]) == 0.25

    # fix_parameters (the reference band's offset): fixed at the prior median wherever it is linked, the rest shared
    reference = fix_parameters(model, ("centre",))
    medians = {name: p.median for name, p in zip(model.parameter_names, model.priors)}
    graph = FactorGraphModel(AnalysisFactor(reference, analyses[0]), AnalysisFactor(model, analyses[1]))
    assert reference.prior_count == 5 and graph.global_prior_model.prior_count == 7
    first = graph.factor_instances(graph.global_prior_model.instance_from_prior_medians())[0].galaxies.galaxy
    assert first.disk.centre == first.bulge.centre == (medians["galaxies.galaxy.bulge.centre_0"],
                                                       medians["galaxies.galaxy.bulge.centre_1"])


def test_a_band_that_rejects_rejects_the_graph(datasets):
    """A model one band cannot evaluate (its own effective radius < 0) gives -1e99, that band's reason and zero
    derivatives, as one dataset does; the prior medians give a finite value and derivatives."""
    model = bulge_disk_model(gf.lp)
    graph = graph_from_datasets(datasets, model, per_band=("intensity", "effective_radius"))
    glob = graph.global_prior_model
    bad = glob.prior_medians.copy()
    bad[glob.parameter_names.index("analysis_2.galaxies.galaxy.disk.effective_radius")] = -1.0
    # one compile for both points: ((ln L, code), d ln L / d vector) of the prior medians and of the rejected point
    evaluate = jax.jit(jax.vmap(jax.value_and_grad(
        lambda v: graph.log_likelihood_and_rejection(glob.instance_from_vector(v)), has_aux=True)))
    (values, codes), grads = evaluate(jnp.asarray(np.stack([glob.prior_medians, bad])))
    assert float(values[0]) > -1e98 and int(codes[0]) == 0 and np.any(np.asarray(grads[0]) != 0.0)
    assert float(values[1]) == INVALID_LOG_LIKELIHOOD and int(codes[1]) == REJECTED_PARAMETERS
    assert np.all(np.asarray(grads[1]) == 0.0)


def test_bad_input_is_refused(datasets):
    analysis = gf.AnalysisImaging(datasets[0])
    with pytest.raises(ModelError, match="AnalysisFactor"):
        FactorGraphModel(analysis)
    with pytest.raises(ModelError, match="prior_model"):
        AnalysisFactor("not a model", analysis)
    with pytest.raises(ModelError, match="named g"):
        FactorGraphModel(AnalysisFactor(bulge_disk_model(gf.lp), analysis, name="g"),
                         AnalysisFactor(bulge_disk_model(gf.lp), analysis, name="g"))
    graph = graph_from_datasets(datasets, bulge_disk_model(gf.lp_linear))
    with pytest.raises(ModelError, match="global_prior_model"):
        LevenbergMarquardt(progress=False).fit(bulge_disk_model(gf.lp_linear), graph)
    with pytest.raises(ModelError, match="dataset_names"):
        graph_from_datasets(datasets, bulge_disk_model(gf.lp), dataset_names=["g", "r"])


def test_lm_recovers_a_noise_free_truth_and_writes_per_band_outputs(tmp_path):
    """Levenberg-Marquardt on the graph (the bands' residuals concatenated) lands on the truth of noise-free bands,
    each band's linear intensities at its own colour; the named fit writes one folder per band plus the joint files,
    and running it again returns the completed fit."""
    from galaxyfit.analysis.reload import result_from_folder

    no_latents = {kind: False for kind in PROFILE_KINDS + GALAXY_KINDS}  # not what this test is about, and dear
    graph = graph_from_datasets(make_datasets(noise_free=True), bulge_disk_model(gf.lp_linear), dataset_names=["g", "r", "i"],
                                visualize=False, latent_config=no_latents)
    search = LevenbergMarquardt(progress=False, name="joint", output_path=tmp_path)
    result = search.fit(model=graph.global_prior_model, analysis=graph)
    assert isinstance(result, CombinedResult) and len(result) == 3
    np.testing.assert_allclose(result.max_log_likelihood_vector, TRUTH, rtol=0, atol=1e-5)
    for band, child in zip(BANDS, result):
        solved = child.linear_light_profile_intensities
        assert solved["galaxies.galaxy.bulge"]["intensity"] == pytest.approx(band["bulge"], rel=1e-5)
        assert solved["galaxies.galaxy.disk"]["intensity"] == pytest.approx(band["disk"], rel=1e-5)
        assert child.model.parameter_names[0] == "galaxies.galaxy.bulge.centre_0"
    assert result.log_likelihood == pytest.approx(sum(result.factor_log_likelihoods()), rel=1e-10)

    folder = result.paths.folder
    assert (folder / ".completed").is_file() and (folder / "model.results").is_file()
    summary = json.loads((folder / "files" / "samples_summary.json").read_text())
    assert summary["parameter_names"] == graph.global_prior_model.parameter_names
    assert summary["chi_squared"] == pytest.approx(sum(r["chi_squared"] for r in summary["analyses"]), rel=1e-12)
    assert summary["pixels_in_mask"] == sum(d.mask.pixels_in_mask for d in (f.analysis.dataset for f in graph.model_factors))
    layout = json.loads((folder / "files" / "graph.json").read_text())
    assert [f["folder"] for f in layout["factors"]] == [f"analyses/analysis_{i}" for i in range(3)]
    for i, child in enumerate(result):
        band_folder = folder / "analyses" / f"analysis_{i}"
        assert child.paths.folder == band_folder
        for name in ("image/dataset.fits", "image/fit.fits", "files/samples.csv", "files/model.json", "model.results"):
            assert (band_folder / name).is_file(), name
        reread = result_from_folder(band_folder)  # a band's folder reads back as a single-band fit
        assert reread.analysis.dataset.pixel_scales == graph.model_factors[i].analysis.dataset.pixel_scales
        np.testing.assert_allclose(reread.max_log_likelihood_vector, child.max_log_likelihood_vector, rtol=0, atol=0)

    again = LevenbergMarquardt(progress=False, name="joint", output_path=tmp_path).fit(
        model=graph.global_prior_model, analysis=graph)
    assert again.search["resumed"] == "completed" and again.paths.folder == folder
    np.testing.assert_array_equal(again.max_log_likelihood_vector, result.max_log_likelihood_vector)
    assert again[2].paths.folder == folder / "analyses" / "analysis_2"


def test_quick_update_writes_each_band_its_own_parameters(datasets, tmp_path):
    """A quick update during a search gives each band's folder the band's own parameter names and values."""
    from galaxyfit.paths import OutputPaths

    graph = graph_from_datasets(datasets, bulge_disk_model(gf.lp), visualize=False)
    glob = graph.global_prior_model
    vector = glob.prior_medians + 0.01 * np.arange(glob.prior_count)
    paths = OutputPaths(tmp_path, "quick", "0" * 32)
    graph.perform_quick_update(paths, glob.instance_from_vector(vector), log_likelihood=-5.0, vector=vector, model=glob)
    for i in range(3):
        text = (paths.folder / "analyses" / f"analysis_{i}" / "model.results").read_text()
        name = "galaxies.galaxy.disk.intensity"
        value = vector[glob.parameter_names.index(f"analysis_{i}.{name}")]
        assert "in progress" in text and "analysis_" not in text
        line = next(line for line in text.splitlines() if line.startswith(name))
        assert float(line.split()[-1]) == pytest.approx(value, rel=1e-5)


@pytest.fixture(scope="module")
def nested_joint(datasets):
    """The default search's (Nautilus()) joint fit of the three noisy bands, linear intensities (~45 s on one core)."""
    graph = graph_from_datasets(datasets, bulge_disk_model(gf.lp_linear))
    start = time.perf_counter()
    result = Nautilus(progress=False).fit(model=graph.global_prior_model, analysis=graph)
    return graph, result, time.perf_counter() - start


# slow: four nested fits of 7 parameters (the joint one here, one per band in the next test), ~45 s each on one
# free core; run them with the rest, or leave them out with -m "not slow".
@pytest.mark.slow
def test_nested_joint_fit_recovers_every_parameter(nested_joint):
    """Every shared parameter's truth lies within the joint posterior's 3-sigma interval, and each band's bulge and
    disk total fluxes (its colours: the linear intensities solved over posterior draws, ``latent``) within theirs."""
    graph, result, _ = nested_joint
    assert len(result) == 3 and result.trusted is not False
    lower, upper = result.samples.values_at_sigma(3.0)
    for name, truth, lo, hi in zip(result.model.parameter_names, TRUTH, lower, upper):
        assert lo <= truth <= hi, (name, truth, lo, hi)
    for band, child in zip(BANDS, result):
        galaxy = true_galaxy(band)
        for component in ("bulge", "disk"):
            true_flux = float(galaxy.components[component].total_flux(child.analysis.dataset.pixel_scales))
            latent = child.latent[f"galaxies.galaxy.{component}.total_flux"]
            assert latent["lower_3sigma"] <= true_flux <= latent["upper_3sigma"], (component, true_flux, latent)


@pytest.mark.slow
def test_joint_fit_is_tighter_than_any_band_alone(nested_joint, datasets):
    """Each shared parameter's posterior sigma (half the 1-sigma interval) of the joint fit is below that of the
    same search on each band alone."""
    _, result, _ = nested_joint
    lower, upper = result.samples.values_at_sigma(1.0)
    joint_sigma = (upper - lower) / 2
    for dataset in datasets:
        single = Nautilus(progress=False, check=False).fit(bulge_disk_model(gf.lp_linear), gf.AnalysisImaging(dataset))
        lo, hi = single.samples.values_at_sigma(1.0)
        assert np.all(joint_sigma < (hi - lo) / 2), (joint_sigma, (hi - lo) / 2)


def test_per_band_offsets_are_recovered(tmp_path):
    """DatasetModel(grid_offset=...) per band, PyAutoGalaxy's way: the first band is the reference (its offset fixed
    at 0 by graph_from_datasets), the others' offsets are free; noise-free bands whose galaxy sits shifted by a known
    amount in band 1 and band 2 give back those shifts (grid_offset moves every profile centre by +offset)."""
    from galaxyfit.model import GaussianPrior

    shifts = [(0.0, 0.0), (0.04, -0.03), (-0.02, 0.05)]
    datasets = []
    for i, (band, shift) in enumerate(zip(BANDS, shifts)):
        galaxy = true_galaxy(band)
        moved = gf.Galaxy(0.5, **{name: type(p)(**{**{f: getattr(p, f) for f in p.parameter_names},
                                                   "centre": (CENTRE[0] + shift[0], CENTRE[1] + shift[1])})
                                  for name, p in galaxy.components.items()})
        dataset, image = simulate_imaging(gf.Galaxies([moved]), (SIZE, SIZE), band["scale"],
                                          gaussian_psf((11, 11), band["psf"], band["scale"]), exposure_time=band["exposure"], seed=i + 1)
        datasets.append(gf.Imaging(image, dataset.noise_map, dataset.psf, dataset.pixel_scales))
    model = bulge_disk_model(gf.lp_linear)
    model.dataset_model = Model(gf.DatasetModel, grid_offset=(GaussianPrior(0.0, 0.1), GaussianPrior(0.0, 0.1)))
    no_latents = {kind: False for kind in PROFILE_KINDS + GALAXY_KINDS}
    graph = graph_from_datasets(datasets, model, visualize=False, latent_config=no_latents)
    assert graph.global_prior_model.prior_count == 7 + 2 * 2  # shared geometry, two free offsets (band 0 fixed)
    result = LevenbergMarquardt(progress=False, seed=1).fit(model=graph.global_prior_model, analysis=graph)
    instance = result.max_log_likelihood_instance
    for name, shift in zip(graph.names, shifts):
        offset = getattr(instance, name).dataset_model.grid_offset
        np.testing.assert_allclose(np.asarray(offset, dtype=float), shift, atol=1e-5)
    np.testing.assert_allclose(result.max_log_likelihood_vector[:2], CENTRE, atol=1e-5)
