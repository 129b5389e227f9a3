#!/usr/bin/env bash
# CI: the C++ package. Usage: .ci/cpp_package.sh PYTHON
#   PYTHON: an interpreter with galaxyfit installed from a wheel (for step c).
# (a) configure and build the C++ library with its unit tests from this source tree, and run ctest;
# (b) `cmake --install` it into a temporary prefix and build and run cpp/examples with find_package(galaxyfit) from
#     that prefix;
# (c) build and run cpp/examples against the CMake package inside the wheel's install (galaxyfit.cmake_dir()).
# Needs cmake >= 3.18, a C++17 compiler and Eigen >= 3.4 (Debian's libeigen3-dev, or the cmeel-eigen wheel in a
# python3 on PATH) for (a); the examples need neither Python nor Eigen.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 PYTHON  (an interpreter with galaxyfit installed from a wheel)" >&2
  exit 2
fi
python=$1
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
jobs="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
work="$(mktemp -d "${TMPDIR:-/tmp}/galaxyfit_cpp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
step() { echo; echo "==> [$((SECONDS - start)) s] $*"; }

# Build, then run, the examples against one installed galaxyfit CMake package (given as -D arguments).
examples() {
  local build="$1"
  shift
  cmake -S "$source_dir/cpp/examples" -B "$build" "$@"
  cmake --build "$build" -j "$jobs"
  ctest --test-dir "$build" --output-on-failure
}

step "(a) C++ library and unit tests from $source_dir"
# The python3 on PATH as CMake's interpreter, by its path: CMake's own search resolves a virtual environment's
# symlinked python3 to the base interpreter, which lacks that environment's cmeel-eigen.
python3_on_path="$(command -v python3 || true)"
cmake -S "$source_dir" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DGALAXYFIT_BUILD_TESTS=ON -DGALAXYFIT_PYTHON=OFF \
  ${python3_on_path:+-DPython_EXECUTABLE="$python3_on_path"}
cmake --build "$work/build" -j "$jobs"
ctest --test-dir "$work/build" --output-on-failure

step "(b) cmake --install into $work/prefix, examples with find_package(galaxyfit) from there"
cmake --install "$work/build" --prefix "$work/prefix"
examples "$work/examples-install" -DCMAKE_PREFIX_PATH="$work/prefix"

step "(c) examples against the wheel's CMake package ($python)"
if ! galaxyfit_dir="$("$python" -c 'import galaxyfit; print(galaxyfit.cmake_dir())')"; then
  echo "error: $python cannot locate galaxyfit's CMake package (galaxyfit.cmake_dir() failed above);" \
       "install galaxyfit from a wheel into it" >&2
  exit 1
fi
echo "galaxyfit_DIR=$galaxyfit_dir"
case "$galaxyfit_dir" in
  "$source_dir"/*) echo "warning: that package lies inside the source tree, not in an installed wheel" >&2 ;;
esac
examples "$work/examples-wheel" -Dgalaxyfit_DIR="$galaxyfit_dir"

step "C++ package checks passed"
