"""Time PyAutoGalaxy's bulge+disk imaging likelihood on a galaxyfit sim dataset.

Runs under the peer venv (``bench/.peers-venv``, made by ``setup_peers.sh``)::

    bench/.peers-venv/bin/python bench/peers/pyag_likelihood.py sim_bulge_disk
    bench/.peers-venv/bin/python bench/peers/pyag_likelihood.py sim_bulge_disk \
        --psf ic3478_sdss_r_sersic_psf_mask/psf_moffat_51.fits

What it does, with PyAutoGalaxy 2026.10.26.1's own objects only:

* builds ``ag.Imaging`` from the FITS arrays, flipped with ``np.flipud`` (our FITS arrays have row 0 at
  the bottom, PyAutoGalaxy has row 0 at the top), optionally with a replacement PSF (normalised to
  unit sum), masks a 3.0" circle about (0, 0) and keeps the default 4x4 over-sampling;
* model: ``ag.lp.Sersic`` bulge + ``ag.lp.Exponential`` disk (non-linear intensities) with the disk
  centre linked to the bulge centre (11 free parameters; ``--separate-centres`` gives 13);
* prints the log likelihood at the true parameters (numpy path and JAX path);
* times PyAutoFit's own objectives, ``Fitness(model, analysis).objective("scalar")`` (=
  ``jax.jit(Fitness.call)``) and ``objective("batched")`` (= ``jax.jit(jax.vmap(Fitness.call))``),
  which are what its searches call: the compile (``compile_s``: ``lower(...).compile()`` of the same
  jitted function before any call; the first call then reuses it) and the first call after it
  (``first_call_s``) separately from steady state (median over calls with slightly
  perturbed parameter vectors, ``block_until_ready``), plus the numpy path
  (``instance_from_vector`` + ``AnalysisImaging(use_jax=False).log_likelihood_function``).

The last line of stdout is one JSON object with the results.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

# Must be set before jax is imported. Batched XLA FFTs hang on 2-core machines with the default
# multi-threaded Eigen (PyAutoFit #1528/#1530). Constant folding off is what autonerves (PyAutoGalaxy's
# config layer) sets anyway. The persistent compile cache that autonerves enables is turned off so
# that the measured compile time is a real compile, not a disk-cache hit (--jax-cache keeps it).
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_multi_thread_eigen=false"
                           " --xla_disable_hlo_passes=constant_folding").strip()
os.environ["JAX_ENABLE_X64"] = "True"
if "--jax-cache" not in sys.argv:
    os.environ["JAX_COMPILATION_CACHE_DIR"] = ""
if "--one-cpu" in sys.argv:  # before jax starts its thread pools
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import numpy as np  # noqa: E402
from astropy.io import fits  # noqa: E402

SHARED_DEFAULT = Path(__file__).resolve().parents[3] / "shared"

# True parameters of the sim datasets (sim/README.md), in PyAutoGalaxy's conventions.
TRUTH = {
    "bulge": dict(centre=(0.0, 0.0), ell_comps=(0.0962250449, 0.0555555556), intensity=1.0,
                  effective_radius=0.6, sersic_index=4.0),
    "disk": dict(centre=(0.0, 0.0), ell_comps=(0.2886751346, -0.1666666667), intensity=0.25,
                 effective_radius=1.6),
}
TRUTH_LOGL_100 = 3862.143201886324  # reference value on sim_bulge_disk (sim/README.md)


def read_fits(path):
    return np.asarray(fits.getdata(path), dtype=np.float64)


def data_paths(args):
    """(dataset folder, replacement PSF path or None) from ``args.dataset`` / ``args.psf``: paths as given, else
    names under ``args.shared``."""
    folder = Path(args.dataset)
    if not folder.is_dir():
        folder = args.shared / "data" / "sim" / args.dataset
    psf_path = None
    if args.psf:
        psf_path = Path(args.psf)
        if not psf_path.is_file():
            psf_path = args.shared / "data" / args.psf
    return folder, psf_path


def import_peers():
    """(jax, autofit, autogalaxy, Fitness), with float64 on; imported late so that XLA_FLAGS apply and the import is
    timed."""
    import jax
    import autofit as af
    import autogalaxy as ag
    from autofit.non_linear.fitness import Fitness
    jax.config.update("jax_enable_x64", True)
    return jax, af, ag, Fitness


def build_dataset(ag, folder, psf_path, mask_radius):
    """Imaging with data, noise map and PSF flipped to PyAutoGalaxy's row order, masked."""
    info = json.loads((folder / "sim_info.json").read_text())
    ps = float(info["pixel_scale"])
    data = np.flipud(read_fits(folder / "data.fits"))
    noise = np.flipud(read_fits(folder / "noise_map.fits"))
    kernel = np.flipud(read_fits(psf_path or folder / "psf.fits"))
    kernel = kernel / kernel.sum()
    dataset = ag.Imaging(
        data=ag.Array2D.no_mask(values=data, pixel_scales=ps),
        noise_map=ag.Array2D.no_mask(values=noise, pixel_scales=ps),
        psf=ag.Convolver(kernel=ag.Array2D.no_mask(values=kernel, pixel_scales=ps)),
    )  # default over_sample_size_lp=4
    mask = ag.Mask2D.circular(shape_native=dataset.shape_native, pixel_scales=ps,
                              radius=mask_radius, centre=(0.0, 0.0))
    return dataset.apply_mask(mask=mask), ps


