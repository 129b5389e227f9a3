"""Catalogues on Dask (galaxyfit.catalogue, ``galaxyfit catalogue``): a simulated catalogue of 43 single-Sersic
galaxies (3 with bad inputs) fitted on a 2-worker LocalCluster with truth recovered; a worker SIGKILLed mid-run and
a client SIGKILLed and re-run, with every galaxy stored exactly once; a separately started scheduler and workers; the
command line; and (slow) a worker's memory over 200 fits."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.errors import CatalogueError, DatasetError

PIXEL_SCALE = 0.1
PSF_SIGMA = 0.1
SIZES = (32, 40, 48)  # three cutout shapes: compiled likelihoods shared across galaxies of one shape
N_GOOD = 40
BAD = {"bad_nan": "all pixels NaN", "bad_nopsf": "missing PSF file", "bad_truncated": "truncated FITS file"}
PARAMETERS = ("centre_0", "centre_1", "ell_comps_0", "ell_comps_1", "intensity", "effective_radius", "sersic_index")
TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.[A-Za-z0-9]+$")  # galaxyfit.output.atomic_destination's names


def _no_latents():
    """Machinery tests skip the latent variables (a few seconds of compiling per galaxy)."""
    from galaxyfit.latent import LatentConfig, default_enabled

    return LatentConfig(enabled={kind: False for kind in default_enabled()})


def _lm():
    from galaxyfit.search import LevenbergMarquardt

    return LevenbergMarquardt()


def _write_galaxy(folder: Path, gid: str, truth: dict, size: int, seed: int, psf: np.ndarray) -> None:
    from astropy.io import fits

    from galaxyfit.simulate import simulate_imaging

    galaxy = gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=(truth["centre_0"], truth["centre_1"]),
                                               ell_comps=(truth["ell_comps_0"], truth["ell_comps_1"]),
                                               intensity=truth["intensity"], effective_radius=truth["effective_radius"],
                                               sersic_index=truth["sersic_index"]))
    dataset, _ = simulate_imaging(gf.Galaxies([galaxy]), (size, size), PIXEL_SCALE, psf, exposure_time=500.0, seed=seed)
    fits.writeto(folder / f"{gid}.fits", dataset.data)
    fits.writeto(folder / f"{gid}_noise_map.fits", dataset.noise_map)
    fits.writeto(folder / f"{gid}_psf.fits", psf)


def simulate_catalogue(folder: Path, n: int, seed: int, sizes=SIZES, bad: bool = True):
    """A catalogue of ``n`` single-Sersic galaxies (varied sizes, brightness, indices, ellipticities; cutouts of
    ``sizes`` pixels at 0.1"), written as ``<id>.fits``, ``<id>_noise_map.fits``, ``<id>_psf.fits`` and
    ``catalogue.fits`` (ids and true values), plus, with ``bad``, the rows of ``BAD``."""
    from astropy.io import fits
    from astropy.table import Table

    from galaxyfit.simulate import gaussian_psf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    psf = gaussian_psf((7, 7), PSF_SIGMA, PIXEL_SCALE)
    rows = []
    for i in range(n):
        truth = dict(centre_0=rng.uniform(-0.15, 0.15), centre_1=rng.uniform(-0.15, 0.15),
                     ell_comps_0=rng.uniform(-0.3, 0.3), ell_comps_1=rng.uniform(-0.3, 0.3),
                     intensity=rng.uniform(0.4, 2.0), effective_radius=rng.uniform(0.2, 0.6),
                     sersic_index=rng.uniform(0.8, 3.0))
        truth = {k: float(v) for k, v in truth.items()}
        gid, size = f"g{seed}_{i:03d}", int(sizes[i % len(sizes)])
        _write_galaxy(folder, gid, truth, size, seed * 10_000 + i, psf)
        rows.append({"id": gid, "size": size, **truth})
    if bad:
        nan_truth = {k: float("nan") for k in PARAMETERS}
        for gid in BAD:
            _write_galaxy(folder, gid, {**{k: 0.3 for k in PARAMETERS}, "ell_comps_0": 0.0, "ell_comps_1": 0.0,
                                        "sersic_index": 2.0}, 32, 99, psf)
            rows.append({"id": gid, "size": 32, **nan_truth})
        fits.writeto(folder / "bad_nan.fits", np.full((32, 32), np.nan), overwrite=True)
        (folder / "bad_nopsf_psf.fits").unlink()
        truncated = folder / "bad_truncated.fits"
        truncated.write_bytes(truncated.read_bytes()[:2880 + 1000])  # the header, and 1000 of the 8192 data bytes
    table = Table(rows=rows)
    table.write(folder / "catalogue.fits")
    return table


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """(folder, Table): 40 good galaxies and the 3 bad ones."""
    folder = tmp_path_factory.mktemp("catalogue")
    return folder, simulate_catalogue(folder, N_GOOD, seed=1)


def _database_counts(url) -> dict:
    """{galaxy id (the fit's name): rows} in the results database."""
    import sqlalchemy as sa

    from galaxyfit.database import open_database
    from galaxyfit.database.schema import Fit

    engine = open_database(url, create=False)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(sa.select(Fit.name, sa.func.count()).group_by(Fit.name)).all())
    finally:
        engine.dispose()


def _temporary_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and TEMPORARY.match(p.name)]


def _pulls(summary, table) -> np.ndarray:
    """(galaxies, parameters) (best fit - truth) / 1-sigma of the good galaxies."""
    truth = {row["id"]: row for row in table}
    pulls = []
    for row in summary:
        if row["status"] != "done":
            continue
        values = []
        for name in PARAMETERS:
            column = f"galaxies.galaxy.bulge.{name}"
            sigma = 0.5 * (row[f"{column}_upper"] - row[f"{column}_lower"])
            values.append((row[f"{column}_ml"] - truth[row["id"]][name]) / sigma)
        pulls.append(values)
    return np.array(pulls)


# ---- done means 1: a catalogue on a 2-worker LocalCluster ------------------------------------------------------------

@pytest.mark.timeout(900)
def test_catalogue_recovers_truth_and_reports_bad_inputs(catalogue, tmp_path):
    folder, table = catalogue
    output = tmp_path / "run"
    start = time.perf_counter()
    result = gf.fit_catalogue(folder / "catalogue.fits", gf.CutoutFiles(folder, pixel_scale=PIXEL_SCALE), "sersic", _lm(),
                              workers=2, output_path=output, progress=False)
    elapsed = time.perf_counter() - start
    good = [gid for gid in table["id"] if gid not in BAD]
    assert result.n_done == N_GOOD and result.n_failed == len(BAD) and result.n_skipped == 0
    by_id = {r["id"]: r for r in result.records}
    assert [r["id"] for r in result.records] == list(table["id"])
    assert all(by_id[gid]["status"] == "done" and (Path(by_id[gid]["folder"]) / ".completed").is_file() for gid in good)

    reasons = dict(result.failures)
    assert set(reasons) == set(BAD)
    assert "NaN" in reasons["bad_nan"] and str(folder / "bad_nan.fits") in reasons["bad_nan"]
    assert str(folder / "bad_nopsf_psf.fits") in reasons["bad_nopsf"] and "does not exist" in reasons["bad_nopsf"]
    assert str(folder / "bad_truncated.fits") in reasons["bad_truncated"] and "truncated" in reasons["bad_truncated"]
    assert all(reason.startswith("dataset: DatasetError") for reason in reasons.values())
    report = result.failures_path.read_text()
    assert all(f"{gid}\t" in report for gid in BAD)

    # the truth: LM's errors are its Laplace approximation
    summary = result.table
    pulls = _pulls(summary, table)
    assert pulls.shape == (N_GOOD, len(PARAMETERS)) and np.isfinite(pulls).all()
    within = float(np.mean(np.abs(pulls) < 3.0))
    print(f"\n{N_GOOD} galaxies + {len(BAD)} bad in {elapsed:.1f} s; fraction within 3 sigma {within:.4f}, max |pull| "
          f"{np.abs(pulls).max():.2f}; per-galaxy fit {np.median([by_id[g]['total_s'] for g in good]):.1f} s (median)")
    assert within >= 0.97
    assert np.abs(pulls).max() < 5.0

    # the summary: every galaxy, FITS and CSV alike; latent variables; flags
    from astropy.table import Table

    from galaxyfit.catalogue.summary import FLAG_FAILED

    csv = Table.read(result.summary_paths["csv"], format="ascii.csv")
    for t in (summary, csv):
        assert list(t["id"]) == list(table["id"])
        assert list(t["status"]) == ["done"] * N_GOOD + ["failed"] * len(BAD)
    failed = summary[summary["status"] == "failed"]
    assert all(row["flag"] & FLAG_FAILED for row in failed) and all(row["reason"] for row in failed)
    assert np.isnan(failed["galaxies.galaxy.bulge.sersic_index_ml"]).all()
    done = summary[summary["status"] == "done"]
    assert not any(row["flag"] & FLAG_FAILED for row in done)
    assert np.isfinite(done["log_likelihood"]).all() and np.isfinite(done["chi_squared"]).all()
    fluxes = done["latent.galaxies.galaxy.total_flux_median"]
    assert np.isfinite(fluxes).all() and (fluxes > 0).all()
    np.testing.assert_allclose(np.asarray(csv["galaxies.galaxy.bulge.intensity_ml"][:N_GOOD], dtype=float),
                               done["galaxies.galaxy.bulge.intensity_ml"], rtol=1e-12)

    if "parquet" in result.summary_paths:  # with pyarrow (the test extra; astropy would read it only with pandas too)
        import pyarrow.parquet

        parquet = pyarrow.parquet.read_table(result.summary_paths["parquet"])
        assert parquet.column("id").to_pylist() == list(table["id"])
        assert parquet.column("flag").to_pylist() == list(summary["flag"])

    # the database: one row per good galaxy, none for the bad ones
    assert _database_counts(output / "results.sqlite") == {gid: 1 for gid in good}
    assert len(list((output / "ledger").glob("*.json"))) == len(table)

    # a re-run is idempotent: everything skipped, no cluster started, nothing rewritten
    again = gf.fit_catalogue(folder / "catalogue.fits", gf.CutoutFiles(folder, pixel_scale=PIXEL_SCALE), "sersic", _lm(),
                             workers=2, output_path=output, progress=False, retry_failed=False)
    assert again.n_skipped == len(table) and again.n_done == N_GOOD and again.elapsed_s < 10
    assert _database_counts(output / "results.sqlite") == {gid: 1 for gid in good}

    # an input fixed in place is fitted by the next run (failed galaxies are tried again), the rest skipped
    psf = folder / "bad_nopsf_psf.fits"
    psf.symlink_to(folder / "g1_000_psf.fits")
    try:
        third = gf.fit_catalogue(folder / "catalogue.fits", gf.CutoutFiles(folder, pixel_scale=PIXEL_SCALE), "sersic",
                                 _lm(), workers=1, output_path=output, progress=False)
    finally:
        psf.unlink()  # (the module's other tests expect it missing)
    assert third.n_skipped == N_GOOD and third.n_done == N_GOOD + 1
    assert [gid for gid, _ in third.failures] == ["bad_nan", "bad_truncated"]
    assert _database_counts(output / "results.sqlite") == {gid: 1 for gid in [*good, "bad_nopsf"]}
    assert list(third.table["status"]) == ["done"] * N_GOOD + ["failed", "done", "failed"]


# ---- fault tolerance ---------------------------------------------------------------------------------------------

def _subset(table, n: int, folder: Path, name: str) -> Path:
    path = folder / name
    table[[gid not in BAD for gid in table["id"]]][:n].write(path)
    return path


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_fit_is_retried(catalogue, tmp_path, monkeypatch):
    """SIGKILL a worker process while it fits: its galaxy is fitted again elsewhere, every galaxy is stored once.
    The window of submitted tasks is 3 here (of 8 galaxies), so the top-up runs through the kill, and the scheduler
    never holds more than 3 of the run's tasks."""
    from distributed import Client, LocalCluster

    from galaxyfit.catalogue import runner

    monkeypatch.setattr(runner, "MIN_WINDOW", 3)
    monkeypatch.setattr(runner, "TASKS_PER_THREAD", 1)
    folder, table = catalogue
    subset = _subset(table, 8, tmp_path, "subset.fits")
    output = tmp_path / "run"
    killed = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=0, dashboard_address=None) as cluster, \
            Client(cluster) as client:

        def kill_a_busy_worker():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not list(output.glob("galaxies/*/*/.completed")):
                time.sleep(0.2)  # until the workers are warm and fitting
            while time.monotonic() < deadline:
                busy = {worker: keys for worker, keys in client.processing().items() if keys}
                if busy:
                    worker, keys = next(iter(busy.items()))
                    pid = client.run(os.getpid, workers=[worker])[worker]
                    os.kill(pid, signal.SIGKILL)
                    killed.update(worker=worker, pid=pid, key=keys[0])
                    return
                time.sleep(0.1)

        held = []
        stop = threading.Event()

        def count_tasks():
            while not stop.is_set():
                held.append(client.run_on_scheduler(
                    lambda dask_scheduler: sum(str(key).startswith("galaxyfit-fit-") for key in dask_scheduler.tasks)))
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()
        counter = threading.Thread(target=count_tasks, daemon=True)
        counter.start()
        result = gf.fit_catalogue(subset, gf.CutoutFiles(folder, pixel_scale=PIXEL_SCALE), "sersic", _lm(), client=client,
                                  output_path=output, latent_config=_no_latents(), progress=False)
        stop.set()
        killer.join(timeout=10)
        counter.join(timeout=10)
        assert held and max(held) <= 3, max(held)
        assert killed, "no worker was killed"
        assert killed["worker"] not in client.scheduler_info()["workers"]  # its nanny started a new one
        workers_now = client.run(os.getpid)
    assert killed["pid"] not in workers_now.values()
    gid = killed["key"].rsplit("-", 1)[-1]
    ids = [row["id"] for row in Table_read(subset)]
    assert gid in ids
    assert result.n_done == 8 and result.n_failed == 0, result.failures
    assert {r["id"] for r in result.records if r["status"] == "done"} == set(ids)
    retried = next(r for r in result.records if r["id"] == gid)
    assert not retried["worker"].endswith(f":{killed['pid']}")  # fitted again by another process
    assert _database_counts(output / "results.sqlite") == {i: 1 for i in ids}
    for record in result.records:
        folders = [p for p in (output / "galaxies" / record["id"]).iterdir() if p.is_dir()]
        assert folders == [Path(record["folder"])] and (folders[0] / ".completed").is_file()


