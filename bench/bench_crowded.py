"""A crowded field in one step (issue 16): Levenberg-Marquardt on a simulated field of 5 sources -- 3 Sersic galaxies
and 2 stars, 120x120 pixels of 0.1", a 43x43 Gaussian PSF (sigma 0.15"), a free sky level: 3 x 7 + 2 x 3 + 1 = 28
parameters -- from the detections alone (``crowded_field_model``: SEP detection, no catalogue) against the same
optimiser from the true parameters (the "catalogue start"). The issue's target: the no-catalogue path costs at most
twice the catalogue one.

    python bench/bench_crowded.py                 # both fits, each in this process after one warm-up compile
    python bench/bench_crowded.py --repeat 3      # medians of 3

Prints the detections, chi^2, iterations and wall seconds of each path (compile included and excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import galaxyfit as gf  # noqa: E402

# A benchmark script is an application: it takes synchronous dispatch (as the galaxyfit command does) and float64
# for its own JAX code, which composes galaxyfit's functions in its own jit/vmap (galaxyfit alone changes neither).
gf.use_synchronous_dispatch(announce=False)
jax.config.update("jax_enable_x64", True)
from galaxyfit.model.crowded import crowded_field_model  # noqa: E402
from galaxyfit.profiles.geometry import ell_comps_to_numpy  # noqa: E402
from galaxyfit.search import LevenbergMarquardt  # noqa: E402
from galaxyfit.simulate import gaussian_psf, simulate_imaging  # noqa: E402

PIXEL_SCALE = 0.1
PSF_SIGMA = 0.15


def truth_profiles():
    """The field's five sources (arcsec, data units per pixel per second; PointSource intensity = total flux)."""
    return [
        gf.lp.Sersic(centre=(0.5, -1.0), ell_comps=ell_comps_to_numpy(0.7, 30.0), intensity=0.6, effective_radius=0.8, sersic_index=2.5),
        gf.lp.Sersic(centre=(-2.6, 2.8), ell_comps=ell_comps_to_numpy(0.5, 120.0), intensity=0.5, effective_radius=0.5, sersic_index=1.0),
        gf.lp.Sersic(centre=(3.2, 2.4), ell_comps=ell_comps_to_numpy(0.8, 70.0), intensity=0.8, effective_radius=0.35, sersic_index=1.5),
        gf.lp.PointSource(centre=(-3.1, -3.4), intensity=25.0),
        gf.lp.PointSource(centre=(2.2, 0.3), intensity=12.0),
    ]


def crowded_field(size: int = 120, psf_size: int = 43, seed: int = 1, exposure_time: float = 300.0):
    """(dataset, truth profiles): the simulated field (``galaxyfit.simulate``; sky 0.1, read noise 5, Poisson)."""
    psf = gaussian_psf((psf_size, psf_size), PSF_SIGMA, PIXEL_SCALE)
    truth = truth_profiles()
    galaxies = [gf.Galaxy(0.5, light=p) for p in truth]
    dataset, _ = simulate_imaging(galaxies, (size, size), PIXEL_SCALE, psf, exposure_time=exposure_time, seed=seed)
    return dataset, truth


def truth_vector(model, truth) -> np.ndarray:
    """The true parameters in ``model``'s order: each modelled source matched to the nearest true one; sky 0."""
    values = {}
    galaxies = model.galaxies._attributes
    for name, galaxy in galaxies.items():
        component_name, component = next((k, v) for k, v in galaxy._attributes.items() if k != "redshift")
        priors = component._attributes
        centre = (priors["centre"][0].mean, priors["centre"][1].mean)
        nearest = min(truth, key=lambda p: (p.centre[0] - centre[0]) ** 2 + (p.centre[1] - centre[1]) ** 2)
        if type(nearest) is not component.cls:
            raise RuntimeError(f"{name}: detected as {component.cls.__name__}, truly {type(nearest).__name__}")
        for field in priors:
            value = getattr(nearest, field)
            if isinstance(value, tuple):
                for i, v in enumerate(value):
                    values[f"galaxies.{name}.{component_name}.{field}_{i}"] = float(v)
            else:
                values[f"galaxies.{name}.{component_name}.{field}"] = float(value)
    values["dataset_model.background_sky_level"] = 0.0
    return np.array([values[n] for n in model.parameter_names])


def lm_fit(model, dataset, start):
    search = LevenbergMarquardt(initial=start, check=False)
    begin = time.perf_counter()
    result = search.fit(model, gf.AnalysisImaging(dataset))
    wall = time.perf_counter() - begin
    return {"wall_s": wall, "compile_s": result.timing["compile_s"], "run_s": wall - result.timing["compile_s"],
            "chi2": result.search["chi_squared"], "iterations": result.search["iterations"],
            "likelihood_calls": result.timing["likelihood_calls"], "vector": result.max_log_likelihood_vector}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    dataset, truth = crowded_field()
    begin = time.perf_counter()
    field = crowded_field_model(dataset, sky=True)
    build_s = time.perf_counter() - begin
    model = field.model
    print(f"field {dataset.shape}, PSF {dataset.psf.shape}, {len(field.detection.sources)} sources detected in {build_s:.2f} s, "
          f"{model.prior_count} parameters")
    for s in field.detection.sources:
        print(f"  ({s.centre[0]:+.3f}, {s.centre[1]:+.3f})\" flux {s.flux:8.2f} r50 {s.half_light_radius:.3f}\" "
              f"{'point' if s.point else 'extended'}")
    true = truth_vector(model, truth)
    lm_fit(model, field.dataset, true)  # warm-up: JAX's and the C++ kernels' first-call costs land in neither path
    runs = {"from_detections": [], "from_truth": []}
    for _ in range(args.repeat):
        for key, start in (("from_detections", field.start), ("from_truth", true)):
            figures = lm_fit(model, field.dataset, start)
            if key == "from_detections":
                figures["wall_s"] += build_s  # the no-catalogue path pays for its detection and model
            runs[key].append(figures)
    summary = {}
    for key, rows in runs.items():
        summary[key] = {k: statistics.median(r[k] for r in rows) for k in ("wall_s", "run_s", "chi2", "iterations", "likelihood_calls")}
        print(f"{key:16s} wall {summary[key]['wall_s']:.2f} s (LM {summary[key]['run_s']:.2f} s after compiling), "
              f"chi2 {summary[key]['chi2']:.3f}, {summary[key]['iterations']} iterations, {summary[key]['likelihood_calls']} calls")
    ratio = summary["from_detections"]["wall_s"] / summary["from_truth"]["wall_s"]
    best = runs["from_detections"][0]["vector"]
    error = np.abs(best - true)
    print(f"ratio no-catalogue / catalogue: {ratio:.2f} (target <= 2); detections path chi2 - truth path chi2 = "
          f"{summary['from_detections']['chi2'] - summary['from_truth']['chi2']:+.4f}")
    print("largest |best - truth| per parameter:", ", ".join(f"{n.split('galaxies.')[-1]} {e:.3g}" for n, e in
                                                          sorted(zip(model.parameter_names, error), key=lambda t: -t[1])[:3]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "ratio": ratio, "build_s": build_s}, f, indent=1)


if __name__ == "__main__":
    main()