def build_model(af, ag, separate_centres=False):
    bulge = af.Model(ag.lp.Sersic)
    disk = af.Model(ag.lp.Exponential)
    if not separate_centres:
        disk.centre = bulge.centre
    galaxy = af.Model(ag.Galaxy, redshift=0.5, bulge=bulge, disk=disk)
    return af.Collection(galaxies=af.Collection(galaxy=galaxy))


def truth_vector(model):
    """Physical parameter vector of the truth, in the model's own parameter order."""
    first_path = {}
    for path, prior in model.path_priors_tuples:  # linked priors appear once per path
        first_path.setdefault(prior.id, path)  # e.g. ('galaxies', 'galaxy', 'bulge', 'centre', 'centre_0')
    values = []
    for _, prior in model.prior_tuples_ordered_by_id:  # the order instance_from_vector uses
        path = first_path[prior.id]
        comp, name = path[2], path[-1]
        if name[-2:] in ("_0", "_1") and name[:-2] in TRUTH[comp]:
            values.append(TRUTH[comp][name[:-2]][int(name[-1])])
        else:
            values.append(TRUTH[comp][name])
    return np.array(values, dtype=np.float64)


def aot_compile_seconds(objective, example):
    """Seconds to trace, lower and XLA-compile a jitted objective (ahead of time, nothing executed)."""
    jitted = getattr(objective, "__wrapped__", objective)  # autofit wraps jax.jit in a compile logger
    t0 = time.perf_counter()
    jitted.lower(example).compile()
    return time.perf_counter() - t0


