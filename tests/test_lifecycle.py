"""The analysis lifecycle: output folders keyed by what makes a fit (data included), resume after SIGKILL with
bitwise-identical samples, completed fits read back and checked, every file parseable, bad paths reported."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.errors import OutputError, SearchError
from galaxyfit.model import Collection, Model
from galaxyfit.search import Nautilus

# One small fit: a 40x40 Sersic with 3 free parameters, ~10 s. The same text runs in the SIGKILL test's processes.
FIT_SCRIPT = r'''
import os, sys
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
import galaxyfit as gf
from galaxyfit.model import Collection, Model
from galaxyfit.search import Nautilus
from galaxyfit.simulate import gaussian_psf, simulate_imaging

def problem(seed=1):
    truth = gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), intensity=1.0,
                                              effective_radius=0.6, sersic_index=2.5))
    dataset, _ = simulate_imaging(gf.Galaxies([truth]), (40, 40), 0.1, gaussian_psf((11, 11), 0.1, 0.1),
                                  exposure_time=300.0, seed=seed)
    bulge = Model(gf.lp.Sersic, centre=(0.0, 0.0), ell_comps=(0.1, 0.05))
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=bulge)))
    return dataset, model

def search(output, **kwargs):
    options = dict(name="sersic", path_prefix="lifecycle", output_path=output, n_live=50, n_eff=500, seed=3,
                   progress=False, check=False)
    options.update(kwargs)
    return Nautilus(**options)

if __name__ == "__main__":
    dataset, model = problem()
    result = search(sys.argv[1]).fit(model, gf.AnalysisImaging(dataset, visualize=False))
    print("DONE", result.log_likelihood)
'''


@pytest.fixture(scope="module")
def fit_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fitmod")
    (folder / "fit_script.py").write_text(FIT_SCRIPT)
    sys.path.insert(0, str(folder))
    try:
        import fit_script
    finally:
        sys.path.pop(0)
    return fit_script, folder / "fit_script.py"


@pytest.fixture(scope="module")
def completed(fit_module, tmp_path_factory):
    """(search, result, analysis, model) of one fit written to disk (figures on)."""
    fit_script, _ = fit_module
    dataset, model = fit_script.problem()
    analysis = gf.AnalysisImaging(dataset, title_prefix="lifecycle")
    search = fit_script.search(tmp_path_factory.mktemp("out"), quick_update_seconds=1.0)
    search.quick_update_cpu_fraction = 1.0
    from galaxyfit.analysis.quick_update import QuickUpdater

    first, QuickUpdater.FIRST_UPDATE_CPU_S = QuickUpdater.FIRST_UPDATE_CPU_S, 0.0  # update from the first second on
    try:
        result = search.fit(model, analysis)
    finally:
        QuickUpdater.FIRST_UPDATE_CPU_S = first
    return search, result, analysis, model


# ---- identifiers --------------------------------------------------------------------------------------------------


def test_identifier_hashes_the_data_settings_and_search_but_not_byte_order_or_cosmetics(fit_module, tmp_path):
    from galaxyfit.paths import OutputPaths

    fit_script, _ = fit_module
    dataset, model = fit_script.problem()

    def identifier(dataset, settings=None, **search_kwargs):
        analysis = gf.AnalysisImaging(dataset, settings=settings)
        search = fit_script.search(tmp_path, **search_kwargs)
        return OutputPaths.for_fit(tmp_path, "x", model, search.settings(), analysis).identifier

    base = identifier(dataset)
    assert len(base) == 32 and all(c in "0123456789abcdef" for c in base)
    assert identifier(dataset) == base  # same fit, same folder
    def ordered(order):  # the same numbers in another byte order, as a big-endian FITS file gives them
        return gf.Imaging(*(a.astype(f"{order}f8") for a in (dataset.data, dataset.noise_map, dataset.psf)),
                          dataset.pixel_scales, dataset.mask.array)

    assert identifier(ordered(">")) == identifier(ordered("<"))
    assert identifier(dataset, progress=True) == base  # how a run is reported is not the fit
    other_data, _ = fit_script.problem(seed=2)
    assert identifier(other_data) != base  # PyAutoFit's flaw: a second galaxy with the same model resumed the first
    assert identifier(dataset, seed=4) != base
    assert identifier(dataset, settings=gf.Settings(use_positive_only_solver=False)) != base
    masked = dataset.apply_mask(np.pad(np.ones((2, 40), bool), ((0, 38), (0, 0))))
    assert identifier(masked) != base
    # the same data read from files elsewhere: the files' names are not the fit
    moved = dataset.apply_mask(dataset.mask.array)
    dataset.noise_model, moved.noise_model = {"kind": "sigma map", "file": "sim/noise.fits"}, {"kind": "sigma map", "file": "copy/noise.fits"}
    assert identifier(moved) == identifier(dataset)


# ---- a completed fit ----------------------------------------------------------------------------------------------


def test_a_completed_fit_has_every_file_and_each_parses(completed):
    from astropy.io import fits

    from galaxyfit.analysis.reload import fit_imaging_from_folder, result_from_folder
    from galaxyfit.model.model import Model as ModelNode

    search, result, analysis, model = completed
    folder = search.paths.folder
    assert folder.parts[-4:-1] == tuple(Path(search.output_path).parts[-1:]) + ("lifecycle", "sersic")
    for name in (".completed", ".identifier", "metadata.json", "model.info", "model.results", "search.summary",
                 "files/model.json", "files/search.json", "files/settings.json", "files/cosmology.json", "files/samples.csv",
                 "files/samples_info.json", "files/samples_summary.json", "files/covariance.csv", "files/galaxies.json",
                 "files/result.json", "image/dataset.fits", "image/fit.fits", "files/latent/samples.csv",
                 "files/latent/latent_summary.json", "latent.results", "image/dataset.png", "image/fit.png",
                 "image/subtracted_galaxy.png", "image/radial_profile.png", "image/corner.png"):
        assert (folder / name).is_file(), name
    assert (folder / "image" / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    latent = json.loads((folder / "files" / "latent" / "latent_summary.json").read_text())
    best = result.max_log_likelihood_instance.galaxies.galaxy.bulge
    assert latent["galaxies.galaxy.bulge.total_flux"]["max_log_likelihood"] == pytest.approx(
        float(best.total_flux(analysis.dataset.pixel_scales)), rel=1e-10)
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["identifier"] == folder.name and metadata["search"] == "nautilus"
    assert json.loads((folder / ".identifier").read_text())["search"]["seed"] == 3
    assert ModelNode.from_json((folder / "files" / "model.json").read_text()).parameter_names == model.parameter_names
    summary = json.loads((folder / "files" / "samples_summary.json").read_text())
    assert summary["max_log_likelihood"] == result.log_likelihood
    np.testing.assert_array_equal(summary["max_log_likelihood_vector"], result.max_log_likelihood_vector)
    assert summary["log_evidence"] == result.log_evidence
    covariance = np.loadtxt(folder / "files" / "covariance.csv", delimiter=",", skiprows=1, ndmin=2)
    expected = np.cov(result.samples.parameters.T, aweights=result.samples.weights)
    np.testing.assert_allclose(covariance, expected, rtol=1e-12)
    assert json.loads((folder / "files" / "cosmology.json").read_text())["name"] == "Planck15"
    text = (folder / "model.results").read_text()
    assert "galaxies.galaxy.bulge.sersic_index" in text and f"{result.log_likelihood:.6f}" in text
    assert "Total likelihood calls" in (folder / "search.summary").read_text()
    with fits.open(folder / "image" / "dataset.fits") as hdul:
        np.testing.assert_array_equal(hdul["DATA"].data, analysis.dataset.data)
        np.testing.assert_array_equal(hdul[0].data.astype(bool), analysis.dataset.mask.array)
        assert hdul[0].header["PIXSCALX"] == 0.1
    with fits.open(folder / "image" / "fit.fits") as hdul:
        fit = result.max_log_likelihood_fit
        np.testing.assert_allclose(hdul["MODEL_IMAGE"].data, fit.blurred_image, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(hdul["CHI_SQUARED_MAP"].data.sum(), float(fit.chi_squared), rtol=1e-10)
        assert "MODEL_galaxy" in hdul
    # The folder alone rebuilds the best fit and the result, without the script that made them.
    rebuilt = fit_imaging_from_folder(folder)
    assert float(rebuilt.chi_squared) == pytest.approx(float(result.max_log_likelihood_fit.chi_squared), rel=1e-12)
    again = result_from_folder(folder)
    np.testing.assert_array_equal(again.samples.parameters, result.samples.parameters)
    assert again.log_evidence == result.log_evidence


def test_running_a_completed_fit_again_returns_it_and_refuses_a_changed_likelihood(completed, fit_module):
    search, result, analysis, model = completed
    start = time.perf_counter()
    again = search.fit(model, analysis)
    assert again.search["resumed"] == "completed"
    np.testing.assert_array_equal(again.samples.parameters, result.samples.parameters)
    assert again.log_likelihood == result.log_likelihood
    assert time.perf_counter() - start < 30

    shifted = gf.AnalysisImaging(analysis.dataset)  # a likelihood that changed under the same identifier
    original = shifted.log_likelihood_function
    shifted.log_likelihood_function = lambda instance: original(instance) + 1.0
    with pytest.raises(SearchError, match="stored best fit now gives"):
        search.fit(model, shifted)


def test_result_imaging_views_and_a_model_centred_on_the_result(completed):
    search, result, analysis, model = completed
    images = result.galaxy_model_image_dict
    np.testing.assert_allclose(images["galaxy"], result.max_log_likelihood_fit.blurred_image, rtol=1e-12, atol=1e-14)
    subtracted = result.subtracted_image_dict["galaxy"]  # one galaxy: nothing else to subtract
    np.testing.assert_array_equal(subtracted, np.where(analysis.dataset.mask.array, 0.0, analysis.dataset.data))
    centred = result.model_centred(width=3.0)
    minus, plus = result.samples.errors_at_sigma(1.0)
    for prior, median, m, p, original in zip(centred.priors, result.median_pdf_vector, minus, plus, model.priors):
        assert type(prior).__name__ == "TruncatedGaussianPrior"
        assert prior.mean == pytest.approx(median) and prior.sigma == pytest.approx(1.5 * (m + p))
        assert prior.limits == original.limits


def test_quick_updates_draw_the_best_fit_so_far_during_the_search(completed):
    search, result, analysis, model = completed
    timing = result.timing
    # this fit ran with a 1 s interval and a budget of 100 % of the search's CPU, so that it updates in its ~10 s
    assert timing["quick_updates"] >= 1 and (search.paths.image / "fit.png").is_file()
    assert 0 < timing["quick_update_cpu_fraction"] <= timing["quick_update_cpu_budget"] == 1.0
    print(f"quick update: {timing['quick_update_cpu_s'] / timing['quick_updates']:.3f} s CPU each, "
          f"{timing['quick_updates']} updates")


def test_quick_updates_run_on_their_own_thread_within_two_percent_of_the_search_cpu():
    """A search that burns CPU and offers a better point every 10 ms; each update burns 20 ms on the updater's
    thread. At the default budget the updates take at most 2 % of the search's CPU, yet they do happen."""
    import threading

    from galaxyfit.analysis.quick_update import QuickUpdater

    threads = []

    class Analysis:
        supports_background_update = True

        def perform_quick_update(self, paths, instance, **info):
            threads.append(threading.current_thread().name)
            end = time.thread_time() + 0.02
            while time.thread_time() < end:
                pass

    class Model:
        def instance_from_vector(self, vector):
            return vector

    updater = QuickUpdater(Analysis(), None, Model(), interval_s=0.05)
    updater.FIRST_UPDATE_CPU_S = 0.02
    start = time.process_time()
    best = 0.0
    while time.process_time() - start < 5.0:
        best += 1.0
        updater.offer(np.array([[best]]), np.array([best]))  # a batch of likelihoods every 10 ms of CPU
        end = time.thread_time() + 0.01
        while time.thread_time() < end:
            pass
    updater.close()
    report = updater.report()
    print(report)
    assert report["quick_updates"] >= 2
    assert set(threads) == {"galaxyfit-quick-update"}  # never on the search's thread
    assert report["quick_update_cpu_fraction"] <= 0.02


