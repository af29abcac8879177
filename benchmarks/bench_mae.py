"""Benchmark: MAE-family pretraining throughput (images/s) and the share of time spent on data.

    python benchmarks/bench_mae.py                 # CPU (and CUDA when present), quick-sweep model
    python benchmarks/bench_mae.py --threads 1 --images 2048 --out benchmarks/bench_mae.json

Each row trains one epoch of the quick-sweep architecture (ViT d=64, depth 2, patch 4 on 28x28)
on Fashion-MNIST (random uint8 images of the same shape when it is not installed). The engine
times the per-batch data preparation (index the in-memory uint8 tensor, standardise, move to the
device) separately from the whole step, so ``data share`` is the fraction of training wall time not
spent in the model. Evaluation (probes) is excluded. Timings are wall clock: on a shared machine
they vary with load.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.device import set_cpu_threads
from mrptheory.experiments.mae.training import MAETrainConfig, train
from mrptheory.experiments.mae.sweep import quick_sweep_config


def _data(n: int) -> tuple[DatasetSplits, str]:
    try:
        from mrptheory.data.registry import load_dataset

        return load_dataset("fashion-mnist"), "fashion-mnist"
    except Exception:  # noqa: BLE001 - benchmark falls back to synthetic images
        rng = np.random.default_rng(0)
        names = tuple(str(i) for i in range(10))

        def split(m: int, s: str) -> ImageDataset:
            return ImageDataset(rng.integers(0, 256, (m, 1, 28, 28), dtype=np.uint8),
                                rng.integers(0, 10, m).astype(np.int64), names, "synthetic", s)

        return DatasetSplits(split(n, "train"), split(256, "test")), "synthetic"


def bench(device: str, methods: list[str], images: int, batch_size: int) -> list[dict]:
    data, name = _data(images)
    base = quick_sweep_config(device=device).base
    rows = []
    for method in methods:
        model = dataclasses.replace(base.model, method=method,
                                    noise_std=0.5 if method == "dae" else 0.0)
        cfg: MAETrainConfig = dataclasses.replace(base, model=model, epochs=1,
                                                  batch_size=batch_size, train_samples=images,
                                                  eval_every=0, probe_train_samples=32,
                                                  test_samples=64)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        res = train(cfg, data, None, show_progress=False)
        wall = time.perf_counter() - start
        rows.append({"device": device, "method": method, "data": name, "images": images,
                     "batch_size": batch_size, "images_per_s": res.timing["images_per_s"],
                     "data_share": res.timing["data_share"], "wall_s_incl_eval": wall})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=4096)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--methods", default="mae,ae,dae,supervised")
    ap.add_argument("--out", default=None, help="write the rows as JSON here")
    args = ap.parse_args()
    set_cpu_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for dev in devices:
        rows += bench(dev, args.methods.split(","), args.images, args.batch_size)
    print(f"{'device':6} {'method':10} {'images/s':>9} {'data share':>10}")
    for r in rows:
        print(f"{r['device']:6} {r['method']:10} {r['images_per_s']:9.0f} {r['data_share']:10.3f}")
    if args.out:
        meta = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                "machine": platform.processor() or platform.machine(),
                "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
        Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
