"""Time PyAutoGalaxy's imaging likelihood of linear models (lp_linear bulge+disk, MGE-30) on a galaxyfit sim dataset.

Runs under the peer venv (``bench/.peers-venv``, made by ``setup_peers.sh``)::

    bench/.peers-venv/bin/python bench/peers/pyag_linear_likelihood.py sim_bulge_disk --model linear_bulge_disk
    bench/.peers-venv/bin/python bench/peers/pyag_linear_likelihood.py sim_bulge_disk --model mge30
    bench/.peers-venv/bin/python bench/peers/pyag_linear_likelihood.py sim_bulge_disk --model mge30 \
        --psf ic3478_sdss_r_sersic_psf_mask/psf_moffat_51.fits
    bench/.peers-venv/bin/python bench/peers/pyag_linear_likelihood.py sim_bulge_disk_200 --model mge30

What it does, with PyAutoGalaxy 2026.10.26.1's own objects only:

* dataset exactly as ``pyag_likelihood.py``'s ``build_dataset`` (``np.flipud`` of data, noise map and PSF,
  optional replacement PSF normalised to unit sum, 3.0" circular mask about (0, 0), default 4x4 over-sampling);
* ``--model linear_bulge_disk``: ``ag.lp_linear.Sersic`` bulge + ``ag.lp_linear.Exponential`` disk, disk centre
  linked to the bulge centre: 9 free (non-linear) parameters; the two intensities are solved by the inversion;
* ``--model mge30``: ``ag.model_util.mge_model_from(mask_radius=3.0, total_gaussians=30)`` as the galaxy's bulge
  (30 linear Gaussians with fixed log-spaced sigmas, shared centre and ell_comps: 4 free parameters);
* the inversion uses PyAutoArray's default positive-only solver (``use_positive_only_solver: true``; fnnls on
  the NumPy path, jaxnnls' interior-point solve on the JAX path), nothing is overridden;
* the parameter vector is **truth-like**, not the prior medians (those put the effective radii at 15"): the
  sim's true geometry (bulge centre, ell_comps, effective_radius, sersic_index; disk ell_comps, effective_radius)
  for ``linear_bulge_disk``, and centre (0, 0) with the bulge's true ell_comps for ``mge30`` -- the same points as
  ``pyag_linear.py``. The value is PyAutoGalaxy's figure of merit, which with an inversion is the log evidence
  (``AnalysisImaging.log_likelihood_function``), on the NumPy path and on the JAX path;
* timings as ``pyag_likelihood.py``: the NumPy path per call (median over ``--n-numpy`` calls); PyAutoFit's
  jitted scalar objective ``Fitness(model, analysis).objective("scalar")`` (= ``jax.jit(Fitness.call)``; compile
  ``lower().compile()`` separately, then the median over ``--n-calls`` calls on vectors perturbed by a relative
  1e-6, ``block_until_ready``); the batched objective ``objective("batched")`` (= ``jax.jit(jax.vmap(...))``)
  over ``--batch`` vectors, per-likelihood time = batch time / batch; and ``objective("value_and_grad")``
  (= ``jax.jit(jax.value_and_grad(Fitness.call))``, reverse mode, the analysis' declared gradient mode) per call,
  compile separately. If an entry fails (vmap or differentiation through the NNLS, say), its error string is
  reported in place of the numbers and the script goes on.

Environment (set by importing ``pyag_likelihood``, before jax is imported): XLA_FLAGS
``--xla_cpu_multi_thread_eigen=false --xla_disable_hlo_passes=constant_folding``, JAX_ENABLE_X64, and no
persistent compile cache (``--jax-cache`` keeps it). The last line of stdout is one JSON object.
"""
import argparse
import json
import os
import platform
import time
import traceback
from pathlib import Path

# Sets XLA_FLAGS, JAX_ENABLE_X64 and JAX_COMPILATION_CACHE_DIR (and --one-cpu) exactly as pyag_likelihood.py
# does, at import, before jax is imported; provides build_dataset, aot_compile_seconds and median_time.
import pyag_likelihood as plk  # noqa: E402  (bench/peers is sys.path[0] when run as a script)

import numpy as np  # noqa: E402

MODELS = ("linear_bulge_disk", "mge30")

