"""The ``galaxyfit`` command."""

from __future__ import annotations

import argparse
import os
import sys
import time


def _configure_xla() -> None:
    # Batched XLA FFTs were seen to hang on 2-core machines with XLA's multi-threaded Eigen; the command line (an
    # application, not the library) opts out unless the user set XLA_FLAGS.
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")


def _demo_galaxy():
    import galaxyfit as gf

    return gf.Galaxy(
        0.5,
        bulge=gf.lp.Sersic((0.0, 0.0), (0.0962250449, 0.0555555556), 1.0, 0.6, 4.0),
        disk=gf.lp.Exponential((0.0, 0.0), (0.2886751346, -0.1666666667), 0.25, 1.6),
    )


def demo(args) -> int:
    """Simulate a bulge + disk galaxy, evaluate its likelihood and time it."""
    import jax
    import jax.numpy as jnp

    import galaxyfit as gf
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    truth = _demo_galaxy()
    shape, pixel_scale = (args.size, args.size), 10.0 / args.size
    psf = gaussian_psf((21, 21), 0.1, pixel_scale) if args.size <= 100 else gaussian_psf((2 * (args.size // 10) + 1,) * 2, 0.1, pixel_scale)
    dataset, _ = simulate_imaging([truth], shape, pixel_scale, psf, exposure_time=147.7, seed=args.seed)
    dataset = dataset.apply_mask(gf.Mask.circular(shape, pixel_scale, 3.0))
    analysis = gf.AnalysisImaging(dataset)
    print(f"simulated {shape[0]}x{shape[1]} image, {pixel_scale:.3f}\"/pixel, PSF {psf.shape}, seed {args.seed}; "
          f"{dataset.pixels_in_mask} pixels within 3\"")

    def log_likelihood(v):
        galaxy = gf.Galaxy(
            0.5,
            bulge=gf.lp.Sersic((v[0], v[1]), (v[2], v[3]), v[4], v[5], v[6]),
            disk=gf.lp.Exponential((v[0], v[1]), (v[7], v[8]), v[9], v[10]),
        )
        return analysis.log_likelihood_function(gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=galaxy)))

    truth_vector = jnp.array([0.0, 0.0, 0.0962250449, 0.0555555556, 1.0, 0.6, 4.0, 0.2886751346, -0.1666666667, 0.25, 1.6])
    single = jax.jit(log_likelihood)
    start = time.perf_counter()
    value = float(single(truth_vector))
    compile_s = time.perf_counter() - start
    fit = analysis.fit_from(gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=truth)), n_free_parameters=11)
    print(f"truth: log likelihood {value:.3f}, chi^2 {float(fit.chi_squared):.2f} over {fit.pixels_in_mask} pixels "
          f"(reduced {float(fit.reduced_chi_squared_dof):.4f})")
    print(f"compile {compile_s:.2f} s")
    n = 200
    vectors = list(truth_vector + 1e-7 * jnp.arange(float(n))[:, None])  # distinct inputs, made before timing
    start = time.perf_counter()
    for v in vectors:
        out = single(v)
    out.block_until_ready()
    print(f"likelihood: {(time.perf_counter() - start) / n * 1e6:.0f} us per call (jit)")
    batched = jax.jit(jax.vmap(log_likelihood))
    batch = truth_vector + 1e-6 * jnp.arange(64.0)[:, None]
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="galaxyfit", description="Fit models of galaxy light to astronomical images.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="simulate a bulge + disk galaxy and evaluate its likelihood, with timings")
    p.add_argument("--size", type=int, default=100, help="image side in pixels (the field is 10 arcsec wide)")
    p.add_argument("--seed", type=int, default=20261129, help="random seed of the simulated noise")
    p.set_defaults(run=demo)
    p = sub.add_parser("cmake-dir", help="print the directory of the installed C++ package (for find_package)")
    p.set_defaults(run=cmake_dir)
    return parser


def main(argv=None) -> int:
    _configure_xla()
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