@pytest.mark.timeout(600)
def test_a_galaxy_that_keeps_killing_its_worker_is_reported_not_blocking(catalogue, tmp_path):
    """A galaxy whose worker dies every time (here it SIGKILLs itself) is retried ``retries`` times, then reported
    with the reason; the other galaxies are fitted."""
    folder, table = catalogue
    cutouts = gf.CutoutFiles(folder, pixel_scale=PIXEL_SCALE)

    def make_dataset(row):  # a closure, so it pickles by value to the workers
        if row["id"] == "poison":
            os.kill(os.getpid(), signal.SIGKILL)
        return cutouts(row)

    rows = [{"id": gid} for gid in list(table["id"][:3])] + [{"id": "poison"}]
    result = gf.fit_catalogue(rows, make_dataset, "sersic", _lm(), workers=2, retries=1, output_path=tmp_path / "run",
                              latent_config=_no_latents(), progress=False)
    assert result.n_done == 3 and [gid for gid, _ in result.failures] == ["poison"], result.failures
    reason = result.failures[0][1]
    assert "died 2 times" in reason and "KilledWorker" in reason
    assert "poison\tworker: the worker fitting it died 2 times" in result.failures_path.read_text()
    assert _database_counts(tmp_path / "run" / "results.sqlite") == {gid: 1 for gid in table["id"][:3]}


