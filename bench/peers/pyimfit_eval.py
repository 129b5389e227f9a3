"""Time Imfit (through pyimfit 1.1) model / fit-statistic evaluations and full fits.

Runs under the peer venv (``bench/.peers-venv``, made by ``setup_peers.sh``)::

    bench/.peers-venv/bin/python bench/peers/pyimfit_eval.py                # everything
    bench/.peers-venv/bin/python bench/peers/pyimfit_eval.py --only sim --threads 1

Measurements (one JSON line each on stdout, human-readable notes on stderr):

* ``ic3478``: IC 3478 fit E (Sersic + mask + normalised ``psf_moffat_51.fits``; gain 4.725, read noise
  4.3, original sky 130.14; data-based chi^2) at fit E's best parameters; reference chi^2 68123.904271.
* ``n3073``: NGC 3073 Sersic + Exponential with mask and ``psf_moffat_35_n4699z.fits`` at the
  reference best fit; reference chi^2 36828.577653.
* ``sim_bulge_disk``, ``_200``, ``_400``: Sersic + Exponential (one function block, i.e. a shared
  centre: 11 parameters) at the true parameters converted to Imfit's conventions, sigma map =
  ``noise_map.fits``, the sim PSF or (``psf=moffat51``) the 51x51 Moffat, chi^2 over the 3" circular
  benchmark mask (``--no-sim-mask``: all pixels). Imfit always computes the model over the whole image
  (padded by the PSF half-width); the mask only selects the pixels summed in chi^2.
* ``fit``: ``doFit`` (Levenberg-Marquardt) of the two real cases from their config-file starting
  values; wall time and final chi^2 (references: 2.2 s / 68123.904271, 9.2 s / 36828.577653, measured
  by the data curators with pyimfit's default threading).

Per-call timings: ``computeFitStatistic(params)`` (model + PSF convolution + chi^2) and
``getModelImage(newParameters=params)`` (model + convolution, returned as an array); warm-up first,
then the median over calls whose parameters are perturbed by 1e-6 (relative) so nothing is reused.
Threads: ``--threads`` is passed as ``pyimfit.Imfit(maxThreads=...)`` (0 = all cores). In pyimfit 1.1 this
limits Imfit's OpenMP threads only: the PSF is handed to Imfit's ModelObject before ``setMaxThreads`` is
called, so its FFTW convolver keeps the default "one thread per online core" (Imfit core/convolver.cpp,
DoFullSetup; ModelObject::SetMaxThreads does not reach an existing convolver). With ``--threads 1`` the
script therefore also pins the process to one CPU (``os.sched_setaffinity``; ``--no-pin`` to skip) so that
the timing is single-core. CPU time / wall time per call is reported as a check.
"""
import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pyimfit
from astropy.io import fits

SHARED_DEFAULT = Path(__file__).resolve().parents[3] / "shared"

IC3478 = dict(folder="ic3478_sdss_r_sersic_psf_mask", image="ic3478rss_256.fits",
              mask="ic3478rss_256_mask.fits", psf="psf_moffat_51.fits",
              config="config_sersic_ic3478_256.dat",
              noise=dict(gain=4.725, read_noise=4.3, original_sky=130.14),
              best=[128.9174, 129.0800, 19.0576, 0.227617, 2.48051, 19.9097, 59.5241],
              chi2_ref=68123.904271, fit_ref_s=2.2)
N3073 = dict(folder="n3073_sdss_r_bulge_disk_psf_mask", image="n3073rss_small.fits",
             mask="n3073rss_small_mask.fits", psf="psf_moffat_35_n4699z.fits",
             config="imfit_config_n3073.dat",
             noise=dict(gain=4.725, read_noise=4.3, original_sky=154.33),  # also in its config
             best=[100.7073, 97.0877, 111.919, 0.184262, 3.2805, 78.2972, 26.7976,
                   51.724, 0.35226, 39.7753, 53.6058],
             chi2_ref=36828.577653, fit_ref_s=9.2)

# Sim truth in PyAutoGalaxy/galaxyfit conventions (sim/README.md): centre (y, x) arcsec, axis ratio q,
# phi = major-axis angle CCW from +x (deg), intensity at the effective (circularised) radius.
SIM_TRUTH = dict(centre=(0.0, 0.0),
                 bulge=dict(q=0.8, phi=30.0, intensity=1.0, effective_radius=0.6, sersic_index=4.0),
                 disk=dict(q=0.5, phi=60.0, intensity=0.25, effective_radius=1.6))


def read_fits(path):
    return np.asarray(fits.getdata(path), dtype=np.float64)


