"""Searches on a small seeded simulation: truth recovered within the posterior, seeded repeatability, batched
likelihoods, failed samples discarded, the analysis lifecycle, results written to disk."""

import json
import warnings

import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.analysis.analysis_imaging import INVALID_LOG_LIKELIHOOD
from galaxyfit.model import Collection, Model, UniformPrior
from galaxyfit.search import Dynesty, Emcee, FitProblem, LevenbergMarquardt, MultiNest, MultiNestUnavailable, Nautilus, UntrustedResultWarning
from galaxyfit.search.checks import check_result
from galaxyfit.search.multinest import load_pymultinest
from galaxyfit.search.samples import Samples


def three_parameter_model(sim_truth, sersic_index_prior=None):
    """Bulge intensity, effective radius and Sersic index free; everything else fixed at the truth."""
    bulge = Model(gf.lp.Sersic, centre=sim_truth["bulge"]["centre"], ell_comps=sim_truth["bulge"]["ell_comps"])
    if sersic_index_prior is not None:
        bulge.sersic_index = sersic_index_prior
    disk = gf.lp.Exponential(**sim_truth["disk"])
    return Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=bulge, disk=disk)))


TRUTH = np.array([1.0, 0.6, 4.0])  # intensity, effective_radius, sersic_index of the bulge


def within_sigma(result, truth, sigma):
    lo, hi = result.samples.values_at_sigma(sigma)
    return (truth >= lo) & (truth <= hi)


@pytest.fixture(scope="module")
def nautilus_result(small_imaging, sim_truth):
    return Nautilus(n_live=200, n_eff=1000, seed=3, progress=False).fit(three_parameter_model(sim_truth), gf.AnalysisImaging(small_imaging))


def test_nautilus_recovers_truth_with_evidence(nautilus_result, small_imaging, sim_truth):
    result = nautilus_result
    assert np.all(within_sigma(result, TRUTH, 3.0))
    truth_log_l = gf.AnalysisImaging(small_imaging).log_likelihood_function(result.model.instance_from_vector(TRUTH))
    assert result.log_likelihood >= truth_log_l - 0.5
    assert result.log_evidence < result.log_likelihood
    assert 0 < result.log_evidence_error < 0.05
    assert result.samples.effective_sample_size > 500
    assert result.timing["likelihood_calls"] > 0


def test_nautilus_same_seed_same_answer(nautilus_result, small_imaging, sim_truth):
    again = Nautilus(n_live=200, n_eff=1000, seed=3, progress=False).fit(three_parameter_model(sim_truth), gf.AnalysisImaging(small_imaging))
    np.testing.assert_allclose(again.max_log_likelihood_vector, nautilus_result.max_log_likelihood_vector, rtol=1e-8)
    assert again.log_evidence == pytest.approx(nautilus_result.log_evidence, rel=0, abs=1e-8)


def test_failed_samples_get_invalid_value_and_are_discarded(small_imaging, sim_truth):
    # Sersic indices below zero have no profile: those points must score -1e99 and never carry posterior weight.
    model = three_parameter_model(sim_truth, sersic_index_prior=UniformPrior(-1.0, 5.0))
    problem = FitProblem(model, gf.AnalysisImaging(small_imaging))
    values = problem.log_likelihood(np.array([[1.0, 0.6, -1.0], [1.0, 0.6, 4.0], [np.nan, 0.6, 4.0]]))
    assert values[0] == INVALID_LOG_LIKELIHOOD and values[2] == INVALID_LOG_LIKELIHOOD and values[1] > 0
    result = Nautilus(n_live=200, n_eff=500, seed=1, progress=False).fit(model, gf.AnalysisImaging(small_imaging))
    negative = result.samples.parameters[:, 2] < 0
    assert negative.any()  # the sampler did visit them
    assert result.samples.weights[negative].sum() < 1e-12 * result.samples.weights.sum()
    assert np.all(within_sigma(result, TRUTH, 3.0))


