"""Linear light profiles and multi-Gaussian expansions (MGE) against PyAutoGalaxy's JAX and NumPy paths, in one run.

    python bench/bench_linear.py                      # everything (~10 minutes on 2 cores)
    python bench/bench_linear.py --no-peers           # galaxyfit only
    python bench/bench_linear.py --models mge30 --sims sim_bulge_disk --psfs sim
    python bench/bench_linear.py --nested --no-peers  # also our nested MGE-30 fit (several minutes)
    python bench/bench_linear.py --nested --pyag-nested-json /tmp/pyag_nested_mge.log   # PyAutoGalaxy's from a log
    python bench/bench_linear.py --nested --peers-nested   # also re-run PyAutoGalaxy's nested MGE-30 fit (~6 minutes)

galaxyfit runs in this process; PyAutoGalaxy 2026.10.26.1 runs in its own subprocess from ``bench/.peers-venv``
(``bench/peers/pyag_linear_likelihood.py``: data, noise map and PSF ``np.flipud``-ed to its row order, its default
4x4 over-sampling and positive-only solver). Models, on the ``sim/`` datasets with a 3" circular mask:

* ``linear_bulge_disk``: ``lp_linear.Sersic`` bulge + ``lp_linear.Exponential`` disk sharing the bulge's centre
  (9 non-linear parameters; the two intensities are solved);
* ``mge30``: ``model_util.mge_model_from(3.0, 30)`` as the galaxy's bulge (30 linear Gaussians, 4 parameters).

Each model runs on every ``--sims`` dataset with its own Gaussian PSF, and on sim_bulge_disk also with the 51x51
Moffat PSF of IC 3478 (normalised to unit sum). The parameter vector is the peer script's truth-like geometry (the
sim's true bulge and disk geometry; for the MGE centre (0, 0) and the bulge's ell_comps); the two tools take the
same numbers, because PyAutoGalaxy gets the arrays flipped to its row order. Measured for galaxyfit (default
``Settings``): compile time (``lower().compile()``), the median of single jitted calls on slightly perturbed
vectors (``block_until_ready``), the per-likelihood time of what our searches use for a batch of a linear model
(``FitProblem.log_likelihood``: ``jax.jit(jax.lax.map(...))`` over ``--batch`` vectors, split over the cores,
``AnalysisImaging.batch_chunk_size``),
of a plain ``jax.jit(jax.vmap(...))`` for reference, and of ``jax.jit(jax.value_and_grad(...))``. PyAutoGalaxy's
figures are its NumPy path per call, ``Fitness.objective("scalar")`` (jit), ``("batched")`` (jit(vmap), what its
Nautilus calls) and ``("value_and_grad")``. As a sanity column, our log evidence at the vector in PyAutoGalaxy's
integration (``Settings(over_sampling=OverSampling.pyautogalaxy(4))``) is set beside PyAutoGalaxy's.

``--nested``: a full nested-sampling MGE-30 fit of sim_bulge_disk with our default search (``search.Nautilus()``,
as ``bench_fits.py``) and PyAutoGalaxy's default Nautilus search (``bench/peers/pyag_nested.py --model mge30``, run
with ``--peers-nested`` or read from the JSON line of an earlier run with ``--pyag-nested-json``), both with
``mge_model_from``'s default priors: wall time, likelihood calls, log evidence and its error, max log L.
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
from galaxyfit.model import Collection, Model  # noqa: E402
from galaxyfit.model.priors import TruncatedGaussianPrior, UniformPrior  # noqa: E402
from galaxyfit.search import FitProblem  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_likelihood import median_time, perturbed  # noqa: E402  (the same timing as the parametric benchmark)

BENCH = Path(__file__).resolve().parent
PEERS_PYTHON = BENCH / ".peers-venv" / "bin" / "python"
MOFFAT = "ic3478_sdss_r_sersic_psf_mask/psf_moffat_51.fits"
MODELS = ("linear_bulge_disk", "mge30")

# The truth-like geometry of bench/peers/pyag_linear_likelihood.py (GEOMETRY; sim/README.md). The same numbers serve
# both tools: our arrays are in FITS order (row 0 at the bottom, y up) and PyAutoGalaxy's are np.flipud-ed to its
# row order (row 0 at the top, y up), so the images, centres and ell_comps coincide.
GEOMETRY = {
    "bulge": dict(centre=(0.0, 0.0), ell_comps=(0.0962250449, 0.0555555556), effective_radius=0.6, sersic_index=4.0),
    "disk": dict(centre=(0.0, 0.0), ell_comps=(0.2886751346, -0.1666666667), effective_radius=1.6),
}

# PyAutoGalaxy's NumPy log evidence at that vector (bench/peers/README.md, 2026-12-07; bench/peers/pyag_linear.py):
# the sanity column's reference when the peers are not run.
PYAG_RECORDED = {
    ("linear_bulge_disk", "sim_bulge_disk", "sim"): 3866.8341556981372,
    ("mge30", "sim_bulge_disk", "sim"): 2224.032284590582,
    ("mge30", "sim_bulge_disk", "moffat51"): 2182.6201210986765,
    ("linear_bulge_disk", "sim_bulge_disk_200", "sim"): 14426.776070685171,
    ("mge30", "sim_bulge_disk_200", "sim"): 9026.333675306963,
}

# The targets (issue 13): MGE-30 at 100^2 with the sim PSF <= 1.3 ms per call and <= 0.35 ms batched; with
# the Moffat PSF >= 10x PyAutoGalaxy; the linear bulge + disk >= 10x PyAutoGalaxy per call and >= 20x batched.
# ("ms", x): an absolute ceiling on our time; ("x", y): a floor on PyAutoGalaxy JAX / ours.
TARGETS = {
    ("mge30", "sim_bulge_disk", "sim"): {"per_call": ("ms", 1.3), "batched": ("ms", 0.35)},
    ("mge30", "sim_bulge_disk", "moffat51"): {"per_call": ("x", 10.0), "batched": ("x", 10.0)},
    ("linear_bulge_disk", "*", "*"): {"per_call": ("x", 10.0), "batched": ("x", 20.0)},
}


def model_of(name: str):
    if name == "linear_bulge_disk":
        bulge, disk = Model(gf.lp_linear.Sersic), Model(gf.lp_linear.Exponential)
        disk.centre = bulge.centre
        galaxy = Model(gf.Galaxy, redshift=0.5, bulge=bulge, disk=disk)
    elif name == "mge30":
        galaxy = Model(gf.Galaxy, redshift=0.5, bulge=gf.model_util.mge_model_from(3.0, 30))
    else:
        raise ValueError(name)
    return Collection(galaxies=Collection(galaxy=galaxy))


def truth_like_vector(model, name: str) -> np.ndarray:
    """GEOMETRY in the model's parameter order, read from the parameter names (as the peer script's fixed_vector)."""
    values = []
    for path in model.parameter_names:  # e.g. galaxies.galaxy.bulge.profile_list_0.ell_comps_1
        parts = path.split(".")
        geometry = GEOMETRY["bulge" if name == "mge30" else parts[2]]
        key = parts[-1]
        values.append(geometry[key[:-2]][int(key[-1])] if key[-2:] in ("_0", "_1") and key[:-2] in geometry else geometry[key])
    return np.array(values, dtype=np.float64)


def compile_seconds(jitted, example) -> float:
    start = time.perf_counter()
    jitted.lower(example).compile()  # timed ahead-of-time compile; the calls below reuse it through jit's cache
    return time.perf_counter() - start


def time_batched(function, v0, batch, n_batches, rng) -> tuple[float, float]:
    """(compile s, per-likelihood s) of a batched function of (batch, n) vectors."""
    batches = [jnp.asarray(perturbed(v0, batch, rng)) for _ in range(n_batches + 1)]
    compile_s = compile_seconds(function, batches[0])
    jax.block_until_ready(function(batches[0]))
    return compile_s, median_time(function, batches[1:]) / batch


def error_text(exc) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:300] if lines else ''}"


def sim_dataset(shared: Path, name: str, psf: str):
    folder = shared / "data" / "sim" / name
    ps = json.loads((folder / "sim_info.json").read_text())["pixel_scale"]
    psf_path = folder / "psf.fits" if psf == "sim" else shared / "data" / MOFFAT  # normalised to unit sum on reading
    dataset = gf.Imaging.from_fits(folder / "data.fits", ps, noise_map_path=folder / "noise_map.fits", psf_path=psf_path)
    return dataset.apply_mask(gf.Mask.circular(dataset.shape, ps, 3.0))


def ours(shared: Path, model_name: str, sim: str, psf: str, args, rng) -> dict:
    dataset = sim_dataset(shared, sim, psf)
    model = model_of(model_name)
    v0 = truth_like_vector(model, model_name)
    analysis = gf.AnalysisImaging(dataset)

    def log_likelihood(v):
        return analysis.log_likelihood_function(model.instance_from_vector(v))

    out = {"n_params": model.prior_count, "parameter_names": model.parameter_names, "vector": v0.tolist(),
           "convolution": analysis.plan.convolver.method, "box": list(analysis.plan.box_shape),
           "n_unmasked": int(analysis.plan.pixels_in_mask)}

    single = jax.jit(log_likelihood)
    out["compile_s"] = compile_seconds(single, jnp.asarray(v0))
    out["log_evidence"] = float(single(jnp.asarray(v0)))
    vectors = [jnp.asarray(v) for v in perturbed(v0, args.n_calls + 3, rng)]
    for v in vectors[:3]:
        single(v).block_until_ready()
    out["per_call_s"] = median_time(single, vectors[3:])

    # What a search evaluates a batch with: FitProblem's batched function (jit of lax.map, one vector after another,
    # for a model with linear objects; AnalysisImaging.batch_chunk_size).
    problem = FitProblem(model, analysis, max_batch=args.batch)
    out["batch_chunk_size"] = analysis.batch_chunk_size(model)
    out["batched_compile_s"] = compile_seconds(problem._batched, jnp.asarray(perturbed(v0, args.batch, rng)))
    # FitProblem.log_likelihood itself: a batch of linear models is split over the process's cores (one thread each).
    batches = [perturbed(v0, args.batch, rng) for _ in range(args.n_batches + 1)]
    problem.log_likelihood(batches[0])
    out["batched_per_call_s"] = median_time(problem.log_likelihood, batches[1:]) / args.batch
    out["batch_threads"] = problem.threads
    if args.no_vmap or (model_name == "mge30" and not args.vmap_mge):
        out["vmap_skipped"] = True
    else:
        try:  # a reference only: a failure is reported in place of the numbers, as the peer script does
            vmapped = jax.jit(jax.vmap(log_likelihood))
            out["vmap_compile_s"], out["vmap_per_call_s"] = time_batched(vmapped, v0, args.batch, args.n_batches, rng)
        except Exception as exc:  # noqa: BLE001
            out["vmap_error"] = error_text(exc)
    if not args.no_grad:
        value_and_grad = jax.jit(jax.value_and_grad(log_likelihood))
        out["grad_compile_s"] = compile_seconds(value_and_grad, jnp.asarray(v0))
        value, grad = value_and_grad(jnp.asarray(v0))
        out["grad_all_finite"] = bool(np.all(np.isfinite(np.asarray(grad))))
        out["grad"] = np.asarray(grad).tolist()
        vectors = [jnp.asarray(v) for v in perturbed(v0, args.n_grad + 3, rng)]
        for v in vectors[:3]:
            jax.block_until_ready(value_and_grad(v))
        out["grad_per_call_s"] = median_time(value_and_grad, vectors[3:])

    # Sanity: the log evidence in PyAutoGalaxy's own integration (4x4 sub-pixels), to set beside its value.
    pyag_like = gf.AnalysisImaging(dataset, settings=gf.Settings(over_sampling=gf.OverSampling.pyautogalaxy(4)))
    out["log_evidence_pyag_oversampling"] = float(
        jax.jit(lambda v: pyag_like.log_likelihood_function(model.instance_from_vector(v)))(jnp.asarray(v0)))
    return out


def run_peer(script: str, *script_args, timeout: float = 1800) -> dict:
    command = [str(PEERS_PYTHON), str(BENCH / "peers" / script), *script_args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")][-1]


def last_json_line(path: Path) -> dict:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")][-1]


def check_mge_priors(model) -> list[str]:
    """Our mge_model_from(3.0, 30) priors against PyAutoGalaxy's defaults: centre Uniform(-0.1, 0.1), ell_comps
    TruncatedGaussian(0, 0.3, -1, 1). Returns the discrepancies (empty: they match)."""
    problems = []
    for name, prior in zip(model.parameter_names, model.priors):
        if ".centre_" in name:
            ok = isinstance(prior, UniformPrior) and (prior.lower_limit, prior.upper_limit) == (-0.1, 0.1)
        else:
            ok = isinstance(prior, TruncatedGaussianPrior) and (prior.mean, prior.sigma, prior.lower_limit, prior.upper_limit) == (0.0, 0.3, -1.0, 1.0)
        if not ok:
            problems.append(f"{name}: {prior}")
    return problems


def our_nested_mge(shared: Path, seed: int) -> dict:
    from galaxyfit.search import Nautilus

    dataset = sim_dataset(shared, "sim_bulge_disk", "sim")
    model = model_of("mge30")
    analysis = gf.AnalysisImaging(dataset)
    v0 = truth_like_vector(model, "mge30")
    search = Nautilus(seed=seed, progress=False)  # the default search, as bench_fits.py
    start = time.perf_counter()
    result = search.fit(model, analysis)
    wall = time.perf_counter() - start
    return {
        "wall_s": wall, "compile_s": result.timing["compile_s"], "likelihood_calls": result.timing["likelihood_calls"],
        "likelihood_s": result.timing["likelihood_s"], "max_log_likelihood": result.log_likelihood,
        "truth_like_log_likelihood": float(jax.jit(lambda v: analysis.log_likelihood_function(model.instance_from_vector(v)))(jnp.asarray(v0))),
        "log_evidence": result.log_evidence, "log_evidence_error": result.log_evidence_error,
        "max_likelihood_vector": np.asarray(result.max_log_likelihood_vector).tolist(),
        "median": result.median_pdf_vector.tolist(), "priors": [f"{n}: {p}" for n, p in zip(model.parameter_names, model.priors)],
        "prior_mismatches": check_mge_priors(model), "settings": search.settings(),
    }


def target_of(key):
    model, sim, psf = key
    return TARGETS.get(key) or TARGETS.get((model, "*", "*")) or {}


def fmt_ms(seconds) -> str:
    return f"{seconds * 1e3:9.3f}" if seconds is not None else f"{'-':>9s}"


def print_workload(key, entry):
    ours_, peer = entry["galaxyfit"], entry.get("pyautogalaxy") or {}
    targets = target_of(key)
    model, sim, psf = key
    print(f"\n{model} on {sim} with the {psf} PSF ({ours_['n_params']} parameters, {ours_['n_unmasked']} unmasked pixels, "
          f"box {ours_['box'][0]}x{ours_['box'][1]}, {ours_['convolution']} convolution)")
    print(f"  {'ms per likelihood':42s} {'ours':>9s} {'PyAG JAX':>9s} {'PyAG NumPy':>10s} {'JAX/ours':>8s} {'NumPy/ours':>10s}  target")
    numpy_s = peer.get("numpy_per_call_s")
    rows = [("single jitted call", "per_call", ours_["per_call_s"], peer.get("per_call_s")),
            (f"batched {ours_['batch']}: ours {'lax.map' if ours_['batch_chunk_size'] else 'vmap'}, PyAG vmap", "batched", ours_["batched_per_call_s"], peer.get("batched_per_call_s")),
            ("batched: plain vmap (reference)", None, ours_.get("vmap_per_call_s"), peer.get("batched_per_call_s")),
            ("value_and_grad", None, ours_.get("grad_per_call_s"), peer.get("grad_per_call_s"))]
    for label, target_key, mine, theirs in rows:
        if mine is None:
            continue
        ratio = f"{theirs / mine:8.1f}" if theirs else f"{'':8s}"
        ratio_np = f"{numpy_s / mine:10.1f}" if numpy_s else f"{'':10s}"
        target = ""
        if target_key and target_key in targets:
            kind, bound = targets[target_key]
            if kind == "ms":
                target = f"<= {bound} ms: {'met' if mine * 1e3 <= bound else 'MISSED'}"
            elif theirs:
                target = f">= {bound:g}x: {'met' if theirs / mine >= bound else 'MISSED'}"
            else:
                target = f">= {bound:g}x"
        print(f"  {label:42s} {fmt_ms(mine)} {fmt_ms(theirs)} {fmt_ms(numpy_s):>10s} {ratio} {ratio_np}  {target}")
    compile_ours = "/".join(f"{ours_[k]:.1f}" if k in ours_ else "-" for k in ("compile_s", "batched_compile_s", "vmap_compile_s", "grad_compile_s"))
    compile_peer = "/".join(f"{peer[k]:.1f}" if k in peer else "-" for k in ("compile_s", "batched_compile_s", "grad_compile_s"))
    print(f"  compile s: ours {compile_ours} (jit / lax.map / vmap / value_and_grad), PyAG {compile_peer or '-'} (jit / vmap / value_and_grad)")
    if ours_.get("vmap_skipped"):
        print("  ours, plain vmap: not timed" + (" (--vmap-mge times it for mge30)" if model == "mge30" else " (--no-vmap)"))
    if "vmap_error" in ours_:
        print(f"  ours, plain vmap FAILED: {ours_['vmap_error']}")
    for k in ("jit_error", "batched_error", "grad_error"):
        if k in peer:
            print(f"  PyAutoGalaxy {k}: {peer[k]}")
    ref = peer.get("log_likelihood")
    source = "PyAG NumPy, this run"
    if ref is None:
        ref, source = PYAG_RECORDED.get(key), "PyAG NumPy, recorded in bench/peers/README.md"
    mine = ours_["log_evidence_pyag_oversampling"]
    line = f"  log evidence: ours {ours_['log_evidence']:.6f} (default integration); ours in PyAG's 4x4 over-sampling {mine:.10f}"
    if ref is not None:
        line += f", {source} {ref:.10f}, relative difference {abs(mine / ref - 1):.1e}"
    if peer.get("log_likelihood_jax") is not None:
        line += f" (PyAG JAX {peer['log_likelihood_jax']:.10f})"
    print(line)
    if peer and "vector_values" in peer and not np.allclose(peer["vector_values"], ours_["vector"], rtol=0, atol=1e-12):
        print(f"  NOTE: PyAutoGalaxy's vector {peer['vector_values']} differs from ours {ours_['vector']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=BENCH.parents[1] / "shared")
    ap.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    ap.add_argument("--sims", nargs="*", default=["sim_bulge_disk", "sim_bulge_disk_200"])
    ap.add_argument("--psfs", nargs="*", default=["sim", "moffat51"], choices=["sim", "moffat51"],
                    help="moffat51 is run on sim_bulge_disk only")
    ap.add_argument("--n-calls", type=int, default=50, help="timed single calls (ours and PyAutoGalaxy's jit)")
    ap.add_argument("--n-grad", type=int, default=30, help="timed value_and_grad calls (ours)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--n-batches", type=int, default=3)
    ap.add_argument("--no-vmap", action="store_true", help="skip our plain-vmap reference")
    ap.add_argument("--vmap-mge", action="store_true", help="also time the plain-vmap reference of mge30 (off by default: "
                    "~5 ms per likelihood with the sim PSF, slower with the Moffat; searches use lax.map)")
    ap.add_argument("--no-grad", action="store_true", help="skip value_and_grad (ours and PyAutoGalaxy's)")
    ap.add_argument("--peer-n-numpy", type=int, default=5, help="PyAutoGalaxy NumPy calls timed")
    ap.add_argument("--no-peers", action="store_true", help="skip PyAutoGalaxy")
    ap.add_argument("--nested", action="store_true", help="also a full nested MGE-30 fit of sim_bulge_disk")
    ap.add_argument("--peers-nested", action="store_true", help="with --nested: also re-run PyAutoGalaxy's (~6 minutes)")
    ap.add_argument("--pyag-nested-json", type=Path, help="with --nested: PyAutoGalaxy's figures from this file's last JSON "
                    "line (the stdout of bench/peers/pyag_nested.py --model mge30) instead of re-running it")
    ap.add_argument("--seed", type=int, default=1, help="seed of our nested search")
    ap.add_argument("--json", type=Path, default=BENCH / "results" / "linear.json", help="where to write all figures")
    args = ap.parse_args()
    rng = np.random.default_rng(1)

    if not args.no_peers and not PEERS_PYTHON.exists():
        subprocess.run(["bash", str(BENCH / "peers" / "setup_peers.sh")], check=True)

    workloads = [(m, s, p) for m in args.models for s in args.sims for p in args.psfs if p == "sim" or s == "sim_bulge_disk"]
    results = {"workloads": {}, "nested": {}, "batch": args.batch, "xla_flags": os.environ.get("XLA_FLAGS"),
               "loadavg_1min_start": os.getloadavg()[0]}
    for key in workloads:
        model, sim, psf = key
        start = time.perf_counter()
        entry = {"galaxyfit": ours(args.shared, model, sim, psf, args, rng)}
        entry["galaxyfit"]["batch"] = args.batch
        entry["galaxyfit"]["wall_s"] = time.perf_counter() - start
        if not args.no_peers:
            start = time.perf_counter()
            peer_args = [sim, "--model", model, "--shared", str(args.shared), "--batch", str(args.batch),
                         "--n-batches", str(args.n_batches), "--n-calls", str(args.n_calls), "--n-numpy", str(args.peer_n_numpy)]
            if psf == "moffat51":
                peer_args += ["--psf", MOFFAT]
            if args.no_grad:
                peer_args.append("--no-grad")
            entry["pyautogalaxy"] = run_peer("pyag_linear_likelihood.py", *peer_args)
            entry["pyautogalaxy"]["wall_s"] = time.perf_counter() - start
        results["workloads"]["+".join(key)] = entry
        print_workload(key, entry)
        sys.stdout.flush()

    if args.nested:
        results["nested"]["galaxyfit"] = our_nested_mge(args.shared, args.seed)
        if args.peers_nested and not args.no_peers:
            results["nested"]["pyautogalaxy"] = run_peer("pyag_nested.py", "--model", "mge30", "--shared", str(args.shared), timeout=3600)
        elif args.pyag_nested_json:
            results["nested"]["pyautogalaxy"] = last_json_line(args.pyag_nested_json)
            results["nested"]["pyautogalaxy"]["source"] = str(args.pyag_nested_json)
    results["loadavg_1min_end"] = os.getloadavg()[0]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))

    nested = results["nested"]
    if nested:
        mine = nested["galaxyfit"]
        print("\nNested sampling, MGE-30 on sim_bulge_disk (4 parameters, mge_model_from's default priors)")
        if mine["prior_mismatches"]:
            print(f"  WARNING: our priors differ from PyAutoGalaxy's defaults: {mine['prior_mismatches']}")
        else:
            print("  priors checked: centre Uniform(-0.1, 0.1), ell_comps TruncatedGaussian(0, 0.3, -1, 1), as PyAutoGalaxy's")
        print(f"  {'search':14s} {'wall s':>7s} {'calls':>8s} {'log Z':>11s} {'error':>7s} {'max log L':>11s} {'log L(truth-like)':>17s}")
        peer = nested.get("pyautogalaxy")
        rows = [("galaxyfit", mine["wall_s"], mine["likelihood_calls"], mine["log_evidence"], mine["log_evidence_error"],
                 mine["max_log_likelihood"], mine["truth_like_log_likelihood"])]
        if peer:
            rows.append(("PyAutoGalaxy", peer["fit_s"], peer["n_like"], peer["log_evidence"], peer["log_evidence_error"] or float("nan"),
                         peer["max_log_likelihood"], peer["log_likelihood_truth"]))
        for name, wall, calls, log_z, error, best, truth in rows:
            print(f"  {name:14s} {wall:7.1f} {calls:8d} {log_z:11.3f} {error:7.3f} {best:11.3f} {truth:17.3f}")
        print(f"  ours: compile {mine['compile_s']:.1f} s, {mine['likelihood_s']:.1f} s in the likelihood; "
              f"max-L vector {np.round(mine['max_likelihood_vector'], 5).tolist()}")
        if peer:
            print(f"  PyAutoGalaxy ({peer.get('source', 'run now')}): sampler {peer['sampler_phase_s']:.1f} s, "
                  f"{peer['likelihood_s']:.1f} s in the likelihood, n_eff {peer.get('n_eff') or float('nan'):.0f}; "
                  f"max-L vector {np.round(peer['max_likelihood_vector'], 5).tolist()}; load at its end {peer.get('loadavg_1min_end', float('nan')):.1f}")
            print(f"  ratio (PyAutoGalaxy / ours, wall): {peer['fit_s'] / mine['wall_s']:.1f}; "
                  f"log Z difference (ours - PyAG) {mine['log_evidence'] - peer['log_evidence']:+.3f}")
    print(f"\nload (1 min) {results['loadavg_1min_start']:.1f} at the start, {results['loadavg_1min_end']:.1f} at the end; all figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
