"""Time PyAutoGalaxy's default Nautilus search on the 13-parameter bulge+disk fit (or an MGE-30) of a sim dataset.

Runs under the peer venv (``bench/.peers-venv``, made by ``setup_peers.sh``)::

    bench/.peers-venv/bin/python bench/peers/pyag_nested.py                      # n_live 200, ~6-8 min on 2 cores
    bench/.peers-venv/bin/python bench/peers/pyag_nested.py --n-live 50 --n-like-max 2000   # quick smoke run
    bench/.peers-venv/bin/python bench/peers/pyag_nested.py --model mge30        # MGE-30, 4 parameters

What it does, with PyAutoGalaxy 2026.10.26.1's own objects only:

* dataset exactly as ``pyag_likelihood.py``'s ``build_dataset`` (``np.flipud`` of data, noise map and
  PSF, 3.0" circular mask about (0, 0), default 4x4 over-sampling);
* model (``--model bulge_disk``, the default): ``ag.lp.Sersic`` bulge + ``ag.lp.Exponential`` disk with
  separate centres (13 free parameters), non-linear intensities, PyAutoGalaxy's default priors (printed, and
  listed in the JSON);
* ``--model mge30``: ``ag.model_util.mge_model_from(mask_radius=3.0, total_gaussians=30)`` as the galaxy's bulge
  (30 linear Gaussians, shared centre and ell_comps free: 4 parameters; centre priors Uniform(-0.1, 0.1),
  ell_comps TruncatedGaussian(0, 0.3, +-1), its defaults). The 30 intensities are solved by PyAutoArray's
  default positive-only inversion and the likelihood is the log evidence (``pyag_linear_likelihood.py``'s
  ``build_linear_model``). Its "truth" is the truth-like geometry: centre (0, 0), the bulge's ell_comps;
* ``ag.AnalysisImaging(dataset)`` with its default ``use_jax=True`` (``--no-jax``: numpy path);
* ``af.Nautilus(n_live=--n-live, number_of_cores=1, [n_like_max=--n-like-max], [seed=--seed])``, every
  other setting autofit's default (n_batch 100, n_networks 4, n_eff 500, f_live 0.01, n_shell 1,
  enlarge_per_dim 1.1, split_threshold 100, n_update/n_points_min/n_like_new_bound = nautilus's own,
  discard_exploration False, seed None, checkpoint True). With a JAX analysis autofit runs nautilus
  in-process with ``vectorized=True`` and ``likelihood=Fitness.call_wrap`` on the batched objective
  ``jax.jit(jax.vmap(Fitness.call))`` (``Nautilus.fitness_overrides``, ``fit_x1_cpu``);
* output goes to a fresh ``tempfile.mkdtemp`` folder under /tmp (set as autonerves'
  ``conf.instance.output_path``), so nothing lands in the repo and nothing can be resumed; it is deleted
  at the end unless ``--keep-output``.

Measured: wall time of ``search.fit`` (everything: pre-fit output, visualization warm-up, sampling,
samples/result output and plots); the sampler phase alone (``Nautilus.fit_x1_cpu``, instrumented by
wrapping it on the instance); time inside the likelihood (``Fitness.call_wrap``, which nautilus calls
with each batch), the batch sizes seen and JAX compile time (sum of jax.monitoring's trace, MLIR
lowering and backend-compile durations; every distinct batch length is a new compile). Results: number
of likelihood evaluations, max log L (truth: 3862.143201886324; mge30 at the truth-like geometry:
2224.032284590582), log evidence with nautilus's
1/sqrt(n_eff) as its error, the max-likelihood and median-PDF vectors next to the truth.

Environment (set by importing ``pyag_likelihood``, before jax is imported): XLA_FLAGS
``--xla_cpu_multi_thread_eigen=false --xla_disable_hlo_passes=constant_folding``, JAX_ENABLE_X64, and
no persistent compile cache (``--jax-cache`` keeps it). The last line of stdout is one JSON object.
"""
import argparse
import collections
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

# Sets XLA_FLAGS, JAX_ENABLE_X64 and JAX_COMPILATION_CACHE_DIR exactly as pyag_likelihood.py does (at
# import, before jax is imported), and provides the shared dataset/model/truth helpers.
import pyag_likelihood as plk  # noqa: E402  (bench/peers is sys.path[0] when run as a script)

import numpy as np  # noqa: E402

