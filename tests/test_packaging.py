"""The version, the build report and the built distributions.

* ``galaxyfit --version``, ``galaxyfit.__version__`` and (installed) the distribution's metadata agree, and the git
  fallback of a work tree turns ``git describe`` into setuptools-scm's versions (checked on a throwaway repository).
* ``build_config()`` / ``show_config()`` report this process's jax, jaxlib, numpy and Python, an instruction-set level
  that matches the CPU's flags, and the XLA FFI API version from two independent sources.
* With ``GALAXYFIT_EXPECT_INSTALLED=1`` (.ci/test_wheel.sh) galaxyfit must come from the environment's site-packages;
  with ``GALAXYFIT_WHEEL`` (and an sdist beside it) the files in the wheel and the sdist are checked.
"""

from __future__ import annotations

import io
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import galaxyfit
from galaxyfit import _version

REPO = Path(__file__).resolve().parents[1]
WHEEL = os.environ.get("GALAXYFIT_WHEEL")
EXPECT_INSTALLED = os.environ.get("GALAXYFIT_EXPECT_INSTALLED") == "1"

# PEP 440 (the canonical public part plus an optional local part), written out here rather than taken from packaging.
PEP440 = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?$")


def _run(*args, **kwargs):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kwargs)


# ---- the version ---------------------------------------------------------------------------------------------------

def test_version_is_pep440_and_known():
    assert PEP440.match(galaxyfit.__version__), galaxyfit.__version__
    assert _version.version_source() in ("wheel", "git", "metadata")


