"""The installed C++ library is usable from a user's CMake project through find_package(galaxyfit)."""

import shutil
import subprocess

import pytest
from pathlib import Path

import galaxyfit


@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("c++") is None, reason="needs cmake and a C++ compiler")
def test_example_program_builds_and_runs(tmp_path):

    example = Path(__file__).resolve().parents[1] / "cpp" / "examples"
    build = tmp_path / "build"
    subprocess.run(
        ["cmake", "-S", str(example), "-B", str(build), f"-Dgalaxyfit_DIR={galaxyfit.cmake_dir()}"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    result = subprocess.run([str(build / "convolve_example")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")