def median_time(fn, args_list):
    times = []
    for a in args_list:
        t0 = time.perf_counter()
        fn(a)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", help="sim folder name (sim_bulge_disk, _200, _400) or a path")
    ap.add_argument("--shared", type=Path, default=SHARED_DEFAULT, help="shared/ root (default %(default)s)")
    ap.add_argument("--psf", default=None, help="replacement PSF FITS (path, or relative to shared/data)")
    ap.add_argument("--mask-radius", type=float, default=3.0)
    ap.add_argument("--separate-centres", action="store_true", help="13 parameters instead of 11")
    ap.add_argument("--n-calls", type=int, default=200, help="timed jit calls")
    ap.add_argument("--n-numpy", type=int, default=20, help="timed numpy calls (0 = skip)")
    ap.add_argument("--batch", type=int, default=256, help="vmap batch size (0 = skip)")
    ap.add_argument("--n-batches", type=int, default=5)
    ap.add_argument("--jax-cache", action="store_true", help="keep autonerves' persistent compile cache")
    ap.add_argument("--one-cpu", action="store_true",
                    help="pin the process to one CPU (single-core timing, like pyimfit_eval.py --threads 1)")
    args = ap.parse_args()

    folder, psf_path = data_paths(args)
    t_import = time.perf_counter()
    jax, af, ag, Fitness = import_peers()
    t_import = time.perf_counter() - t_import

    t0 = time.perf_counter()
    dataset, ps = build_dataset(ag, folder, psf_path, args.mask_radius)
    model = build_model(af, ag, args.separate_centres)
    v_true = truth_vector(model)
    n_params = model.prior_count
    rng = np.random.default_rng(1)
    # Relative perturbations of 1e-6 (absolute 1e-7 for parameters that are 0): nothing is cached,
    # the likelihood barely changes.
    scale = np.where(v_true != 0, np.abs(v_true) * 1e-6, 1e-7)

    def perturbed(n):
        return v_true + scale * rng.standard_normal((n, n_params))

    result = dict(tool="PyAutoGalaxy", dataset=folder.name, shape=list(dataset.shape_native),
                  pixel_scale=ps, psf=str(psf_path.name if psf_path else "psf.fits"),
                  psf_shape=list(dataset.psf.kernel.shape_native),
                  n_unmasked=int(dataset.mask.pixels_in_mask), over_sample_size_lp=4,
                  n_params=n_params, parameter_names=[n.replace("galaxies.galaxy.", "")
                                   for n in model.model_component_and_parameter_names],
                  import_s=t_import)

    # --- numpy path -------------------------------------------------------------------------
    analysis_np = ag.AnalysisImaging(dataset=dataset, use_jax=False)
    fit = analysis_np.fit_from(model.instance_from_vector(v_true))
    result["log_likelihood_truth"] = float(fit.log_likelihood)
    result["chi_squared_truth"] = float(fit.chi_squared)
    result["setup_s"] = time.perf_counter() - t0
    print(f"numpy: log L(truth) = {fit.log_likelihood!r}  chi^2 = {fit.chi_squared!r}  "
          f"unmasked = {result['n_unmasked']}", flush=True)
    if folder.name == "sim_bulge_disk" and psf_path is None:
        rel = abs(fit.log_likelihood / TRUTH_LOGL_100 - 1.0)
        result["log_likelihood_reference"] = TRUTH_LOGL_100
        result["log_likelihood_rel_diff"] = rel
        print(f"reference {TRUTH_LOGL_100!r}: relative difference {rel:.2e} "
              f"({'MATCH' if rel < 1e-6 else 'MISMATCH'})", flush=True)

    if args.n_numpy > 0:
        f_np = lambda v: analysis_np.log_likelihood_function(model.instance_from_vector(v))  # noqa: E731
        f_np(v_true)  # warm-up
        result["numpy_per_call_s"], _ = median_time(f_np, perturbed(args.n_numpy))
        print(f"numpy: {result['numpy_per_call_s'] * 1e3:.3f} ms / likelihood", flush=True)

    # --- JAX path: PyAutoFit's own jitted objectives ---------------------------------------
    analysis = ag.AnalysisImaging(dataset=dataset, use_jax=True)
    fitness = Fitness(model=model, analysis=analysis)  # log likelihood, no prior
    scalar = fitness.objective("scalar")  # jax.jit(fitness.call)

    v0 = jax.numpy.asarray(v_true)
    result["compile_s"] = aot_compile_seconds(scalar, v0)  # trace + lower + compile, before any call
    t0 = time.perf_counter()
    logl_jax = float(scalar(v0).block_until_ready())
    result["first_call_s"] = time.perf_counter() - t0  # after the compile above
    result["log_likelihood_truth_jax"] = logl_jax
    print(f"jax jit: log L(truth) = {logl_jax!r}, compile {result['compile_s']:.2f} s, "
          f"first call after it {result['first_call_s']:.3f} s", flush=True)

    vs = [jax.numpy.asarray(v) for v in perturbed(args.n_calls + 5)]
    for v in vs[:5]:
        scalar(v).block_until_ready()
    result["per_call_s"], times = median_time(lambda v: scalar(v).block_until_ready(), vs[5:])
    result["per_call_min_s"] = float(np.min(times))
    result["n_calls"] = args.n_calls
    print(f"jax jit: {result['per_call_s'] * 1e3:.3f} ms / likelihood (median of {args.n_calls})",
          flush=True)

    if args.batch > 0:
        batched = fitness.objective("batched")  # jax.jit(jax.vmap(fitness.call))
        vb = jax.numpy.asarray(perturbed(args.batch))
        result["batched_compile_s"] = aot_compile_seconds(batched, vb)
        t0 = time.perf_counter()
        out = batched(vb).block_until_ready()
        result["batched_first_call_s"] = time.perf_counter() - t0
        result["batched_max_abs_diff_vs_truth"] = float(np.max(np.abs(np.asarray(out) - logl_jax)))
        batches = [jax.numpy.asarray(perturbed(args.batch)) for _ in range(args.n_batches + 1)]
        batched(batches[0]).block_until_ready()
        t_batch, _ = median_time(lambda b: batched(b).block_until_ready(), batches[1:])
        result.update(batch_size=args.batch, batched_call_s=t_batch,
                      batched_per_call_s=t_batch / args.batch, n_batches=args.n_batches)
        print(f"jax jit(vmap): batch of {args.batch} in {t_batch:.3f} s = "
              f"{t_batch / args.batch * 1e3:.3f} ms / likelihood "
              f"(compile {result['batched_compile_s']:.2f} s, first call after it "
              f"{result['batched_first_call_s']:.2f} s)", flush=True)

    import importlib.metadata as md
    result["versions"] = {p: md.version(p) for p in
                          ["autogalaxy", "autoarray", "autofit", "jax", "jaxlib", "numpy", "scipy"]}
    result["versions"]["python"] = platform.python_version()
    result["xla_flags"] = os.environ["XLA_FLAGS"]
    result["jax_compile_cache"] = bool(os.environ.get("JAX_COMPILATION_CACHE_DIR"))
    result["cpus"] = sorted(os.sched_getaffinity(0))
    result["loadavg_1min_end"] = os.getloadavg()[0]  # other load on the machine skews timings
    print(json.dumps(result))


if __name__ == "__main__":
    main()
