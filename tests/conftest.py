"""Shared test helpers. Real-data tests read ``../shared/data`` beside the repository and skip cleanly without it."""

import json
import os
from pathlib import Path

# Before anything imports jax: batched XLA FFTs were seen to hang on 2-core machines with multi-threaded Eigen.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import pytest  # noqa: E402


def pytest_configure(config):
    # galaxyfit computes in float64 without switching JAX's process default (galaxyfit._precision): a galaxyfit path
    # that forgot its float64 context would have JAX truncate float64 requests to float32 with this warning, so
    # here it fails the test instead.
    config.addinivalue_line("filterwarnings", "error:Explicitly requested dtype float64:UserWarning")

@pytest.fixture
def jax_float64():
    """The test body runs inside ``jax.enable_x64(True)``, as galaxyfit's documentation tells a user who composes
    galaxyfit's JAX functions in their own ``jax.jit`` / ``vmap`` / ``grad`` (``galaxyfit.float64()``). Test modules
    that do so use it; the others call galaxyfit in the process default (float64 off), as most users do."""
    import galaxyfit

    with galaxyfit.float64():  # jax.enable_x64(True), under its name in every supported jax
        yield


SHARED = Path(os.environ.get("GALAXYFIT_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data"


def shared_path(*parts) -> Path:
    """Path under ../shared/data, skipping the calling test if it is missing."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture(scope="session")
def sim_truth():
    """True bulge + disk parameters of the ``sim/`` datasets (sim/README.md)."""
    return {
        "bulge": dict(centre=(0.0, 0.0), ell_comps=(0.0962250449, 0.0555555556), intensity=1.0, effective_radius=0.6, sersic_index=4.0),
        "disk": dict(centre=(0.0, 0.0), ell_comps=(0.2886751346, -0.1666666667), intensity=0.25, effective_radius=1.6),
    }


def sim_info(name: str) -> dict:
    return json.loads(shared_path("sim", name, "sim_info.json").read_text())


@pytest.fixture(scope="session")
def small_imaging(sim_truth):
    """A seeded 48x48 bulge + disk simulation (0.1"/pixel, Gaussian PSF) made by galaxyfit's own simulator."""
    import galaxyfit as gf
    from galaxyfit.simulate import gaussian_psf, simulate_imaging

    galaxy = gf.Galaxy(0.5, bulge=gf.lp.Sersic(**sim_truth["bulge"]), disk=gf.lp.Exponential(**sim_truth["disk"]))
    psf = gaussian_psf((11, 11), 0.1, 0.1)
    dataset, _ = simulate_imaging(gf.Galaxies([galaxy]), (48, 48), 0.1, psf, exposure_time=300.0, seed=1)
    return dataset


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL 15 server on loopback for this test session (``postgres_server``), stopped after; skipped
    where none can run, failed instead under CI=true."""
    from postgres_server import PostgresUnavailable, postgres_server

    try:
        server = postgres_server()
        url = server.__enter__()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs a PostgreSQL server: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    yield url
    server.__exit__(None, None, None)
