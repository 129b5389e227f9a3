#!/usr/bin/env bash
# Here (with network): the wheels that bench/gpu/run.sh installs on the lent GPU machine, which has no network and
# lacks them (Python 3.12 there; ../.library/device/KINDS.md lists what it has). Into .whl/ (git-ignored through
# .git/info/exclude); about 15 MB, within the device tool's 64 MiB carry.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf .whl
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 --platform any -d .whl \
  "astropy>=6.0,<8" "pyerfa>=2.0.1" "astropy-iers-data>=0.2025" "cmeel-eigen>=3.4" "cmeel>=0.50" "setuptools-scm>=8,<10"
ls -la .whl
