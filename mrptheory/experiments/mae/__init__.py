"""Masked auto-encoders (He et al. 2022) on small images: the ViT MAE (``model``, ``patches``), its
pretraining loop (``training``), linear / MLP / k-NN probes and fine-tuning (``evaluation``,
``finetune``), the mask-ratio sweep (``sweep``), the registered pretraining protocol
(``protocol``, ``pretrained``), the label-budget curve (``budget``), raw-pixel / random-encoder
baselines (``baselines``), the payloads it writes (``report``), its claims, figures and the
``mrp mae`` CLI group.
"""

from __future__ import annotations

from mrptheory.facade import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "MAEConfig": "model", "build_model": "model",
    "MAETrainConfig": "training", "TrainResult": "training", "train": "training",
    "load_run": "training", "prepare_data": "training",
    "FinetuneConfig": "finetune", "finetune": "finetune",
    "probe_encoder": "evaluation",
    "SweepConfig": "sweep", "run_mae_sweep": "sweep",
    "MAEProtocol": "protocol", "ensure_pretrained": "pretrained",
    "run_budget_curve": "budget",
    "mae": "cli",
})