def test_batches_are_padded_to_few_sizes_and_independent(small_imaging, sim_truth):
    problem = FitProblem(three_parameter_model(sim_truth), gf.AnalysisImaging(small_imaging), max_batch=8)
    points = np.column_stack([np.linspace(0.8, 1.2, 11), np.full(11, 0.6), np.linspace(3.0, 4.5, 11)])
    together = problem.log_likelihood(points)
    alone = np.array([problem.log_likelihood_of(p) for p in points])
    np.testing.assert_allclose(together, alone, rtol=1e-12)
    assert problem._bucket(3) == 4 and problem._bucket(8) == 8 and problem._bucket(100) == 8


def test_lm_from_the_prior_medians(small_imaging, sim_truth):
    model = three_parameter_model(sim_truth)
    result = LevenbergMarquardt().fit(model, gf.AnalysisImaging(small_imaging))
    errors = np.array(result.search["errors"])
    assert np.all(np.abs(result.max_log_likelihood_vector - TRUTH) < 4 * errors)
    # the Laplace posterior's 1-sigma interval is the Jacobian error
    minus, plus = result.samples.errors_at_sigma(1.0)
    np.testing.assert_allclose(0.5 * (minus + plus), errors, rtol=0.1)


def test_dynesty_and_emcee_agree_with_nautilus(nautilus_result, small_imaging, sim_truth):
    analysis = gf.AnalysisImaging(small_imaging)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntrustedResultWarning)  # a converged run passes the optimiser check
        dynesty = Dynesty(n_live=100, seed=2, progress=False).fit(three_parameter_model(sim_truth), analysis)
    assert dynesty.trusted and dynesty.check["gap"] < 3.0
    assert np.all(within_sigma(dynesty, TRUTH, 3.0))
    assert dynesty.log_evidence == pytest.approx(nautilus_result.log_evidence, abs=5 * dynesty.log_evidence_error + 0.1)
    emcee = Emcee(n_walkers=16, n_steps=400, initial=TRUTH * 1.01, seed=2, progress=False).fit(three_parameter_model(sim_truth), analysis)
    assert np.all(within_sigma(emcee, TRUTH, 3.0))
    sigma_nautilus = np.array(list(nautilus_result.errors_at_sigma(1.0).values())).mean(axis=1)
    sigma_emcee = np.array(list(emcee.errors_at_sigma(1.0).values())).mean(axis=1)
    np.testing.assert_allclose(sigma_emcee, sigma_nautilus, rtol=0.35)
    # Without a start, the walkers begin around the optimiser's best fit (not across the prior, where walkers stuck
    # in poor optima inflated the spread by orders of magnitude with no warning).
    unstarted = Emcee(n_walkers=16, n_steps=400, seed=3, progress=False).fit(three_parameter_model(sim_truth), analysis)
    assert np.all(within_sigma(unstarted, TRUTH, 3.0))
    sigma_unstarted = np.array(list(unstarted.errors_at_sigma(1.0).values())).mean(axis=1)
    np.testing.assert_allclose(sigma_unstarted, sigma_nautilus, rtol=0.35)


def test_a_sampler_stalled_below_the_peak_is_flagged(small_imaging, sim_truth):
    """check_result: an optimiser started from a sampler's best point that climbs far higher means the sampler did not
    converge (dynesty's random walks were seen to stall 4000 below the peak of a bright source)."""
    model = three_parameter_model(sim_truth)
    problem = FitProblem(model, gf.AnalysisImaging(small_imaging))
    at_truth = float(problem.log_likelihood(TRUTH[None, :])[0])
    poor = TRUTH * np.array([0.5, 1.6, 0.6])
    stalled = Samples(poor[None, :], problem.log_likelihood(poor[None, :]), [1.0], model.parameter_names)
    with pytest.warns(UntrustedResultWarning, match="did not reach the maximum likelihood"):
        check = check_result(problem, stalled, "test sampler")
    assert not check["trusted"] and check["optimum_log_likelihood"] >= at_truth - 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntrustedResultWarning)
        converged = Samples(TRUTH[None, :], [at_truth], [1.0], model.parameter_names)
        assert check_result(problem, converged, "test sampler")["trusted"]


def multinest_available() -> bool:
    try:
        load_pymultinest()
    except MultiNestUnavailable:
        return False
    return True


