"""Time PyAutoGalaxy's pixelized likelihood (rectangular and Delaunay meshes) on a galaxyfit sim dataset.

Runs under the peer venv (``bench/.peers-venv``, made by ``setup_peers.sh``)::

    bench/.peers-venv/bin/python bench/peers/pyag_pixelization_likelihood.py sim_bulge_disk --case rectangular
    bench/.peers-venv/bin/python bench/peers/pyag_pixelization_likelihood.py sim_bulge_disk_200 --case delaunay_split

With PyAutoGalaxy 2026.10.26.1's own objects only, the dataset as ``pyag_likelihood.py``'s ``build_dataset``
(``np.flipud`` of data, noise map and PSF, 3.0" circular mask, its defaults: ``over_sample_size_pixelization=4``,
``use_border_relocator`` resolving to False, ``use_edge_zeroed_pixels`` True) and one free parameter, the
regularization coefficient (vector [1.0], perturbed by a relative 1e-6 per call):

* ``rectangular`` / ``rectangular_positive``: ``Pixelization(RectangularUniform((30, 30)), reg.Constant)``,
  ``Settings(use_positive_only_solver=False / True)``;
* ``delaunay`` / ``delaunay_split``: ``Delaunay(pixels, zeroed_pixels=0)`` on ``Overlay((30, 30))``'s vertices
  (through ``AdaptImages(galaxy_name_image_plane_mesh_grid_dict=...)``) with ``reg.Constant`` / ``reg.ConstantSplit``,
  unconstrained.

Timings as ``pyag_linear_likelihood.py``: the NumPy path per call (median of ``--n-numpy``), PyAutoFit's jitted
scalar objective ``Fitness.objective("scalar")`` and batched ``objective("batched")`` (jit(vmap)) over ``--batch``
coefficients; an entry that fails (PyAutoGalaxy's JAX path and Delaunay, say) reports its error string instead. The
last line of stdout is one JSON object.
"""
import argparse
import json
import time
import traceback

import pyag_likelihood as plk  # noqa: E402  (sets XLA_FLAGS, JAX_ENABLE_X64 before jax is imported)

import numpy as np  # noqa: E402

CASES = ("rectangular", "rectangular_positive", "delaunay", "delaunay_split")


def error_text(exc):
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {(lines[0] if lines else '')[:400]}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--case", choices=CASES, default="rectangular")
    ap.add_argument("--shared", default=plk.SHARED_DEFAULT)
    ap.add_argument("--psf", default=None)
    ap.add_argument("--mask-radius", type=float, default=3.0)
    ap.add_argument("--n-numpy", type=int, default=5)
    ap.add_argument("--n-calls", type=int, default=10)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--n-batches", type=int, default=2)
    ap.add_argument("--jax-cache", action="store_true")
    ap.add_argument("--one-cpu", action="store_true")
    args = ap.parse_args()

    folder, psf_path = plk.data_paths(args)
    jax, af, ag, Fitness = plk.import_peers()
    dataset, ps = plk.build_dataset(ag, folder, psf_path, args.mask_radius)
    positive = args.case == "rectangular_positive"
    settings = ag.Settings(use_positive_only_solver=positive)
    adapt = None
    if args.case.startswith("rectangular"):
        mesh = ag.mesh.RectangularUniform(shape=(30, 30))
    else:
        grid = ag.image_mesh.Overlay(shape=(30, 30)).image_plane_mesh_grid_from(mask=dataset.mask)
        adapt = ag.AdaptImages(galaxy_name_image_plane_mesh_grid_dict={"('galaxies', 'galaxy')": grid})
        mesh = ag.mesh.Delaunay(pixels=len(np.asarray(grid)), zeroed_pixels=0)
    regularization = af.Model(ag.reg.ConstantSplit if args.case == "delaunay_split" else ag.reg.Constant)
    pixelization = af.Model(ag.Pixelization, mesh=mesh, regularization=regularization)
    model = af.Collection(galaxies=af.Collection(galaxy=af.Model(ag.Galaxy, redshift=0.5, pixelization=pixelization)))
    v_fix = np.array([1.0])
    rng = np.random.default_rng(1)

    def perturbed(n):
        return v_fix * (1.0 + 1e-6 * rng.standard_normal((n, 1)))

    result = dict(tool="PyAutoGalaxy", measurement="pixelization_likelihood", case=args.case, dataset=folder.name,
                  shape=list(dataset.shape_native), pixel_scale=ps, n_unmasked=int(dataset.mask.pixels_in_mask))
    analysis_np = ag.AnalysisImaging(dataset=dataset, adapt_images=adapt, settings=settings, use_jax=False)
    fit = analysis_np.fit_from(model.instance_from_vector(v_fix))
    result.update(log_evidence=float(analysis_np.log_likelihood_function(model.instance_from_vector(v_fix))),
                  mesh_pixels=int(len(np.asarray(fit.inversion.reconstruction))))
    print(f"{folder.name} {args.case}: {result['mesh_pixels']} mesh pixels, {result['n_unmasked']} unmasked; "
          f"numpy log evidence {result['log_evidence']!r}", flush=True)
    if args.n_numpy > 0:
        f_np = lambda v: analysis_np.log_likelihood_function(model.instance_from_vector(v))  # noqa: E731
        f_np(v_fix)
        result["numpy_per_call_s"], _ = plk.median_time(f_np, perturbed(args.n_numpy))
        print(f"numpy: {result['numpy_per_call_s'] * 1e3:.1f} ms / likelihood", flush=True)

    analysis = ag.AnalysisImaging(dataset=dataset, adapt_images=adapt, settings=settings, use_jax=True)
    fitness = Fitness(model=model, analysis=analysis)
    v0 = jax.numpy.asarray(v_fix)
    try:
        scalar = fitness.objective("scalar")
        result["compile_s"] = plk.aot_compile_seconds(scalar, v0)
        result["log_evidence_jax"] = float(scalar(v0).block_until_ready())
        vs = [jax.numpy.asarray(v) for v in perturbed(args.n_calls + 2)]
        for v in vs[:2]:
            scalar(v).block_until_ready()
        result["per_call_s"], _ = plk.median_time(lambda v: scalar(v).block_until_ready(), vs[2:])
        print(f"jax jit: {result['per_call_s'] * 1e3:.1f} ms / likelihood, log evidence {result['log_evidence_jax']!r}",
              flush=True)
    except Exception as exc:  # noqa: BLE001
        result["jit_error"] = error_text(exc)
        print(f"jax jit FAILED: {result['jit_error']}\n{traceback.format_exc()}", flush=True)
    if args.batch > 0:
        try:
            batched = fitness.objective("batched")
            batches = [jax.numpy.asarray(perturbed(args.batch)) for _ in range(args.n_batches + 1)]
            result["batched_compile_s"] = plk.aot_compile_seconds(batched, batches[0])
            jax.block_until_ready(batched(batches[0]))
            total, _ = plk.median_time(lambda b: jax.block_until_ready(batched(b)), batches[1:])
            result["batched_per_call_s"] = total / args.batch
            print(f"jax vmap: {result['batched_per_call_s'] * 1e3:.1f} ms / likelihood (batch {args.batch})", flush=True)
        except Exception as exc:  # noqa: BLE001
            result["batched_error"] = error_text(exc)
            print(f"jax vmap FAILED: {result['batched_error']}", flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
