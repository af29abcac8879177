"""``benchmarks/gpu_check.sh`` without a GPU: one clear line, exit 2, nothing checked (the GPU
path itself can only run on a machine with CUDA)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_says_there_is_no_cuda_and_exits_2():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # hides any GPU from torch
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "no CUDA device" in lines[0] and "nothing was checked" in lines[0]
