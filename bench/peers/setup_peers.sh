#!/usr/bin/env bash
# Create (or update) the peer-tool virtual environment at bench/.peers-venv.
#
# It holds the two established tools the benchmarks compare against:
#   * PyAutoGalaxy (autogalaxy, with JAX for its jit/vmap likelihood path; needs Python >= 3.12)
#   * pyimfit (Python wrapper of Imfit, C++)
# Idempotent: re-running reuses the venv and pip skips what is already installed.
# Usage:  bash bench/peers/setup_peers.sh            (PYTHON=/path/to/python3.12 to override)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$(dirname "$HERE")/.peers-venv"

# Pinned versions (checked together on Linux x86_64, Python 3.12.1). jax 0.11.2 is what pip
# resolves for autogalaxy 2026.10.26.1 (it pulls jax in through optax / jax_zero_contour / jaxnnls).
AUTOGALAXY_VERSION="2026.10.26.1"
JAX_VERSION="0.11.2"
PYIMFIT_VERSION="1.1"

find_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        if [[ -x "$PYTHON" ]] || command -v "$PYTHON" >/dev/null 2>&1; then echo "$PYTHON"; else echo ""; fi
        return
    fi
    if command -v pyenv >/dev/null 2>&1; then
        local root v
        root="$(pyenv root)"
        v="$(ls -1 "$root/versions" 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -V | tail -n 1 || true)"
        if [[ -n "$v" && -x "$root/versions/$v/bin/python3.12" ]]; then
            echo "$root/versions/$v/bin/python3.12"; return
        fi
    fi
    if command -v python3.12 >/dev/null 2>&1 && python3.12 -c 'import sys' >/dev/null 2>&1; then
        command -v python3.12; return
    fi
    echo ""
}

start=$(date +%s)
PY="$(find_python)"
if [[ -z "$PY" ]]; then
    echo "ERROR: Python 3.12 not found (PyAutoGalaxy $AUTOGALAXY_VERSION needs Python >= 3.12)." >&2
    echo "       Install it (e.g. 'pyenv install 3.12') or set PYTHON=/path/to/python3.12." >&2
    exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    echo "ERROR: $PY is $("$PY" --version 2>&1); PyAutoGalaxy $AUTOGALAXY_VERSION needs Python >= 3.12." >&2
    exit 1
fi
echo "Using $PY ($("$PY" --version 2>&1))"

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# constraints-peers.txt pins every transitive dependency to the set this was checked with.
"$VENV/bin/python" -m pip install --quiet -c "$HERE/constraints-peers.txt" \
    "autogalaxy==$AUTOGALAXY_VERSION" \
    "jax==$JAX_VERSION" "jaxlib==$JAX_VERSION" \
    "pyimfit==$PYIMFIT_VERSION"

"$VENV/bin/python" - <<'PY'
import importlib.metadata as md, sys
print("python", sys.version.split()[0])
for p in ["autogalaxy", "autoarray", "autofit", "jax", "jaxlib", "numpy", "scipy", "astropy", "pyimfit"]:
    try:
        print(f"{p} {md.version(p)}")
    except md.PackageNotFoundError:
        print(f"{p} (not installed)")
PY
echo "setup_peers.sh done in $(( $(date +%s) - start )) s; venv: $VENV"
