"""Benchmark: training throughput (images/s) of the projection experiment's classifiers.

    python benchmarks/bench_projection.py                       # CPU (and CUDA when present)
    python benchmarks/bench_projection.py --threads 1 --images 4096 --out bench_projection.json

Each row trains the MLP and the ResNet-9 (``--width``, paper: 64) for one epoch with the
experiment's recipe (AdamW, one-cycle, batch 512) on bottom-20%-projected Fashion-MNIST images
(random images of the same shape when it is not installed), with and without augmentation,
through :func:`mrptheory.nets.supervised.train_classifier`, and reports the images/s of the
training loop (evaluation excluded). Also times the projection itself (eigendecomposition and
the pixel-space projection of train and test). Wall-clock numbers vary with machine load.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.nets.classifiers import build_classifier
from mrptheory.experiments.subspace.projection import part_basis, prepare, project_images
from mrptheory.nets.supervised import ClassifierTrainConfig, cpu_threads, train_classifier


def _data(n: int) -> tuple[DatasetSplits, str]:
    try:
        from mrptheory.data.registry import load_dataset

        return load_dataset("fashion-mnist"), "fashion-mnist"
    except Exception:  # noqa: BLE001 - fall back to synthetic images of the same shape
        rng = np.random.default_rng(0)

        def split(m: int, s: str) -> ImageDataset:
            return ImageDataset(rng.integers(0, 256, (m, 1, 28, 28), dtype=np.uint8),
                                rng.integers(0, 10, m).astype(np.int64),
                                tuple(str(i) for i in range(10)), "synthetic", s)

        return DatasetSplits(split(n, "train"), split(1000, "test")), "synthetic"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=4096, help="train images per epoch")
    parser.add_argument("--width", type=int, default=16, help="ResNet-9 base width")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: default)")
    parser.add_argument("--devices", default="auto", help="comma list, e.g. cpu,cuda; auto = cpu "
                                                          "(+cuda when present)")
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args()

    splits, name = _data(args.images)
    t0 = time.perf_counter()
    data = prepare(splits, train_size=args.images, test_size=1000)
    sub = part_basis(data.basis, 0.8, "bottom")
    xtr, xte = project_images(data.train, data.test, sub)
    prep_s = time.perf_counter() - t0
    shape = (-1, *data.image_shape)
    devices = (["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
               if args.devices == "auto" else args.devices.split(","))
    rows = []
    with cpu_threads(args.threads or None):
        for device in devices:
            for arch in ("mlp", "resnet9"):
                for augment in (False, True):
                    torch.manual_seed(0)
                    model = build_classifier(arch, data.image_shape, data.num_classes,
                                             width=args.width, max_width=256)
                    # a warm-up epoch on a few batches, then the timed epoch
                    train_classifier(model, xtr[:1024].reshape(shape), data.train_labels[:1024],
                                     xte[:256].reshape(shape), data.test_labels[:256],
                                     ClassifierTrainConfig(epochs=1, augment=augment),
                                     device=device, show_progress=False)
                    result = train_classifier(
                        model, xtr.reshape(shape), data.train_labels, xte.reshape(shape),
                        data.test_labels, ClassifierTrainConfig(epochs=1, augment=augment),
                        device=device, show_progress=False)
                    h = result.history[-1]
                    rows.append({"device": device, "arch": arch, "augment": augment,
                                 "images": args.images, "seconds": round(h["seconds"], 3),
                                 "images_per_s": round(h["images_per_s"], 1)})
                    print(f"{device:5s} {arch:8s} augment={augment!s:5s} "
                          f"{h['images_per_s']:10.1f} img/s ({h['seconds']:.2f} s)", flush=True)
    info = {"data": name, "threads": torch.get_num_threads() if not args.threads else args.threads,
            "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "projection_prep_seconds": round(prep_s, 3), "resnet_width": args.width}
    print(info)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"info": info, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
