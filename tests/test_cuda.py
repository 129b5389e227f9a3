"""The GPU path as far as it can be checked without a GPU (the GPU issue): galaxyfit's primitives lower for JAX's
CUDA platform to the CUDA extension's FFI targets (parametric, linear and pixelized likelihoods, their gradients), a
CPU build says how to get them, an inversion beyond the CUDA kernels' sizes says so, and importing galaxyfit with the
CUDA toolkit hidden never fails.

The CUDA kernels' arithmetic is checked on the CPU by cpp/tests/test_cuda_host.cpp and test_cuda_team.cpp (ctest);
running them needs a GPU (bench/gpu/run.sh). Under CI the CUDA extension is built for sm_90 (.ci/cuda_build.sh, which sets
GALAXYFIT_EXPECT_CUDA=1): there the tests that need it fail instead of skipping.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import galaxyfit as gf
from galaxyfit.kernels import cuda
from galaxyfit.model import Collection, Model
from galaxyfit.search.problem import traceable_log_likelihood

#: The FFI targets with a CUDA handler: every one of galaxyfit._core's.
CUDA_TARGETS = {"galaxyfit_psf_convolve_f64", "galaxyfit_psf_convolve_adjoint_f64", "galaxyfit_render_profile_f64",
                "galaxyfit_render_profile_jacobian_f64", "galaxyfit_render_profiles_f64", "galaxyfit_chi_squared_f64",
                "galaxyfit_inversion_f64", "galaxyfit_inversion_gradient_f64", "galaxyfit_inversion_gram_f64"}


def _has_extension() -> bool:
    try:
        cuda.extension()
    except ImportError:
        return False
    return True


needs_extension = pytest.mark.skipif(
    not _has_extension() and os.environ.get("GALAXYFIT_EXPECT_CUDA") != "1",
    reason="galaxyfit._cuda not built (-DGALAXYFIT_CUDA=ON; .ci/cuda_build.sh builds it in CI)")


@pytest.fixture(scope="module")
def bulge_disk_likelihood(small_imaging):
    galaxy = Model(gf.Galaxy, redshift=0.5, bulge=gf.lp.Sersic, disk=gf.lp.Exponential)
    model = Collection(galaxies=Collection(galaxy=galaxy))
    log_likelihood = traceable_log_likelihood(model, gf.AnalysisImaging(small_imaging))
    vectors = np.tile(model.prior_medians, (4, 1))
    return log_likelihood, vectors


def _custom_calls(f, *args) -> set[str]:
    """The custom-call targets of ``f`` compiled for JAX's CUDA platform (lowered only: no GPU needed)."""
    with gf.float64():
        text = jax.jit(f).trace(*args).lower(lowering_platforms=("cuda",)).as_text()
    return set(re.findall(r"stablehlo\.custom_call @(\w+)", text))


@needs_extension
def test_the_cuda_extension_registers_every_handler_for_jax():
    status = cuda.load()
    assert status.built and status.registered, status
    assert set(status.targets) == CUDA_TARGETS
    from galaxyfit import _core

    assert CUDA_TARGETS == set(_core.registrations())  # the same names as the CPU handlers, all of them
    assert status.architectures and status.cuda_runtime.startswith("13.")
    info = cuda.extension().build_info()
    assert info["max_inversion_parameters"] == cuda.MAX_INVERSION_PARAMETERS
    assert info["max_gram_inversion_parameters"] == cuda.MAX_GRAM_INVERSION_PARAMETERS
    from jax._src.lib import xla_client  # where JAX keeps registrations for a platform that has not started

    pending = {entry[0] for entry in getattr(xla_client, "_custom_callback", {}).get("CUDA", [])}
    if status.devices == 0:
        assert CUDA_TARGETS <= pending


@needs_extension
def test_a_bulge_disk_likelihood_lowers_to_the_cuda_kernels(bulge_disk_likelihood):
    log_likelihood, vectors = bulge_disk_likelihood
    batched = jax.vmap(lambda v: log_likelihood(v)[0])
    calls = _custom_calls(batched, vectors)
    assert {"galaxyfit_render_profiles_f64", "galaxyfit_psf_convolve_f64", "galaxyfit_chi_squared_f64"} <= calls
    assert calls <= CUDA_TARGETS
    gradient = jax.grad(lambda v: log_likelihood(v)[0])
    calls = _custom_calls(gradient, vectors[0])
    assert {"galaxyfit_render_profile_jacobian_f64", "galaxyfit_psf_convolve_adjoint_f64"} & calls
    assert calls <= CUDA_TARGETS


@pytest.mark.skipif(_has_extension(), reason="a CUDA build: the message of a CPU build is not shown")
def test_a_cpu_build_compiled_for_a_gpu_says_how_to_build_for_one(bulge_disk_likelihood):
    log_likelihood, vectors = bulge_disk_likelihood
    with pytest.raises(NotImplementedError, match="GALAXYFIT_CUDA=ON.*JAX_PLATFORMS=cpu"):
        _custom_calls(jax.vmap(lambda v: log_likelihood(v)[0]), vectors)
    status = cuda.load()
    assert not status.built and not status.registered and "GALAXYFIT_CUDA=ON" in status.reason


