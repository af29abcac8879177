"""Trivial baselines every MAE number is reported beside: raw pixels and a random encoder.

A learned representation is only interesting if a linear probe (or k-NN) on it beats the same
probe on

* **raw pixels** -- the standardised images flattened to ``[N, C*H*W]``, probed on exactly the
  probe-train / test images of the run (:func:`mrptheory.experiments.mae.training.prepare_data` is deterministic in
  the run's seed), and
* **a random encoder** -- the same ViT at initialisation, i.e. the epoch-0 evaluation every run
  records before training (``history["probe_acc"][0]``, ``history["knn_acc"][0]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mrptheory.data.dataset import DatasetSplits
from mrptheory.metrics.knn import knn_accuracy
from mrptheory.metrics.probe import logistic_probe_accuracy

RAW = "raw pixels"
RANDOM = "random encoder"


def raw_pixel_metrics(cfg: Any, data: DatasetSplits) -> dict[str, float]:
    """Linear-probe and k-NN accuracy on raw standardised pixels with the run's probe/test images.

    ``cfg``: a :class:`mrptheory.experiments.mae.training.MAETrainConfig`; returns ``{"probe_acc", "knn_acc"}``.
    """
    from mrptheory.experiments.mae.training import prepare_data

    ev = prepare_data(cfg, data, torch.device("cpu")).eval
    ftr = ev.probe_train_x.reshape(len(ev.probe_train_x), -1)
    fte = ev.test_x.reshape(len(ev.test_x), -1)
    ytr, yte = ev.probe_train_y, ev.test_y
    return {"probe_acc": logistic_probe_accuracy(ftr, ytr, fte, yte),
            "knn_acc": knn_accuracy(ftr, ytr, fte, yte, k=min(cfg.knn_k, len(ytr)))}


def random_encoder_metrics(records: list[dict[str, Any]], method: str = "mae"
                           ) -> dict[str, float] | None:
    """Epoch-0 (untrained encoder) probe and k-NN accuracy, mean over the ``method`` runs that
    evaluated at epoch 0 (None when there are none)."""
    vals = [(r["history"]["probe_acc"][0], r["history"]["knn_acc"][0]) for r in records
            if r["method"] == method and r.get("history", {}).get("eval_epoch", [None])[0] == 0]
    if not vals:
        return None
    arr = np.asarray(vals, dtype=float)
    return {"probe_acc": float(arr[:, 0].mean()), "knn_acc": float(arr[:, 1].mean())}


_RAW_CACHE: dict[tuple, dict[str, float]] = {}


def sweep_baselines(records: list[dict[str, Any]], cfg: Any, data: DatasetSplits
                    ) -> dict[str, dict[str, float]]:
    """``{"raw pixels": {...}, "random encoder": {...}}`` for a sweep (reference config, each seed
    averaged). The raw-pixel probes are cached per (config, seed, data set) within a process."""
    import dataclasses

    raws = []
    for s in cfg.seeds:
        run_cfg = dataclasses.replace(cfg.base, seed=s)
        key = (run_cfg.fingerprint(), id(data))
        if key not in _RAW_CACHE:
            _RAW_CACHE[key] = raw_pixel_metrics(run_cfg, data)
        raws.append(_RAW_CACHE[key])
    out = {RAW: {k: float(np.mean([r[k] for r in raws])) for k in ("probe_acc", "knn_acc")}}
    rand = random_encoder_metrics(records)
    if rand is not None:
        out[RANDOM] = rand
    return out