def Table_read(path):
    from astropy.table import Table

    return Table.read(path, mask_invalid=False) if str(path).endswith(".fits") else Table.read(path)


CLIENT_SCRIPT = r'''
import sys
from galaxyfit.cli import main
if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


@pytest.mark.timeout(600)
def test_a_killed_client_loses_nothing_on_rerun(catalogue, tmp_path):
    """SIGKILL the client (``galaxyfit catalogue``; its workers exit with it) once some galaxies are done, then run the
    same command again: every galaxy exactly once in the database and summary, every folder complete, no temporary
    file left, and only what was not done is fitted again."""
    import psutil

    from galaxyfit.cli import main

    folder, table = catalogue
    subset = _subset(table, 8, tmp_path, "subset.fits")
    ids = [str(gid) for gid in Table_read(subset)["id"]]
    output = tmp_path / "run"
    script = tmp_path / "client.py"
    script.write_text(CLIENT_SCRIPT)
    arguments = ["catalogue", str(subset), "--cutouts", str(folder), "--pixel-scale", str(PIXEL_SCALE), "--search", "lm",
                 "--output", str(output), "--workers", "2", "--quiet"]
    log = tmp_path / "client.log"
    with open(log, "w") as stream:  # (a file, not a pipe nobody reads: the workers write to it too)
        process = subprocess.Popen([sys.executable, str(script), *arguments], stdout=stream, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(list((output / "ledger").glob("*.json"))) < 2:
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        workers = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    gone, alive = psutil.wait_procs(workers, timeout=30)  # they watch their parent and exit with it
    assert not alive, f"workers outlived their client: {alive}"
    before = {path.stem: json.loads(path.read_text()) for path in (output / "ledger").glob("*.json")}
    assert 2 <= len(before) < len(ids), f"{len(before)} of {len(ids)} galaxies were done before the kill"
    completed_before = {p.parent.parent.name for p in output.glob("galaxies/*/*/.completed")}

    assert main(arguments) == 0
    after = {path.stem: json.loads(path.read_text()) for path in (output / "ledger").glob("*.json")}
    assert set(after) == set(ids) and all(r["status"] == "done" for r in after.values())
    for gid, record in before.items():  # skipped, not fitted again
        assert after[gid]["finished"] == record["finished"]
    refitted = set(ids) - set(before)
    assert all(after[gid]["finished"] > max(r["finished"] for r in before.values()) for gid in refitted)
    for gid in completed_before - set(before):  # completed by a worker after the client died: read back, not refitted
        assert after[gid]["resumed"] is True
    assert _database_counts(output / "results.sqlite") == {gid: 1 for gid in ids}
    summary = Table_read(output / "summary.fits")
    assert sorted(summary["id"]) == sorted(ids) and set(summary["status"]) == {"done"}
    for gid in ids:
        folders = [p for p in (output / "galaxies" / gid).iterdir() if p.is_dir()]
        assert len(folders) == 1 and (folders[0] / ".completed").is_file()
    assert _temporary_files(output) == []


# ---- a separately started scheduler and workers --------------------------------------------------------------------

def _dask_command(name: str) -> list[str]:
    script = Path(sys.executable).parent / "dask"
    if script.exists():
        return [str(script), name]
    return [sys.executable, "-m", f"distributed.cli.dask_{name}"]


@pytest.fixture
def dask_processes(tmp_path):
    """The scheduler file of a ``dask scheduler`` on loopback with two ``dask worker`` processes (1 thread each),
    stopped afterwards."""
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ)
    logs = []
    processes = []

    def start(command, name):
        log = open(tmp_path / f"{name}.log", "w")
        logs.append(log)
        processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path))

    try:
        start([*_dask_command("scheduler"), "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1", "--port", "0",
               "--no-dashboard"], "scheduler")
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler_file.exists(), (tmp_path / "scheduler.log").read_text()
        for k in range(2):
            start([*_dask_command("worker"), "--scheduler-file", str(scheduler_file), "--nthreads", "1", "--nworkers", "1",
                   "--memory-limit", "0", "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{k}"], f"worker{k}")
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        yield scheduler_file
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()




@pytest.mark.timeout(600)
def test_catalogue_on_separately_started_scheduler_and_workers(catalogue, tmp_path, dask_processes, postgres_url):
    from distributed import Client

    from galaxyfit.catalogue.cluster import worker_state

    folder, table = catalogue
    rows = [row for row in table if row["id"] not in BAD][:4] + [row for row in table if row["id"] == "bad_nopsf"]
    subset = table[[list(table["id"]).index(row["id"]) for row in rows]]
    output = tmp_path / "run"
    result = gf.fit_catalogue(subset, gf.CutoutFiles(folder, pixel_scale=PIXEL_SCALE), "sersic", _lm(),
                              client=str(dask_processes), output_path=output, database=postgres_url,
                              latent_config=_no_latents(), progress=False)
    good = [str(gid) for gid in subset["id"] if gid not in BAD]
    assert result.n_done == 4 and [gid for gid, _ in result.failures] == ["bad_nopsf"]
    assert _database_counts(postgres_url) == {gid: 1 for gid in good}
    with Client(scheduler_file=str(dask_processes), timeout="30s") as client:
        pids = client.run(os.getpid)
        states = client.run(worker_state)
    worker_pids = {f"{state['host']}:{pid}" for pid, state in zip(pids.values(), states.values())}
    assert os.getpid() not in pids.values()
    assert {r["worker"] for r in result.records if r["status"] == "done"} <= worker_pids  # fitted in those processes
    cpus = [tuple(state["cpus"] or ()) for state in states.values()]
    assert all(state["xla_flags"] for state in states.values())
    assert not any(state["profiler"] for state in states.values())  # Dask's profiler stopped (memory: cluster.py)
    if len(os.sched_getaffinity(0)) >= 2:  # each worker pinned to its own CPU
        assert all(len(c) == 1 for c in cpus) and len(set(cpus)) == 2
    pulls = _pulls(Table_read(result.summary_paths["fits"]), table)
    assert np.abs(pulls).max() < 5.0


# ---- the command line ----------------------------------------------------------------------------------------------

def test_catalogue_help_is_fast_and_states_the_exit_status():
    process = subprocess.run([sys.executable, "-c", "import sys; from galaxyfit.cli import main\n"
                              "try:\n    main(['catalogue', '--help'])\nexcept SystemExit:\n    pass\n"
                              "print('LOADED', 'jax' in sys.modules, 'distributed' in sys.modules)"],
                             capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stderr
    assert "Exit status: 0 when the run completed" in process.stdout and "--scheduler" in process.stdout
    assert "LOADED False False" in process.stdout


@pytest.mark.parametrize("arguments, message", [
    ([], "give --cutouts DIR"),
    (["--cutouts", "{folder}", "--image", "x.fits", "--pixel-scale", "0.1"], "give --cutouts DIR"),
    (["--cutouts", "{folder}"], "--pixel-scale is required"),
    (["--image", "x.fits", "--pixel-scale", "0.1"], "--image needs --noise-map"),
    (["--cutouts", "{folder}", "--pixel-scale", "0.1", "--id-column", "name"], "has no id column 'name'"),
    (["--cutouts", "{folder}", "--pixel-scale", "0.1", "--psf", "{{band}}_psf.fits"], "no column 'band'"),
    (["--cutouts", "{folder}", "--pixel-scale", "0.1", "--model", "sersik"], "unknown profile 'sersik'"),
    (["--cutouts", "{folder}", "--pixel-scale", "0.1", "--scheduler", "{folder}/missing.json"], "scheduler file"),
])
def test_catalogue_command_refuses_bad_arguments(catalogue, tmp_path, capsys, arguments, message):
    from galaxyfit.cli import main

    folder, _ = catalogue
    arguments = [a.replace("{folder}", str(folder)).replace("{{", "{").replace("}}", "}") for a in arguments]
    status = main(["catalogue", str(folder / "catalogue.fits"), "--output", str(tmp_path / "out"), *arguments])
    assert status == 2
    assert message in capsys.readouterr().err


def test_catalogue_command_rejects_conflicting_options(catalogue, tmp_path, capsys):
    from galaxyfit.cli import main

    folder, _ = catalogue
    with pytest.raises(SystemExit) as exit_info:
        main(["catalogue", str(folder / "catalogue.fits"), "--cutouts", str(folder), "--pixel-scale", "0.1",
              "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"])
    assert exit_info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


# ---- the parts: tables, dataset makers, records, summary, ledger ---------------------------------------------------

def test_read_table_checks_ids(tmp_path):
    from astropy.table import Table

    from galaxyfit.catalogue.table import galaxy_ids, read_table

    assert galaxy_ids(read_table([{"id": 3, "x": 1.0}, {"id": 4.0, "x": 2.0}]), "id") == ["3", "4"]
    with pytest.raises(CatalogueError, match="id 'a' is in rows 0 and 2"):
        read_table([{"id": "a"}, {"id": "b"}, {"id": "a"}])
    with pytest.raises(CatalogueError, match="no id column 'id'"):
        read_table(Table({"name": ["a"]}))
    with pytest.raises(CatalogueError, match="cannot name a folder"):
        read_table([{"id": "../a"}])
    with pytest.raises(CatalogueError, match="no such file"):
        read_table(tmp_path / "missing.fits")
    (tmp_path / "broken.fits").write_bytes(b"not a table")
    with pytest.raises(CatalogueError, match="cannot be read as a table"):
        read_table(tmp_path / "broken.fits")
    (tmp_path / "t.csv").write_text("id,size\ng1,32\ng2,40\n")
    assert list(read_table(tmp_path / "t.csv")["size"]) == [32, 40]
    (tmp_path / "zeros.csv").write_text("id,size\n007,32\n010,40\n")  # ids are names: 007.fits, not 7.fits
    assert galaxy_ids(read_table(tmp_path / "zeros.csv"), "id") == ["007", "010"]


def test_cutout_files_templates_and_errors(catalogue):
    from galaxyfit.catalogue.datasets import CutoutFiles, template_columns

    folder, table = catalogue
    assert template_columns("{tile}/{id:05d}_{band}.fits") == {"tile", "id", "band"}
    maker = CutoutFiles(folder, psf="g1_000_psf.fits", pixel_scale="scale")  # a shared PSF, scales from a column
    with pytest.raises(CatalogueError, match="no column 'scale'"):
        maker.check_columns(table.colnames)
    dataset = maker({"id": "g1_001", "scale": 0.1})
    assert dataset.shape == (40, 40) and dataset.pixel_scales == (0.1, 0.1)
    assert dataset.psf_file == str(folder / "g1_000_psf.fits")
    with pytest.raises(DatasetError, match="all 1024 pixels are NaN"):
        CutoutFiles(folder, pixel_scale=0.1)({"id": "bad_nan"})
    masked = CutoutFiles(folder, pixel_scale=0.1, mask_radius=1.0)({"id": "g1_000"})
    assert 0 < masked.pixels_in_mask < 32 * 32
    # a shared file that is missing would fail every galaxy: the run is refused, naming the directory rule
    with pytest.raises(CatalogueError, match=r"psf file .*elsewhere/psf.fits, shared by every galaxy, does not exist "
                                             r"\(a relative path is taken from the directory"):
        CutoutFiles(folder, psf="elsewhere/psf.fits", pixel_scale=0.1).check_columns(table.colnames)


def test_large_image_cuts_bucketed_cutouts_with_off_image_pixels_masked(tmp_path):
    from astropy.io import fits

    from galaxyfit.catalogue.datasets import LargeImage, bucket_size

    assert [bucket_size(s, 16, 32) for s in (1, 32, 33, 48.5, 64)] == [32, 32, 48, 64, 64]
    image = np.arange(100 * 120, dtype=float).reshape(100, 120)
    fits.writeto(tmp_path / "image.fits", image)
    fits.writeto(tmp_path / "rms.fits", np.ones_like(image))
    maker = LargeImage("image.fits", "rms.fits", directory=tmp_path, pixel_scale=0.2, size_column="r", size=16)
    dataset = maker({"x": 61.0, "y": 51.0, "r": 20.0})  # 1-based: pixel [50, 60]
    assert dataset.shape == (32, 32) and dataset.pixels_in_mask == 32 * 32
    assert dataset.data[16, 16] == image[50, 60]
    edge = maker({"x": 3.0, "y": 98.0, "r": 10.0})  # near a corner: 16 x 16, the off-image pixels masked
    assert edge.shape == (16, 16)
    inside = ~edge.mask.array
    assert inside.sum() == (100 - (97 - 8)) * (2 + 8) and edge.data[8, 8] == image[97, 2]
    with pytest.raises(DatasetError, match="lies off image"):
        maker({"x": 500.0, "y": 500.0, "r": 10.0})
    with pytest.raises(DatasetError, match=r"position \(x -6.0, y 50.0, origin=1\) lies off image"):
        maker({"x": -6.0, "y": 50.0, "r": 10.0})  # the cutout grazes the image, the galaxy itself is beyond its edge
    with pytest.raises(DatasetError, match="not a positive number"):
        maker({"x": 5.0, "y": 5.0, "r": float("nan")})


def test_large_image_galaxies_are_fitted_in_their_cutouts(tmp_path):
    """Two galaxies of one simulated field, cut out at their 1-based pixel positions: each fit finds its galaxy at the
    cutout's centre pixel, 0.05" above and right of the centre of the 32 x 32 cutout."""
    from astropy.io import fits

    from galaxyfit.catalogue.datasets import LargeImage
    from galaxyfit.catalogue.models import ShorthandModel
    from galaxyfit.catalogue.task import FitJob, fit_galaxy
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    shape, pixels = (80, 120), [(30, 30), (50, 90)]  # (row, column), 0-based
    galaxies = [gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=((i - 39.5) * PIXEL_SCALE, (j - 59.5) * PIXEL_SCALE),
                                                  ell_comps=(0.1, -0.05), intensity=1.0, effective_radius=0.3,
                                                  sersic_index=1.5)) for i, j in pixels]
    psf = gaussian_psf((7, 7), PSF_SIGMA, PIXEL_SCALE)
    field, _ = simulate_imaging(gf.Galaxies(galaxies), shape, PIXEL_SCALE, psf, exposure_time=500.0, seed=5)
    fits.writeto(tmp_path / "field.fits", field.data)
    fits.writeto(tmp_path / "rms.fits", field.noise_map)
    fits.writeto(tmp_path / "psf.fits", psf)
    maker = LargeImage("field.fits", "rms.fits", "psf.fits", directory=tmp_path, pixel_scale=PIXEL_SCALE,
                       size_column="side", size=16)
    job = FitJob(make_dataset=maker, model=ShorthandModel("sersic"), search=_lm(), output_path=str(tmp_path / "out"),
                 latent_config=_no_latents())
    for k, (i, j) in enumerate(pixels):
        record = fit_galaxy(job, {"id": f"s{k}", "x": j + 1.0, "y": i + 1.0, "side": 20.0}, f"s{k}")
        assert record["status"] == "done", record["reason"]
        parameters = record["summary"]["parameters"]
        for axis in (0, 1):
            ml, _, lower, upper = parameters[f"galaxies.galaxy.bulge.centre_{axis}"]
            assert abs(ml - 0.5 * PIXEL_SCALE) < 0.02 and upper - lower < 0.02
        assert fits.getdata(Path(record["folder"]) / "image" / "dataset.fits", "DATA").shape == (32, 32)


def test_fit_galaxy_returns_a_record_and_never_raises_for_bad_input(catalogue, tmp_path):
    from galaxyfit.catalogue.models import ShorthandModel
    from galaxyfit.catalogue.task import FitJob, fit_galaxy

    folder, table = catalogue
    job = FitJob(make_dataset=gf.CutoutFiles(folder, pixel_scale=PIXEL_SCALE), model=ShorthandModel("sersic"),
                 search=_lm(), output_path=str(tmp_path), path_prefix="galaxies", latent_config=_no_latents(), run_key="k")
    bad = fit_galaxy(job, {"id": "bad_truncated"}, "bad_truncated")
    assert bad["status"] == "failed" and "truncated" in bad["reason"] and bad["reason"].startswith("dataset:")
    (tmp_path / "galaxies" / "g1_000").mkdir(parents=True)
    stale = tmp_path / "galaxies" / "g1_000" / ".samples.csv.ab12cd34.tmp"  # left by a killed earlier attempt
    stale.write_text("partial")
    record = fit_galaxy(job, {"id": "g1_000"}, "g1_000")
    assert record["status"] == "done" and not record["resumed"] and record["run_key"] == "k"
    assert not stale.exists() and (Path(record["folder"]) / ".completed").is_file()
    assert set(record["summary"]["parameters"]) == {f"galaxies.galaxy.bulge.{p}" for p in PARAMETERS}
    assert record["worker_rss"] > 0 and record["fit_s"] > 0
    again = fit_galaxy(job, {"id": "g1_000"}, "g1_000")
    assert again["resumed"] is True and again["folder"] == record["folder"]
    assert again["summary"]["parameters"] == record["summary"]["parameters"]


def test_summary_table_flags_and_columns(tmp_path):
    from galaxyfit.catalogue.summary import (FLAG_AT_PRIOR_LIMIT, FLAG_FAILED, FLAG_UNTRUSTED, flag_text, summary_table,
                                             write_summary)

    done = {"id": "a", "status": "done", "fit_s": 1.5, "folder": "/x/a", "identifier": "abc",
            "summary": {"flag": FLAG_UNTRUSTED | FLAG_AT_PRIOR_LIMIT, "check": "climbed", "log_likelihood": 10.0,
                        "log_evidence": 5.0, "chi_squared": 3.0, "n_free_parameters": 2, "pixels_in_mask": 100,
                        "parameters": {"p": [1.0, 1.1, 0.9, 1.3]}, "latents": {"flux": [5.0, 5.0, 4.0, 6.0]}}}
    failed = {"id": "b", "status": "failed", "reason": "dataset: DatasetError: no\nfile"}
    table = summary_table([done, failed], "name", ["a", "b"])
    assert table.colnames[:3] == ["name", "status", "flag"]
    assert list(table["flag"]) == [FLAG_UNTRUSTED | FLAG_AT_PRIOR_LIMIT, FLAG_FAILED]
    assert flag_text(table["flag"][0]) == "untrusted, at prior limit" and flag_text(0) == "ok"
    assert table["reason"][1] == "dataset: DatasetError: no file"
    assert table["p_upper"][0] == 1.3 and np.isnan(table["p_upper"][1])
    assert table["latent.flux_median"][0] == 5.0 and table["n_free_parameters"][1] == -1
    paths = write_summary(table, tmp_path)
    assert {"fits", "csv"} <= set(paths) and all(p.is_file() for p in paths.values())
    assert _temporary_files(tmp_path) == []


def test_ledger_skips_only_completed_fits_of_the_same_configuration(tmp_path):
    from galaxyfit.catalogue.ledger import Ledger, is_done
    from galaxyfit.output import atomic_destination

    folder = tmp_path / "galaxies" / "a" / "id1"
    folder.mkdir(parents=True)
    record = {"id": "a", "status": "done", "folder": str(folder), "run_key": "k1"}
    ledger = Ledger(tmp_path)
    ledger.write(record)
    assert ledger.read() == {"a": record}
    assert not is_done(record, "k1")  # no .completed
    (folder / ".completed").write_text("")
    assert is_done(record, "k1") and not is_done(record, "k2") and not is_done({**record, "status": "failed"}, "k1")
    (ledger.folder / "b.json").write_text("{trunc")
    with pytest.warns(UserWarning, match="unreadable"):
        assert set(ledger.read()) == {"a"}
    with atomic_destination(tmp_path / "x.json") as tmp:  # the temporary names the cleanup matches
        assert TEMPORARY.match(Path(tmp).name)


def test_run_key_follows_the_configuration(catalogue):
    from galaxyfit.catalogue.models import ShorthandModel
    from galaxyfit.catalogue.runner import run_key
    from galaxyfit.catalogue.task import FitJob
    from galaxyfit.search import LevenbergMarquardt, Nautilus

    folder, _ = catalogue

    def key(**changes):
        options = dict(make_dataset=gf.CutoutFiles(folder, pixel_scale=0.1), model=ShorthandModel("sersic"),
                       search=LevenbergMarquardt(), output_path="out", latent_config=_no_latents())
        return run_key(FitJob(**{**options, **changes}))

    assert key() == key() and len(key()) == 16
    assert key(search=LevenbergMarquardt(progress=False)) == key()  # cosmetic
    assert len({key(), key(search=LevenbergMarquardt(seed=2)), key(search=Nautilus()), key(model=ShorthandModel("exponential")),
                key(make_dataset=gf.CutoutFiles(folder, pixel_scale=0.2))}) == 5


# ---- memory over many fits -----------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_worker_memory_stays_flat_over_200_fits(tmp_path):
    """200 same-size galaxies in one worker: its resident memory after the 200th fit is within 20 % of that after
    the 10th (no growth per fit: PyAutoLens#189)."""
    folder = tmp_path / "cutouts"
    table = simulate_catalogue(folder, 200, seed=2, sizes=(32,), bad=False)
    result = gf.fit_catalogue(table, gf.CutoutFiles(folder, pixel_scale=PIXEL_SCALE), "sersic", _lm(), workers=1,
                              output_path=tmp_path / "run", progress=False)
    assert result.n_done == 200
    records = sorted(result.records, key=lambda r: r["finished"])
    assert len({r["worker"] for r in records}) == 1
    rss = np.array([r["worker_rss"] for r in records], dtype=float) / 2**20
    print(f"\nworker RSS after fit 10: {rss[9]:.0f} MiB, after fit 200: {rss[-1]:.0f} MiB, max {rss.max():.0f} MiB; "
          f"median time per galaxy {np.median([r['total_s'] for r in records]):.2f} s")
    assert rss[-1] <= 1.2 * rss[9]


@pytest.mark.timeout(600)
def test_galaxies_with_identical_pixels_are_two_rows(catalogue, tmp_path):
    """Two catalogue rows whose cutouts are the same file (a duplicate detection): two fits, two database rows --
    the galaxy's id is part of its fit's identifier, the database's key."""
    from astropy.table import Table

    folder, _ = catalogue
    table = Table({"id": ["first", "again"], "file": ["g1_000", "g1_000"]})
    maker = gf.CutoutFiles(folder, data="{file}.fits", noise_map="{file}_noise_map.fits", psf="{file}_psf.fits",
                           pixel_scale=PIXEL_SCALE)
    result = gf.fit_catalogue(table, maker, "sersic", _lm(), output_path=tmp_path / "run", workers=1,
                              latent_config=_no_latents(), progress=False)
    assert result.n_done == 2
    first, again = result.records
    assert first["identifier"] != again["identifier"]
    assert first["summary"]["parameters"] == again["summary"]["parameters"]  # the same pixels, the same fit
    assert _database_counts(tmp_path / "run" / "results.sqlite") == {"first": 1, "again": 1}
