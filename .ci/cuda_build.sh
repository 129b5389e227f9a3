#!/usr/bin/env bash
# CI: the CUDA extension (the GPU issue), compiled without a GPU. Usage: .ci/cuda_build.sh PYTHON TOOLS_PYTHON
#   PYTHON: an interpreter with galaxyfit installed from a wheel (its jaxlib gives the XLA FFI headers; the built
#           galaxyfit._cuda is installed next to its galaxyfit._core);
#   TOOLS_PYTHON: the build tools' interpreter (with cmeel-eigen; the same Python version as PYTHON): pybind11 and
#           the jaxlib whose XLA FFI headers wheels are built against (pyproject.toml's [build-system]) are added to
#           it, so the CUDA handlers are compiled against the same FFI API as galaxyfit._core.
# Compiles cpp/cuda/*.cu and the CUDA FFI handlers for sm_90 only (one architecture keeps this step to about a
# minute on 2 cores), installs the module, then runs against that CUDA build the tests that need it
# (tests/test_cuda.py, which asserts every CUDA target is registered and that a likelihood lowers to them, with
# GALAXYFIT_EXPECT_CUDA=1 so that they fail rather than skip), the build report's tests, and the kernel tests (a
# CUDA build on a machine without a GPU must leave the CPU path as it was). The kernels' arithmetic is tested by
# ctest (cpp/tests/test_cuda_host.cpp) in the C++ package step; running them needs a GPU (bench/gpu/run.sh).
# Without nvcc on PATH (or in /usr/local/cuda/bin) this step fails under CI=true and is skipped otherwise.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PYTHON TOOLS_PYTHON" >&2
  exit 2
fi
absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }   # not resolving a venv's symlink
python="$(absolute "$1")"
tools_python="$(absolute "$2")"
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/galaxyfit_cuda.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS

nvcc="$(command -v nvcc || true)"
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
if [ -z "$nvcc" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "cuda_build.sh: no nvcc: the CUDA extension cannot be compiled" >&2
    exit 1
  fi
  echo "cuda_build.sh: skipped (no nvcc on PATH or in /usr/local/cuda/bin)"
  exit 0
fi
echo "cuda_build.sh: $("$nvcc" --version | tail -n 2 | head -n 1)"

build_jaxlib="$(sed -n "s/.*\"jaxlib==\([0-9.]*\); python_version < '3.14'\".*/\1/p" "$source_dir/pyproject.toml")"
"$tools_python" -m pip install --quiet --disable-pip-version-check --no-deps pybind11 "jaxlib==$build_jaxlib"
cmake -S "$source_dir" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DGALAXYFIT_PYTHON=ON -DGALAXYFIT_CUDA=ON \
  -DGALAXYFIT_BUILD_TESTS=OFF -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$nvcc" \
  -DPython_EXECUTABLE="$tools_python" -Dpybind11_DIR="$("$tools_python" -m pybind11 --cmakedir)"
cmake --build "$work/build" -j "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" --target _cuda
package="$("$python" -P -c 'import galaxyfit, os; print(os.path.dirname(galaxyfit.__file__))')"
cp "$work"/build/_cuda*.so "$package/"
echo "cuda_build.sh: built and installed $(basename "$work"/build/_cuda*.so) into $package in $((SECONDS - start)) s"

cd "$source_dir"
GALAXYFIT_EXPECT_CUDA=1 GALAXYFIT_EXPECT_INSTALLED=1 "$python" -P -m pytest -p no:cacheprovider -q \
  tests/test_cuda.py tests/test_packaging.py tests/test_profile_kernel.py tests/test_convolution.py \
  tests/test_statistics.py
echo "cuda_build.sh: done in $((SECONDS - start)) s"
