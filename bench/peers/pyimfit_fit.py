"""Time a pyimfit (Imfit) Levenberg-Marquardt fit of a real case from its config file's starting values.

Runs under the peer venv (``bench/.peers-venv``, made by ``setup_peers.sh``)::

    bench/.peers-venv/bin/python bench/peers/pyimfit_fit.py ic3478
    bench/.peers-venv/bin/python bench/peers/pyimfit_fit.py n3073 --repeats 5 --threads 0

Cases (Imfit conventions, data in FITS order, mask non-zero = bad, PSF normalised by pyimfit):

* ``ic3478``: IC 3478 "fit E" (``config_sersic_ic3478_256.dat``, Sersic + mask + ``psf_moffat_51.fits``,
  gain 4.725, read noise 4.3, original sky 130.14, data-based chi^2); reference chi^2 68123.904271.
* ``n3073``: NGC 3073 Sersic + Exponential (``imfit_config_n3073.dat``, which itself carries GAIN,
  READNOISE and ORIGINAL_SKY; pyimfit's ``loadData`` picks them up from the parsed config), mask,
  ``psf_moffat_35_n4699z.fits``; reference chi^2 36828.577653 (17 iterations, 196 evaluations).

Each repeat times, separately, the setup (``pyimfit.Imfit(model_desc, psf=...)`` + ``loadData``; the
FITS files and the config are read once, outside the timing) and the fit (``doFit()``, solver "LM",
default ``ftol=1e-8``). ``--repeats`` repeats (default 3); each one and the median are reported.

Threads: like ``pyimfit_eval.py``, ``--threads 1`` (default) passes ``maxThreads=1`` and also pins the
process to one CPU, because pyimfit 1.1's FFTW convolver ignores ``maxThreads`` (see README);
``--threads 0`` = all cores, unpinned.

Human-readable lines go to stdout; the last stdout line is one JSON object.
"""
import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pyimfit
from astropy.io import fits

SHARED_DEFAULT = Path(__file__).resolve().parents[3] / "shared"

CASES = {
    "ic3478": dict(folder="ic3478_sdss_r_sersic_psf_mask", image="ic3478rss_256.fits",
                   mask="ic3478rss_256_mask.fits", psf="psf_moffat_51.fits",
                   config="config_sersic_ic3478_256.dat",
                   noise=dict(gain=4.725, read_noise=4.3, original_sky=130.14),
                   chi2_ref=68123.904271,
                   params_ref=[128.9174, 129.0800, 19.0576, 0.227617, 2.48051, 19.9097, 59.5241]),
    "n3073": dict(folder="n3073_sdss_r_bulge_disk_psf_mask", image="n3073rss_small.fits",
                  mask="n3073rss_small_mask.fits", psf="psf_moffat_35_n4699z.fits",
                  config="imfit_config_n3073.dat",
                  noise={},  # GAIN 4.725, READNOISE 4.3, ORIGINAL_SKY 154.33 come from the config file
                  chi2_ref=36828.577653,
                  params_ref=[100.7073, 97.0877, 111.919, 0.184262, 3.2805, 78.2972, 26.7976,
                              51.724, 0.35226, 39.7753, 53.6058]),
}


def read_fits(path):
    return np.asarray(fits.getdata(path), dtype=np.float64)


