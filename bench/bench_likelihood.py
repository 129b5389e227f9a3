"""Likelihood speed against PyAutoGalaxy (JAX jit and jit(vmap)) and Imfit (pyimfit), measured in one run.

    python bench/bench_likelihood.py                 # everything (~10 minutes; sets up bench/.peers-venv once)
    python bench/bench_likelihood.py --no-peers      # galaxyfit only
    python bench/bench_likelihood.py --sims sim_bulge_disk --psfs sim

galaxyfit runs in this process; PyAutoGalaxy 2026.10.26.1 and pyimfit 1.1 run in their own subprocesses from the
Python 3.12 environment made by ``bench/peers/setup_peers.sh`` (PyAutoGalaxy gets ``np.flipud`` of the arrays, as it
keeps row 0 at the top). Workloads: the bulge + disk model (Sersic + Exponential, shared centre, 11 parameters) on the
three ``sim/`` datasets with a 3" mask, with their Gaussian PSFs and again with the 51x51 Moffat PSF of the IC 3478
case; and Imfit's two real cases (IC 3478 fit E, NGC 3073 bulge + disk) at their reference parameters.
Per-call times are medians over calls on slightly perturbed parameter vectors, each synchronised, as the peer
scripts measure them; compile time is reported separately. The integration error of each method is reported as
|chi^2(method) - chi^2(converged integration)| at the truth on sim_bulge_disk.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import galaxyfit as gf  # noqa: E402

# A benchmark script is an application: it takes synchronous dispatch (as the galaxyfit command does) and float64
# for its own JAX code, which composes galaxyfit's functions in its own jit/vmap (galaxyfit alone changes neither).
gf.use_synchronous_dispatch(announce=False)
jax.config.update("jax_enable_x64", True)
from galaxyfit.integration import OverSampling  # noqa: E402
from galaxyfit.profiles import convert  # noqa: E402

BENCH = Path(__file__).resolve().parent
PEERS_PYTHON = BENCH / ".peers-venv" / "bin" / "python"
MOFFAT = "ic3478_sdss_r_sersic_psf_mask/psf_moffat_51.fits"
TRUTH = np.array([0.0, 0.0, 0.0962250449, 0.0555555556, 1.0, 0.6, 4.0, 0.2886751346, -0.1666666667, 0.25, 1.6])


def bulge_disk(v):
    return gf.Galaxy(
        0.5,
        bulge=gf.lp.Sersic((v[0], v[1]), (v[2], v[3]), v[4], v[5], v[6]),
        disk=gf.lp.Exponential((v[0], v[1]), (v[7], v[8]), v[9], v[10]),
    )


def instance(galaxies):
    return gf.ModelInstance(galaxies=gf.ModelInstance(**{f"galaxy_{i}": g for i, g in enumerate(galaxies)}))


def median_time(call, inputs) -> float:
    times = []
    for x in inputs:
        start = time.perf_counter()
        jax.block_until_ready(call(x))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def perturbed(v, n, rng):
    v = np.asarray(v, dtype=float)
    scale = np.where(v != 0, np.abs(v) * 1e-6, 1e-7)
    return v + scale * rng.standard_normal((n, len(v)))


def time_likelihood(log_likelihood, v0, n_calls, batch, n_batches, rng) -> dict:
    single = jax.jit(log_likelihood)
    start = time.perf_counter()
    single.lower(jnp.asarray(v0)).compile()  # timed ahead-of-time compile; calls below go through jit's fast path
    out = {"compile_s": time.perf_counter() - start}
    compiled = single
    compiled(jnp.asarray(v0)).block_until_ready()
    vectors = [jnp.asarray(v) for v in perturbed(v0, n_calls + 5, rng)]
    for v in vectors[:5]:
        compiled(v).block_until_ready()
    out["per_call_s"] = median_time(compiled, vectors[5:])
    out["log_likelihood"] = float(compiled(jnp.asarray(v0)))
    if batch:
        batched = jax.jit(jax.vmap(log_likelihood))
        batches = [jnp.asarray(perturbed(v0, batch, rng)) for _ in range(n_batches + 1)]
        start = time.perf_counter()
        batched.lower(batches[0]).compile()
        out["batched_compile_s"] = time.perf_counter() - start
        compiled_b = batched
        compiled_b(batches[0]).block_until_ready()
        out["batched_per_call_s"] = median_time(compiled_b, batches[1:]) / batch
    return out


def sim_dataset(shared: Path, name: str, psf: str):
    folder = shared / "data" / "sim" / name
    info = json.loads((folder / "sim_info.json").read_text())
    ps = info["pixel_scale"]
    psf_path = folder / "psf.fits" if psf == "sim" else shared / "data" / MOFFAT
    dataset = gf.Imaging.from_fits(folder / "data.fits", ps, noise_map_path=folder / "noise_map.fits", psf_path=psf_path)
    return dataset.apply_mask(gf.Mask.circular(dataset.shape, ps, 3.0))


def ours_sim(shared, name, psf, args, rng) -> dict:
    dataset = sim_dataset(shared, name, psf)
    analysis = gf.AnalysisImaging(dataset)
    result = time_likelihood(lambda v: analysis.log_likelihood_function(instance([bulge_disk(v)])), TRUTH, args.n_calls, args.batch, args.n_batches, rng)
    result["convolution"] = analysis.plan.convolver.method
    result["box"] = list(analysis.plan.box_shape)
    return result


def integration_errors(shared) -> dict:
    """|chi^2 - chi^2(converged)| at the truth on sim_bulge_disk for our default and PyAutoGalaxy's 4x4."""
    dataset = sim_dataset(shared, "sim_bulge_disk", "sim")
    converged = OverSampling(patch_rings=((2, 24), (6, 12), (12, 6)), cusp_radial_nodes=24, cusp_tangential_nodes=24)
    chi2 = {}
    for label, over in [("galaxyfit", OverSampling()), ("pyautogalaxy_4x4", OverSampling.pyautogalaxy(4)), ("converged", converged)]:
        fit = gf.FitImaging(dataset, [bulge_disk(TRUTH)], settings=gf.Settings(over_sampling=over))
        chi2[label] = float(fit.chi_squared)
    return {k: abs(v - chi2["converged"]) for k, v in chi2.items() if k != "converged"}