def b_n(n):
    """Ciotti & Bertin (1999) series, as Imfit and PyAutoGalaxy use for n > 0.36."""
    return (2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n ** 2) + 131 / (1148175 * n ** 3)
            - 2194697 / (30690717750 * n ** 4))


def sim_imfit_params(shape, ps):
    """Sim truth in Imfit's conventions: [X0, Y0, (Sersic) PA, ell, n, I_e, r_e, (Exp) PA, ell, I_0, h]."""
    ny, nx = shape
    y, x = SIM_TRUTH["centre"]
    bu, di = SIM_TRUTH["bulge"], SIM_TRUTH["disk"]
    b1 = b_n(1.0)
    return [x / ps + (nx + 1) / 2, y / ps + (ny + 1) / 2,
            (bu["phi"] - 90.0) % 180.0, 1 - bu["q"], bu["sersic_index"], bu["intensity"],
            bu["effective_radius"] / math.sqrt(bu["q"]) / ps,
            (di["phi"] - 90.0) % 180.0, 1 - di["q"], di["intensity"] * math.exp(b1),
            di["effective_radius"] / (b1 * math.sqrt(di["q"])) / ps]


def sim_model_description(params):
    """Sersic + Exponential sharing one centre (one Imfit function block); limits only bracket the values."""
    names = ["X0", "Y0", "PA", "ell", "n", "I_e", "r_e", "PA", "ell", "I_0", "h"]
    lines = [f"{names[0]} {params[0]!r}", f"{names[1]} {params[1]!r}", "FUNCTION Sersic"]
    lines += [f"{k} {v!r}" for k, v in zip(names[2:7], params[2:7])]
    lines += ["FUNCTION Exponential"] + [f"{k} {v!r}" for k, v in zip(names[7:], params[7:])]
    return pyimfit.parse_config(lines)


def make_fitter(model_desc, image, psf, threads, **load_kwargs):
    fitter = pyimfit.Imfit(model_desc, psf=psf, maxThreads=threads)  # PSF normalised internally
    fitter.loadData(image, **load_kwargs)
    return fitter


def time_calls(fn, params, n_calls, rng):
    """Median wall and CPU seconds per fn(p) over slightly perturbed parameter vectors."""
    p0 = np.asarray(params, dtype=np.float64)
    fn(p0)  # warm-up
    fn(p0)
    walls, cpus = [], []
    for _ in range(n_calls):
        p = p0 * (1 + 1e-6 * rng.standard_normal(p0.size))
        c0, t0 = time.process_time(), time.perf_counter()
        fn(p)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus))


def measure_eval(label, fitter, params, n_calls, rng, extra):
    chi2 = float(fitter.computeFitStatistic(np.asarray(params, dtype=np.float64)))
    t_stat, cpu_stat = time_calls(fitter.computeFitStatistic, params, n_calls, rng)
    t_img, _ = time_calls(lambda p: fitter.getModelImage(newParameters=p), params, n_calls, rng)
    out = dict(tool="pyimfit", measurement="eval", case=label, chi2=chi2,
               n_valid_pixels=int(fitter.nValidPixels) if hasattr(fitter, "nValidPixels") else None,
               fit_statistic_per_call_s=t_stat, model_image_per_call_s=t_img,
               cpu_over_wall=cpu_stat / t_stat, n_calls=n_calls, n_params=len(params),
               loadavg_1min=os.getloadavg()[0], **extra)
    print(json.dumps(out), flush=True)
    ref = extra.get("chi2_ref")
    note = f" (reference {ref}, diff {chi2 - ref:+.4f})" if ref else ""
    print(f"[{label}] chi2 = {chi2:.6f}{note}; fitstat {t_stat * 1e3:.3f} ms, "
          f"model image {t_img * 1e3:.3f} ms per call", file=sys.stderr, flush=True)
    return out


def real_case(case, data_dir, threads):
    """Fitter for a real case, its data loaded with mask, PSF and data-based chi^2 noise model."""
    d = data_dir / case["folder"]
    image = read_fits(d / case["image"])
    mask = read_fits(d / case["mask"])
    psf = read_fits(d / case["psf"])
    desc = pyimfit.parse_config_file(str(d / case["config"]))
    fitter = make_fitter(desc, image, psf, threads, mask=mask, **case["noise"])
    return fitter, dict(psf_raw_sum=float(psf.sum()), shape=list(image.shape))


def run_real(name, case, data_dir, threads, n_calls, rng):
    fitter, info = real_case(case, data_dir, threads)
    measure_eval(name, fitter, case["best"], n_calls, rng,
                 dict(chi2_ref=case["chi2_ref"], psf=case["psf"], threads=threads, **info))


