"""Whole fits against the peers, measured in one run: Levenberg-Marquardt against pyimfit on Imfit's two real cases,
and the default nested-sampling search against PyAutoGalaxy's Nautilus search on sim_bulge_disk.

    python bench/bench_fits.py                      # LM fits (ours and pyimfit) and our nested fit (~3 minutes)
    python bench/bench_fits.py --pyag-nested        # also PyAutoGalaxy's nested fit (6-8 more minutes)
    python bench/bench_fits.py --no-peers           # galaxyfit only

LM fits (issue 3, fits 1 and 2): IC 3478 (Sersic, mask, 51x51 Moffat PSF; Imfit's "fit E", chi^2 68123.904) and
NGC 3073 (Sersic + exponential sharing a centre, mask, PSF; chi^2 36828.58), both from the starting values of the
Imfit configuration files. Each of our fits runs in a fresh process, so its time includes compiling; the compile
(tracing + XLA, first residual and Jacobian calls) is also shown on its own, and a second fit in the same process
shows the warm time. pyimfit runs in the peers' environment (``bench/peers/pyimfit_fit.py``), setup and fit timed
separately.

Nested fit (issue 3, item 4): the 13-parameter bulge + disk with PyAutoGalaxy's default priors on sim_bulge_disk (3"
mask). Ours: ``galaxyfit.search.Nautilus()`` at its defaults. PyAutoGalaxy: ``bench/peers/pyag_nested.py`` (its
Nautilus search, n_live 200, otherwise its defaults). Reported: wall time, likelihood calls, best log likelihood
against the truth's, log evidence and its error (nautilus' 1/sqrt(n_eff)), and whether every true value lies in the
3-sigma interval.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

BENCH = Path(__file__).resolve().parent
PEERS_PYTHON = BENCH / ".peers-venv" / "bin" / "python"
SDSS = 0.396
LM_CASES = {
    "ic3478": dict(folder="ic3478_sdss_r_sersic_psf_mask", image="ic3478rss_256.fits", config="config_sersic_ic3478_256.dat",
                   psf="psf_moffat_51.fits", mask="ic3478rss_256_mask.fits", noise=dict(gain=4.725, read_noise=4.3, original_sky=130.14),
                   imfit_chi2=68123.904),
    "n3073": dict(folder="n3073_sdss_r_bulge_disk_psf_mask", image="n3073rss_small.fits", config="imfit_config_n3073.dat",
                  psf="psf_moffat_35_n4699z.fits", mask="n3073rss_small_mask.fits", noise=None, imfit_chi2=36828.58),
}


def one_lm_fit(shared: Path, case: str) -> dict:
    """Our LM fit of one case in this (fresh) process: cold (with compile) and warm."""
    start = time.perf_counter()
    import galaxyfit as gf
    from galaxyfit.imfit_config import read_imfit_config
    from galaxyfit.search import LevenbergMarquardt

    gf.use_synchronous_dispatch(announce=False)  # as the galaxyfit command does
    import_s = time.perf_counter() - start
    spec = LM_CASES[case]
    folder = shared / "data" / spec["folder"]
    out = {"case": case, "import_s": import_s}
    start = time.perf_counter()
    config = read_imfit_config(folder / spec["config"])
    noise = spec["noise"] or config.image
    dataset = gf.Imaging.from_fits(folder / spec["image"], SDSS, psf_path=folder / spec["psf"], mask_path=folder / spec["mask"], **noise)
    model, start_vector = config.model(dataset.shape, SDSS)
    analysis = gf.AnalysisImaging(dataset)
    out["setup_s"] = time.perf_counter() - start
    for label in ("cold", "warm"):
        start = time.perf_counter()
        result = LevenbergMarquardt(initial=start_vector).fit(model, analysis)
        out[f"{label}_fit_s"] = time.perf_counter() - start
        out[f"{label}_compile_s"] = result.timing["compile_s"]
    out["chi_squared"] = result.search["chi_squared"]
    out["iterations"] = result.search["iterations"]
    out["imfit_reference_chi_squared"] = spec["imfit_chi2"]
    out["imfit_parameters"] = result.imfit_parameters()
    return out


def our_nested_fit(shared: Path, seed: int) -> dict:
    import numpy as np

    import galaxyfit as gf
    from galaxyfit.model import Collection, Model
    from galaxyfit.search import Nautilus

    gf.use_synchronous_dispatch(announce=False)  # as the galaxyfit command does
    folder = shared / "data" / "sim" / "sim_bulge_disk"
    dataset = gf.Imaging.from_fits(folder / "data.fits", 0.1, noise_map_path=folder / "noise_map.fits", psf_path=folder / "psf.fits")
    dataset = dataset.apply_mask(gf.Mask.circular(dataset.shape, 0.1, 3.0))
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)))
    truth = np.array([0, 0, 0.0962250449, 0.0555555556, 1.0, 0.6, 4.0, 0, 0, 0.2886751346, -0.1666666667, 0.25, 1.6])
    analysis = gf.AnalysisImaging(dataset)
    search = Nautilus(seed=seed, progress=False)
    start = time.perf_counter()
    result = search.fit(model, analysis)
    wall = time.perf_counter() - start
    lo, hi = result.samples.values_at_sigma(3.0)
    return {
        "wall_s": wall, "compile_s": result.timing["compile_s"], "likelihood_calls": result.timing["likelihood_calls"],
        "likelihood_s": result.timing["likelihood_s"], "max_log_likelihood": result.log_likelihood,
        "truth_log_likelihood": float(analysis.log_likelihood_function(model.instance_from_vector(truth))),
        "log_evidence": result.log_evidence, "log_evidence_error": result.log_evidence_error,
        "truth_within_3_sigma": int(((truth >= lo) & (truth <= hi)).sum()), "n_parameters": len(truth),
        "median": result.median_pdf_vector.tolist(), "settings": search.settings(),
    }


def run_json(command: list[str], timeout: float) -> dict:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=BENCH.parents[1] / "shared")
    ap.add_argument("--one-lm", choices=list(LM_CASES), help=argparse.SUPPRESS)  # the fresh-process worker
    ap.add_argument("--no-peers", action="store_true", help="skip pyimfit and PyAutoGalaxy")
    ap.add_argument("--pyag-nested", action="store_true", help="also run PyAutoGalaxy's nested fit (6-8 minutes)")
    ap.add_argument("--no-nested", action="store_true", help="skip the nested fits")
    ap.add_argument("--seed", type=int, default=1, help="seed of our nested search")
    ap.add_argument("--json", type=Path, default=BENCH / "results" / "fits.json")
    args = ap.parse_args()
    if args.one_lm:
        print(json.dumps(one_lm_fit(args.shared, args.one_lm)))
        return 0
    if not args.no_peers and not PEERS_PYTHON.exists():
        subprocess.run(["bash", str(BENCH / "peers" / "setup_peers.sh")], check=True)

    results = {"lm": {}, "nested": {}}
    for case in LM_CASES:
        entry = {"galaxyfit": run_json([sys.executable, __file__, "--one-lm", case, "--shared", str(args.shared)], 900)}
        if not args.no_peers:
            entry["pyimfit"] = run_json([str(PEERS_PYTHON), str(BENCH / "peers" / "pyimfit_fit.py"), case], 900)
        results["lm"][case] = entry
    if not args.no_nested:
        results["nested"]["galaxyfit"] = our_nested_fit(args.shared, args.seed)
        if args.pyag_nested and not args.no_peers:
            results["nested"]["pyautogalaxy"] = run_json([str(PEERS_PYTHON), str(BENCH / "peers" / "pyag_nested.py")], 3600)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))

    print("Levenberg-Marquardt from Imfit's starting values (seconds; ours in a fresh process)")
    print(f"{'case':8s} {'ours cold':>9s} {'compile':>8s} {'warm':>7s} {'chi^2 ours':>12s} | {'pyimfit':>8s} {'chi^2 Imfit':>12s} | "
          f"{'ratio cold':>10s} {'ratio warm':>10s}")
    for case, entry in results["lm"].items():
        ours = entry["galaxyfit"]
        row = f"{case:8s} {ours['cold_fit_s']:9.2f} {ours['cold_compile_s']:8.2f} {ours['warm_fit_s']:7.2f} {ours['chi_squared']:12.3f} | "
        peer = entry.get("pyimfit")
        if peer:
            fit_s = statistics.median(peer["fit_s"])
            row += f"{fit_s:8.2f} {peer['chi2']:12.3f} | {fit_s / ours['cold_fit_s']:10.1f} {fit_s / ours['warm_fit_s']:10.1f}"
        print(row)
    nested = results["nested"]
    if nested:
        print("\nNested sampling, sim_bulge_disk, 13 parameters, default priors")
        print(f"{'search':14s} {'wall s':>7s} {'calls':>8s} {'max log L':>10s} {'truth log L':>11s} {'log Z':>10s} {'error':>6s} {'truth in 3 sigma':>16s}")
        ours = nested["galaxyfit"]
        rows = [("galaxyfit", ours["wall_s"], ours["likelihood_calls"], ours["max_log_likelihood"], ours["truth_log_likelihood"],
                 ours["log_evidence"], ours["log_evidence_error"], f"{ours['truth_within_3_sigma']}/{ours['n_parameters']}")]
        peer = nested.get("pyautogalaxy")
        if peer:
            rows.append(("PyAutoGalaxy", peer["fit_s"], peer["n_like"], peer["max_log_likelihood"], peer["log_likelihood_truth"],
                         peer["log_evidence"], peer["log_evidence_error"] or float("nan"), "(see its median)"))
        for name, wall, calls, best, truth, log_z, error, inside in rows:
            print(f"{name:14s} {wall:7.1f} {calls:8d} {best:10.2f} {truth:11.2f} {log_z:10.2f} {error:6.3f} {inside:>16s}")
        if peer:
            print(f"ratio (PyAutoGalaxy / ours, wall): {peer['fit_s'] / ours['wall_s']:.1f}")
    print(f"all figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
