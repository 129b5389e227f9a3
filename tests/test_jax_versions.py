"""galaxyfit works at both ends of the jax range it declares (pyproject.toml).

The wheel under test (``GALAXYFIT_WHEEL``, set by ``.ci/test_wheel.sh``) is installed into a fresh environment that
already holds the OLDEST supported jax and jaxlib; pip must keep them, and the likelihood tests must pass there.
The NEWEST end is the environment ``.ci/test_wheel.sh`` runs the whole suite in: it installs the newest supported
jax first, then the wheel (checked below). Skipped without a wheel (a work-tree run).
"""

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The ends of the range, as proven by this test and the CI run; pyproject.toml's requirement must say the same.
OLDEST = "0.5.3"
NEWEST = "0.10.2"
#: The likelihood tests run at the old end (the kernels, the FFI custom calls, jit/vmap/grad of the likelihood).
LIKELIHOOD_TESTS = ["tests/test_statistics.py", "tests/test_convolution.py", "tests/test_analysis.py"]

WHEEL = os.environ.get("GALAXYFIT_WHEEL")


def _requirement(name: str) -> str:
    text = (REPO / "pyproject.toml").read_text()
    dependencies = text[text.index("dependencies = ["):]
    dependencies = dependencies[:dependencies.index("]")]
    found = re.search(rf'"{name}([^"]*)"', dependencies)
    assert found, f"no {name} requirement in pyproject.toml"
    return found.group(1).split(";")[0].strip()


def test_declared_range_matches_the_tested_ends():
    major, minor, _ = NEWEST.split(".")
    assert _requirement("jax") == f">={OLDEST},<{major}.{int(minor) + 1}"
    assert _requirement("jaxlib") == _requirement("jax")
    # the extension is compiled against the oldest jaxlib's XLA FFI headers (the FFI C API is backward compatible)
    build = (REPO / "pyproject.toml").read_text().split("[project]")[0]
    assert f'"jaxlib=={OLDEST}; python_version < \'3.14\'"' in build


@pytest.mark.skipif(WHEEL is None, reason="needs GALAXYFIT_WHEEL (run by .ci/test_wheel.sh)")
def test_the_suites_environment_had_the_newest_jax():
    assert metadata.version("jax") == NEWEST and metadata.version("jaxlib") == NEWEST


@pytest.mark.slow
@pytest.mark.skipif(WHEEL is None, reason="needs GALAXYFIT_WHEEL (run by .ci/test_wheel.sh)")
@pytest.mark.skipif(OLDEST == NEWEST, reason="the range is one version: the suite's environment covers it")
@pytest.mark.timeout(900)
def test_likelihood_tests_pass_with_the_oldest_jax(tmp_path):
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + [f"jax=={OLDEST}", f"jaxlib=={OLDEST}"], check=True)
    subprocess.run(pip + [f"{WHEEL}[test]"], check=True)
    versions = subprocess.run([str(python), "-c", "import jax, jaxlib; print(jax.__version__, jaxlib.__version__)"],
                              check=True, capture_output=True, text=True).stdout.split()
    assert versions == [OLDEST, OLDEST], f"installing galaxyfit changed jax/jaxlib to {versions}"
    subprocess.run([str(python), "-m", "pip", "check"], check=True)
    done = subprocess.run([str(python), "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow",
                           *LIKELIHOOD_TESTS], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "GALAXYFIT_EXPECT_INSTALLED": "1"})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