def test_multinest_missing_library_is_a_clear_error(small_imaging, sim_truth):
    if multinest_available():
        pytest.skip("MultiNest is available here")
    with pytest.raises(MultiNestUnavailable, match="MultiNest"):
        MultiNest(progress=False).fit(three_parameter_model(sim_truth), gf.AnalysisImaging(small_imaging))


@pytest.mark.skipif(not multinest_available(), reason="MultiNest's shared library (libmultinest.so) is not installed")
def test_multinest_recovers_truth_and_evidence(nautilus_result, small_imaging, sim_truth, tmp_path):
    # MultiNest (Feroz et al. 2009) and nautilus are independent samplers of the same posterior: their evidences
    # agree within MultiNest's error budget and both posteriors cover the truth.
    result = MultiNest(n_live=200, evidence_tolerance=0.1, seed=2, output=str(tmp_path / "mn"), progress=False).fit(
        three_parameter_model(sim_truth), gf.AnalysisImaging(small_imaging))
    assert np.all(within_sigma(result, TRUTH, 3.0))
    assert result.log_likelihood >= nautilus_result.log_likelihood - 0.5
    assert result.log_evidence == pytest.approx(nautilus_result.log_evidence, abs=3 * result.log_evidence_error + 0.1)
    assert (tmp_path / "mn" / "ev.dat").exists()


def test_lifecycle_hooks_run_in_order(small_imaging, sim_truth):
    calls = []

    class Recording(gf.AnalysisImaging):
        def modify_model(self, model):
            calls.append("modify_model")
            return model

        def modify_before_fit(self, model):
            calls.append("modify_before_fit")
            return super().modify_before_fit(model)

        def make_result(self, *args, **kwargs):
            calls.append("make_result")
            return super().make_result(*args, **kwargs)

        def modify_after_fit(self, result):
            calls.append("modify_after_fit")
            return super().modify_after_fit(result)

    LevenbergMarquardt(initial=TRUTH).fit(three_parameter_model(sim_truth), Recording(small_imaging))
    assert calls == ["modify_model", "modify_before_fit", "make_result", "modify_after_fit"]


def test_result_summary_and_files(nautilus_result, tmp_path):
    result = nautilus_result
    fluxes = result.total_fluxes()
    bulge = result.max_log_likelihood_instance.galaxies.galaxy.bulge
    assert fluxes["galaxies.galaxy.bulge"] == pytest.approx(float(bulge.total_flux(0.1)))
    latent = result.latent
    kpc = latent["galaxies.galaxy.bulge.effective_radius_kpc"]["median"]
    scale = result.analysis.cosmology.kpc_proper_per_arcmin(0.5).value / 60.0
    assert kpc == pytest.approx(result.median_pdf_vector[1] * scale, rel=0.02)
    folder = result.save(tmp_path / "out")
    summary = json.loads((folder / "result.json").read_text())
    assert summary["log_evidence"] == pytest.approx(result.log_evidence)
    assert set(summary["parameters"]) == set(result.model.parameter_names)
    assert (folder / "fit.png").stat().st_size > 10_000
    restored = Samples.from_csv(folder / "samples.csv")
    np.testing.assert_allclose(restored.parameters, result.samples.parameters, rtol=1e-12)
    model = gf.model.Model.from_json((folder / "model.json").read_text())
    assert model.paths == result.model.paths
    assert not list(folder.glob("*.tmp*"))  # atomic writes leave no temporary files


