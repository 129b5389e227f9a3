"""Galaxies per hour of a catalogue run (``galaxyfit.fit_catalogue``) on this machine, end to end: reading each
cutout, building its model, compiling, fitting, writing its output folder, the client's database row, ledger entry
and summary table.

    python bench/bench_catalogue.py                                  # LM: 64^2 and 128^2, 1 and 2 workers
    python bench/bench_catalogue.py --searches lm nautilus --galaxies 24 --nested-galaxies 6
    python bench/bench_catalogue.py --sizes 64 --workers 2 --galaxies 100

Each case simulates ``--galaxies`` single-Sersic galaxies (effective radius 0.2-0.8", n 1-4, axis ratio 0.5-1,
varied intensity; Gaussian PSF of sigma 0.12" on 21 x 21 pixels; 0.1" pixels), writes them as FITS cutouts of the
case's size, and fits them with ``fit_catalogue`` (the shorthand model "sersic": priors from each cutout) on an
embedded LocalCluster of ``--workers`` single-threaded processes, each pinned to its own core. Reported per case:

* galaxies per hour over the run's wall time (cluster start-up and the first compilation included), and between
  the first and the last galaxy to finish (the steady rate of a long catalogue),
* per galaxy (medians over the galaxies, from each fit's ``files/result.json`` timing): compile (the likelihood's
  and the search's jit compilation), search, and the whole task (dataset, model, search, outputs),
* the share of galaxies within 3 sigma of the truth in every parameter (a throughput that fits badly is no good).

Nested cases (``--searches nautilus``) fit ``--nested-galaxies`` galaxies with ``Nautilus(n_live=--n-live)``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import numpy as np  # noqa: E402

PIXEL_SCALE = 0.1


def simulate_cutouts(folder: Path, n: int, size: int, seed: int = 1) -> list[dict]:
    """``n`` single-Sersic cutouts of ``size`` x ``size`` pixels as FITS files in ``folder`` (``g<i>.fits``,
    ``g<i>_noise.fits``, a shared ``psf.fits``); returns the catalogue rows with the true values."""
    import galaxyfit as gf
    from astropy.io import fits
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    psf = gaussian_psf((21, 21), 0.12, (PIXEL_SCALE, PIXEL_SCALE))
    fits.writeto(folder / "psf.fits", psf, overwrite=True)
    rows = []
    for i in range(n):
        q, angle = rng.uniform(0.5, 1.0), rng.uniform(0, np.pi)
        factor = (1 - q) / (1 + q)
        truth = {"centre_0": rng.uniform(-0.2, 0.2), "centre_1": rng.uniform(-0.2, 0.2),
                 "ell_comps_0": factor * np.sin(2 * angle), "ell_comps_1": factor * np.cos(2 * angle),
                 "intensity": rng.uniform(0.5, 3.0), "effective_radius": rng.uniform(0.2, 0.8),
                 "sersic_index": rng.uniform(1.0, 4.0)}
        profile = gf.lp.Sersic(centre=(truth["centre_0"], truth["centre_1"]),
                               ell_comps=(truth["ell_comps_0"], truth["ell_comps_1"]), intensity=truth["intensity"],
                               effective_radius=truth["effective_radius"], sersic_index=truth["sersic_index"])
        dataset, _ = simulate_imaging([gf.Galaxy(0.5, bulge=profile)], (size, size), (PIXEL_SCALE, PIXEL_SCALE), psf,
                                      exposure_time=600.0, seed=int(rng.integers(2**31)))
        fits.writeto(folder / f"g{i}.fits", np.asarray(dataset.data), overwrite=True)
        fits.writeto(folder / f"g{i}_noise.fits", np.asarray(dataset.noise_map), overwrite=True)
        rows.append({"id": f"g{i}", **{f"true_{k}": float(v) for k, v in truth.items()}})
    return rows


def _pull_ok(record: dict, row: dict) -> bool | None:
    summary = record.get("summary") or {}
    parameters = summary.get("parameters") or {}
    pulls = []
    for name, (ml, median, lower, upper) in parameters.items():
        key = "true_" + name.split(".")[-1]
        if key not in row:
            continue
        sigma = 0.5 * (upper - lower)
        if not (np.isfinite(sigma) and sigma > 0):
            return False
        pulls.append(abs(median - row[key]) / sigma)
    return bool(pulls) and max(pulls) < 3.0


def run_case(root: Path, rows: list[dict], cutouts: Path, search_name: str, workers: int, n_live: int) -> dict:
    import galaxyfit as gf
    from galaxyfit.search import LevenbergMarquardt, Nautilus

    search = LevenbergMarquardt() if search_name == "lm" else Nautilus(n_live=n_live)
    make_dataset = gf.CutoutFiles(cutouts, data="{id}.fits", noise_map="{id}_noise.fits", psf="psf.fits",
                                  pixel_scale=PIXEL_SCALE)
    output = root / f"out_{search_name}_{workers}_{len(rows)}_{cutouts.name}"
    start = time.perf_counter()
    result = gf.fit_catalogue(rows, make_dataset, "sersic", search, output_path=output, workers=workers,
                              progress=False)
    wall = time.perf_counter() - start
    records = [r for r in result.records if r.get("status") == "done"]
    compile_s, run_s = [], []
    for record in records:
        timing = json.loads((Path(record["folder"]) / "files" / "result.json").read_text()).get("timing", {})
        compile_s.append(timing.get("compile_s", np.nan))
        run_s.append(timing.get("run_s", np.nan))
    by_id = {row["id"]: row for row in rows}
    good = [_pull_ok(r, by_id[r["id"]]) for r in records]
    return {"search": search_name, "workers": workers, "galaxies": len(rows), "done": len(records),
            "wall_s": wall, "galaxies_per_hour": 3600.0 * len(records) / wall,
            # between the first and the last galaxy to finish: the rate once the cluster is up and compiled
            "steady_per_hour": (3600.0 * (len(records) - 1) / (max(r["finished"] for r in records)
                                                               - min(r["finished"] for r in records))
                                if len(records) > 2 else None),
            "compile_s_median": statistics.median(compile_s) if compile_s else None,
            "compile_s_first": compile_s[0] if compile_s else None,
            "search_s_median": statistics.median(run_s) if run_s else None,
            "task_s_median": statistics.median(r["total_s"] for r in records) if records else None,
            "within_3_sigma": sum(bool(g) for g in good) / max(len(good), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--searches", nargs="+", default=["lm"], choices=["lm", "nautilus"])
    parser.add_argument("--galaxies", type=int, default=24, help="galaxies per LM case")
    parser.add_argument("--nested-galaxies", type=int, default=6, help="galaxies per nested case")
    parser.add_argument("--n-live", type=int, default=200)
    args = parser.parse_args()

    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for size in args.sizes:
            for search_name in args.searches:
                n = args.galaxies if search_name == "lm" else args.nested_galaxies
                cutouts = root / f"cutouts_{size}_{n}"
                if not cutouts.exists():
                    rows = simulate_cutouts(cutouts, n, size)
                    (cutouts / "rows.json").write_text(json.dumps(rows))
                rows = json.loads((cutouts / "rows.json").read_text())
                for workers in args.workers:
                    case = run_case(root, rows, cutouts, search_name, workers, args.n_live)
                    case["size"] = size
                    cases.append(case)
                    print(f"{size:4d}^2 {search_name:8s} {workers} worker(s): {case['done']}/{n} galaxies in "
                          f"{case['wall_s']:6.1f} s = {case['galaxies_per_hour']:6.0f} galaxies/hour (steady "
                          f"{case['steady_per_hour'] or float('nan'):6.0f}); per galaxy: "
                          f"compile {case['compile_s_median']:.2f} s (first {case['compile_s_first']:.2f} s), search "
                          f"{case['search_s_median']:.2f} s, task {case['task_s_median']:.2f} s; within 3 sigma "
                          f"{100 * case['within_3_sigma']:.0f} %", flush=True)
    print(json.dumps(cases))


if __name__ == "__main__":
    main()
