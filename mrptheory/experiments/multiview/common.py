"""Shared pieces of the multi-view training loops: data sets of S seeds, log grid, divergence check.

Used by :mod:`mrptheory.experiments.multiview.sl` (supervised learning) and
:mod:`mrptheory.experiments.multiview.mrp` (MRP pretraining, linear probe, fine-tuning).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mrptheory.experiments.multiview.data import (STREAM_PRETRAIN, STREAM_TEST_MULTI,
                                                  STREAM_TEST_SINGLE, STREAM_TRAIN, MultiViewBatch,
                                                  MultiViewConfig, make_features, sample_multiview)
from mrptheory.errors import MrpError
from mrptheory.validation import check_int


@dataclass
class MultiViewData:
    """Features and data sets of S seeds (all on one device)."""

    features: torch.Tensor  # [S, 2k, d]
    train: MultiViewBatch
    test_multi: MultiViewBatch
    test_single: MultiViewBatch
    pretrain: MultiViewBatch | None = None


def make_data(cfg: MultiViewConfig, seeds: list[int], n_train: int, n_test: int,
              device: torch.device, n_pretrain: int | None = None) -> MultiViewData:
    """Features, labelled training set, fresh multi-/single-view test sets (and pretraining set).

    The single-view test set is drawn from ``cfg.single_view_test_config()`` (weak view well
    below several off-target features, as in the theory; see :mod:`mrptheory.experiments.multiview.data`).
    """
    feats = make_features(cfg, seeds, device)
    kw = dict(features=feats, device=device)
    return MultiViewData(
        features=feats,
        train=sample_multiview(cfg, n_train, seeds, stream=STREAM_TRAIN, **kw),
        test_multi=sample_multiview(cfg, n_test, seeds, stream=STREAM_TEST_MULTI, mu=0.0, **kw),
        # single-view test data from the theory's single-view distribution (test_* fields)
        test_single=sample_multiview(cfg.single_view_test_config(), n_test, seeds,
                                     stream=STREAM_TEST_SINGLE, mu=1.0, **kw),
        pretrain=(sample_multiview(cfg, n_pretrain, seeds, stream=STREAM_PRETRAIN, **kw)
                  if n_pretrain else None),
    )


def log_steps(steps: int, every: int) -> list[int]:
    """The steps 0, every, 2 every, ... at which metrics are recorded, always ending at ``steps``."""
    grid = list(range(0, steps + 1, every))
    return grid if grid[-1] == steps else grid + [steps]


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A float32 numpy copy of a tensor (detached, on the CPU). Always a copy: a CPU float32
    tensor's ``.numpy()`` shares its memory, and the trainers reuse their output buffers."""
    return t.detach().float().cpu().numpy().copy()


class DivergenceError(MrpError):
    """GD produced a non-finite loss or weight: the step size is too large for this setting."""


def check_finite(what: str, step: int, lr_text: str, seeds: list[int],
                 *tensors: torch.Tensor) -> None:
    """Raise :class:`DivergenceError` if any seed's tensor holds NaN/inf (first axis = seed).

    Called at every log step and at the end of every loop (a NaN or inf weight stays non-finite,
    so a divergence between two checks is caught at the next one): never silent NaN results.
    """
    bad = torch.zeros(tensors[0].shape[0], dtype=torch.bool, device=tensors[0].device)
    for t in tensors:
        bad |= ~torch.isfinite(t.detach().reshape(t.shape[0], -1)).all(dim=1)
    if bool(bad.any()):
        which = [seeds[i] for i in torch.nonzero(bad).flatten().tolist()]
        raise DivergenceError(f"{what} diverged by step {step} (non-finite loss/weights for seeds "
                              f"{which}) with step size {lr_text}: lower the step size")


def seed_list(n_seeds: int, base_seed: int = 0) -> list[int]:
    """Seeds ``base_seed, ..., base_seed + n_seeds - 1``."""
    n_seeds = check_int("seeds", n_seeds, 1, 100_000)
    return list(range(base_seed, base_seed + n_seeds))


__all__ = ["MultiViewData", "make_data", "log_steps", "to_numpy", "DivergenceError",
           "check_finite", "seed_list"]