def test_checkpoint_of_another_fit_is_refused(small_imaging, sim_truth, tmp_path):
    from galaxyfit.errors import SearchError
    from galaxyfit.search.checkpoint import check_checkpoint, fingerprint

    analysis = gf.AnalysisImaging(small_imaging)
    settings = Nautilus(progress=False).settings()
    three = fingerprint(FitProblem(three_parameter_model(sim_truth), analysis), settings)
    other_model = three_parameter_model(sim_truth, sersic_index_prior=UniformPrior(1.0, 5.0))
    assert fingerprint(FitProblem(other_model, analysis), settings) != three
    assert fingerprint(FitProblem(three_parameter_model(sim_truth), analysis), {**settings, "seed": 9}) != three
    assert fingerprint(FitProblem(three_parameter_model(sim_truth), analysis), {**settings, "progress": True}) == three
    # nautilus' checkpoints are the same whether its bound kernels ran in C++ or in its own code
    unchanged = Nautilus(compiled_bounds=False, progress=False).settings()
    assert fingerprint(FitProblem(three_parameter_model(sim_truth), analysis), unchanged) == three
    checkpoint = tmp_path / "nautilus_checkpoint.hdf5"
    assert check_checkpoint(checkpoint, three) is False  # new run: fingerprint recorded
    checkpoint.write_bytes(b"written by nautilus")
    assert check_checkpoint(checkpoint, three) is True  # same fit: resumed
    with pytest.raises(SearchError, match="nautilus_checkpoint.hdf5 was written by a different fit"):
        check_checkpoint(checkpoint, fingerprint(FitProblem(other_model, analysis), settings))
    with pytest.raises(SearchError, match="is a directory"):
        check_checkpoint(tmp_path, three)
    with pytest.raises(SearchError, match="more live points than free parameters"):
        Nautilus(n_live=4, progress=False).fit(three_parameter_model(sim_truth), analysis)


def test_best_fit_on_a_prior_limit_warns(small_imaging, sim_truth):
    from galaxyfit.search.base import ParameterAtPriorLimitWarning

    model = three_parameter_model(sim_truth)
    model.galaxies.galaxy.bulge.effective_radius = UniformPrior(0.0, 0.4)  # the truth, 0.6", lies outside
    with pytest.warns(ParameterAtPriorLimitWarning, match=r"effective_radius = 0.4 \(limit 0.4\)"):
        result = LevenbergMarquardt(initial=[1.0, 0.3, 4.0]).fit(model, gf.AnalysisImaging(small_imaging))
    assert "galaxies.galaxy.bulge.effective_radius" in result.search["parameters_at_prior_limits"]
    assert np.isnan(result.samples.log_likelihood[1:]).all() and np.isfinite(result.log_likelihood)
    radii = result.samples.parameters[:, 1]
    assert len(radii) == 4001 and radii.max() <= 0.4  # the Laplace draws are truncated to the prior
    assert result.median_pdf_vector[1] <= 0.4


def test_damaged_checkpoint_is_a_clear_error(small_imaging, sim_truth, tmp_path):
    from galaxyfit.errors import SearchError
    from galaxyfit.search.checkpoint import check_checkpoint, fingerprint

    analysis = gf.AnalysisImaging(small_imaging)
    search = Nautilus(n_live=50, filepath=str(tmp_path / "cp.hdf5"), progress=False)
    model = three_parameter_model(sim_truth)
    check_checkpoint(tmp_path / "cp.hdf5", fingerprint(FitProblem(model, analysis), search.settings()))
    (tmp_path / "cp.hdf5").write_bytes(b"")  # truncated to nothing, fingerprint intact
    with pytest.raises(SearchError, match="cannot resume from checkpoint .*cp.hdf5: it is damaged"):
        search.fit(model, analysis)


def test_prior_limit_check_in_unit_cube_coordinates(sim_truth):
    from galaxyfit.model import LogUniformPrior
    from galaxyfit.search.base import parameters_at_prior_limits

    model = three_parameter_model(sim_truth)
    bulge = model.galaxies.galaxy.bulge
    bulge.intensity, bulge.effective_radius = LogUniformPrior(1e-6, 1e6), UniformPrior(0.0, 30.0)
    assert parameters_at_prior_limits(model, [0.2, 29.9999, 4.0]) == {"galaxies.galaxy.bulge.effective_radius": (29.9999, 30.0)}
    assert parameters_at_prior_limits(model, [0.2, 29.9, 4.0]) == {}  # 0.2 is far from 1e-6 in log space
    assert list(parameters_at_prior_limits(model, [1.0000001e-6, 1.0, 4.0])) == ["galaxies.galaxy.bulge.intensity"]