def one_run(desc, image, mask, psf, noise, threads):
    t0 = time.perf_counter()
    fitter = pyimfit.Imfit(desc, psf=psf, maxThreads=threads)  # PSF normalised internally
    fitter.loadData(image, mask=mask, **noise)
    t1 = time.perf_counter()
    c1 = time.process_time()
    res = fitter.doFit()  # solver="LM"
    t2 = time.perf_counter()
    cpu = time.process_time() - c1
    if fitter.fitError:
        raise RuntimeError("pyimfit doFit reported a fit error")
    return dict(setup_s=t1 - t0, fit_s=t2 - t1, fit_cpu_over_wall=cpu / (t2 - t1),
                chi2=float(res.fitStat), reduced_chi2=float(res.fitStatReduced),
                n_iter=int(res.nIter), n_func_evals=int(res.nFuncEvals),
                converged=bool(res.fitConverged), n_valid_pixels=int(fitter.nValidPixels),
                params=[float(p) for p in res.params],
                param_errors=[float(e) for e in res.paramErrs])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--shared", type=Path, default=SHARED_DEFAULT, help="shared/ root (default %(default)s)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="pyimfit maxThreads (0 = all cores)")
    ap.add_argument("--no-pin", action="store_true", help="with --threads 1, do not pin to one CPU")
    args = ap.parse_args()
    if args.threads == 1 and not args.no_pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    case = CASES[args.case]
    d = args.shared / "data" / case["folder"]
    image = read_fits(d / case["image"])
    mask = read_fits(d / case["mask"])  # 0 = good, non-zero = bad (pyimfit's default "zero_is_good")
    psf = read_fits(d / case["psf"])
    desc = pyimfit.parse_config_file(str(d / case["config"]))
    names = list(desc.numberedParameterNames)
    start = [float(v) for v in desc.getRawParameters()]
    print(f"pyimfit {pyimfit.__version__}: case {args.case}, image {list(image.shape)}, "
          f"{int(np.count_nonzero(mask))} masked pixels, PSF {list(psf.shape)}, "
          f"{len(names)} parameters, threads {args.threads}, cpus {sorted(os.sched_getaffinity(0))}",
          flush=True)
    print(f"config options: {dict(desc.optionsDict)}; extra loadData kwargs: {case['noise']}", flush=True)

    runs = []
    for i in range(args.repeats):
        r = one_run(desc, image, mask, psf, case["noise"], args.threads)
        runs.append(r)
        print(f"repeat {i + 1}: setup {r['setup_s'] * 1e3:.1f} ms, doFit {r['fit_s']:.3f} s "
              f"(cpu/wall {r['fit_cpu_over_wall']:.2f}), chi2 = {r['chi2']:.6f}, "
              f"{r['n_iter']} iterations, {r['n_func_evals']} evaluations", flush=True)

    last = runs[-1]
    chi2_ref = case["chi2_ref"]
    rel = last["chi2"] / chi2_ref - 1.0
    same = all(r["chi2"] == last["chi2"] for r in runs)
    print(f"final chi2 = {last['chi2']:.6f}, reference {chi2_ref}, relative diff {rel:+.2e} "
          f"({'MATCH' if abs(rel) < 1e-3 else 'MISMATCH'}); identical across repeats: {same}", flush=True)
    print("best fit:", flush=True)
    for n, p, e, pr in zip(names, last["params"], last["param_errors"], case["params_ref"]):
        print(f"  {n:8s} {p:12.6f} +/- {e:.6f}   (reference {pr})", flush=True)
    setup_med = float(np.median([r["setup_s"] for r in runs]))
    fit_med = float(np.median([r["fit_s"] for r in runs]))
    print(f"median over {args.repeats}: setup {setup_med * 1e3:.1f} ms, doFit {fit_med:.3f} s", flush=True)

    out = dict(tool="pyimfit", measurement="doFit", case=args.case, config=case["config"],
               psf=case["psf"], shape=list(image.shape), solver="LM", ftol=1e-8,
               threads=args.threads, cpus=sorted(os.sched_getaffinity(0)), repeats=args.repeats,
               setup_s=[r["setup_s"] for r in runs], fit_s=[r["fit_s"] for r in runs],
               setup_median_s=setup_med, fit_median_s=fit_med,
               fit_cpu_over_wall=[r["fit_cpu_over_wall"] for r in runs],
               chi2=last["chi2"], chi2_all=[r["chi2"] for r in runs], chi2_ref=chi2_ref,
               chi2_rel_diff=rel, reduced_chi2=last["reduced_chi2"], n_iter=last["n_iter"],
               n_func_evals=last["n_func_evals"], converged=last["converged"],
               n_valid_pixels=last["n_valid_pixels"], parameter_names=names, start_params=start,
               params=last["params"], param_errors=last["param_errors"], params_ref=case["params_ref"],
               pyimfit=pyimfit.__version__, numpy=np.__version__, python=platform.python_version(),
               loadavg_1min=os.getloadavg()[0])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
