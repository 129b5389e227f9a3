"""Nested samplers side by side on galaxyfit's batched likelihood (issue 20): wall time, likelihood calls, ln Z and
its quoted error, the best ln L, and (sim_bulge_disk) how many true values lie within 3 sigma. Each run is a fresh
process, so every row includes importing and compiling; a run past --timeout is reported as such.

    python bench/bench_samplers.py                                          # every candidate, sim_bulge_disk, seed 1
    python bench/bench_samplers.py --candidates nautilus --datasets sim_bulge_disk ic3478 n3073 --seeds 1 2 3 4 5
    python bench/bench_samplers.py --one nautilus sim_bulge_disk 1          # one run in this process (what the rows run)

Candidates: ``nautilus`` (galaxyfit's default ``Nautilus()``), ``nautilus_unpatched`` (the same settings with
nautilus' own network training and ellipsoids: ``compiled_bounds=False``), ``nautilus_tuned`` (``n_eff=2000,
n_update=1000``), ``ultranest`` (UltraNest's ReactiveNestedSampler with its vectorised population slice sampler,
400 live points), ``jaxns`` (JAXNS 3's NestedSampler on the jit-compiled likelihood). UltraNest and JAXNS are not
galaxyfit dependencies: ``pip install ultranest jaxns`` to run them. ``lm`` (not a sampler) prints the
Levenberg-Marquardt optimum's ln L and Laplace evidence, to judge the samplers' best ln L on the real images.
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

SHARED = Path(__file__).resolve().parents[2] / "shared"
SIM_TRUTH = [0, 0, 0.0962250449, 0.0555555556, 1.0, 0.6, 4.0, 0, 0, 0.2886751346, -0.1666666667, 0.25, 1.6]
SDSS = 0.396
REAL = {
    "ic3478": dict(folder="ic3478_sdss_r_sersic_psf_mask", image="ic3478rss_256.fits", config="config_sersic_ic3478_256.dat",
                   psf="psf_moffat_51.fits", mask="ic3478rss_256_mask.fits", noise=dict(gain=4.725, read_noise=4.3, original_sky=130.14)),
    "n3073": dict(folder="n3073_sdss_r_bulge_disk_psf_mask", image="n3073rss_small.fits", config="imfit_config_n3073.dat",
                  psf="psf_moffat_35_n4699z.fits", mask="n3073rss_small_mask.fits", noise=None),
}
CANDIDATES = ["nautilus", "nautilus_unpatched", "nautilus_tuned", "ultranest", "jaxns"]


def problem_of(dataset_name: str):
    """(model, analysis, truth vector or None) with the analysis' lifecycle hooks run as a search runs them."""
    import galaxyfit as gf
    from galaxyfit.model import Collection, Model

    if dataset_name == "sim_bulge_disk":
        folder = SHARED / "data" / "sim" / "sim_bulge_disk"
        dataset = gf.Imaging.from_fits(folder / "data.fits", 0.1, noise_map_path=folder / "noise_map.fits", psf_path=folder / "psf.fits")
        dataset = dataset.apply_mask(gf.Mask.circular(dataset.shape, 0.1, 3.0))
        model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)))
        truth = SIM_TRUTH
    else:
        from galaxyfit.imfit_config import read_imfit_config

        spec = REAL[dataset_name]
        folder = SHARED / "data" / spec["folder"]
        config = read_imfit_config(folder / spec["config"])
        noise = spec["noise"] or config.image
        dataset = gf.Imaging.from_fits(folder / spec["image"], SDSS, psf_path=folder / spec["psf"], mask_path=folder / spec["mask"], **noise)
        model, _ = config.model(dataset.shape, SDSS)
        truth = None
    return model, gf.AnalysisImaging(dataset), truth


def summary(points, weights, log_l, truth, wall, calls, log_z, log_z_error, **extra) -> dict:
    import numpy as np

    from galaxyfit.search.samples import Samples

    samples = Samples(points, log_l, weights, [f"p{i}" for i in range(points.shape[1])])
    out = {"wall_s": round(wall, 1), "calls": int(calls), "log_evidence": round(float(log_z), 3),
           "log_evidence_error": round(float(log_z_error), 4), "max_log_likelihood": round(float(np.max(log_l)), 2), **extra}
    if truth is not None:
        lo, hi = samples.values_at_sigma(3.0)
        out["truth_within_3_sigma"] = f"{int(((np.asarray(truth) >= lo) & (np.asarray(truth) <= hi)).sum())}/{len(truth)}"
    return out