# Truth-like geometry (sim/README.md, PyAutoGalaxy conventions), as in pyag_linear.py.
GEOMETRY = {
    "bulge": dict(centre=(0.0, 0.0), ell_comps=(0.0962250449, 0.0555555556), effective_radius=0.6,
                  sersic_index=4.0),
    "disk": dict(centre=(0.0, 0.0), ell_comps=(0.2886751346, -0.1666666667), effective_radius=1.6),
}

# PyAutoGalaxy's NumPy log evidence at these vectors on sim_bulge_disk with its own PSF (pyag_linear.py,
# 2026-12-06; tests/test_inversion.py PYAG_LINEAR).
REFERENCE_100 = {"linear_bulge_disk": 3866.8341556981372, "mge30": 2224.032284590582}


def build_linear_model(af, ag, name, mask_radius):
    if name == "linear_bulge_disk":
        bulge = af.Model(ag.lp_linear.Sersic)
        disk = af.Model(ag.lp_linear.Exponential)
        disk.centre = bulge.centre
        galaxy = af.Model(ag.Galaxy, redshift=0.5, bulge=bulge, disk=disk)
    elif name == "mge30":
        bulge = ag.model_util.mge_model_from(mask_radius=mask_radius, total_gaussians=30)
        galaxy = af.Model(ag.Galaxy, redshift=0.5, bulge=bulge)
    else:
        raise ValueError(name)
    return af.Collection(galaxies=af.Collection(galaxy=galaxy))


def fixed_vector(model, name):
    """The truth-like vector in ``model.prior_tuples_ordered_by_id`` order (the order instance_from_vector uses)."""
    first_path = {}
    for path, prior in model.path_priors_tuples:  # linked priors appear once per path
        first_path.setdefault(prior.id, path)
    values = []
    for _, prior in model.prior_tuples_ordered_by_id:
        path = first_path[prior.id]
        comp, key = path[2], path[-1]  # mge: ('galaxies', 'galaxy', 'bulge', 'profile_list', 'i', 'centre', 'centre_0')
        geo = GEOMETRY["bulge"] if name == "mge30" else GEOMETRY[comp]
        if key[-2:] in ("_0", "_1") and key[:-2] in geo:
            values.append(geo[key[:-2]][int(key[-1])])
        else:
            values.append(geo[key])
    return np.array(values, dtype=np.float64)