def test_command_line_version_is_the_package_version():
    done = _run(sys.executable, "-m", "galaxyfit", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == galaxyfit.__version__
    script = Path(sys.executable).parent / "galaxyfit"
    if script.is_file():  # the console script of an installed galaxyfit (dev venvs have it too)
        done = _run(str(script), "--version")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == galaxyfit.__version__


def test_import_and_version_flag_do_not_import_jax():
    # `import galaxyfit` and `galaxyfit --version` must stay cheap: no JAX (about a second) behind them.
    code = ("import sys, runpy; import galaxyfit; assert 'jax' not in sys.modules, 'import galaxyfit imported jax'\n"
            "sys.argv = ['galaxyfit', '--version']\n"
            "try:\n    runpy.run_module('galaxyfit', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('jax' in sys.modules)")
    done = _run(sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [galaxyfit.__version__, "False"]


@pytest.mark.skipif(not EXPECT_INSTALLED, reason="GALAXYFIT_EXPECT_INSTALLED=1 only (.ci/test_wheel.sh)")
def test_installed_galaxyfit_is_the_one_under_test():
    from importlib.metadata import version

    site = Path(sysconfig.get_paths()["platlib"]).resolve()
    where = Path(galaxyfit.__file__).resolve()
    assert site in where.parents, f"galaxyfit imported from {where}, not from {site}"
    assert REPO / "python" not in where.parents
    assert _version.version_source() == "wheel"
    assert version("galaxyfit") == galaxyfit.__version__


@pytest.fixture
def git_repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("needs git")
    root = tmp_path / "repo"
    root.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args):
        done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    git("init", "-q")
    return root, git


def test_version_from_git_follows_setuptools_scm(git_repo):
    from datetime import datetime, timezone

    root, git = git_repo
    assert _version.version_from_git(root) is None  # no commit yet
    (root / "a.txt").write_text("1")
    git("add", "a.txt")
    git("commit", "-q", "-m", "one")
    (root / "a.txt").write_text("2")
    git("commit", "-q", "-am", "two")
    node = git("rev-parse", "HEAD")[:9]
    assert _version.version_from_git(root) == f"0.1.dev2+g{node}"  # no tag: 0.1.dev<commits>
    git("tag", "v1.2.3")
    assert _version.version_from_git(root) == "1.2.3"  # exactly on a clean tag
    git("tag", "not-a-version")  # only vX.Y.Z tags count
    assert _version.version_from_git(root) == "1.2.3"
    (root / "a.txt").write_text("3")
    git("commit", "-q", "-am", "three")
    node = git("rev-parse", "HEAD")[:9]
    assert _version.version_from_git(root) == f"1.2.4.dev1+g{node}"  # towards the next patch release
    (root / "a.txt").write_text("uncommitted")
    today = datetime.now(timezone.utc).strftime("%Y%m%d")
    assert _version.version_from_git(root) == f"1.2.4.dev1+g{node}.d{today}"
    (root / "untracked.txt").write_text("x")  # untracked files do not make the tree dirty (as setuptools-scm)
    git("checkout", "-q", "a.txt")
    assert _version.version_from_git(root) == f"1.2.4.dev1+g{node}"


def test_version_from_git_outside_a_repository(tmp_path):
    assert _version.version_from_git(tmp_path) is None


# ---- the build report ----------------------------------------------------------------------------------------------

KEYS = {"version", "version_source", "extension_version", "package_dir", "compiler", "compiler_version",
        "compiler_banner", "build_type", "cxx_flags", "optimized", "system_processor", "x86_dispatch", "eigen",
        "pybind11", "instruction_set", "cuda", "xla_ffi_api_compiled", "jaxlib_headers", "xla_ffi_api_runtime",
        "xla_ffi_api_runtime_source", "jax", "jaxlib", "numpy", "python", "platform", "cpus_available", "cpu_count",
        "xla_flags", "ffi_threads", "probe_error", "cuda_architectures", "cuda_runtime", "cuda_devices", "cuda_note"}


@pytest.fixture(scope="module")
def config():
    import jax

    from galaxyfit.build_report import build_config

    x64 = jax.config.jax_enable_x64
    result = build_config()
    assert jax.config.jax_enable_x64 == x64, "the build probe changed a JAX setting"
    return result


def _expected_instruction_set() -> str:
    # The rule of pick_isa() in cpp/src/profile_image.cpp, applied to the kernel's own report of the CPU's flags.
    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    if {"avx512f", "avx512dq", "avx2", "fma"} <= flags:
        return "x86-64-v4"
    if {"avx2", "fma"} <= flags:
        return "x86-64-v3"
    return "baseline"


def test_build_config_keys_and_versions(config):
    import jax
    import jaxlib.version
    import numpy

    assert set(config) == KEYS
    assert config["version"] == galaxyfit.__version__
    assert (config["jax"], config["jaxlib"], config["numpy"]) == (jax.__version__, jaxlib.version.__version__,
                                                                  numpy.__version__)
    assert config["python"] == platform.python_version()
    from galaxyfit.kernels import cuda

    try:
        cuda.extension()
        built = True
    except ImportError:
        built = False
    assert config["cuda"] is built
    if built:  # a CUDA build: what it was compiled for, and a GPU or the reason there is none
        assert config["cuda_architectures"] and config["cuda_runtime"]
        assert config["cuda_devices"] > 0 or "no usable CUDA device" in config["cuda_note"]
    else:
        assert config["cuda_architectures"] is None and "GALAXYFIT_CUDA=ON" in config["cuda_note"]
    assert config["compiler"] and re.match(r"^\d+(\.\d+)+$", config["compiler_version"])
    assert Path(config["package_dir"]) == Path(galaxyfit.__file__).resolve().parent
    if config["version_source"] == "wheel":  # a wheel's extension was built as the very same version
        assert config["extension_version"] == config["version"]


def test_instruction_set_matches_the_cpu(config):
    from galaxyfit.build_report import INSTRUCTION_SETS

    assert config["instruction_set"] in INSTRUCTION_SETS
    if config["x86_dispatch"] and platform.machine() in ("x86_64", "AMD64"):
        assert config["instruction_set"] == _expected_instruction_set()
    elif not config["x86_dispatch"]:
        assert config["instruction_set"] == "baseline"


def test_xla_ffi_versions_and_threads(config):
    import jaxlib

    from galaxyfit.build_report import _ffi_api_from_headers

    assert config["probe_error"] is None, config["probe_error"]
    assert config["xla_ffi_api_runtime_source"] == "ffi call"
    # What the running jaxlib passed to our handler equals what its own headers declare (read here from the files).
    assert config["xla_ffi_api_runtime"] == _ffi_api_from_headers(str(Path(jaxlib.__file__).parent / "include"))
    assert re.match(r"^\d+\.\d+$", config["xla_ffi_api_compiled"])
    # A major version apart, XLA would have refused to register the handler: the probe would have failed.
    assert config["xla_ffi_api_runtime"].split(".")[0] == config["xla_ffi_api_compiled"].split(".")[0]
    assert config["ffi_threads"] >= 1
    if config["cpus_available"]:
        assert config["ffi_threads"] <= max(config["cpus_available"], config["cpu_count"])
    assert config["xla_flags"] == os.environ.get("XLA_FLAGS")


def test_show_config_prints_every_value_and_returns_them(config):
    from galaxyfit.build_report import show_config

    out = io.StringIO()
    shown = show_config(file=out, probe=False)
    text = out.getvalue()
    for key in KEYS - {"probe_error"}:
        assert re.search(rf"^  {key} +{re.escape(str(shown[key]))}$", text, re.MULTILINE), key
    assert shown["xla_ffi_api_runtime_source"] == "jaxlib headers" and shown["ffi_threads"] is None
    assert {k: v for k, v in shown.items() if k not in ("xla_ffi_api_runtime_source", "ffi_threads", "probe_error")} \
        == {k: v for k, v in config.items() if k not in ("xla_ffi_api_runtime_source", "ffi_threads", "probe_error")}


def test_show_config_is_a_top_level_name():
    from galaxyfit.build_report import build_config, show_config

    assert galaxyfit.show_config is show_config and galaxyfit.build_config is build_config


# ---- the distributions ---------------------------------------------------------------------------------------------

def _dist_version(name: str) -> str:
    return name.split("-")[1]


@pytest.mark.skipif(WHEEL is None, reason="GALAXYFIT_WHEEL not set (.ci/test_wheel.sh sets it)")
def test_wheel_contents():
    with zipfile.ZipFile(WHEEL) as wheel:
        names = wheel.namelist()
        build_version = wheel.read("galaxyfit/_build_version.py").decode()
    version = _dist_version(Path(WHEEL).name)
    assert f'version = "{version}"' in build_version
    top = {n.split("/")[0] for n in names}
    assert top <= {"galaxyfit", f"galaxyfit-{version}.dist-info", "galaxyfit.libs"}, top
    assert [n for n in names if re.fullmatch(r"galaxyfit/_core\.[^/]+\.(so|pyd)", n)], "no extension"
    headers = {p.name for p in (REPO / "cpp" / "include" / "galaxyfit").glob("*.hpp")}
    assert headers and headers <= {Path(n).name for n in names if n.startswith("galaxyfit/cpp/include/galaxyfit/")}
    assert [n for n in names if re.fullmatch(r"galaxyfit/cpp/lib[^/]*/(lib)?galaxyfit\.(a|lib)", n)], "no static lib"
    for cmake_file in ("galaxyfitConfig.cmake", "galaxyfitConfigVersion.cmake", "galaxyfitTargets.cmake"):
        assert [n for n in names if re.fullmatch(rf"galaxyfit/cpp/lib[^/]*/cmake/galaxyfit/{cmake_file}", n)], \
            cmake_file
    sources = {p.relative_to(REPO / "python").as_posix() for p in (REPO / "python" / "galaxyfit").rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))
    unwanted = re.compile(r"(^|/)(tests?|bench|\.venv|build|__pycache__|\.git)(/|$)|\.pyc$|\.o$")
    assert not [n for n in names if unwanted.search(n)]