def run_fit(name, case, data_dir, threads):
    fitter, _ = real_case(case, data_dir, threads)  # starting values from the config file
    t0 = time.perf_counter()
    res = fitter.doFit()
    wall = time.perf_counter() - t0
    out = dict(tool="pyimfit", measurement="doFit", case=name, wall_s=wall, chi2=float(res.fitStat),
               chi2_ref=case["chi2_ref"], wall_ref_s=case["fit_ref_s"], n_iter=int(res.nIter),
               n_func_evals=int(res.nFuncEvals), converged=bool(res.fitConverged),
               params=[float(p) for p in res.params], threads=threads,
               loadavg_1min=os.getloadavg()[0])
    print(json.dumps(out), flush=True)
    print(f"[{name} doFit] {wall:.2f} s, chi2 = {res.fitStat:.6f} (reference {case['chi2_ref']}), "
          f"{res.nIter} iterations, {res.nFuncEvals} evaluations", file=sys.stderr, flush=True)


def run_sim(name, data_dir, psf_choice, use_mask, threads, n_calls, rng):
    d = data_dir / "sim" / name
    info = json.loads((d / "sim_info.json").read_text())
    ps = float(info["pixel_scale"])
    image = read_fits(d / "data.fits")  # FITS order, as Imfit reads it
    sigma = read_fits(d / "noise_map.fits")
    psf_path = d / "psf.fits" if psf_choice == "sim" else \
        data_dir / IC3478["folder"] / IC3478["psf"]
    psf = read_fits(psf_path)
    ny, nx = image.shape
    mask = None
    if use_mask:  # the 3" benchmark circle about (0, 0); Imfit mask: non-zero = bad
        yy = (np.arange(ny) - (ny - 1) / 2)[:, None] * ps
        xx = (np.arange(nx) - (nx - 1) / 2)[None, :] * ps
        mask = (np.hypot(yy, xx) > 3.0).astype(np.float64)
    params = sim_imfit_params(image.shape, ps)
    fitter = make_fitter(sim_model_description(params), image, psf, threads,
                         error=sigma, error_type="sigma", mask=mask)
    extra = dict(psf=psf_path.name if psf_choice == "sim" else "psf_moffat_51.fits (normalised)",
                 psf_shape=list(psf.shape), mask="3 arcsec circle" if use_mask else "none",
                 shape=[ny, nx], threads=threads, imfit_params=params)
    if psf_choice == "sim" and use_mask:
        extra["chi2_truth_galaxyfit_sim"] = info.get("chi2_truth_in_mask")
    label = name if psf_choice == "sim" else f"{name}+moffat51"
    measure_eval(label, fitter, params, n_calls, rng, extra)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=SHARED_DEFAULT, help="shared/ root (default %(default)s)")
    ap.add_argument("--threads", type=int, default=1, help="pyimfit maxThreads (0 = all cores)")
    ap.add_argument("--only", nargs="*", default=["real", "sim", "fit"],
                    choices=["real", "sim", "fit"], help="which groups to run")
    ap.add_argument("--sims", nargs="*", default=["sim_bulge_disk", "sim_bulge_disk_200", "sim_bulge_disk_400"])
    ap.add_argument("--n-calls", type=int, default=30)
    ap.add_argument("--no-sim-mask", action="store_true")
    ap.add_argument("--no-pin", action="store_true", help="with --threads 1, do not pin to one CPU")
    args = ap.parse_args()
    if args.threads == 1 and not args.no_pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    data_dir = args.shared / "data"
    rng = np.random.default_rng(1)
    print(json.dumps(dict(tool="pyimfit", measurement="versions", pyimfit=pyimfit.__version__,
                          numpy=np.__version__, python=platform.python_version(),
                          threads=args.threads, cpus=sorted(os.sched_getaffinity(0)),
                          n_cpus_online=os.cpu_count())), flush=True)

    if "real" in args.only:
        run_real("ic3478_fitE", IC3478, data_dir, args.threads, args.n_calls, rng)
        run_real("n3073", N3073, data_dir, args.threads, args.n_calls, rng)
    if "sim" in args.only:
        for psf_choice in ("sim", "moffat51"):
            for name in args.sims:
                n = args.n_calls if "400" not in name else max(5, args.n_calls // 3)
                run_sim(name, data_dir, psf_choice, not args.no_sim_mask, args.threads, n, rng)
    if "fit" in args.only:
        run_fit("ic3478_fitE", IC3478, data_dir, args.threads)
        run_fit("n3073", N3073, data_dir, args.threads)


if __name__ == "__main__":
    main()
