"""Importing and using galaxyfit changes none of JAX's process-wide settings; galaxyfit still computes in float64.

Each check runs in a fresh interpreter, because JAX's settings are per process and pytest's may already be changed.
"""

import json
import subprocess
import sys
import textwrap

import pytest

_PROLOGUE = """
import json, os, sys, threading, warnings
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
import numpy as np
import jax, jax.numpy as jnp
out = {}
"""


def run_fresh(body: str) -> dict:
    """Run ``body`` in a new interpreter; it fills the dict ``out``, returned here."""
    code = _PROLOGUE + textwrap.dedent(body) + "\nprint('RESULT' + json.dumps(out))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = [l for l in done.stdout.splitlines() if l.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


def test_galaxyfit_computes_in_float64_and_leaves_jax_settings_alone():
    out = run_fresh("""
    import galaxyfit as gf
    from galaxyfit.simulate import gaussian_psf, simulate_imaging
    galaxy = gf.Galaxy(0.5, bulge=gf.lp.Sersic((0.02, -0.01), (0.1, 0.05), 1.0, 0.3, 3.0))
    dataset, _ = simulate_imaging([galaxy], (32, 32), 0.1, gaussian_psf((7, 7), 1.0, 0.1), exposure_time=300.0, seed=1)
    analysis = gf.AnalysisImaging(dataset)
    instance = gf.ModelInstance(galaxies=gf.ModelInstance(galaxy=galaxy))
    log_l = analysis.log_likelihood_function(instance)
    fit = analysis.fit_from(instance)
    used = ~np.asarray(dataset.mask.array)
    data, noise = np.asarray(dataset.data)[used], np.asarray(dataset.noise_map)[used]
    model = np.asarray(fit.blurred_image)[used]
    expected = -0.5 * (np.sum(((data - model) / noise) ** 2) + np.sum(np.log(2 * np.pi * noise ** 2)))
    out["log_l_dtype"] = str(log_l.dtype)
    out["log_l"] = float(log_l)
    out["expected"] = float(expected)
    out["model_dtype"] = str(fit.blurred_image.dtype)
    # A search, in the process default (float64 off) too: it finds the truth's likelihood.
    from galaxyfit.model import Collection, Model
    from galaxyfit.search import LevenbergMarquardt
    bulge = Model(gf.lp.Sersic)
    result = LevenbergMarquardt(progress=False).fit(
        Collection(galaxies=Collection(galaxy=Model(gf.Galaxy, redshift=0.5, bulge=bulge))), analysis)
    out["lm_log_l"] = float(result.log_likelihood)
    # From a worker thread as well (the context is per thread).
    values = []
    t = threading.Thread(target=lambda: values.append(float(analysis.log_likelihood_function(instance))))
    t.start(); t.join()
    out["thread_log_l"] = values[0]
    # The user's own JAX code still runs in the process default.
    out["x64_after"] = bool(jax.config.jax_enable_x64)
    out["user_dtype"] = str(jnp.ones(2).dtype)
    out["user_jit_dtype"] = str(jax.jit(lambda x: x * 2.0)(np.ones(2)).dtype)
    out["async_dispatch"] = bool(jax.config.values["jax_cpu_enable_async_dispatch"])
    # A user's own jit of galaxyfit's likelihood with float64 off is refused with a clear message ...
    try:
        jax.jit(analysis.log_likelihood_function)(instance)
        out["refused"] = None
    except TypeError as exc:
        out["refused"] = str(exc)
    # ... and works inside galaxyfit.float64().
    with gf.float64():
        value = jax.jit(analysis.log_likelihood_function)(instance)
        grad = jax.grad(lambda i: analysis.log_likelihood_function(i))(instance)
    out["user_jit_in_context"] = float(value)
    out["grad_dtype"] = str(jax.tree_util.tree_leaves(grad)[0].dtype)
    out["x64_after_context"] = bool(jax.config.jax_enable_x64)
    """)
    assert out["log_l_dtype"] == "float64" and out["model_dtype"] == "float64"
    assert out["log_l"] == pytest.approx(out["expected"], rel=1e-13)
    assert out["lm_log_l"] >= out["expected"] - 1e-6
    assert out["thread_log_l"] == pytest.approx(out["expected"], rel=1e-13)
    assert out["x64_after"] is False and out["x64_after_context"] is False
    assert out["user_dtype"] == "float32" and out["user_jit_dtype"] == "float32"
    assert out["async_dispatch"] is True
    assert "galaxyfit.float64()" in out["refused"]
    assert out["user_jit_in_context"] == pytest.approx(out["expected"], rel=1e-13)
    assert out["grad_dtype"] == "float64"


def test_synchronous_dispatch_is_an_explicit_process_wide_choice():
    out = run_fresh("""
    import galaxyfit as gf
    out["before"] = bool(jax.config.values["jax_cpu_enable_async_dispatch"])
    out["took"] = gf.use_synchronous_dispatch(announce=False)
    out["after"] = bool(jax.config.values["jax_cpu_enable_async_dispatch"])
    jnp.ones(2).block_until_ready()
    out["again"] = gf.use_synchronous_dispatch(announce=False)  # already synchronous: nothing to do
    """)
    assert out == {"before": True, "took": True, "after": False, "again": True}
    late = run_fresh("""
    import galaxyfit as gf
    jnp.ones(2).block_until_ready()  # JAX's CPU backend now exists: too late to change its dispatch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out["took"] = gf.use_synchronous_dispatch()
    out["warning"] = str(caught[0].message) if caught else ""
    out["async"] = bool(jax.config.values["jax_cpu_enable_async_dispatch"])
    """)
    assert late["took"] is False and "after JAX created its CPU backend" in late["warning"]
    assert late["async"] is True


def test_command_line_process_dispatches_synchronously(tmp_path):
    # The installed script (console_main) owns its process, so it opts in; main() called from Python does not.
    out = run_fresh(f"""
    from galaxyfit.cli import main
    code = main(["simulate", {str(tmp_path / 'sim')!r}])
    out["code"] = code
    out["async_after_main"] = bool(jax.config.values["jax_cpu_enable_async_dispatch"])
    out["x64_after_main"] = bool(jax.config.jax_enable_x64)
    """)
    assert out == {"code": 0, "async_after_main": True, "x64_after_main": False}
