"""Supervised training of a classifier, with per-epoch checkpoints and exact resume.

The recipe of the projection experiment (Balestriero & LeCun 2024, authors' code): AdamW
(lr 1e-3, weight decay 1e-3), one-cycle learning-rate schedule over the whole run, batch 512,
optional augmentation (random crop with reflect padding + horizontal flip, done in torch on the
device). Everything random in an epoch (the shuffle and the augmentation) is drawn from a torch
Generator seeded by ``(seed, epoch)``, so an interrupted run resumed from its last checkpoint
follows exactly the same path as an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mrptheory.device import resolve_device
from mrptheory.errors import ConfigError
from mrptheory.progress import progress
from mrptheory.checkpoint import load_checkpoint, save_checkpoint
from mrptheory.config_spec import constrained, flag, integer, real


@constrained()
@dataclass
class ClassifierTrainConfig:
    """Hyper-parameters of one supervised run (defaults = the paper's recipe, fewer epochs)."""

    epochs: int = integer(5, 1)
    batch_size: int = integer(512, 1)
    lr: float = real(1e-3, 0.0, None, low_open=True)
    weight_decay: float = real(1e-3, 0.0, None)
    augment: bool = flag(False)
    crop_padding: int = integer(2, 0)
    seed: int = integer(0, 0, 2**32 - 1)
    eval_batch_size: int = integer(2048, 1)


@dataclass
class TrainResult:
    """Outcome of :func:`train_classifier`.

    Attributes:
        test_accuracy: accuracy on the test set after the last finished epoch.
        history: one dict per finished epoch (epoch, train_loss, train_accuracy, test_accuracy,
            seconds, images_per_s).
        finished: False when the call stopped early (``stop_after``) before ``config.epochs``.
    """

    test_accuracy: float
    history: list[dict] = field(default_factory=list)
    finished: bool = True


def augment_batch(x: torch.Tensor, padding: int, generator: torch.Generator,
                  flip: bool = True) -> torch.Tensor:
    """Random crop (after reflect padding by ``padding``) and random horizontal flip, per image.

    ``x: [B, C, H, W]`` -> ``[B, C, H, W]``; the randomness comes from ``generator`` (on x's device).
    """
    b, c, h, w = x.shape
    if padding > 0:
        mode = "reflect" if padding < min(h, w) else "replicate"
        xp = F.pad(x, (padding, padding, padding, padding), mode=mode)
        off_h = torch.randint(0, 2 * padding + 1, (b,), generator=generator, device=x.device)
        off_w = torch.randint(0, 2 * padding + 1, (b,), generator=generator, device=x.device)
        rows = off_h[:, None] + torch.arange(h, device=x.device)[None, :]  # [B, H]
        cols = off_w[:, None] + torch.arange(w, device=x.device)[None, :]  # [B, W]
        batch = torch.arange(b, device=x.device)[:, None, None]
        x = xp.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C]
        x = x.permute(0, 3, 1, 2).contiguous()
    if flip:
        do_flip = torch.rand(b, generator=generator, device=x.device) < 0.5
        x = torch.where(do_flip[:, None, None, None], x.flip(-1), x)
    return x


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                      batch_size: int = 2048) -> float:
    """Top-1 accuracy of ``model`` on ``x: [N, C, H, W]``, ``y: [N]`` (eval mode, batched)."""
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    model.train(was_training)
    return correct / max(len(x), 1)


def _tensor(a: np.ndarray | torch.Tensor, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    """``a`` as a tensor on ``dev`` (read-only numpy arrays are copied rather than shared)."""
    if isinstance(a, np.ndarray) and not a.flags.writeable:
        a = a.copy()
    return torch.as_tensor(a, dtype=dtype).to(dev)


def _epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed) * 1_000_003 + epoch)
    return gen