NAUTILUS_DEFAULTS = ("n_batch", "n_networks", "n_eff", "f_live", "n_shell", "enlarge_per_dim",
                     "split_threshold", "n_update", "n_points_min", "n_like_new_bound",
                     "discard_exploration", "seed", "checkpoint", "iterations_per_quick_update",
                     "iterations_per_full_update")


def value_at_path(instance, path):
    """The value a model instance holds for a prior path, e.g. (..., 'centre', 'centre_0') -> centre[0]."""
    obj = instance
    for name in path[:-1]:
        obj = obj[int(name)] if name.isdigit() and isinstance(obj, (list, tuple)) else getattr(obj, name)
    last = path[-1]
    if len(path) >= 2 and last.startswith(path[-2] + "_") and isinstance(obj, (tuple, list)):
        return float(obj[int(last[len(path[-2]) + 1:])])
    return float(getattr(obj, last))


def vector_from_instance(model, instance):
    """Instance -> parameter vector in ``model.prior_tuples_ordered_by_id`` order (as truth_vector)."""
    first_path = {}
    for path, prior in model.path_priors_tuples:
        first_path.setdefault(prior.id, path)
    return np.array([value_at_path(instance, first_path[prior.id])
                     for _, prior in model.prior_tuples_ordered_by_id])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", nargs="?", default="sim_bulge_disk", help="sim folder name or a path")
    ap.add_argument("--shared", type=Path, default=plk.SHARED_DEFAULT, help="shared/ root (default %(default)s)")
    ap.add_argument("--model", choices=("bulge_disk", "mge30"), default="bulge_disk",
                    help="bulge_disk: 13-parameter Sersic + Exponential (default); mge30: mge_model_from(mask_radius, 30)")
    ap.add_argument("--mask-radius", type=float, default=3.0)
    ap.add_argument("--n-live", type=int, default=200)
    ap.add_argument("--n-like-max", type=float, default=None,
                    help="stop after about this many likelihood calls (autofit's Nautilus n_like_max; "
                         "default: none, i.e. run to convergence)")
    ap.add_argument("--seed", type=int, default=None, help="search seed (default None, as autofit)")
    ap.add_argument("--no-jax", action="store_true", help="AnalysisImaging(use_jax=False)")
    ap.add_argument("--jax-cache", action="store_true", help="keep autonerves' persistent compile cache")
    ap.add_argument("--keep-output", action="store_true", help="keep the /tmp output folder")
    args = ap.parse_args()

    folder = Path(args.dataset)
    if not folder.is_dir():
        folder = args.shared / "data" / "sim" / args.dataset

    t_import = time.perf_counter()
    import jax
    import jax.monitoring
    import autofit as af
    import autogalaxy as ag
    from autonerves import conf
    jax.config.update("jax_enable_x64", True)
    t_import = time.perf_counter() - t_import

    # --- JAX compile accounting ---------------------------------------------------------------
    compile_log = []  # (event, seconds, wall clock)
    compile_events = ("/jax/core/compile/jaxpr_trace_duration",
                      "/jax/core/compile/jaxpr_to_mlir_module_duration",
                      "/jax/core/compile/backend_compile_duration")

    def on_duration(event, duration, **kwargs):
        if event in compile_events:
            compile_log.append((event, float(duration), time.perf_counter()))

    jax.monitoring.register_event_duration_secs_listener(on_duration)

    def compile_stats(t_from=-np.inf, t_to=np.inf):
        sel = [(e, d) for e, d, t in compile_log if t_from <= t <= t_to]
        return dict(total_s=sum(d for _, d in sel),
                    backend_compile_s=sum(d for e, d in sel if e == compile_events[2]),
                    n_backend_compiles=sum(1 for e, _ in sel if e == compile_events[2]))

    # --- dataset, model, analysis --------------------------------------------------------------
    dataset, ps = plk.build_dataset(ag, folder, None, args.mask_radius)
    if args.model == "mge30":
        import pyag_linear_likelihood as pll
        model = pll.build_linear_model(af, ag, "mge30", args.mask_radius)
        v_true = pll.fixed_vector(model, "mge30")  # truth-like: centre (0, 0), the bulge's ell_comps
        logl_reference = pll.REFERENCE_100["mge30"]
    else:
        model = plk.build_model(af, ag, separate_centres=True)
        v_true = plk.truth_vector(model)
        logl_reference = plk.TRUTH_LOGL_100
    names = [n.replace("galaxies.galaxy.", "") for n in model.model_component_and_parameter_names]
    priors = [f"{n}: {p}" for n, (_, p) in zip(names, model.prior_tuples_ordered_by_id)]
    analysis_np = ag.AnalysisImaging(dataset=dataset, use_jax=False)
    logl_truth = float(analysis_np.log_likelihood_function(model.instance_from_vector(v_true)))
    analysis = (ag.AnalysisImaging(dataset=dataset, use_jax=False) if args.no_jax
                else ag.AnalysisImaging(dataset=dataset))  # autogalaxy default: use_jax=True
    print(f"{folder.name} {args.model}: {dataset.mask.pixels_in_mask} unmasked pixels, {model.prior_count} parameters, "
          f"log L(truth) = {logl_truth!r}, analysis.is_jax = {analysis.is_jax}", flush=True)
    print("priors (PyAutoGalaxy defaults):\n  " + "\n  ".join(priors), flush=True)

    # --- search ----------------------------------------------------------------------------------
    out_root = Path(tempfile.mkdtemp(prefix="pyag_nested_", dir="/tmp"))  # fresh: nothing to resume
    conf.instance.output_path = str(out_root)
    search_kwargs = dict(path_prefix="bench", name="pyag_nested", n_live=args.n_live, number_of_cores=1)
    if args.n_like_max is not None:
        search_kwargs["n_like_max"] = args.n_like_max
    if args.seed is not None:
        search_kwargs["seed"] = args.seed
    search = af.Nautilus(**search_kwargs)
    settings = {k: getattr(search, k, None) for k in ("n_live", "n_like_max") + NAUTILUS_DEFAULTS}
    settings = {k: (v if isinstance(v, (int, float, bool, str, type(None))) else str(v))
                for k, v in settings.items()}
    if settings.get("n_like_max") == float("inf"):
        settings["n_like_max"] = "inf"
    print(f"Nautilus settings: {settings}; output in {out_root}", flush=True)

    # Instrument the sampler phase (fit_x1_cpu for JAX; fit_multiprocessing for numpy) and the
    # likelihood nautilus calls (fitness.call_wrap) without changing what they do.
    probe = dict(calls=[], sampler=None, fitness=None, phase=None)  # calls: (n points, start, seconds)

    def instrument(method_name):
        original = getattr(search, method_name)

        def wrapped(fitness, *a, **kw):
            probe["fitness"] = fitness
            call_wrap = fitness.call_wrap

            def timed_call_wrap(parameters):
                t0 = time.perf_counter()
                out = np.asarray(call_wrap(parameters))  # materialises the jax result
                dt = time.perf_counter() - t0
                probe["calls"].append((1 if np.ndim(parameters) == 1 else len(parameters), t0, dt))
                return out

            fitness.call_wrap = timed_call_wrap  # the sampler is built with likelihood=fitness.call_wrap
            t0 = time.perf_counter()
            sampler = original(fitness, *a, **kw)
            probe["phase"] = (t0, time.perf_counter())
            probe["sampler"] = sampler
            return sampler

        setattr(search, method_name, wrapped)

    instrument("fit_x1_cpu")
    instrument("fit_multiprocessing")

    t0 = time.perf_counter()
    result = search.fit(model=model, analysis=analysis)
    t_fit_end = time.perf_counter()
    t_fit = t_fit_end - t0

    # --- results ---------------------------------------------------------------------------------
    sampler = probe["sampler"] or getattr(result, "search_internal", None)
    samples = result.samples
    s0, s1 = probe["phase"] if probe["phase"] else (np.nan, np.nan)
    comp_all = compile_stats(t0, t_fit_end)
    comp_sampler = compile_stats(s0, s1)
    calls_in = [c for c in probe["calls"] if s0 <= c[1] <= s1]  # the ones nautilus made
    calls_out = [c for c in probe["calls"] if not s0 <= c[1] <= s1]  # autofit's own, after sampling
    like_s = sum(c[2] for c in calls_in)
    batch_sizes = dict(sorted(collections.Counter(c[0] for c in calls_in).items()))
    first_like_s = calls_in[0][2] if calls_in else None
    v_ml = vector_from_instance(model, samples.max_log_likelihood())
    v_med = vector_from_instance(model, samples.median_pdf())
    max_logl = float(samples.max_log_likelihood_sample.log_likelihood)
    log_z = float(samples.log_evidence) if samples.log_evidence is not None else None
    n_eff = float(sampler.n_eff) if sampler is not None and hasattr(sampler, "n_eff") else None
    n_like = int(sampler.n_like) if sampler is not None else int(samples.total_samples)
    log_z_err = 1.0 / np.sqrt(n_eff) if n_eff else None

    print(f"search.fit: {t_fit:.2f} s total; sampler phase {s1 - s0:.2f} s, of which "
          f"{like_s:.2f} s in {len(calls_in)} likelihood calls ({sum(c[0] for c in calls_in)} points; "
          f"first call, with its compile, {first_like_s or 0:.2f} s); batch sizes {batch_sizes}; "
          f"after sampling autofit made {len(calls_out)} more call(s) of sizes {[c[0] for c in calls_out]} "
          f"taking {sum(c[2] for c in calls_out):.2f} s", flush=True)
    print(f"JAX compile: {comp_all['total_s']:.2f} s in search.fit ({comp_all['n_backend_compiles']} backend "
          f"compiles), {comp_sampler['total_s']:.2f} s in the sampler phase "
          f"({comp_sampler['n_backend_compiles']} compiles)", flush=True)
    print(f"likelihood evaluations (nautilus n_like): {n_like}", flush=True)
    print(f"max log L = {max_logl:.6f}  (truth {logl_reference!r} on sim_bulge_disk; here "
          f"{logl_truth:.6f}; difference {max_logl - logl_truth:+.3f})", flush=True)
    z_txt = f"{log_z:.4f}" if log_z is not None else "None"
    e_txt = f" +/- {log_z_err:.4f} (1/sqrt(n_eff), n_eff = {n_eff:.1f})" if log_z_err else " (n_eff unavailable)"
    print(f"log evidence = {z_txt}{e_txt}; pdf_converged = {samples.pdf_converged}", flush=True)
    print(f"{'parameter':36s} {'max L':>12s} {'median PDF':>12s} {'truth':>12s}", flush=True)
    for n, a, b, c in zip(names, v_ml, v_med, v_true):
        print(f"{n:36s} {a:12.6f} {b:12.6f} {c:12.6f}", flush=True)

    import importlib.metadata as md
    out = dict(tool="PyAutoGalaxy", measurement="nautilus", model=args.model, dataset=folder.name,
               n_unmasked=int(dataset.mask.pixels_in_mask), pixel_scale=ps, over_sample_size_lp=4,
               n_params=model.prior_count, parameter_names=names, priors=priors,
               use_jax=bool(analysis.is_jax), batched=bool(getattr(probe["fitness"], "batched", False)),
               search=settings, number_of_cores=1, import_s=t_import,
               fit_s=t_fit, sampler_phase_s=s1 - s0, likelihood_s=like_s,
               likelihood_calls=len(calls_in), likelihood_points=sum(c[0] for c in calls_in),
               first_likelihood_call_s=first_like_s, batch_sizes={str(k): v for k, v in batch_sizes.items()},
               calls_after_sampling=[[c[0], c[2]] for c in calls_out],
               compile_s=comp_all["total_s"], backend_compile_s=comp_all["backend_compile_s"],
               n_backend_compiles=comp_all["n_backend_compiles"],
               compile_sampler_phase_s=comp_sampler["total_s"],
               n_backend_compiles_sampler_phase=comp_sampler["n_backend_compiles"],
               n_like=n_like, max_log_likelihood=max_logl, log_likelihood_truth=logl_truth,
               log_likelihood_truth_reference=logl_reference,
               log_evidence=log_z, log_evidence_error=log_z_err, n_eff=n_eff,
               pdf_converged=bool(samples.pdf_converged),
               max_likelihood_vector=v_ml.tolist(), median_pdf_vector=v_med.tolist(),
               truth_vector=v_true.tolist(), output_dir=str(out_root), output_kept=args.keep_output)
    out["versions"] = {p: md.version(p) for p in
                       ["autogalaxy", "autofit", "jax", "jaxlib", "numpy", "nautilus-sampler"]}
    out["versions"]["python"] = platform.python_version()
    out["xla_flags"] = os.environ.get("XLA_FLAGS")
    out["jax_compile_cache"] = bool(os.environ.get("JAX_COMPILATION_CACHE_DIR"))
    out["cpus"] = sorted(os.sched_getaffinity(0))
    out["loadavg_1min_end"] = os.getloadavg()[0]
    if not args.keep_output:
        shutil.rmtree(out_root, ignore_errors=True)
    sys.stdout.flush()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
