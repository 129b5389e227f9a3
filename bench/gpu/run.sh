#!/usr/bin/env bash
# The GPU checks of the GPU issue (#18), on the device tool's lent machine -- prepared, and not yet run: no session
# of that issue has had a device so far. One call, after bench/gpu/prepare.sh here:
#     run(command="bash bench/gpu/run.sh", carry=[".whl"], timeout_s=540)
# There: installs the carried wheels, builds galaxyfit with -DGALAXYFIT_CUDA=ON for sm_90 against the machine's own
# jax/jaxlib (--no-build-isolation --no-deps; its CMake, ninja, pybind11, scikit-build-core, nvcc), then runs
# bench/gpu/check.py, which writes $OUT/gpu_check.json and prints its table (bench/README.md records it with the card).
set -euo pipefail
export PYTHONUNBUFFERED=1
start=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 -c "import jax, jaxlib, cupy; print('jax', jax.__version__, 'jaxlib', jaxlib.__version__, jax.devices(), 'cupy', cupy.__version__)"
SETUPTOOLS_SCM_PRETEND_VERSION=0.0.0+gpucheck python3 -m pip install -q --no-build-isolation --no-deps --no-cache-dir \
  --target /tmp/gf -C cmake.define.GALAXYFIT_CUDA=ON -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90 \
  -C build-dir=/tmp/gf-build . 2>&1 | tail -n 30
echo "run.sh: built in $((SECONDS - start)) s"
export PYTHONPATH=/tmp/gf:/tmp/site
mkdir -p "${OUT:-/tmp/out}"
python3 bench/gpu/check.py --out "${OUT:-/tmp/out}" 2>&1 | tee "${OUT:-/tmp/out}/check.log"
echo "run.sh: done in $((SECONDS - start)) s"