def ours_real(shared, args, rng) -> dict:
    """Per-likelihood time on Imfit's two real cases at their reference parameters (the Imfit comparison)."""
    out = {}
    d = shared / "data" / "ic3478_sdss_r_sersic_psf_mask"
    ds = gf.Imaging.from_fits(d / "ic3478rss_256.fits", 0.396, psf_path=d / "psf_moffat_51.fits",
                              mask_path=d / "ic3478rss_256_mask.fits", gain=4.725, read_noise=4.3, original_sky=130.14)
    ref = convert.sersic_from_imfit(128.9174, 129.0800, 19.0576, 0.227617, 2.48051, 19.9097, 59.5241, ds.shape, 0.396)
    analysis = gf.AnalysisImaging(ds)
    v0 = np.array([*ref.centre, *ref.ell_comps, ref.intensity, ref.effective_radius, ref.sersic_index])
    r = time_likelihood(
        lambda v: analysis.log_likelihood_function(instance([gf.Galaxy(0.5, s=gf.lp.Sersic((v[0], v[1]), (v[2], v[3]), v[4], v[5], v[6]))])),
        v0, args.n_calls // 4, 0, 0, rng)
    r["convolution"] = analysis.plan.convolver.method
    out["ic3478_fitE"] = r
    d = shared / "data" / "n3073_sdss_r_bulge_disk_psf_mask"
    ds = gf.Imaging.from_fits(d / "n3073rss_small.fits", 0.396, psf_path=d / "psf_moffat_35_n4699z.fits",
                              mask_path=d / "n3073rss_small_mask.fits", gain=4.725, read_noise=4.3, original_sky=154.33)
    b = convert.sersic_from_imfit(100.7073, 97.0877, 111.919, 0.184262, 3.2805, 78.2972, 26.7976, ds.shape, 0.396)
    e = convert.exponential_from_imfit(100.7073, 97.0877, 51.724, 0.35226, 39.7753, 53.6058, ds.shape, 0.396)
    analysis = gf.AnalysisImaging(ds)
    v0 = np.array([*b.centre, *b.ell_comps, b.intensity, b.effective_radius, b.sersic_index, *e.ell_comps, e.intensity, e.effective_radius])
    r = time_likelihood(lambda v: analysis.log_likelihood_function(instance([bulge_disk(v)])), v0, args.n_calls // 4, 0, 0, rng)
    r["convolution"] = analysis.plan.convolver.method
    out["n3073"] = r
    return out


def run_peer(script: str, *script_args) -> list[dict]:
    command = [str(PEERS_PYTHON), str(BENCH / "peers" / script), *script_args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=BENCH.parents[1] / "shared")
    ap.add_argument("--sims", nargs="*", default=["sim_bulge_disk", "sim_bulge_disk_200", "sim_bulge_disk_400"])
    ap.add_argument("--psfs", nargs="*", default=["sim", "moffat51"], choices=["sim", "moffat51"])
    ap.add_argument("--n-calls", type=int, default=200)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--n-batches", type=int, default=5)
    ap.add_argument("--no-peers", action="store_true", help="skip PyAutoGalaxy and pyimfit")
    ap.add_argument("--json", type=Path, default=BENCH / "results" / "likelihood.json", help="where to write all figures")
    args = ap.parse_args()
    rng = np.random.default_rng(1)

    if not args.no_peers and not PEERS_PYTHON.exists():
        subprocess.run(["bash", str(BENCH / "peers" / "setup_peers.sh")], check=True)

    results = {"integration_error_dchi2": integration_errors(args.shared), "sims": {}, "real": {}}
    imfit = {}
    if not args.no_peers:
        for line in run_peer("pyimfit_eval.py", "--shared", str(args.shared), "--only", "real", "sim", "--sims", *args.sims):
            if line.get("measurement") == "eval":
                imfit[line["case"]] = line["fit_statistic_per_call_s"]
    for name in args.sims:
        for psf in args.psfs:
            key = f"{name}+{psf}"
            entry = {"galaxyfit": ours_sim(args.shared, name, psf, args, rng)}
            if not args.no_peers:
                peer_args = [name, "--shared", str(args.shared), "--batch", str(args.batch), "--n-calls", str(args.n_calls)]
                if psf == "moffat51":
                    peer_args += ["--psf", MOFFAT]
                entry["pyautogalaxy"] = run_peer("pyag_likelihood.py", *peer_args)[-1]
                entry["imfit_per_call_s"] = imfit.get(name if psf == "sim" else f"{name}+moffat51")
            results["sims"][key] = entry
    results["real"] = {k: {"galaxyfit": v, "imfit_per_call_s": imfit.get(k)} for k, v in ours_real(args.shared, args, rng).items()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))

    err = results["integration_error_dchi2"]
    print(f"integration error on sim_bulge_disk, |chi^2 - chi^2(converged)|: galaxyfit {err['galaxyfit']:.4f}, "
          f"PyAutoGalaxy 4x4 {err['pyautogalaxy_4x4']:.3f}")
    print(f"{'workload':34s} {'ours':>8s} {'PyAG':>8s} {'ratio':>6s} | {'ours/b':>8s} {'PyAG/b':>8s} {'ratio':>6s} | "
          f"{'Imfit':>8s} {'ratio':>6s} | compile ours/PyAG   (times in ms; /b = per likelihood in a vmap batch of {args.batch})")
    for key, entry in results["sims"].items():
        ours = entry["galaxyfit"]
        peer = entry.get("pyautogalaxy", {})
        row = f"{key:34s} {ours['per_call_s'] * 1e3:8.3f} "
        if peer:
            row += f"{peer['per_call_s'] * 1e3:8.3f} {peer['per_call_s'] / ours['per_call_s']:6.1f} | "
            row += f"{ours['batched_per_call_s'] * 1e3:8.3f} {peer['batched_per_call_s'] * 1e3:8.3f} "
            row += f"{peer['batched_per_call_s'] / ours['batched_per_call_s']:6.1f} | "
        else:
            row += f"{'':8s} {'':6s} | {ours['batched_per_call_s'] * 1e3:8.3f} {'':8s} {'':6s} | "
        if entry.get("imfit_per_call_s"):
            row += f"{entry['imfit_per_call_s'] * 1e3:8.3f} {entry['imfit_per_call_s'] / ours['per_call_s']:6.1f} | "
        else:
            row += f"{'':8s} {'':6s} | "
        row += f"{ours['compile_s']:.2f}/{peer.get('compile_s', float('nan')):.2f} s  [{ours['convolution']}]"
        print(row)
    for key, entry in results["real"].items():
        ours = entry["galaxyfit"]
        row = f"{key:34s} {ours['per_call_s'] * 1e3:8.3f} {'':8s} {'':6s} | {'':8s} {'':8s} {'':6s} | "
        if entry.get("imfit_per_call_s"):
            row += f"{entry['imfit_per_call_s'] * 1e3:8.3f} {entry['imfit_per_call_s'] / ours['per_call_s']:6.1f} | "
        print(row + f"{ours['compile_s']:.2f} s  [{ours['convolution']}]")
    print(f"all figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
