#!/usr/bin/env bash
# Exercise every CUDA path (multi-view SL/MRP batched, MAE with bf16 autocast, ResNet-9) on one GPU
# in a few minutes, check each against the CPU within stated tolerances, print throughput.
# Exit 0: all checks passed; 1: a check failed (FAIL lines); 2: no CUDA device (nothing checked).
# Usage: bash benchmarks/gpu_check.sh [--only multiview|mae|resnet ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec python3 benchmarks/gpu_check.py "$@"