def error_text(exc):
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    return f"{type(exc).__name__}: {first[:400]}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", help="sim folder name (sim_bulge_disk, _200, _400) or a path")
    ap.add_argument("--model", choices=MODELS, default="linear_bulge_disk")
    ap.add_argument("--shared", type=Path, default=plk.SHARED_DEFAULT, help="shared/ root (default %(default)s)")
    ap.add_argument("--psf", default=None, help="replacement PSF FITS (path, or relative to shared/data)")
    ap.add_argument("--mask-radius", type=float, default=3.0)
    ap.add_argument("--n-calls", type=int, default=50, help="timed jit calls (also the value_and_grad calls)")
    ap.add_argument("--n-numpy", type=int, default=10, help="timed numpy calls (0 = skip)")
    ap.add_argument("--batch", type=int, default=64, help="vmap batch size (0 = skip)")
    ap.add_argument("--n-batches", type=int, default=3)
    ap.add_argument("--no-grad", action="store_true", help="skip value_and_grad")
    ap.add_argument("--jax-cache", action="store_true", help="keep autonerves' persistent compile cache")
    ap.add_argument("--one-cpu", action="store_true", help="pin the process to one CPU")
    args = ap.parse_args()

    folder, psf_path = plk.data_paths(args)
    t_import = time.perf_counter()
    jax, af, ag, Fitness = plk.import_peers()
    t_import = time.perf_counter() - t_import

    t0 = time.perf_counter()
    dataset, ps = plk.build_dataset(ag, folder, psf_path, args.mask_radius)
    model = build_linear_model(af, ag, args.model, args.mask_radius)
    v_fix = fixed_vector(model, args.model)
    n_params = model.prior_count
    rng = np.random.default_rng(1)
    scale = np.where(v_fix != 0, np.abs(v_fix) * 1e-6, 1e-7)  # as pyag_likelihood.py

    def perturbed(n):
        return v_fix + scale * rng.standard_normal((n, n_params))

    names = [n.replace("galaxies.galaxy.", "") for n in model.model_component_and_parameter_names]
    result = dict(tool="PyAutoGalaxy", measurement="linear_likelihood", model=args.model,
                  dataset=folder.name, shape=list(dataset.shape_native), pixel_scale=ps,
                  psf=str(psf_path.name if psf_path else "psf.fits"),
                  psf_shape=list(dataset.psf.kernel.shape_native),
                  n_unmasked=int(dataset.mask.pixels_in_mask), over_sample_size_lp=4,
                  n_params=n_params, parameter_names=names, vector="truth-like", vector_values=v_fix.tolist(),
                  import_s=t_import)

    # --- numpy path -------------------------------------------------------------------------------
    analysis_np = ag.AnalysisImaging(dataset=dataset, use_jax=False)
    fit = analysis_np.fit_from(model.instance_from_vector(v_fix))
    logl_np = float(analysis_np.log_likelihood_function(model.instance_from_vector(v_fix)))
    result.update(log_likelihood=logl_np, figure_of_merit=float(fit.figure_of_merit),
                  chi_squared=float(fit.chi_squared),
                  n_linear=int(len(np.asarray(fit.inversion.reconstruction))),
                  intensities=[float(x) for x in np.asarray(fit.inversion.reconstruction)],
                  use_positive_only_solver=bool(fit.inversion.settings.use_positive_only_solver),
                  setup_s=time.perf_counter() - t0)
    print(f"{folder.name} {args.model}: {n_params} parameters, {result['n_linear']} linear, "
          f"{result['n_unmasked']} unmasked; numpy log evidence (figure of merit) = {logl_np!r}, "
          f"chi^2 = {fit.chi_squared!r}", flush=True)
    if folder.name == "sim_bulge_disk" and psf_path is None:
        ref = REFERENCE_100[args.model]
        rel = abs(logl_np / ref - 1.0)
        result.update(log_likelihood_reference=ref, log_likelihood_rel_diff=rel)
        print(f"reference {ref!r} (pyag_linear.py): relative difference {rel:.2e}", flush=True)

    if args.n_numpy > 0:
        f_np = lambda v: analysis_np.log_likelihood_function(model.instance_from_vector(v))  # noqa: E731
        f_np(v_fix)  # warm-up
        result["numpy_per_call_s"], _ = plk.median_time(f_np, perturbed(args.n_numpy))
        result["n_numpy"] = args.n_numpy
        print(f"numpy: {result['numpy_per_call_s'] * 1e3:.3f} ms / likelihood", flush=True)

    # --- JAX path: PyAutoFit's own objectives -------------------------------------------------------
    analysis = ag.AnalysisImaging(dataset=dataset, use_jax=True)
    fitness = Fitness(model=model, analysis=analysis)  # log likelihood (figure of merit), no prior
    v0 = jax.numpy.asarray(v_fix)

    try:
        scalar = fitness.objective("scalar")  # jax.jit(fitness.call)
        result["compile_s"] = plk.aot_compile_seconds(scalar, v0)
        t0 = time.perf_counter()
        logl_jax = float(scalar(v0).block_until_ready())
        result["first_call_s"] = time.perf_counter() - t0
        result["log_likelihood_jax"] = logl_jax
        result["jax_vs_numpy_rel_diff"] = abs(logl_jax / logl_np - 1.0)
        print(f"jax jit: log evidence = {logl_jax!r} (rel. diff. to numpy {result['jax_vs_numpy_rel_diff']:.2e}), "
              f"compile {result['compile_s']:.2f} s, first call after it {result['first_call_s']:.3f} s",
              flush=True)
        vs = [jax.numpy.asarray(v) for v in perturbed(args.n_calls + 3)]
        for v in vs[:3]:
            scalar(v).block_until_ready()
        result["per_call_s"], times = plk.median_time(lambda v: scalar(v).block_until_ready(), vs[3:])
        result["per_call_min_s"] = float(np.min(times))
        result["n_calls"] = args.n_calls
        print(f"jax jit: {result['per_call_s'] * 1e3:.3f} ms / likelihood (median of {args.n_calls})", flush=True)
    except Exception as exc:  # noqa: BLE001
        result["jit_error"] = error_text(exc)
        logl_jax = None
        print(f"jax jit FAILED: {result['jit_error']}\n{traceback.format_exc()}", flush=True)

    if args.batch > 0:
        try:
            batched = fitness.objective("batched")  # jax.jit(jax.vmap(fitness.call))
            vb = jax.numpy.asarray(perturbed(args.batch))
            result["batched_compile_s"] = plk.aot_compile_seconds(batched, vb)
            t0 = time.perf_counter()
            out = np.asarray(batched(vb).block_until_ready())
            result["batched_first_call_s"] = time.perf_counter() - t0
            result["batched_all_finite"] = bool(np.all(np.isfinite(out)))
            if logl_jax is not None:
                result["batched_max_abs_diff_vs_fixed"] = float(np.max(np.abs(out - logl_jax)))
            batches = [jax.numpy.asarray(perturbed(args.batch)) for _ in range(args.n_batches + 1)]
            batched(batches[0]).block_until_ready()
            t_batch, _ = plk.median_time(lambda b: batched(b).block_until_ready(), batches[1:])
            result.update(batch_size=args.batch, batched_call_s=t_batch,
                          batched_per_call_s=t_batch / args.batch, n_batches=args.n_batches)
            print(f"jax jit(vmap): batch of {args.batch} in {t_batch:.3f} s = "
                  f"{t_batch / args.batch * 1e3:.3f} ms / likelihood (compile {result['batched_compile_s']:.2f} s, "
                  f"first call after it {result['batched_first_call_s']:.2f} s; max |batch - fixed| = "
                  f"{result.get('batched_max_abs_diff_vs_fixed', float('nan')):.3g})", flush=True)
        except Exception as exc:  # noqa: BLE001
            result["batched_error"] = error_text(exc)
            print(f"jax jit(vmap) FAILED: {result['batched_error']}\n{traceback.format_exc()}", flush=True)

    if not args.no_grad:
        try:
            vg = fitness.objective("value_and_grad")  # jax.jit(jax.value_and_grad(fitness.call)), reverse mode
            result["grad_mode"] = fitness._resolved_gradient_mode("value_and_grad")
            result["grad_compile_s"] = plk.aot_compile_seconds(vg, v0)
            t0 = time.perf_counter()
            val, grad = vg(v0)
            grad = np.asarray(jax.block_until_ready(grad))
            result["grad_first_call_s"] = time.perf_counter() - t0
            result.update(grad_value=float(val), grad=grad.tolist(), grad_all_finite=bool(np.all(np.isfinite(grad))))
            if "per_call_s" in result:  # central differences of the jitted scalar objective, as a sanity check
                h = np.maximum(np.abs(v_fix), 0.1) * 1e-5
                fd = np.array([(float(scalar(v0.at[i].add(h[i]))) - float(scalar(v0.at[i].add(-h[i])))) / (2 * h[i])
                               for i in range(n_params)])
                result["grad_central_diff"] = fd.tolist()
                result["grad_vs_central_diff_max_rel"] = float(np.max(np.abs(grad - fd)) / np.max(np.abs(fd)))
            vs = [jax.numpy.asarray(v) for v in perturbed(args.n_calls + 3)]
            for v in vs[:3]:
                jax.block_until_ready(vg(v))
            result["grad_per_call_s"], _ = plk.median_time(lambda v: jax.block_until_ready(vg(v)), vs[3:])
            print(f"jax value_and_grad: {result['grad_per_call_s'] * 1e3:.3f} ms / call (compile "
                  f"{result['grad_compile_s']:.2f} s); value {float(val)!r}, gradient finite: "
                  f"{result['grad_all_finite']}, |grad| = {np.linalg.norm(grad):.4g}, "
                  f"max |grad - central diff.| / max |central diff.| = "
                  f"{result.get('grad_vs_central_diff_max_rel', float('nan')):.2e}", flush=True)
        except Exception as exc:  # noqa: BLE001
            result["grad_error"] = error_text(exc)
            print(f"jax value_and_grad FAILED: {result['grad_error']}\n{traceback.format_exc()}", flush=True)

    import importlib.metadata as md
    result["versions"] = {p: md.version(p) for p in
                          ["autogalaxy", "autoarray", "autofit", "jax", "jaxlib", "jaxnnls", "numpy", "scipy"]}
    result["versions"]["python"] = platform.python_version()
    result["xla_flags"] = os.environ["XLA_FLAGS"]
    result["jax_compile_cache"] = bool(os.environ.get("JAX_COMPILATION_CACHE_DIR"))
    result["cpus"] = sorted(os.sched_getaffinity(0))
    result["loadavg_1min_end"] = os.getloadavg()[0]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
