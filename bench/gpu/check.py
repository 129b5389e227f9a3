"""The GPU checks of the GPU issue (#18), run by bench/gpu/run.sh on a lent GPU machine.

1. CPU against GPU, float64: the log likelihood (a batch of parameter vectors) and its gradient of the parametric
   bulge + disk at 100^2, 200^2, 400^2 and 1000^2 pixels, and of MGE-30, the linear bulge + disk and a 30x30
   pixelization (RectangularUniform, Constant regularization, positive-only) at 100^2 (0.1"/pixel, 21x21 Gaussian
   PSF, galaxyfit's own simulation); the issue's bound is 1e-10 relative.
2. Throughput of the batched likelihood (jit(vmap)) on the GPU, on this machine's CPU, and on 2 of its cores
   (taskset, a subprocess with JAX_PLATFORMS=cpu: the project's 2-core CPU), in microseconds per likelihood; and
   one likelihood per call (jit) on the GPU.
3. The CuPy-level functions of galaxyfit._cuda against galaxyfit._core's numpy ones (invert_gram, one thread per
   element and one block per element, against the CPU primitive).

Usage: python bench/gpu/check.py --out DIR      (writes DIR/gpu_check.json and prints a table)
       python bench/gpu/check.py --out DIR --cpu-only   (both sides on the CPU: a dry run of this script anywhere)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

BATCH = {100: 1024, 200: 512, 400: 256, 1000: 32}  # image side -> batch (the issue: 1,024 at 100^2, 256 at 400^2)
#: (model, image side, batch) rows: the parametric bulge + disk at every size, the linear models and the
#: pixelization (a 900-parameter inversion per likelihood: a smaller batch) at 100^2.
ROWS = ([("bulge_disk", side, BATCH[side]) for side in BATCH] + [("mge30", 100, 1024), ("linear_bulge_disk", 100, 1024)]
        + [("pixelization30", 100, 64)])
TRUTH = {"bulge": dict(centre=(0.0, 0.0), ell_comps=(0.0962250449, 0.0555555556), intensity=1.0,
                       effective_radius=0.6, sersic_index=4.0),
         "disk": dict(centre=(0.0, 0.0), ell_comps=(0.2886751346, -0.1666666667), intensity=0.25,
                      effective_radius=1.6)}


def likelihood(side: int, name: str = "bulge_disk", batch: int | None = None):
    """(traceable ln L of a parameter vector, vectors (batch or BATCH[side], n)) of a model on a side^2 simulation of
    bulge + disk: "bulge_disk" (parametric), "mge30" (mge_model_from(3.0, 30)), "linear_bulge_disk" (lp_linear),
    "pixelization30" (a 30x30 RectangularUniform mesh with a Constant regularization)."""
    import galaxyfit as gf
    from galaxyfit.model import Collection, Model
    from galaxyfit.model_util import mge_model_from
    from galaxyfit.search.problem import traceable_log_likelihood
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    galaxy = gf.Galaxy(0.5, bulge=gf.lp.Sersic(**TRUTH["bulge"]), disk=gf.lp.Exponential(**TRUTH["disk"]))
    dataset, _ = simulate_imaging(gf.Galaxies([galaxy]), (side, side), 0.1, gaussian_psf((21, 21), 0.1, 0.1),
                                  exposure_time=300.0, seed=1)
    if name == "mge30":
        galaxy_model = Model(gf.Galaxy, redshift=0.5, bulge=mge_model_from(mask_radius=3.0, total_gaussians=30))
    elif name == "pixelization30":
        pixelization = Model(gf.Pixelization, mesh=gf.mesh.RectangularUniform((30, 30)),
                             regularization=gf.reg.Constant)
        galaxy_model = Model(gf.Galaxy, redshift=0.5, pixelization=pixelization)
    elif name == "linear_bulge_disk":
        galaxy_model = Model(gf.Galaxy, redshift=0.5, bulge=gf.lp_linear.Sersic, disk=gf.lp_linear.Exponential)
    else:
        galaxy_model = Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)
    model = Collection(galaxies=Collection(galaxy=galaxy_model))
    unit = np.random.default_rng(side).uniform(0.35, 0.65, (batch or BATCH[side], model.prior_count))
    vectors = np.stack([model.vector_from_unit_cube(u) for u in unit])
    return traceable_log_likelihood(model, gf.AnalysisImaging(dataset)), vectors


def per_likelihood_us(fn, x, repeats: int = 5) -> float:
    fn(x).block_until_ready()  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x).block_until_ready()
        times.append(time.perf_counter() - t0)
    return 1e6 * float(np.median(times)) / x.shape[0]


def cpu_throughput(side: int, name: str, batch: int) -> float:
    import jax

    jax.config.update("jax_enable_x64", True)
    f, vectors = likelihood(side, name, batch)
    return per_likelihood_us(jax.jit(jax.vmap(lambda v: f(v)[0])), vectors)


def two_core_throughput(side: int, name: str, batch: int) -> float | None:
    taskset = shutil.which("taskset")
    if taskset is None:
        return None
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    done = subprocess.run([taskset, "-c", "0,1", sys.executable, __file__, "--cpu-throughput", str(side), name, str(batch)],
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return float(done.stdout.strip().splitlines()[-1])


def relative(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-300)))


def likelihood_rows(cpu_only: bool) -> list[dict]:
    import jax

    cpu = jax.devices("cpu")[0]
    gpu = cpu if cpu_only else jax.devices("gpu")[0]
    rows = []
    for name, side, batch in ROWS:
        f, vectors = likelihood(side, name, batch)
        single = jax.jit(lambda v: f(v)[0])
        batched = jax.jit(jax.vmap(lambda v: f(v)[0]))
        gradient = jax.jit(jax.grad(lambda v: f(v)[0]))
        on_cpu, on_gpu = jax.device_put(vectors, cpu), jax.device_put(vectors, gpu)
        value_cpu, value_gpu = np.asarray(batched(on_cpu)), np.asarray(batched(on_gpu))
        valid = value_cpu > -1e98
        grad_cpu, grad_gpu = np.asarray(gradient(on_cpu[0])), np.asarray(gradient(on_gpu[0]))
        row = dict(model=name, side=side, batch=int(vectors.shape[0]), valid=int(valid.sum()),
                   ln_l_relative=relative(value_cpu[valid], value_gpu[valid]),
                   gradient_relative=relative(grad_cpu, grad_gpu),
                   gpu_us=per_likelihood_us(batched, on_gpu), cpu_all_cores_us=per_likelihood_us(batched, on_cpu),
                   gpu_single_call_us=per_likelihood_us(lambda x: single(x[0])[None], on_gpu[:1]),
                   cpu_2_cores_us=two_core_throughput(side, name, batch))
        row["speedup_vs_2_cores"] = (row["cpu_2_cores_us"] / row["gpu_us"]) if row["cpu_2_cores_us"] else None
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def cupy_rows() -> dict:
    import cupy as cp

    from galaxyfit import _core
    from galaxyfit.kernels.cuda import extension

    gpu = extension()
    params = np.array([0.013, -0.021, 1.1, 0.95, 0.05, 2.0, 0.5, 2.5])  # Sersic (law 0)
    box = dict(y0=-2.45, x0=-2.45, hy=0.1, hx=0.1, height=50, width=50, rings=[(1, 6), (3, 4)])
    image_cpu = _core.render_profile(0, params, box["y0"], box["x0"], box["hy"], box["hx"], box["height"],
                                     box["width"], box["rings"], 8, 8)
    image_gpu = gpu.render_profile(0, cp.asarray(params[None]), **box)
    kernel = np.outer(np.hanning(7), np.hanning(7))
    kernel /= kernel.sum()
    mask = np.zeros((50, 50), dtype=bool)
    mask[:5] = True
    blurred_cpu = _core.convolve(image_cpu, kernel, mask)
    runs = _core.runs_from_mask(mask.astype(np.uint8))
    blurred_gpu = gpu.psf_convolve(image_gpu, cp.asarray(kernel), cp.asarray(runs))
    chi2_gpu = gpu.chi_squared(blurred_gpu, cp.asarray(blurred_cpu) * 1.01, cp.ones(blurred_cpu.size))
    rng = np.random.default_rng(3)
    columns, data = rng.uniform(0.0, 1.0, (6, 400)), rng.normal(1.0, 0.3, 400)
    flags = np.zeros(6, dtype=np.int32)
    solved_cpu = _core.invert(columns, data, None, flags)
    solved_gpu = gpu.invert(cp.asarray(columns[None]), cp.asarray(data), None, cp.asarray(flags))
    gram = {}
    for k in (20, 400):  # one thread per element; one thread block per element
        gram[k] = gram_relative(gpu, k)
    return dict(render_relative=relative(image_cpu, cp.asnumpy(image_gpu)[0]),
                convolve_relative=relative(blurred_cpu, cp.asnumpy(blurred_gpu)[0]),
                chi_squared_relative=relative(np.sum((0.01 * blurred_cpu) ** 2), float(chi2_gpu[0])),
                invert_relative=relative(solved_cpu["reconstruction"], cp.asnumpy(solved_gpu["reconstruction"])[0]),
                invert_chi_squared_relative=relative(solved_cpu["chi_squared"], float(solved_gpu["terms"][0, 0])),
                invert_gram_relative={k: v for k, v in gram.items()},
                returns_cupy=isinstance(blurred_gpu, cp.ndarray))


def gram_relative(gpu, k: int) -> dict:
    """gpu.invert_gram against the CPU primitive (kernels.inversion.invert_gram) for a batch of 3 positive-only
    problems with a smoothness regularization on all k columns: the largest relative differences of s and chi^2."""
    import cupy as cp
    import jax
    import jax.numpy as jnp

    from galaxyfit.kernels.inversion import REGULARIZED, SolverSettings, invert_gram

    rng = np.random.default_rng(k)
    columns = rng.uniform(0.0, 1.0, (3, k, 3 * k)) ** 4
    data = rng.normal(0.2, 1.0, (3, 3 * k))
    f, d, yy = np.einsum("bkn,bjn->bkj", columns, columns), np.einsum("bkn,bn->bk", columns, data), (data**2).sum(-1)
    h = 0.5 * (2.05 * np.eye(k) - np.eye(k, k=1) - np.eye(k, k=-1))
    flags = (REGULARIZED,) * k
    with jax.default_device(jax.devices("cpu")[0]):
        cpu = invert_gram(jnp.asarray(f), jnp.asarray(d), jnp.asarray(yy), jnp.asarray(h), flags, SolverSettings())
    out = gpu.invert_gram(cp.asarray(f), cp.asarray(d), cp.asarray(yy), cp.asarray(h), cp.asarray(flags, dtype=cp.int32))
    return dict(reconstruction=relative(np.asarray(cpu.reconstruction), cp.asnumpy(out["reconstruction"])),
                chi_squared=relative(np.asarray(cpu.chi_squared), cp.asnumpy(out["terms"])[:, 0]),
                status=[int(x) for x in cp.asnumpy(out["status"])])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=".")
    parser.add_argument("--cpu-only", action="store_true")
    parser.add_argument("--cpu-throughput", nargs=3, metavar=("SIDE", "MODEL", "BATCH"))
    args = parser.parse_args()
    if args.cpu_throughput:
        print(cpu_throughput(int(args.cpu_throughput[0]), args.cpu_throughput[1], int(args.cpu_throughput[2])))
        return 0
    import jax

    jax.config.update("jax_enable_x64", True)
    import galaxyfit as gf

    report = dict(devices=[str(d) for d in jax.devices()], jax=jax.__version__)
    report["config"] = {k: v for k, v in gf.build_config(probe=False).items() if k.startswith("cuda")}
    report["likelihood"] = likelihood_rows(args.cpu_only)
    report["cupy"] = None if args.cpu_only else cupy_rows()
    report["not_run"] = ["PyAutoGalaxy's JAX path: not carried to the machine"]
    with open(os.path.join(args.out, "gpu_check.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    bad = [r for r in report["likelihood"] if not (r["ln_l_relative"] <= 1e-10 and r["gradient_relative"] <= 1e-10)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
