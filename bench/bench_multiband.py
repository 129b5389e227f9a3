"""Cost of a joint multi-band likelihood (``FactorGraphModel``) against the sum of its bands' likelihoods, in one
process.

    python bench/bench_multiband.py                       # linear bulge + disk (lp_linear), 3 bands of 40x40
    python bench/bench_multiband.py --profiles standard   # the same with lp.Sersic / lp.Exponential intensities free
    python bench/bench_multiband.py --size 100 --batch 256 --repeats 7

Three simulated bands of one bulge + disk galaxy (``galaxyfit.simulate.simulate_imaging``), each with its own PSF
(Gaussian sigma 0.08", 0.12", 0.15"), pixel scale (0.10", 0.12", 0.10"), exposure time (noise) and, for the third,
a circular mask: the graph of ``graph_from_datasets`` (geometry shared, intensities per band: solved for linear
profiles, free parameters otherwise). For each band alone (its model and ``AnalysisImaging``) and for the graph
(``graph.global_prior_model``), through what the searches call (``search.problem.FitProblem``):

* single: the median over ``--repeats`` of ``FitProblem.log_likelihood_of`` (one jit-compiled call) on the prior
  medians, after a warm-up call that compiles;
* batched: the median over ``--repeats`` of ``FitProblem.log_likelihood`` on ``--batch`` draws from the priors,
  per likelihood (``jax.jit(jax.vmap)``, or ``jax.lax.map`` split over the cores for linear models).

It prints each band's times, their sum, the graph's, and the ratio graph / sum (1 = the joint likelihood costs what
its bands do; the issue's target is <= 1 up to timing noise), and a JSON line of the same.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import galaxyfit as gf  # noqa: E402

# A benchmark script is an application: it takes synchronous dispatch (as the galaxyfit command does) and float64
# for its own JAX code, which composes galaxyfit's functions in its own jit/vmap (galaxyfit alone changes neither).
gf.use_synchronous_dispatch(announce=False)
jax.config.update("jax_enable_x64", True)
from galaxyfit.analysis.factor_graph import graph_from_datasets  # noqa: E402
from galaxyfit.model import Collection, Model  # noqa: E402
from galaxyfit.search.problem import FitProblem  # noqa: E402
from galaxyfit.simulate import gaussian_psf, simulate_imaging  # noqa: E402

BANDS = [dict(bulge=1.0, disk=0.5, psf=0.08, scale=0.10, exposure=300.0, mask=None),
         dict(bulge=0.6, disk=0.6, psf=0.12, scale=0.12, exposure=500.0, mask=None),
         dict(bulge=0.3, disk=0.7, psf=0.15, scale=0.10, exposure=200.0, mask=1.8)]


def datasets(size: int):
    out = []
    for i, band in enumerate(BANDS):
        galaxy = gf.Galaxy(0.5, bulge=gf.lp.Sersic(centre=(0.02, -0.03), ell_comps=(0.0, 0.0), intensity=band["bulge"],
                                                    effective_radius=0.4, sersic_index=3.0),
                           disk=gf.lp.Exponential(centre=(0.02, -0.03), ell_comps=(0.2, -0.1), intensity=band["disk"],
                                                  effective_radius=1.0))
        dataset, _ = simulate_imaging(gf.Galaxies([galaxy]), (size, size), band["scale"],
                                      gaussian_psf((11, 11), band["psf"], band["scale"]), exposure_time=band["exposure"],
                                      seed=i + 1)
        if band["mask"] is not None:
            dataset = dataset.apply_mask(gf.Mask.circular((size, size), band["scale"], band["mask"]))
        out.append(dataset)
    return out


def single_band_model(profiles: str):
    lp = gf.lp_linear if profiles == "linear" else gf.lp
    bulge = Model(lp.Sersic, ell_comps=(0.0, 0.0))
    disk = Model(lp.Exponential)
    disk.centre = bulge.centre
    return Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=bulge, disk=disk)))


def timed(problem: FitProblem, batch: int, repeats: int, seed: int = 0) -> dict:
    medians = problem.model.prior_medians
    start = time.perf_counter()
    problem.log_likelihood_of(medians)
    compile_single = time.perf_counter() - start
    points = problem.prior_transform(np.random.default_rng(seed).random((batch, problem.n_dim)))
    start = time.perf_counter()
    problem.log_likelihood(points)
    compile_batched = time.perf_counter() - start
    single, batched = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        problem.log_likelihood_of(medians)
        single.append(time.perf_counter() - start)
        start = time.perf_counter()
        problem.log_likelihood(points)
        batched.append((time.perf_counter() - start) / batch)
    problem.close()
    return {"single_ms": 1e3 * float(np.median(single)), "batched_ms": 1e3 * float(np.median(batched)),
            "compile_single_s": compile_single, "compile_batched_s": compile_batched, "n_dim": problem.n_dim}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", choices=("linear", "standard"), default="linear")
    parser.add_argument("--size", type=int, default=40, help="image side in pixels (each band)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    model = single_band_model(args.profiles)
    graph = graph_from_datasets(datasets(args.size), model)
    bands = []
    for i, factor in enumerate(graph.model_factors):
        bands.append(timed(FitProblem(factor.prior_model, factor.analysis, max_batch=args.batch), args.batch, args.repeats))
        print(f"band {i}: {bands[-1]['n_dim']} parameters, single {bands[-1]['single_ms']:.4f} ms, batched "
              f"{bands[-1]['batched_ms']:.4f} ms per likelihood (compile {bands[-1]['compile_single_s']:.2f} s + "
              f"{bands[-1]['compile_batched_s']:.2f} s)")
    joint = timed(FitProblem(graph.global_prior_model, graph, max_batch=args.batch), args.batch, args.repeats)
    out = {"profiles": args.profiles, "size": args.size, "batch": args.batch, "repeats": args.repeats,
           "bands": bands, "joint": joint}
    for kind in ("single", "batched"):
        total = sum(b[f"{kind}_ms"] for b in bands)
        out[f"{kind}_sum_of_bands_ms"] = total
        out[f"{kind}_ratio"] = joint[f"{kind}_ms"] / total
        print(f"{kind}: joint {joint[f'{kind}_ms']:.4f} ms, sum of the bands {total:.4f} ms, ratio joint / sum "
              f"{out[f'{kind}_ratio']:.3f}")
    print(f"joint: {joint['n_dim']} parameters, compile {joint['compile_single_s']:.2f} s + {joint['compile_batched_s']:.2f} s")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
