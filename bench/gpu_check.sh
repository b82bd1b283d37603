#!/usr/bin/env bash
# The siamese trainer's GPU check as one command, for a borrowed GPU machine that has JAX and
# PyTorch but no Keras, no TensorFlow and no network.
#
#   bash bench/gpu_check.sh fetch   # here, with PyPI: Keras and its two missing needs into .whl/
#   bash bench/gpu_check.sh         # there (carry .whl): install them aside, run the benchmark
#
# It prints the GPU, then bench/bench_train.py --gpu (250 px, batch 400, 4,000 synthetic faces)
# under JAX and PyTorch: end-to-end pairs/s, step alone, input alone, input wait, and the
# notebook's loop as the baseline; then JAX again with 8 batches per compiled call. It exits
# non-zero when the first JAX run misses its target.
set -euo pipefail
cd "$(dirname "$0")/.."
KERAS_WHEELS="keras==3.15.1 namex optree"
if [[ "${1:-}" == fetch ]]; then
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >>.git/info/exclude
  platforms=""
  for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do
    platforms+=" --platform $p"
  done
  # shellcheck disable=SC2086
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp $platforms -d .whl $KERAS_WHEELS
  ls .whl
  exit 0
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/keras-site .whl/*.whl
export PYTHONPATH="/tmp/keras-site:$PWD" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
status=0
python3 bench/bench_train.py --gpu --backends jax,torch || status=$?
# Keras' steps_per_execution: 8 batches per call of the compiled step (fewer host round trips)
python3 bench/bench_train.py --gpu --backends jax --steps-per-execution 8 || true
exit "$status"
