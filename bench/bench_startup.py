"""Start-up costs of the package and the command, each the median of several fresh processes:

* ``import galaxyfit`` (no JAX: the names load it when first used);
* ``galaxyfit --help`` and ``galaxyfit fit --help``;
* the fixed overhead of ``galaxyfit fit`` before fitting: from the process's start to the search's start (imports,
  reading the FITS files, building the model and analysis) and to its first sampled point (+ the sampler's import
  and the likelihood's compilation), stopping the command when the sampler first calls the likelihood after its
  warm-up (``FitProblem.log_likelihood``), on the demo's simulated 100 x 100 data.

Usage: ``python bench/bench_startup.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STOP_AT_FIRST_LIKELIHOOD = r"""
import os, sys, time
start = time.perf_counter()
import galaxyfit.search.base as base
search_fit = base.Search.fit
def entered(self, *args, **kwargs):
    sys.stderr.write(f"SEARCH_START {time.perf_counter() - start:.3f}\n")
    return search_fit(self, *args, **kwargs)
base.Search.fit = entered
import galaxyfit.search.problem as problem
original = problem.FitProblem.log_likelihood
def first_call(self, points):
    if getattr(self, "_warm", False):
        sys.stderr.write(f"FIRST_LIKELIHOOD {time.perf_counter() - start:.3f}\n")
        os._exit(0)
    return original(self, points)
warm_up = problem.FitProblem.warm_up
def marked(self, sizes=None):
    out = warm_up(self, sizes)
    self._warm = True
    return out
problem.FitProblem.warm_up = marked
problem.FitProblem.log_likelihood = first_call
from galaxyfit.cli import console_main
console_main()
"""


def _median_seconds(command, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _median_first_likelihood(arguments, runs: int) -> tuple[float, float]:
    """Medians of (seconds to the search's start, seconds to its first sampled likelihood)."""
    starts, firsts = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", STOP_AT_FIRST_LIKELIHOOD, *arguments], capture_output=True, text=True)
        lines = {l.split()[0]: float(l.split()[1]) for l in out.stderr.splitlines() if l.startswith(("SEARCH_START", "FIRST_LIKELIHOOD"))}
        if "FIRST_LIKELIHOOD" not in lines:
            raise RuntimeError(f"the fit did not reach its first likelihood:\n{out.stderr[-2000:]}")
        starts.append(lines["SEARCH_START"])
        firsts.append(lines["FIRST_LIKELIHOOD"])
    return statistics.median(starts), statistics.median(firsts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    print(f"import galaxyfit        {_median_seconds([python, '-c', 'import galaxyfit'], args.runs):6.3f} s")
    print(f"import jax              {_median_seconds([python, '-c', 'import jax'], args.runs):6.3f} s   (for scale)")
    print(f"galaxyfit --help        {_median_seconds([python, '-m', 'galaxyfit', '--help'], args.runs):6.3f} s")
    print(f"galaxyfit fit --help    {_median_seconds([python, '-m', 'galaxyfit', 'fit', '--help'], args.runs):6.3f} s")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "sim"
        subprocess.run([python, "-m", "galaxyfit", "simulate", str(data)], check=True, capture_output=True)
        fit = ["fit", str(data / "data.fits"), "--noise-map", str(data / "noise_map.fits"), "--psf", str(data / "psf.fits"),
               "--mask", str(data / "mask.fits"), "--pixel-scale", "0.1", "--model", "sersic+exponential", "--quiet",
               "--output", str(Path(folder) / "out")]
        for search in ("nautilus", "lm"):
            start, first = _median_first_likelihood(fit + ["--search", search], args.runs)
            print(f"galaxyfit fit --search {search:8s}: {start:6.3f} s to the search's start (imports, FITS, model, "
                  f"analysis), {first:6.3f} s to its first sampled likelihood (+ the sampler's import and compilation)")


if __name__ == "__main__":
    main()
