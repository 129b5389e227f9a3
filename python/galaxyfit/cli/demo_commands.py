"""``galaxyfit demo``, ``simulate``, ``timing`` and ``cmake-dir``: the embedded simulated bulge + disk galaxy."""

from __future__ import annotations

import time
from pathlib import Path

from galaxyfit.cli.arguments import _check_output, _make_search
from galaxyfit.cli.report import _print_result, _print_statistics


#: Exposure time (s) of the demo's simulated galaxy: peak signal-to-noise 50 at 100x100.
DEMO_EXPOSURE_TIME = 147.74366464024976


#: The demo galaxy, the same bulge + disk as the standard simulated benchmark (../shared/data/sim/README.md).
DEMO_TRUTH = {
    "bulge": dict(centre=(0.0, 0.0), ell_comps=(0.0962250449, 0.0555555556), intensity=1.0, effective_radius=0.6, sersic_index=4.0),
    "disk": dict(centre=(0.0, 0.0), ell_comps=(0.2886751346, -0.1666666667), intensity=0.25, effective_radius=1.6),
}


def _demo_galaxy():
    import galaxyfit as gf

    return gf.Galaxy(0.5, bulge=gf.lp.Sersic(**DEMO_TRUTH["bulge"]), disk=gf.lp.Exponential(**DEMO_TRUTH["disk"]))


def _simulated_dataset(size: int, seed: int, exposure_time: float):
    """The demo's 10" x 10" field: Gaussian PSF (sigma 0.1"), sky 0.1 and read noise 5 counts, circular 3" mask."""
    import galaxyfit as gf
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    pixel_scale = 10.0 / size
    half = max(2, int(round(1.0 / pixel_scale)))  # kernel to 10 sigma, as the benchmark sets (21x21 at 0.1")
    psf = gaussian_psf((2 * half + 1, 2 * half + 1), 0.1, pixel_scale)
    dataset, _ = simulate_imaging([_demo_galaxy()], (size, size), pixel_scale, psf, exposure_time=exposure_time, seed=seed)
    return dataset.apply_mask(gf.Mask.circular(dataset.shape, pixel_scale, 3.0))


def demo(args) -> int:
    """Simulate a bulge + disk galaxy (seeded) and fit it with the default search; print truth vs fit."""
    import galaxyfit as gf
    from galaxyfit.model import Collection, Model

    _check_output(args.output, "--output")
    start = time.perf_counter()
    dataset = _simulated_dataset(args.size, args.seed, args.exposure_time)
    print(f"simulated a bulge + disk galaxy: {dataset.shape[0]}x{dataset.shape[1]} pixels of {dataset.pixel_scales[0]:.3f}\", "
          f"PSF {dataset.psf.shape[0]}x{dataset.psf.shape[1]}, seed {args.seed}, {dataset.pixels_in_mask} pixels within 3\"")
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)))
    analysis = gf.AnalysisImaging(dataset, title_prefix="galaxyfit demo")
    truth = model.vector_from_instance(gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=_demo_galaxy())))
    truth_log_l = float(analysis.log_likelihood_function(model.instance_from_vector(truth)))
    search = _make_search(args.search, args)
    print(f"fitting {model.prior_count} free parameters (default priors) with {search.kind} ...", flush=True)
    result = search.fit(model, analysis)
    _print_result(result, truth)
    _print_statistics(result)
    print(f"log likelihood at the truth {truth_log_l:.3f}")
    lo, hi = result.samples.values_at_sigma(3.0)
    inside = int(((truth >= lo) & (truth <= hi)).sum())
    print(f"{inside} of {len(truth)} true values lie within the 3 sigma intervals")
    folder = result.save(args.output)
    timing = result.timing
    print(f"search {timing['run_s']:.1f} s ({timing['likelihood_calls']} likelihoods, {timing['likelihood_s']:.1f} s in them), "
          f"compile {timing['compile_s']:.1f} s, total {time.perf_counter() - start:.1f} s")
    if timing.get("rejected"):
        print("rejected likelihoods: " + "; ".join(f"{count} {reason}" for reason, count in timing["rejected"].items()))
    print(f"wrote {folder / 'fit.png'} (data, model, residuals) and {folder / 'result.json'}")
    return 0


def simulate(args) -> int:
    """Simulate the demo bulge + disk galaxy and write it as FITS files."""
    from galaxyfit.output import write_json_atomic

    _check_output(args.output, "output")
    dataset = _simulated_dataset(args.size, args.seed, args.exposure_time)
    paths = dataset.to_fits(args.output, overwrite=args.overwrite)
    write_json_atomic(Path(args.output) / "truth.json", {"pixel_scale": dataset.pixel_scales[0], "seed": args.seed,
                                                        "exposure_time": args.exposure_time, **DEMO_TRUTH})
    print("wrote " + ", ".join(str(p) for p in paths.values()) + f" and {Path(args.output) / 'truth.json'}")
    print(f"fit it with: galaxyfit fit {paths['data']} --noise-map {paths['noise_map']} --psf {paths['psf']} --mask {paths['mask']} "
          f"--pixel-scale {dataset.pixel_scales[0]:g} --model sersic+exponential --output {Path(args.output) / 'fit'}")
    return 0


def timing(args) -> int:
    """Evaluate the demo likelihood at the truth and time it (single and batched calls)."""
    from galaxyfit import _precision as precision  # (imports JAX: not at the command line's import)
    import jax
    import jax.numpy as jnp

    import galaxyfit as gf
    from galaxyfit.model import Collection, Model

    dataset = _simulated_dataset(args.size, args.seed, DEMO_EXPOSURE_TIME)  # the demo's own data
    analysis = gf.AnalysisImaging(dataset)
    model = Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)))
    truth = jnp.asarray(model.vector_from_instance(gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=_demo_galaxy()))))

    def log_likelihood(vector):
        return analysis.log_likelihood_function(model.instance_from_vector(vector))

    single = precision.jit(log_likelihood)
    start = time.perf_counter()
    value = float(single(truth))
    print(f"{dataset.shape[0]}x{dataset.shape[1]} image, {dataset.pixels_in_mask} pixels: log likelihood at the truth {value:.3f}, "
          f"compile {time.perf_counter() - start:.2f} s")
    vectors = [truth + 1e-7 * k for k in range(200)]
    start = time.perf_counter()
    for v in vectors:
        out = single(v)
    out.block_until_ready()
    print(f"likelihood: {(time.perf_counter() - start) / len(vectors) * 1e6:.0f} us per call (jit)")
    batched = precision.jit(jax.vmap(log_likelihood))
    batch = truth + 1e-6 * jnp.arange(64.0)[:, None]
    batched(batch).block_until_ready()
    start = time.perf_counter()
    for _ in range(5):
        out = batched(batch)
    out.block_until_ready()
    print(f"batched:    {(time.perf_counter() - start) / (5 * 64) * 1e6:.0f} us per likelihood (jit + vmap, batch 64)")
    return 0


def cmake_dir(args) -> int:
    import galaxyfit

    print(galaxyfit.cmake_dir())
    return 0