def run_one(candidate: str, dataset_name: str, seed: int) -> dict:
    import numpy as np

    import galaxyfit as gf

    gf.use_synchronous_dispatch(announce=False)
    model, analysis, truth = problem_of(dataset_name)
    start = time.perf_counter()
    if candidate == "lm":  # the optimum to compare the samplers' best ln L with (not a nested sampler)
        from galaxyfit.search import LevenbergMarquardt

        result = LevenbergMarquardt(check=False).fit(model, analysis)
        return {"wall_s": round(time.perf_counter() - start, 1), "calls": result.timing["likelihood_calls"],
                "max_log_likelihood": round(float(result.log_likelihood), 2),
                "log_evidence_laplace": round(float(result.log_evidence), 3)}
    if candidate.startswith("nautilus"):
        from galaxyfit.search import Nautilus

        settings = {"nautilus": {}, "nautilus_unpatched": {"compiled_bounds": False},
                    "nautilus_tuned": {"n_eff": 2000, "n_update": 1000}}[candidate]
        result = Nautilus(seed=seed, progress=False, check=False, **settings).fit(model, analysis)
        s = result.samples
        return summary(s.parameters, s.weights, s.log_likelihood, truth, time.perf_counter() - start,
                       result.timing["likelihood_calls"], s.log_evidence, s.log_evidence_error,
                       likelihood_s=round(result.timing["likelihood_s"], 1))
    from galaxyfit.search.problem import FitProblem

    model = analysis.modify_model(model)
    analysis.modify_before_fit(model)
    problem = FitProblem(model, analysis)
    if candidate == "ultranest":
        import ultranest
        import ultranest.popstepsampler as pss

        problem.warm_up([256])
        sampler = ultranest.ReactiveNestedSampler(model.parameter_names, problem.log_likelihood, problem.prior_transform,
                                                  vectorized=True, ndraw_min=256, ndraw_max=256)
        sampler.stepsampler = pss.PopulationSliceSampler(popsize=256, nsteps=2 * problem.n_dim,
                                                         generate_direction=pss.generate_region_oriented_direction)
        np.random.seed(seed)
        res = sampler.run(min_num_live_points=400, dlogz=0.5, show_status=False, viz_callback=False)
        ws = res["weighted_samples"]
        return summary(np.asarray(ws["points"]), np.asarray(ws["weights"]), np.asarray(ws["logl"]), truth,
                       time.perf_counter() - start, res["ncall"], res["logz"], res["logzerr"],
                       likelihood_s=round(problem.likelihood_seconds, 1))
    if candidate == "jaxns":
        import jax
        import jax.numpy as jnp
        from jaxns.core import NestedSampler
        from jaxns.model import Model as JaxnsModel
        from jaxns.priors import Prior
        from tensorflow_probability.substrates import jax as tfp

        priors = model.priors

        def prior_model():
            u = Prior(tfp.distributions.Uniform(low=jnp.zeros(problem.n_dim), high=jnp.ones(problem.n_dim)), name="u").realise()
            theta = jnp.stack([jnp.asarray(p.value_for(u[i])) for i, p in enumerate(priors)])
            return analysis.log_likelihood_function(model.instance_from_vector(theta))

        with gf.float64():
            sampler = NestedSampler(model=JaxnsModel(prior_model=prior_model))
            state = sampler.run(key=jax.random.PRNGKey(seed))
            res = state.to_result().trim()
            u = np.asarray(res.U_samples if hasattr(res, "U_samples") else res.samples["u"])
            points = problem.prior_transform(u.reshape(len(u), -1))
            log_w = np.asarray(res.log_dp_mean)
            weights = np.exp(log_w - log_w.max())
            calls = int(np.asarray(getattr(res, "total_num_likelihood_evaluations", -1)))
            return summary(points, weights, np.asarray(res.log_L_samples), truth, time.perf_counter() - start, calls,
                           np.asarray(res.log_Z_mean), np.asarray(res.log_Z_uncert))
    raise SystemExit(f"unknown candidate {candidate!r} (known: {', '.join(CANDIDATES)})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", nargs="+", default=CANDIDATES)
    ap.add_argument("--datasets", nargs="+", default=["sim_bulge_disk"], choices=["sim_bulge_disk", *REAL])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per run (default 600)")
    ap.add_argument("--one", nargs=3, metavar=("CANDIDATE", "DATASET", "SEED"), help="one run in this process")
    args = ap.parse_args()
    if args.one:
        candidate, dataset_name, seed = args.one
        print(json.dumps({"candidate": candidate, "dataset": dataset_name, "seed": int(seed), **run_one(candidate, dataset_name, int(seed))}), flush=True)
        return 0
    for dataset_name in args.datasets:
        for candidate in args.candidates:
            for seed in args.seeds:
                command = [sys.executable, __file__, "--one", candidate, dataset_name, str(seed)]
                try:
                    done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
                    line = done.stdout.strip().splitlines()[-1] if done.returncode == 0 and done.stdout.strip() else json.dumps(
                        {"candidate": candidate, "dataset": dataset_name, "seed": seed, "failed": done.stderr.strip()[-800:]})
                except subprocess.TimeoutExpired:
                    line = json.dumps({"candidate": candidate, "dataset": dataset_name, "seed": seed, "timeout_s": args.timeout})
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
