"""NUTS on sim_bulge_disk (13 parameters, default priors, 3" mask) against a long nested reference run: R-hat,
effective sample sizes, divergences, wall time, and each posterior median's distance from the reference's in units of
the reference's posterior standard deviation (bench/README.md, issue 20).

    python bench/bench_nuts.py                                   # reference Nautilus(n_eff=40000) + NUTS() defaults
    python bench/bench_nuts.py --nuts '{"target_accept": 0.9}'   # other NUTS settings (JSON of NUTS(...) arguments)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import numpy as np  # noqa: E402

import galaxyfit as gf  # noqa: E402
from galaxyfit.model import Collection, Model  # noqa: E402
from galaxyfit.search import NUTS, Nautilus  # noqa: E402


def weighted_moments(samples):
    w = samples.weights
    mean = np.average(samples.parameters, axis=0, weights=w)
    std = np.sqrt(np.average((samples.parameters - mean) ** 2, axis=0, weights=w))
    return samples.median_pdf_vector, std


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nuts", action="append", default=None, help="JSON of NUTS(...) arguments (repeatable)")
    ap.add_argument("--reference-n-eff", type=float, default=40000)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    args = ap.parse_args()
    gf.use_synchronous_dispatch()
    folder = args.shared / "data" / "sim" / "sim_bulge_disk"
    dataset = gf.Imaging.from_fits(folder / "data.fits", 0.1, noise_map_path=folder / "noise_map.fits", psf_path=folder / "psf.fits")
    dataset = dataset.apply_mask(gf.Mask.circular(dataset.shape, 0.1, 3.0))

    def model():
        return Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)))

    start = time.perf_counter()
    reference = Nautilus(n_eff=args.reference_n_eff, seed=11, progress=False).fit(model(), gf.AnalysisImaging(dataset))
    print(json.dumps({"search": f"Nautilus(n_eff={args.reference_n_eff:g}) reference", "wall_s": round(time.perf_counter() - start, 1),
                      "calls": reference.timing["likelihood_calls"], "log_evidence": round(reference.log_evidence, 3)}), flush=True)
    ref_median, ref_std = weighted_moments(reference.samples)
    names = reference.samples.parameter_names
    for settings in [json.loads(text) for text in (args.nuts or ["{}"])]:
        start = time.perf_counter()
        result = NUTS(progress=False, **settings).fit(model(), gf.AnalysisImaging(dataset))
        wall = time.perf_counter() - start
        median, _ = weighted_moments(result.samples)
        offset = (median - ref_median) / ref_std
        s = result.search
        print(json.dumps({"search": f"NUTS({settings})", "wall_s": round(wall, 1), "compile_and_lm_s": round(wall - s["sampling_s"], 1),
                          "gradient_evaluations": s["gradient_evaluations"], "max_r_hat": round(s["max_r_hat"], 4),
                          "min_ess": round(s["min_ess"], 1), "divergences": s["divergences"],
                          "mean_tree_steps": round(s["mean_tree_steps"], 2),
                          "max_median_offset_sigma": round(float(np.max(np.abs(offset))), 3),
                          "median_offset_sigma": {n: round(float(o), 3) for n, o in zip(names, offset)}}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
