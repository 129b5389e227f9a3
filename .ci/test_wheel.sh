#!/usr/bin/env bash
# Installs a galaxyfit wheel with its [test] extras into a fresh virtual environment and runs the repository's tests
# against it -- not against python/ -- on a PATH that holds no C or C++ compiler and no CMake (so nothing can be
# compiled behind the tests' back; the C++ package tests, which need a compiler, skip here and run in their own step).
#
# Usage: .ci/test_wheel.sh WHEEL [PYTEST ARGUMENTS...]   (no arguments: the whole suite, pyproject.toml's testpaths)
# PYTHON picks the interpreter that makes the environment (default python3); the wheel must match its version.
# TEST_VENV=DIR makes the environment there and keeps it (default: a temporary one, removed at the end).
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 WHEEL [PYTEST ARGUMENTS...]" >&2
  exit 2
fi
wheel="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
[ -f "$wheel" ] || { echo "test_wheel.sh: no such wheel: $wheel" >&2; exit 2; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
python=${PYTHON:-python3}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# TEST_VENV: where to make the environment and keep it afterwards (the C++ package step reuses it); else a temporary one.
venv="${TEST_VENV:-$work/venv}"
"$python" -m venv "$venv"
venv_python="$venv/bin/python"
# The environment already has the NEWEST supported jax when galaxyfit arrives (tests/test_jax_versions.py; the oldest
# is tested there, in an environment of its own).
newest="$(sed -n 's/^NEWEST = "\(.*\)"$/\1/p' "$repo/tests/test_jax_versions.py")"
t0=$(now)
"$venv_python" -m pip install --quiet --disable-pip-version-check "jax==$newest" "jaxlib==$newest"
"$venv_python" -m pip install --quiet --disable-pip-version-check "${wheel}[test]"
t1=$(now)
echo "test_wheel.sh: installed jax $newest, then $(basename "$wheel") with [test], into a fresh venv in $(seconds "$t0" "$t1") s"

# The tools the tests call, and nothing that compiles: runuser (the PostgreSQL test server runs as the postgres user
# when we are root; its binaries are found by absolute path, tests/postgres_server.py), git, and what Python's own
# modules call (uname, ldconfig for ctypes.util.find_library, sh). galaxyfit and dask come from the venv's bin.
tools="$work/tools"
mkdir "$tools"
for tool in runuser git uname ldconfig sh bash env; do
  found="$(command -v "$tool" || true)"
  [ -n "$found" ] && ln -s "$found" "$tools/$tool"
done
test_path="$venv/bin:$tools"   # only the tests get it; this script keeps its own PATH (date, awk, rm)
for compiler in cc gcc c++ g++ clang clang++ cmake ld; do
  if found="$(PATH="$test_path" && command -v "$compiler")"; then
    echo "test_wheel.sh: $compiler is reachable on the tests' PATH=$test_path ($found)" >&2
    exit 1
  fi
done

cd "$repo"
# -P: the working directory (the repository root) is not put on sys.path; galaxyfit must come from site-packages.
PATH="$test_path" "$venv_python" -P -c '
import os, sys, sysconfig, galaxyfit, galaxyfit._version as v
site = os.path.realpath(sysconfig.get_paths()["platlib"])
where = os.path.realpath(galaxyfit.__file__)
if not where.startswith(site + os.sep) or v.version_source() != "wheel":
    sys.exit(f"test_wheel.sh: galaxyfit imported from {where} (version from {v.version_source()}), not {site}")
print(f"test_wheel.sh: galaxyfit {galaxyfit.__version__} from {os.path.dirname(where)}")
'
export GALAXYFIT_EXPECT_INSTALLED=1 GALAXYFIT_WHEEL="$wheel"
t2=$(now)
status=0
PATH="$test_path" "$venv_python" -P -m pytest -p no:cacheprovider "$@" || status=$?
t3=$(now)
echo "test_wheel.sh: pytest exit status $status in $(seconds "$t2" "$t3") s"
exit $status
