"""Image preprocessing shared by the real-data experiments (projection, learned-last dynamics)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def preprocess(train: np.ndarray, test: np.ndarray | None = None,
               eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The authors' normalisation: per-image std scaling, then subtract the train mean image.

    ``train: [N, D]``, ``test: [M, D]`` (float) -> (train', test', mean ``[D]``). Each image is
    divided by its own pixel standard deviation (plus ``eps``), then the mean of the scaled train
    images is subtracted from both sets.
    """
    tr = train / (eps + train.std(axis=1, keepdims=True))
    mean = tr.mean(axis=0)
    tr = tr - mean
    te = None
    if test is not None:
        te = test / (eps + test.std(axis=1, keepdims=True)) - mean
    return tr.astype(np.float32), (None if te is None else te.astype(np.float32)), mean


def downsample_images(images: np.ndarray, factor: int) -> np.ndarray:
    """``[N, C, H, W]`` uint8 -> float32 ``[N, C, H/f, W/f]`` in [0, 1] by f x f average pooling."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32) / 255.0)
    if factor > 1:
        x = F.avg_pool2d(x, factor)
    return x.numpy()
