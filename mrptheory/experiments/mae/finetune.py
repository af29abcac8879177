"""Fine-tuning a pretrained encoder, and its control: the same classifier trained from scratch.

Pan et al. (arXiv 2206.03826) compare mask-reconstruction pretraining followed by fine-tuning with
supervised learning from scratch. A fair comparison gives both the *same fine-tuning budget*: the same
labelled images, epochs, batch size, optimiser and schedule. Only the encoder's starting point differs
(pretrained weights vs a fresh initialisation with the same seed). Both runs use the engine of
:mod:`mrptheory.experiments.mae.training` with ``method="supervised"`` (encoder + linear head, cross-entropy,
every weight trained).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from mrptheory.data.dataset import DatasetSplits
from mrptheory.errors import ConfigError
from mrptheory.checkpoint import load_checkpoint
from mrptheory.experiments.mae.training import CHECKPOINT_NAME, MAETrainConfig, TrainResult, train
from mrptheory.config_spec import constrained, integer, real


@constrained(normalise=False)
@dataclass(frozen=True)
class FinetuneConfig:
    """The labelled-training budget shared by fine-tuning and the from-scratch control.

    Attributes:
        epochs / batch_size / lr / weight_decay / warmup_epochs: as in :class:`MAETrainConfig`.
        train_samples: labelled training images (None or 0: the whole train split).
    """

    epochs: int = integer(10, 1)
    batch_size: int = integer(128, 1)
    lr: float = real(1e-3, 0.0, None, low_open=True)
    weight_decay: float = real(0.05, 0.0, None)
    warmup_epochs: float = real(1.0, 0.0, None)
    train_samples: int | None = integer(10000, 2, zero_is_none=True)


def finetune_config(pretrain: MAETrainConfig, ft: FinetuneConfig, eval_every: int | None = None
                    ) -> MAETrainConfig:
    """The supervised run that fine-tunes ``pretrain``'s encoder (or trains it from scratch)."""
    return dataclasses.replace(
        pretrain,
        model=dataclasses.replace(pretrain.model, method="supervised"),
        epochs=ft.epochs, batch_size=ft.batch_size, lr=ft.lr, weight_decay=ft.weight_decay,
        warmup_epochs=ft.warmup_epochs, train_samples=ft.train_samples,
        eval_every=pretrain.eval_every if eval_every is None else eval_every,
    )


def load_pretrained(run_dir: str | Path) -> tuple[MAETrainConfig, dict[str, torch.Tensor],
                                                  tuple[list[float], list[float]]]:
    """(config, encoder state dict, pixel standardisation) of a finished pretraining run."""
    path = Path(run_dir)
    ckpt = path / CHECKPOINT_NAME if path.is_dir() else path
    if not ckpt.exists():
        raise ConfigError(f"no pretraining checkpoint at {ckpt}")
    payload = load_checkpoint(ckpt, restore_rng=False, map_location="cpu")
    cfg = MAETrainConfig.from_dict(payload["config"])
    if payload["epoch"] < cfg.epochs:
        raise ConfigError(f"{ckpt} is unfinished ({payload['epoch']}/{cfg.epochs} epochs); "
                          f"resume it first")
    prefix = "encoder."
    encoder = {k[len(prefix):]: v for k, v in payload["model"].items() if k.startswith(prefix)}
    return cfg, encoder, tuple(payload["norm"])  # type: ignore[return-value]


def finetune(data: DatasetSplits, ft: FinetuneConfig, *, pretrained: str | Path | None = None,
             base: MAETrainConfig | None = None, run_dir: str | Path | None = None,
             norm: tuple[list[float], list[float]] | None = None,
             show_progress: bool | None = None, desc: str = "") -> TrainResult:
    """Fine-tune the encoder of the run in ``pretrained`` -- or, when None, train from scratch.

    ``base`` gives the architecture and evaluation settings for a from-scratch run (default: the
    pretrained run's config). The fine-tuned run standardises pixels like its pretraining run.
    """
    init = None
    if pretrained is not None:
        pre_cfg, init, pre_norm = load_pretrained(pretrained)
        base = base or pre_cfg
        norm = norm or pre_norm
        if dataclasses.replace(pre_cfg.model, method="supervised", mask_ratio=base.model.mask_ratio,
                               noise_std=base.model.noise_std,
                               norm_pix_loss=base.model.norm_pix_loss) != \
                dataclasses.replace(base.model, method="supervised"):
            raise ConfigError("the fine-tuning architecture must equal the pretrained encoder's")
    if base is None:
        raise ConfigError("a from-scratch run needs `base` (architecture and evaluation settings)")
    cfg = finetune_config(base, ft)
    return train(cfg, data, run_dir, init_encoder=init, norm=norm, show_progress=show_progress,
                 desc=desc or ("finetune" if init is not None else "scratch"))