def _evidence(k: int):
    from galaxyfit.kernels.inversion import SolverSettings, invert

    columns = jnp.asarray(np.random.default_rng(0).normal(size=(k, 40)))

    def evidence(c):
        return invert(c, jnp.ones(40), None, (0,) * k, SolverSettings()).evidence_term

    return evidence, columns


@needs_extension
def test_a_linear_bulge_disk_likelihood_lowers_to_the_cuda_inversion(small_imaging):
    galaxy = Model(gf.Galaxy, redshift=0.5, bulge=gf.lp_linear.Sersic, disk=gf.lp_linear.Exponential)
    model = Collection(galaxies=Collection(galaxy=galaxy))
    log_likelihood = traceable_log_likelihood(model, gf.AnalysisImaging(small_imaging))
    vectors = np.tile(model.prior_medians, (3, 1))
    calls = _custom_calls(jax.vmap(lambda v: log_likelihood(v)[0]), vectors)
    assert "galaxyfit_inversion_f64" in calls and calls <= CUDA_TARGETS
    calls = _custom_calls(jax.grad(lambda v: log_likelihood(v)[0]), vectors[0])
    assert "galaxyfit_inversion_gradient_f64" in calls and calls <= CUDA_TARGETS


@needs_extension
def test_an_inversion_beyond_the_cuda_kernels_size_says_so():
    evidence, columns = _evidence(cuda.MAX_INVERSION_PARAMETERS + 1)
    with pytest.raises(NotImplementedError, match="at most 128 linear light profiles.*Gram form.*16384"):
        _custom_calls(evidence, columns)
    evidence, columns = _evidence(cuda.MAX_INVERSION_PARAMETERS)
    assert "galaxyfit_inversion_f64" in _custom_calls(evidence, columns)

    from galaxyfit.kernels.inversion import SolverSettings, invert_gram

    def gram_evidence(f, k):
        return invert_gram(f, jnp.ones(k), 1.0, None, (0,) * k, SolverSettings()).evidence_term

    k = cuda.MAX_GRAM_INVERSION_PARAMETERS + 1  # abstract operands only: nothing of this size is allocated
    with pytest.raises(NotImplementedError, match="pixelized inversion of 16385 parameters.*at most 16384"):
        _custom_calls(lambda f: gram_evidence(f, k), jax.ShapeDtypeStruct((k, k), jnp.float64))


@needs_extension
def test_a_pixelized_likelihood_lowers_to_the_cuda_gram_inversion(small_imaging):
    """A 30 x 30 mesh (900 parameters, beside a linear bulge) and a batch of parameter vectors: the Gram-form inversion
    is the CUDA team kernel's, and the gradient (JAX's own linear algebra around it) lowers too."""
    pixelization = Model(gf.Pixelization, mesh=gf.mesh.RectangularUniform((30, 30)), regularization=gf.reg.Constant)
    galaxy = Model(gf.Galaxy, redshift=0.5, bulge=gf.lp_linear.Sersic, pixelization=pixelization)
    model = Collection(galaxies=Collection(galaxy=galaxy))
    log_likelihood = traceable_log_likelihood(model, gf.AnalysisImaging(small_imaging))
    vectors = np.tile(model.prior_medians, (3, 1))
    calls = _custom_calls(jax.vmap(lambda v: log_likelihood(v)[0]), vectors)
    assert "galaxyfit_inversion_gram_f64" in calls and calls <= CUDA_TARGETS
    calls = _custom_calls(jax.grad(lambda v: log_likelihood(v)[0]), vectors[0])
    assert "galaxyfit_inversion_gram_f64" in calls
    # the derivative's dense solves are jaxlib's own cuSOLVER kernels (e.g. cusolver_getrf_ffi)
    assert all(c in CUDA_TARGETS or c.startswith(("cusolver", "cu_lu", "cublas")) for c in calls), calls


def test_importing_galaxyfit_with_the_cuda_toolkit_hidden_never_fails(tmp_path):
    """No CUDA on PATH or LD_LIBRARY_PATH, no visible device: galaxyfit imports, fits on the CPU, reports."""
    env = {k: v for k, v in os.environ.items() if "CUDA" not in k and k not in ("LD_LIBRARY_PATH", "PATH")}
    env.update(PATH=os.path.dirname(sys.executable) + ":/usr/bin:/bin", CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
    script = (
        "import numpy as np, galaxyfit as gf\n"
        "from galaxyfit.kernels import cuda\n"
        "image = np.ones((20, 20)); ds = gf.Imaging(image, np.ones((20, 20)), None, 0.1)\n"
        "g = gf.Galaxy(0.5, light=gf.lp.Gaussian(centre=(0.0, 0.0), intensity=1.0, sigma=0.3))\n"
        "fit = gf.AnalysisImaging(ds).fit_from(gf.ModelInstance(galaxies=gf.ModelInstance(g=g)))\n"
        "print('log_likelihood', float(fit.log_likelihood))\n"
        "s = cuda.load(); print('cuda built', s.built, 'devices', s.devices)\n"
        "gf.show_config()\n")
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"log_likelihood -?\d", done.stdout)
    assert "devices 0" in done.stdout
    assert re.search(r"cuda\s+", done.stdout)
