"""One nested-sampling fit of sim_bulge_disk (13 parameters, default priors, 3" mask) with chosen Nautilus settings:
the runs behind bench/README.md's comparison of nautilus settings. Prints one JSON line: wall time of the search,
time in the likelihood, calls, best log L, log Z and its error, and how many true values lie within 3 sigma.

    python bench/nested_settings.py '{"split_bounds": true}' --seed 2
    python bench/nested_settings.py '{"neural_network_kwargs": {"hidden_layer_sizes": [32, 16], "solver": "lbfgs", "max_iter": 150}}'
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
from galaxyfit.search import Nautilus  # noqa: E402

TRUTH = np.array([0, 0, 0.0962250449, 0.0555555556, 1.0, 0.6, 4.0, 0, 0, 0.2886751346, -0.1666666667, 0.25, 1.6])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("settings", nargs="?", default="{}", help="JSON object of Nautilus(...) keyword arguments")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    args = ap.parse_args()
    settings = json.loads(args.settings)
    if "seed" in settings or "progress" in settings:
        ap.error("give the seed with --seed; settings must not hold 'seed' or 'progress'")
    folder = args.shared / "data" / "sim" / "sim_bulge_disk"
    dataset = gf.Imaging.from_fits(folder / "data.fits", 0.1, noise_map_path=folder / "noise_map.fits", psf_path=folder / "psf.fits")
    dataset = dataset.apply_mask(gf.Mask.circular(dataset.shape, 0.1, 3.0))
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)))
    search = Nautilus(seed=args.seed, progress=False, **settings)
    start = time.perf_counter()
    result = search.fit(model, gf.AnalysisImaging(dataset))
    wall = time.perf_counter() - start
    lo, hi = result.samples.values_at_sigma(3.0)
    print(json.dumps({"settings": settings, "seed": args.seed, "wall_s": round(wall, 1), "likelihood_s": round(result.timing["likelihood_s"], 1),
                      "calls": result.timing["likelihood_calls"], "max_log_likelihood": round(result.log_likelihood, 2),
                      "log_evidence": round(result.log_evidence, 3), "log_evidence_error": round(result.log_evidence_error, 4),
                      "truth_within_3_sigma": int(((TRUTH >= lo) & (TRUTH <= hi)).sum())}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
