"""The fixed costs of a catalogue run that do not depend on the fit: Dask's per-task overhead and the rate at which
the client writes finished galaxies into the results database. Together with ``bench_catalogue.py`` (galaxies per
hour) they say when a catalogue of 10^4-10^6 galaxies is limited by the fits, the scheduler or the database.

    python bench/bench_catalogue_costs.py                      # both, SQLite in a temporary folder
    python bench/bench_catalogue_costs.py --tasks 5000 --rows 20000
    python bench/bench_catalogue_costs.py --postgresql         # the database part on a throwaway PostgreSQL too

* scheduler: ``--tasks`` no-op tasks (each returns a small dict, as a galaxy's record does) submitted to a
  ``LocalCluster`` of 2 single-threaded worker processes and gathered with ``as_completed``: tasks per second and
  milliseconds per task, end to end (submission, scheduling, transfer, gathering).
* database: one real fit folder (an LM fit of a 32 x 32 single Sersic) read with ``read_fit_folder``, its rows
  copied under ``--rows`` distinct identifiers and folders, written with ``write_fits`` in batches of 1, 50 and
  1000 fits (one transaction per batch, as the catalogue client writes them): fits per second.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))


def _no_op(index: int) -> dict:
    return {"id": index, "status": "done", "folder": f"galaxies/{index}", "seconds": 0.0}


def scheduler_overhead(n_tasks: int) -> dict:
    """Seconds per task of submitting, running and gathering ``n_tasks`` no-op tasks on 2 worker processes."""
    from distributed import Client, LocalCluster, as_completed

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=0, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.submit(_no_op, -1, pure=False).result()  # workers up and the function shipped
        start = time.perf_counter()
        futures = [client.submit(_no_op, i, pure=False) for i in range(n_tasks)]
        submitted = time.perf_counter() - start
        count = sum(1 for _ in as_completed(futures, with_results=True))
        total = time.perf_counter() - start
    assert count == n_tasks
    return {"tasks": n_tasks, "submit_s": submitted, "total_s": total, "ms_per_task": 1e3 * total / n_tasks,
            "tasks_per_s": n_tasks / total}


def _one_fit_folder(root: Path) -> Path:
    import galaxyfit as gf
    from galaxyfit.model import Collection, Model
    from galaxyfit.search import LevenbergMarquardt
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    galaxy = gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=(0.0, 0.0), ell_comps=(0.1, 0.05), intensity=1.0,
                                               effective_radius=0.4, sersic_index=2.0))
    dataset, _ = simulate_imaging([galaxy], (32, 32), (0.1, 0.1), gaussian_psf((11, 11), 0.12, (0.1, 0.1)),
                                  exposure_time=300.0)
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=Model(gf.lp.Sersic))))
    search = LevenbergMarquardt(name="one", output_path=root, quick_update_seconds=None)
    search.fit(model, gf.AnalysisImaging(dataset, visualize=False))
    return search.paths.folder


def database_rate(n_rows: int, url: str, folder: Path) -> dict:
    """Fits per second written by ``write_fits`` to ``url`` in batches of 1, 50 and 1000, from copies of the rows
    of ``folder``."""
    from galaxyfit.database import open_database
    from galaxyfit.database.scraper import read_fit_folder
    from galaxyfit.database.write import write_fits

    template = read_fit_folder(folder)
    engine = open_database(url)
    out = {"rows": n_rows, "parameters_per_fit": len(template.parameters), "latents_per_fit": len(template.latents)}
    offset = 0
    try:
        for batch in (1, 50, 1000):
            count = min(n_rows, 200) if batch == 1 else n_rows  # one transaction per fit is slow: fewer of them
            rows = []
            for i in range(offset, offset + count):
                row = copy.copy(template)
                row.fit = {**template.fit, "identifier": f"{i:032x}", "folder": f"{template.fit['folder']}-{i}"}
                rows.append(row)
            offset += count
            start = time.perf_counter()
            write_fits(engine, rows, batch_size=batch, analyze_after=False)
            seconds = time.perf_counter() - start
            out[f"batch_{batch}"] = {"fits": count, "seconds": seconds, "fits_per_s": count / seconds}
    finally:
        engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000, help="no-op tasks for the scheduler's overhead")
    parser.add_argument("--rows", type=int, default=5000, help="fits written to the database per batch size")
    parser.add_argument("--postgresql", action="store_true", help="also a throwaway PostgreSQL server on loopback")
    parser.add_argument("--skip-scheduler", action="store_true")
    args = parser.parse_args()

    report = {}
    if not args.skip_scheduler:
        report["scheduler"] = scheduler_overhead(args.tasks)
        s = report["scheduler"]
        print(f"Dask LocalCluster (2 processes x 1 thread): {s['tasks']} no-op tasks in {s['total_s']:.2f} s = "
              f"{s['ms_per_task']:.2f} ms per task ({s['tasks_per_s']:.0f} tasks/s)")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = _one_fit_folder(Path(tmp) / "output")
        targets = {"sqlite": f"sqlite:///{tmp}/results.sqlite"}
        if args.postgresql:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from postgres_server import postgres_server

            targets["postgresql"] = stack.enter_context(postgres_server())
        for name, url in targets.items():
            report[name] = rate = database_rate(args.rows, url, folder)
            per = ", ".join(f"batch {b}: {rate[f'batch_{b}']['fits_per_s']:.0f} fits/s" for b in (1, 50, 1000))
            print(f"{name} write_fits ({rate['parameters_per_fit']} parameters + {rate['latents_per_fit']} "
                  f"latents per fit): {per}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