def train_classifier(model: nn.Module, x_train: np.ndarray | torch.Tensor,
                     y_train: np.ndarray | torch.Tensor, x_test: np.ndarray | torch.Tensor,
                     y_test: np.ndarray | torch.Tensor, config: ClassifierTrainConfig, *,
                     device: str | torch.device = "auto", checkpoint_path: str | Path | None = None,
                     stop_after: int | None = None, show_progress: bool | None = None,
                     desc: str = "train", threads: int | None = None) -> TrainResult:
    """Train ``model`` with cross-entropy, AdamW and a one-cycle schedule; return test accuracy.

    Shapes: ``x_*: [N, C, H, W]`` float, ``y_*: [N]`` int. With ``checkpoint_path`` the state is
    saved after every epoch and, if the file exists, training resumes from it (the model's current
    weights are then replaced by the checkpoint's). ``stop_after`` stops after that many epochs in
    total (used to simulate an interruption). The model is left on ``device`` after training.
    """
    dev = resolve_device(device)
    xtr, xte = _tensor(x_train, torch.float32, dev), _tensor(x_test, torch.float32, dev)
    ytr, yte = _tensor(y_train, torch.long, dev), _tensor(y_test, torch.long, dev)
    if xtr.ndim != 4 or xte.ndim != 4 or xtr.shape[1:] != xte.shape[1:]:
        raise ConfigError(f"images must be [N, C, H, W] with equal shapes; got {tuple(xtr.shape)}, "
                          f"{tuple(xte.shape)}")
    if len(ytr) != len(xtr) or len(yte) != len(xte):
        raise ConfigError("labels must have one entry per image")
    n = len(xtr)
    n_steps = steps_per_epoch(n, config.batch_size)
    batch = min(config.batch_size, n)
    model.to(dev).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * n_steps)
    history: list[dict] = []
    start_epoch = 0
    ckpt = Path(checkpoint_path) if checkpoint_path is not None else None
    if ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt, map_location=dev, model=model, optimizer=optimizer,
                                scheduler=scheduler)
        start_epoch, history = int(state["epoch"]), list(state["history"])
    last_epoch = config.epochs if stop_after is None else min(config.epochs, stop_after)
    bar = progress(total=(last_epoch - start_epoch) * n_steps * batch, desc=desc,
                   enabled=show_progress, unit="img", unit_scale=True)
    for epoch in range(start_epoch, last_epoch):
        gen = _epoch_generator(config.seed, epoch, dev)
        perm = torch.randperm(n, generator=gen, device=dev)
        t0 = time.perf_counter()
        loss_sum, correct, seen = 0.0, 0, 0
        for step in range(n_steps):
            idx = perm[step * batch:(step + 1) * batch]
            xb, yb = xtr[idx], ytr[idx]
            if config.augment:
                xb = augment_batch(xb, config.crop_padding, gen)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.detach().argmax(1) == yb).sum())
            seen += len(idx)
            bar.update(len(idx))
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        seconds = time.perf_counter() - t0
        test_acc = evaluate_accuracy(model, xte, yte, config.eval_batch_size)
        record = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(seen, 1),
            "train_accuracy": correct / max(seen, 1),
            "test_accuracy": test_acc,
            "seconds": seconds,
            "images_per_s": seen / max(seconds, 1e-9),
        }
        history.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", test_acc=f"{test_acc:.3f}",
                        img_s=f"{record['images_per_s']:.0f}")
        if ckpt is not None:
            save_checkpoint(ckpt, model=model, optimizer=optimizer, scheduler=scheduler,
                            epoch=epoch + 1, history=history)
    bar.close()
    if history:
        acc = history[-1]["test_accuracy"]
    else:
        acc = evaluate_accuracy(model, xte, yte, config.eval_batch_size)
    finished = len(history) >= config.epochs
    return TrainResult(test_accuracy=float(acc), history=history, finished=finished)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Optimizer steps per epoch (the last incomplete batch is dropped): ``max(1, n // batch)``."""
    return max(1, math.floor(n / batch_size))