@pytest.mark.skipif(WHEEL is None, reason="GALAXYFIT_WHEEL not set (.ci/test_wheel.sh sets it)")
def test_sdist_beside_the_wheel_holds_the_sources_only():
    version = _dist_version(Path(WHEEL).name)
    sdist = Path(WHEEL).with_name(f"galaxyfit-{version}.tar.gz")
    if not sdist.is_file():
        pytest.skip(f"no sdist beside the wheel ({sdist.name})")
    with tarfile.open(sdist) as tar:
        prefix = f"galaxyfit-{version}/"
        names = {m.name.removeprefix(prefix) for m in tar.getmembers() if m.isfile()}
        pkg_info = tar.extractfile(prefix + "PKG-INFO").read().decode()
    assert f"\nVersion: {version}\n" in pkg_info  # a wheel built from the sdist alone gets this version
    for needed in ("pyproject.toml", "CMakeLists.txt", "LICENSE", "README.md", "cmake/galaxyfitConfig.cmake.in",
                   "cmake/build_info.h.in", "cpp/bindings/module.cpp", "python/galaxyfit/__init__.py",
                   "python/galaxyfit/latent.yaml"):
        assert needed in names, needed
    allowed = re.compile(r"^(pyproject\.toml|CMakeLists\.txt|LICENSE|README\.md|PKG-INFO|cmake/.+|cpp/.+|"
                         r"python/galaxyfit/.+\.(py|yaml))$")
    assert not [n for n in names if not allowed.match(n)]
    assert not [n for n in names if n.endswith((".so", ".pyc")) or "__pycache__" in n]
