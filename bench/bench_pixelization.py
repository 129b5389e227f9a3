"""Pixelized reconstructions against PyAutoGalaxy's NumPy and JAX paths, in one run.

    python bench/bench_pixelization.py                 # everything (~10 minutes on 2 cores)
    python bench/bench_pixelization.py --no-peers      # galaxyfit only
    python bench/bench_pixelization.py --sims sim_bulge_disk --cases rectangular

galaxyfit runs in this process; PyAutoGalaxy 2026.10.26.1 in its own subprocess from ``bench/.peers-venv``
(``bench/peers/pyag_pixelization_likelihood.py``). Cases, on the ``sim/`` datasets (100^2 and 200^2 pixels) with a
3" circular mask and the sim's PSF, one free parameter (the regularization coefficient, 1.0 perturbed by 1e-6):

* ``rectangular`` / ``rectangular_positive``: ``RectangularUniform((30, 30))`` + ``reg.Constant``, unconstrained /
  positive-only (edge ring held at zero);
* ``delaunay`` / ``delaunay_split``: ``Delaunay`` on ``Overlay((30, 30))``'s vertices + ``reg.Constant`` /
  ``reg.ConstantSplit``, unconstrained.

For galaxyfit: the compile time, the median single jitted call (``block_until_ready``), and the per-likelihood time
of ``jax.jit(jax.vmap(...))`` over ``--batch`` coefficients (what a batched search evaluates: only the coefficient
varies, so the mesh's mapping and curvature matrix are constants); unconstrained cases also with the spectral route
turned off (``Settings(use_spectral_solve=False)``: the direct Cholesky solve). Our log evidence is printed beside
PyAutoGalaxy's: equal to ~1e-11 (tests/test_pixelization.py holds the reference numbers).
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
from galaxyfit.model import ModelInstance  # noqa: E402

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_likelihood import median_time  # noqa: E402

PEERS_PYTHON = BENCH / ".peers-venv" / "bin" / "python"
CASES = ("rectangular", "rectangular_positive", "delaunay", "delaunay_split")


def sim_dataset(shared: Path, name: str):
    folder = shared / "data" / "sim" / name
    ps = json.loads((folder / "sim_info.json").read_text())["pixel_scale"]
    dataset = gf.Imaging.from_fits(folder / "data.fits", ps, noise_map_path=folder / "noise_map.fits",
                                   psf_path=folder / "psf.fits")
    return dataset.apply_mask(gf.Mask.circular(dataset.shape, ps, 3.0))


def pixelization_of(case: str, coefficient):
    if case.startswith("rectangular"):
        return gf.Pixelization(gf.mesh.RectangularUniform((30, 30)), gf.reg.Constant(coefficient))
    reg = gf.reg.ConstantSplit(coefficient) if case == "delaunay_split" else gf.reg.Constant(coefficient)
    return gf.Pixelization(gf.mesh.Delaunay(pixels=CASE_PIXELS[case]), reg, gf.image_mesh.Overlay((30, 30)))


CASE_PIXELS = {}


def ours(dataset, case: str, spectral: bool, args) -> dict:
    if case.startswith("delaunay"):
        CASE_PIXELS[case] = len(gf.image_mesh.Overlay((30, 30)).image_plane_mesh_grid_from(dataset.mask))
    settings = gf.Settings(use_positive_only_solver=case == "rectangular_positive", use_spectral_solve=spectral)
    analysis = gf.AnalysisImaging(dataset, settings=settings)

    def log_evidence(c):
        return analysis.log_likelihood_function(ModelInstance(galaxies=ModelInstance(
            galaxy=gf.Galaxy(0.5, pixelization=pixelization_of(case, c)))))

    rng = np.random.default_rng(1)
    out = {"spectral": spectral}
    start = time.perf_counter()
    single = jax.jit(log_evidence)
    single.lower(1.0).compile()
    out["setup_and_compile_s"] = time.perf_counter() - start  # includes the mesh's mapping and F (once per dataset)
    out["log_evidence"] = float(single(1.0))
    values = [jnp.asarray(1.0 + 1e-6 * rng.standard_normal()) for _ in range(args.n_calls + 2)]
    for v in values[:2]:
        single(v).block_until_ready()
    out["per_call_s"] = median_time(single, values[2:])
    batched = jax.jit(jax.vmap(log_evidence))
    batches = [jnp.asarray(1.0 + 1e-6 * rng.standard_normal(args.batch)) for _ in range(args.n_batches + 1)]
    jax.block_until_ready(batched(batches[0]))
    out["batched_per_call_s"] = median_time(batched, batches[1:]) / args.batch
    return out


def peer(sim: str, case: str, args) -> dict:
    command = [str(PEERS_PYTHON), str(BENCH / "peers" / "pyag_pixelization_likelihood.py"), sim, "--case", case,
               "--batch", str(args.batch), "--n-calls", str(args.n_peer_calls)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=BENCH / "peers")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(lines[-1])


def ms(seconds) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=BENCH.parents[1] / "shared")
    ap.add_argument("--sims", nargs="+", default=["sim_bulge_disk", "sim_bulge_disk_200"])
    ap.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    ap.add_argument("--n-calls", type=int, default=20)
    ap.add_argument("--n-peer-calls", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--n-batches", type=int, default=3)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="write every number to this file")
    args = ap.parse_args()

    print(f"galaxyfit {gf.__version__}, jax {jax.__version__}, {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    results = []
    for sim in args.sims:
        dataset = sim_dataset(args.shared, sim)
        for case in args.cases:
            entry = {"sim": sim, "case": case, "shape": list(dataset.shape)}
            entry["ours"] = ours(dataset, case, True, args)
            if case != "rectangular_positive":  # the spectral route applies: also time the direct solve
                entry["ours_direct"] = ours(dataset, case, False, args)
            entry["pyag"] = None if args.no_peers else peer(sim, case, args)
            results.append(entry)
            o, p = entry["ours"], entry["pyag"] or {}
            pyag_fastest = min([p[k] for k in ("numpy_per_call_s", "per_call_s") if k in p] or [float("nan")])
            print(f"\n{sim} {case}: log evidence ours {o['log_evidence']!r}, PyAutoGalaxy {p.get('log_evidence')!r}")
            print(f"  ours:   per call {ms(o['per_call_s'])}, batched {ms(o['batched_per_call_s'])} / likelihood, "
                  f"setup + compile {o['setup_and_compile_s']:.2f} s")
            if "ours_direct" in entry:
                d = entry["ours_direct"]
                print(f"  ours, direct solve (use_spectral_solve=False): per call {ms(d['per_call_s'])}, "
                      f"batched {ms(d['batched_per_call_s'])}")
            if p:
                print(f"  PyAutoGalaxy: numpy {ms(p.get('numpy_per_call_s'))}, jax jit "
                      f"{ms(p.get('per_call_s')) if 'per_call_s' in p else p.get('jit_error', '-')}, jax vmap "
                      f"{ms(p.get('batched_per_call_s')) if 'batched_per_call_s' in p else p.get('batched_error', '-')}")
                d = entry.get("ours_direct")
                print(f"  ratio PyAutoGalaxy fastest single path / ours: {pyag_fastest / o['per_call_s']:.0f}x"
                      + (f" (direct solve {pyag_fastest / d['per_call_s']:.0f}x)" if d else "")
                      + (f"; batched: {p['batched_per_call_s'] / o['batched_per_call_s']:.0f}x" if "batched_per_call_s" in p else "")
                      + (f" (direct {p['batched_per_call_s'] / d['batched_per_call_s']:.0f}x)" if d and "batched_per_call_s" in p else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