def test_print_vram_use_counts_xla_and_ffi_scratch(completed, capsys):
    from galaxyfit.analysis.memory import batched_memory_bytes

    search, result, analysis, model = completed
    small = batched_memory_bytes(analysis, model, 4)
    large = batched_memory_bytes(analysis, model, 64)
    assert small["xla_bytes"] > 0 and small["ffi_scratch_bytes"] > 0
    assert large["total_bytes"] > small["total_bytes"]
    # the vmapped batch holds every likelihood's images: the 64-batch needs at least 16x the 4-batch's scratch
    assert large["ffi_scratch_bytes"] == 16 * small["ffi_scratch_bytes"]
    with_gradient = batched_memory_bytes(analysis, model, 4, gradient=True)
    assert with_gradient["total_bytes"] > small["total_bytes"]
    total = analysis.print_vram_use(model, batch_size=4)
    assert total == small["total_bytes"] and "MEMORY USE" in capsys.readouterr().out


# ---- SIGKILL at random moments -------------------------------------------------------------------------------------


def test_sigkill_at_random_moments_then_resume_gives_bitwise_identical_samples(fit_module, tmp_path):
    _, script = fit_module
    env = {**os.environ, "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    done = subprocess.run([sys.executable, str(script), str(reference)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rng = np.random.default_rng(2026)
    kills = []
    for attempt in range(8):
        process = subprocess.Popen([sys.executable, str(script), str(interrupted)], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        # wait until this run has written its folder (imports and compiling are over), then kill it at a random
        # moment of what follows: sampling, checkpoint writes, or the final outputs
        while time.monotonic() < deadline and process.poll() is None and not list(interrupted.glob("*/*/*/metadata.json")):
            time.sleep(0.05)
        delay = float(rng.uniform(0.5, 6.0))
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.communicate()
        completed_marker = list(interrupted.glob("*/*/*/.completed"))
        kills.append((round(delay, 2), process.returncode, bool(completed_marker)))
        if completed_marker:
            break
    print("kills (delay s, return code, completed):", kills)
    assert sum(rc == -signal.SIGKILL for _, rc, _ in kills) >= 5
    final = subprocess.run([sys.executable, str(script), str(interrupted)], env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]
    (ref_folder,) = reference.glob("lifecycle/sersic/*")
    (folder,) = interrupted.glob("lifecycle/sersic/*")
    assert folder.name == ref_folder.name
    assert (folder / "files" / "samples.csv").read_bytes() == (ref_folder / "files" / "samples.csv").read_bytes()
    for name in ("files/samples_summary.json", "files/galaxies.json", "files/result.json", "files/model.json",
                 "metadata.json", "files/settings.json"):
        json.loads((folder / name).read_text())  # present and parseable
    assert (folder / ".completed").is_file()


# ---- bad paths ------------------------------------------------------------------------------------------------------


def test_an_output_path_that_cannot_be_created_is_a_clear_error(fit_module, tmp_path):
    fit_script, _ = fit_module
    dataset, model = fit_script.problem()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="a_file"):
        fit_script.search(blocker).fit(model, gf.AnalysisImaging(dataset, visualize=False))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_a_clear_error(fit_module, tmp_path):
    fit_script, _ = fit_module
    dataset, model = fit_script.problem()
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(OutputError, match=str(tmp_path)):
            fit_script.search(tmp_path / "out").fit(model, gf.AnalysisImaging(dataset, visualize=False))
    finally:
        tmp_path.chmod(0o755)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_a_full_disk_or_read_only_file_system_keeps_what_was_written(tmp_path, monkeypatch, code):
    """Writes that fail (simulated: the disk fills, or the folder turns read-only, between two writes) raise
    OutputError naming the file, and the file written before is intact."""
    import tempfile

    from galaxyfit.output import write_json_atomic, write_text_atomic

    target = tmp_path / "files" / "samples_summary.json"
    write_json_atomic(target, {"max_log_likelihood": 1.0})
    before = target.read_bytes()
    if code == errno.ENOSPC:
        import builtins

        real_open = builtins.open

        class FullDisk:
            def __init__(self, f):
                self.f = f

            def write(self, text):
                self.f.write(text[: len(text) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

        monkeypatch.setattr(builtins, "open", lambda path, mode="r", *a, **k: FullDisk(real_open(path, mode, *a, **k))
                            if "w" in mode else real_open(path, mode, *a, **k))
    else:
        def refuse(*args, **kwargs):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError, match="samples_summary.json") as info:
        write_text_atomic(target, json.dumps({"max_log_likelihood": 2.0}))
    assert os.strerror(code) in str(info.value)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["samples_summary.json"]  # no temporary left behind


def test_a_corrupted_samples_file_is_reported_by_name(completed, tmp_path):
    import shutil

    from galaxyfit.analysis.reload import result_from_folder

    search, result, analysis, model = completed
    copy = tmp_path / "copy"
    shutil.copytree(search.paths.folder, copy)
    samples = copy / "files" / "samples.csv"
    samples.write_bytes(samples.read_bytes()[: len(samples.read_bytes()) // 2])
    with pytest.raises(OutputError, match="samples.csv"):
        result_from_folder(copy)
    (copy / "files" / "galaxies.json").write_text("{not json")
    from galaxyfit.analysis.reload import fit_imaging_from_folder

    with pytest.raises(OutputError, match="galaxies.json"):
        fit_imaging_from_folder(copy)


# ---- the results database, from real fit folders --------------------------------------------------------------------


def test_a_search_with_a_database_adds_its_fit_and_200_real_folders_scrape_in_under_10_s(completed, fit_module, tmp_path):
    import shutil

    from galaxyfit.database import Aggregator, scrape

    search, result, analysis, model = completed
    database = tmp_path / "results.sqlite"
    # the search's own row, written by the process that ran it (here the completed fit run again, which adds it too)
    fit_script, _ = fit_module
    with_database = fit_script.search(search.output_path, database=str(database))
    with_database.fit(model, analysis)
    assert with_database.paths.folder == search.paths.folder
    agg = Aggregator.from_database(str(database))
    assert len(agg) == 1
    assert agg.values("galaxies.galaxy.bulge.sersic_index")[0] == pytest.approx(
        result.max_log_likelihood_instance.galaxies.galaxy.bulge.sersic_index, rel=1e-12)
    (fit,) = list(agg.fits)
    assert float(fit.chi_squared) == pytest.approx(float(result.max_log_likelihood_fit.chi_squared), rel=1e-12)

    # 200 copies of the real folder, each its own fit (identifier and best-fit Sersic index changed)
    tree = tmp_path / "tree"
    summary = json.loads((search.paths.folder / "files" / "samples_summary.json").read_text())
    for i in range(200):
        copy = tree / "catalogue" / f"galaxy_{i:03d}" / f"{i:032x}"
        shutil.copytree(search.paths.folder, copy)
        metadata = json.loads((copy / "metadata.json").read_text())
        (copy / "metadata.json").write_text(json.dumps({**metadata, "identifier": copy.name, "name": f"galaxy_{i:03d}"}))
        summary["parameters"]["galaxies.galaxy.bulge.sersic_index"]["max_log_likelihood"] = 1.0 + i / 50.0
        summary["trusted"] = i % 4 != 0  # a quarter failed their search's check
        (copy / "files" / "samples_summary.json").write_text(json.dumps(summary))
    broken = tree / "catalogue" / "broken" / ("f" * 32)
    shutil.copytree(search.paths.folder, broken)
    (broken / "files" / "samples_summary.json").write_text('{"parameter_names": [')  # half-written
    damaged = tree / "catalogue" / "damaged" / ("e" * 32)
    shutil.copytree(search.paths.folder, damaged)
    samples = bytearray((damaged / "files" / "samples.csv").read_bytes())
    samples[-5] = ord("7") if samples[-5] != ord("7") else ord("3")  # one digit of one sample changed
    (damaged / "files" / "samples.csv").write_bytes(bytes(samples))
    start = time.perf_counter()
    report = scrape(tree, str(tmp_path / "catalogue.sqlite"))
    elapsed = time.perf_counter() - start
    print(f"scraped 200 real folders in {elapsed:.2f} s")
    assert elapsed < 10.0
    assert len(report.added) == 200
    assert sorted(Path(folder).name for folder, _ in report.skipped) == sorted([broken.name, damaged.name])
    assert any("samples.csv" in reason for _, reason in report.skipped)
    agg = Aggregator.from_database(str(tmp_path / "catalogue.sqlite"))
    selected = agg.query(agg.model.galaxies.galaxy.bulge.sersic_index > 3.0)
    assert len(selected) == sum(1.0 + i / 50.0 > 3.0 for i in range(200))
    assert len(agg.query(agg.search.trusted == False)) == 50  # noqa: E712 - a query term, not a truth test
    trusted = agg.query(agg.model.galaxies.galaxy.bulge.sersic_index < 1.1).table(["name", "trusted"])
    assert list(trusted["trusted"]) == [i % 4 != 0 for i in range(5)]
    from galaxyfit.database import UnknownPathWarning

    with pytest.warns(UnknownPathWarning, match="did you mean galaxies.galaxy.bulge.sersic_index"):
        assert np.all(np.isnan(agg.values("galaxies.galaxy.buldge.sersic_index")))  # a typo: said, not silent
    with pytest.warns(UnknownPathWarning, match="buldge"):
        assert len(agg.query(agg.model.galaxies.galaxy.buldge.sersic_index > 3)) == 0


def test_a_database_that_cannot_connect_stops_the_fit_before_it_starts_and_hides_the_password(completed, fit_module, tmp_path):
    from galaxyfit.database import DatabaseError

    fit_script, _ = fit_module
    search, result, analysis, model = completed
    start = time.perf_counter()
    bad = fit_script.search(tmp_path, database="postgresql://user:secret@127.0.0.1:1/db")
    with pytest.raises(DatabaseError) as info:
        bad.fit(model, analysis)
    assert "secret" not in str(info.value) and "127.0.0.1:1" in str(info.value)
    assert not list(tmp_path.glob("*/*/*/files/samples.csv"))  # no sampling happened


def test_a_completed_fit_run_again_with_other_latents_recomputes_them_and_reload_keeps_them(completed, fit_module):
    from galaxyfit.analysis.reload import analysis_from_folder
    from galaxyfit.latent import LatentConfig

    search, result, analysis, model = completed
    fit_script, _ = fit_module
    folder = search.paths.folder
    assert "galaxies.galaxy.magnitude" not in json.loads((folder / "files" / "latent" / "latent_summary.json").read_text())
    with_zero_point = gf.AnalysisImaging(analysis.dataset, title_prefix="lifecycle",
                                         latent_config=LatentConfig(magnitude_zero_point=25.0))
    again = fit_script.search(search.output_path).fit(model, with_zero_point)
    assert again.search["resumed"] == "completed" and search.paths.folder == folder
    latent = json.loads((folder / "files" / "latent" / "latent_summary.json").read_text())
    flux = latent["galaxies.galaxy.total_flux"]["max_log_likelihood"]
    assert latent["galaxies.galaxy.magnitude"]["max_log_likelihood"] == pytest.approx(25.0 - 2.5 * np.log10(flux), rel=1e-12)
    assert analysis_from_folder(folder).latent_config.magnitude_zero_point == 25.0


def test_the_analysis_speaks_pyautogalaxys_lifecycle_names(completed, tmp_path):
    from galaxyfit.analysis.result_imaging import ResultImaging
    from galaxyfit.latent import KINDS, LatentConfig, latent_keys

    search, result, analysis, model = completed
    assert analysis.Result is ResultImaging and isinstance(result, ResultImaging)
    assert analysis.imaging is analysis.dataset
    assert analysis.LATENT_BATCH_MODE == "vmap" and analysis.supports_background_update
    assert analysis.supports_jax_visualization is False
    keys = analysis.LATENT_KEYS  # of the model the search prepared the analysis for (modify_before_fit)
    assert keys == latent_keys(analysis, model) and "galaxies.galaxy.bulge.total_flux" in keys
    values = analysis.compute_latent_variables(result.max_log_likelihood_vector, model)
    assert len(values) == len(keys)
    flux = values[keys.index("galaxies.galaxy.bulge.total_flux")]
    best = result.max_log_likelihood_instance.galaxies.galaxy.bulge
    assert flux == pytest.approx(float(best.total_flux(analysis.dataset.pixel_scales)), rel=1e-12)
    nothing = gf.AnalysisImaging(analysis.dataset, latent_config=LatentConfig(enabled={k: False for k in KINDS}))
    with pytest.raises(NotImplementedError):
        nothing.compute_latent_variables(result.max_log_likelihood_vector, model)
    fit = analysis.fit_for_visualization(result.max_log_likelihood_instance)
    assert float(fit.chi_squared) == pytest.approx(float(result.max_log_likelihood_fit.chi_squared), rel=1e-12)
    drawn = analysis.Visualizer.visualize(analysis, search.paths, result.max_log_likelihood_instance, quick_update=True)
    assert set(drawn) == {"fit"}
    assert analysis.save_results_combined(search.paths, result) is None