def test_nautilus_keeps_one_ellipsoid_per_bound_unless_asked(small_imaging, sim_truth, monkeypatch):
    """split_bounds=False (the default) reaches nautilus as n_points_min = n_live // 2 + 1; an explicit
    n_points_min wins, and split_bounds=True leaves nautilus its own default."""
    import nautilus

    seen = []

    class Recorded(Exception):  # not a numerical failure, so it passes through Search.fit unchanged
        pass

    class Recorder:
        def __init__(self, prior, likelihood, n_dim, **options):
            seen.append(options)
            raise Recorded("recorded")

    monkeypatch.setattr(nautilus, "Sampler", Recorder)
    analysis = gf.AnalysisImaging(small_imaging)
    for search in (Nautilus(n_live=150, progress=False), Nautilus(n_live=150, split_bounds=True, progress=False),
                   Nautilus(n_live=150, n_points_min=40, progress=False)):
        with pytest.raises(Recorded, match="recorded"):
            search.fit(three_parameter_model(sim_truth), analysis)
    assert seen[0]["n_points_min"] == 76
    assert "n_points_min" not in seen[1]
    assert seen[2]["n_points_min"] == 40
    assert Nautilus(progress=False).settings()["split_bounds"] is False


def test_nautilus_n_points_min_above_half_n_live_means_one_ellipsoid_per_bound():
    """What split_bounds=False relies on, checked against the installed nautilus: on two well-separated modes its
    default splits bounds into several ellipsoids (one network each), n_points_min = n_live // 2 + 1 never does,
    and both runs find both modes (equal weights) and the same evidence."""
    import nautilus
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    modes = [multivariate_normal(mean=[0.25, 0.25], cov=0.03**2), multivariate_normal(mean=[0.75, 0.75], cov=0.03**2)]

    def log_likelihood(x):
        return logsumexp([m.logpdf(x) for m in modes], axis=0) - np.log(2)

    pieces, log_z, weight_of_first = {}, {}, {}
    for label, extra in (("nautilus default", {}), ("one ellipsoid", {"n_points_min": 101})):
        sampler = nautilus.Sampler(lambda u: u, log_likelihood, n_dim=2, n_live=200, n_networks=1, vectorized=True, seed=3,
                                   neural_network_kwargs={"hidden_layer_sizes": (16,)}, **extra)
        sampler.run(n_eff=1000, verbose=False)
        pieces[label] = [len(bound.neural_bounds) for bound in sampler.bounds[1:]]
        log_z[label] = sampler.log_z
        points, log_w, _ = sampler.posterior()
        w = np.exp(log_w - log_w.max())
        weight_of_first[label] = w[points.sum(axis=1) < 1].sum() / w.sum()
    assert max(pieces["nautilus default"]) >= 2, pieces
    assert set(pieces["one ellipsoid"]) == {1}, pieces
    for label in pieces:  # the prior is the unit square: Z = 1 up to the modes' mass outside it (none to 1e-10)
        assert abs(log_z[label]) < 0.1, log_z
        assert abs(weight_of_first[label] - 0.5) < 0.05, weight_of_first


def test_fit_killed_while_writing_its_checkpoint_resumes(nautilus_result, small_imaging, sim_truth, tmp_path, monkeypatch, capsys):
    """nautilus rewrites its checkpoint in place; galaxyfit stages each write and replaces the file whole, so a fit
    stopped in the middle of a write (here: the write raises after leaving a partial file) keeps the previous
    checkpoint, and running it again resumes to the same answer as an uninterrupted fit."""
    import h5py
    import nautilus

    checkpoint = tmp_path / "cp.hdf5"
    original, calls = nautilus.Sampler.write, []

    def dies_on_the_third_write(self, filepath, overwrite=False):
        calls.append(filepath)
        if len(calls) == 3:
            with open(filepath, "wb") as partial:
                partial.write(b"\x89HDF\r\n\x1a\n half a file")
            raise KeyboardInterrupt("killed while writing")
        return original(self, filepath, overwrite=overwrite)

    monkeypatch.setattr(nautilus.Sampler, "write", dies_on_the_third_write)
    search = Nautilus(n_live=200, n_eff=1000, seed=3, filepath=str(checkpoint), progress=False)
    with pytest.raises(KeyboardInterrupt):
        search.fit(three_parameter_model(sim_truth), gf.AnalysisImaging(small_imaging))
    assert all(path != checkpoint for path in calls)  # every write went to the staging file
    with h5py.File(checkpoint, "r") as stream:  # the second write's checkpoint, whole
        assert "sampler" in stream
    monkeypatch.setattr(nautilus.Sampler, "write", original)
    capsys.readouterr()
    resumed = search.fit(three_parameter_model(sim_truth), gf.AnalysisImaging(small_imaging))
    assert f"resuming from checkpoint {checkpoint}" in capsys.readouterr().err
    assert resumed.log_evidence == pytest.approx(nautilus_result.log_evidence, rel=0, abs=1e-8)
    np.testing.assert_allclose(resumed.max_log_likelihood_vector, nautilus_result.max_log_likelihood_vector, rtol=1e-8)


def test_a_likelihood_pool_is_refused():
    from galaxyfit.errors import SearchError

    for pool in (2, (2, 2)):
        with pytest.raises(SearchError, match="JAX deadlocks in forked worker processes; pool=\\(None, n\\)"):
            Nautilus(pool=pool)
    assert Nautilus(pool=(None, 2)).sampler_kwargs["pool"] == (None, 2)


def test_search_messages_print_above_the_progress_bar(small_imaging, sim_truth, capsys):
    """A line printed while the bar is shown goes through tqdm, on its own line, not into the bar's line."""
    from galaxyfit.search.base import ProgressProblem

    problem = ProgressProblem(three_parameter_model(sim_truth), gf.AnalysisImaging(small_imaging), progress=True)
    try:
        problem.message("resuming from checkpoint x.hdf5")
    finally:
        problem.close()
    err = capsys.readouterr().err
    assert "likelihoods" in err  # the bar was drawn
    # tqdm clears the bar's line first; a plain print would follow the bar's text on its line
    assert "\rresuming from checkpoint x.hdf5\n" in err


def test_search_arguments_are_checked_when_the_search_is_made(small_imaging, sim_truth):
    from galaxyfit.errors import SearchError

    for search in (Nautilus, LevenbergMarquardt, Emcee, Dynesty):
        for bad in (-1, 2**32, 1.5, True, "3"):
            with pytest.raises(SearchError, match="seed must be an integer from 0 to 2\\*\\*32 - 1"):
                search(seed=bad)
    with pytest.raises(SearchError, match="'bogus' is not an argument of nautilus.Sampler"):
        Nautilus(bogus=3)
    with pytest.raises(SearchError, match="'foo' is not an argument of scikit-learn's MLPRegressor"):
        Nautilus(neural_network_kwargs={"foo": 1})
    # the user's network settings go over the default network, not instead of it
    assert Nautilus(neural_network_kwargs={"alpha": 1e-3}).neural_network_kwargs == {"hidden_layer_sizes": (32, 16), "alpha": 1e-3}
    with pytest.raises(TypeError, match=r"needs an analysis such as galaxyfit.AnalysisImaging\(dataset\), got Imaging"):
        LevenbergMarquardt().fit(three_parameter_model(sim_truth), small_imaging)


def test_more_free_parameters_than_pixels_is_said_and_refused_by_the_optimiser(small_imaging, sim_truth):
    from galaxyfit.errors import ModelError

    mask = np.ones(small_imaging.shape, dtype=bool)
    mask[24, 23:25] = False  # two pixels for three free parameters
    analysis = gf.AnalysisImaging(small_imaging.apply_mask(mask))
    with pytest.warns(UserWarning, match="3 free parameters but the mask leaves 2 pixels"):
        with pytest.raises(ModelError, match="cannot fit 3 free parameters to the 2 pixels"):
            LevenbergMarquardt(progress=False).fit(three_parameter_model(sim_truth), analysis)


def test_result_json_is_strict_json(tmp_path):
    """NaN and infinity (an undefined evidence or reduced chi^2) are written as null, which every parser reads."""
    from galaxyfit.output import write_json_atomic

    write_json_atomic(tmp_path / "r.json", {"log_evidence": float("nan"), "x": np.float64(np.inf), "v": np.array([1.0, np.nan]), "n": 3})
    text = (tmp_path / "r.json").read_text()
    assert json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON")) == {
        "log_evidence": None, "x": None, "v": [1.0, None], "n": 3}
