"""Training engine for the MAE family (MAE, AE, Gaussian DAE) and for supervised ViT training.

One plain loop serves every method of :mod:`mrptheory.experiments.mae.model` (each model exposes
``training_loss(imgs, labels, generator)``):

* AdamW (betas 0.9 / 0.95 as in MAE pretraining), per-step learning rate with linear warm-up then
  cosine decay to zero -- a pure function of the step, so resuming needs no scheduler state;
* bfloat16 autocast on CUDA, float32 on CPU;
* the images live in memory as uint8 and are standardised per batch (per-channel train mean/std);
  data order, masks and noise come from two seeded generators whose states are checkpointed;
* a checkpoint after every epoch (atomic, with RNG and generator states): calling :func:`train`
  again with the same ``run_dir`` resumes, and on CPU gives bit-for-bit the result of an
  uninterrupted run;
* evaluation at epoch 0, every ``eval_every`` epochs and at the end: linear probe and k-NN accuracy of
  the frozen encoder, test reconstruction loss (autoencoders) or test accuracy (classifiers).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrptheory import distributed
from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.device import resolve_device
from mrptheory.errors import ConfigError
from mrptheory.experiments.mae.model import MAEConfig, build_model
from mrptheory.progress import progress
from mrptheory.results import fingerprint, to_jsonable
from mrptheory.seeding import seed_everything
from mrptheory.checkpoint import load_checkpoint, save_checkpoint
from mrptheory.experiments.mae.evaluation import (EvalData, autocast, classifier_accuracy, probe_encoder,
                                      reconstruction_loss)
from mrptheory.config_spec import constrained, flag, integer, nested, real
from mrptheory.config_spec import device as device_name

CHECKPOINT_NAME = "checkpoint.pt"


@constrained(normalise=False)
@dataclass(frozen=True)
class MAETrainConfig:
    """One training run.

    Attributes:
        model: architecture and method (:class:`MAEConfig`).
        epochs: passes over the training subset.
        batch_size: images per step.
        lr: peak learning rate (absolute, after warm-up).
        weight_decay: AdamW decoupled weight decay.
        warmup_epochs: linear warm-up length (may be fractional); then cosine decay to 0.
        train_samples: size of the random training subset (None or 0: the whole train split).
        probe_train_samples: images (from the training subset) used to fit the linear / k-NN probes.
        test_samples: test images used for every test metric (None or 0: the whole test split).
        eval_every: evaluate every this many epochs (0: only before training and at the end).
        knn_k: neighbours of the k-NN probe.
        mlp_probe: also fit the deep (MLP) probe at every evaluation (``mlp_acc``).
        hflip: random horizontal flips (off for Fashion-MNIST by default: it has no mirror symmetry
            to exploit at this size; on for CIFAR-10).
        seed: seeds the subset choice, the initialisation, data order, masks and noise.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        amp: bfloat16 autocast when on CUDA (ignored on CPU).
    """

    model: MAEConfig = nested(MAEConfig)
    epochs: int = integer(10, 1)
    batch_size: int = integer(128, 1)
    lr: float = real(1e-3, 0.0, None, low_open=True)
    weight_decay: float = real(0.05, 0.0, None)
    warmup_epochs: float = real(1.0, 0.0, None)
    train_samples: int | None = integer(10000, 2, zero_is_none=True)
    probe_train_samples: int = integer(2000, 2)
    test_samples: int | None = integer(2000, 1, zero_is_none=True)
    eval_every: int = integer(1, 0)
    knn_k: int = integer(20, 1)
    mlp_probe: bool = flag(False)
    hflip: bool = flag(False)
    seed: int = integer(0, 0, 2**32 - 1)
    device: str = device_name("auto")
    amp: bool = flag(True)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MAETrainConfig":
        d = dict(d)
        model = dict(d.pop("model"))
        model["image_shape"] = tuple(model["image_shape"])
        return cls(model=MAEConfig(**model), **d)

    def fingerprint(self) -> str:
        """Short hash of everything that changes the result (not the device)."""
        d = self.to_dict()
        d.pop("device")
        if not d.get("mlp_probe"):   # runs from before the deep probe keep their fingerprint
            d.pop("mlp_probe", None)
        return fingerprint(d)


@dataclass
class TrainResult:
    """What a finished (or paused) run returns.

    Attributes:
        history: per-epoch ``epoch``/``train_loss``/``lr``, per-evaluation ``eval_epoch``,
            ``probe_acc``, ``knn_acc``, ``test_loss`` (reconstruction) or ``test_acc`` (classifier).
        final: the metrics of the last evaluation.
        epochs_done: epochs completed so far (``< cfg.epochs`` when paused by ``stop_after``).
        timing: seconds in data preparation and in total, images per second of training.
        run_dir: where the checkpoint lives (None for an in-memory run).
    """

    config: MAETrainConfig
    history: dict[str, list]
    final: dict[str, float]
    epochs_done: int
    timing: dict[str, float]
    run_dir: Path | None
    model: torch.nn.Module | None = None
    norm: tuple[list[float], list[float]] | None = None

    @property
    def finished(self) -> bool:
        return self.epochs_done >= self.config.epochs

    def summary(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "history": self.history, "final": self.final,
                "epochs_done": self.epochs_done, "timing": self.timing,
                "run_dir": str(self.run_dir) if self.run_dir else None}


def estimated_bytes(cfg: MAETrainConfig, n_train: int, n_eval: int) -> float:
    """Rough peak memory of one training run (bytes), for :func:`mrptheory.resources.check_fits`.

    Parameters: a pre-norm block of width ``d`` and MLP ratio ``r`` holds about ``(4 + 2 r) d^2``
    weights (QKV, projection, two MLP layers); each weight costs 16 bytes in training (float32
    value, gradient and AdamW's two moments). Activations kept for the backward pass: about
    ``(12 + 4 r)`` floats per token, width unit and block, plus the attention matrices
    (``heads x T^2`` per image and block), for one batch of ``B`` images. Data: the uint8 training
    images plus the float32 probe-train and test images (``n_eval`` of them).
    """
    m = cfg.model
    tokens = m.num_patches + 1
    d, dd, r = m.embed_dim, m.decoder_embed_dim, m.mlp_ratio
    params = (m.depth * (4 + 2 * r) * d * d + m.patch_dim * d + m.num_classes * d)
    if m.method != "supervised":
        params += m.decoder_depth * (4 + 2 * r) * dd * dd + d * dd + dd * m.patch_dim
    acts = cfg.batch_size * tokens * (
        m.depth * ((12 + 4 * r) * d + m.num_heads * tokens)
        + (0 if m.method == "supervised"
           else m.decoder_depth * ((12 + 4 * r) * dd + m.decoder_num_heads * tokens)))
    c, h, w = m.image_shape
    data = n_train * c * h * w + 4 * n_eval * c * h * w
    return 16.0 * params + 4.0 * acts + data


def adamw_options(device: torch.device | str) -> dict[str, Any]:
    """Extra ``torch.optim.AdamW`` arguments for ``device``: the fused (single-kernel) update on
    CUDA when this torch offers it, nothing on CPU (the for-each update is the fastest there)."""
    import inspect

    dev = torch.device(device)
    if dev.type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters:
        return {"fused": True}
    return {}


def learning_rate(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup_steps``, then half-cosine decay to 0 at ``total_steps``."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress_ = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress_)))


def check_compatible(cfg: MAETrainConfig, data: DatasetSplits) -> None:
    """The model's image shape and classes must match the data set."""
    if tuple(cfg.model.image_shape) != tuple(data.train.image_shape):
        raise ConfigError(
            f"model image_shape {cfg.model.image_shape} does not match the data set's "
            f"{data.train.image_shape}"
        )
    if cfg.model.num_classes < data.train.num_classes:
        raise ConfigError(
            f"model num_classes {cfg.model.num_classes} < the data set's {data.train.num_classes}"
        )


@dataclass
class MAEData:
    """uint8 training images on the device, their standardisation, and the evaluation tensors."""

    train_x: torch.Tensor      # [N, C, H, W] uint8
    train_y: torch.Tensor      # [N] int64
    mean: torch.Tensor         # [1, C, 1, 1]
    std: torch.Tensor          # [1, C, 1, 1]
    eval: EvalData

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, C, H, W]`` -> float ``[B, C, H, W]`` with per-channel zero mean, unit std."""
        return (x.float() / 255.0 - self.mean) / self.std


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``array``'s memory when it is writable, else of a writable copy.

    The data loaders return read-only (memory-mapped) arrays; ``torch.as_tensor`` on those warns
    that writing through the tensor would be undefined, so such an array is copied once here.
    """
    if not array.flags.writeable:
        array = np.array(array, copy=True)
    return torch.from_numpy(np.ascontiguousarray(array))


def prepare_data(cfg: MAETrainConfig, data: DatasetSplits, device: torch.device,
                 norm: tuple[list[float], list[float]] | None = None) -> MAEData:
    """Subset, move and standardise the data of one run (deterministic in ``cfg.seed``).

    ``norm`` (per-channel mean and std in [0, 1] pixel units) defaults to the training subset's; a
    fine-tuning run passes its pretraining run's so both see identically scaled pixels.
    """
    check_compatible(cfg, data)
    train = data.train.subset(cfg.train_samples, seed=cfg.seed)
    test = data.test.subset(cfg.test_samples, seed=cfg.seed + 1)
    x = _tensor(train.images)
    if norm is None:
        xf = x.float() / 255.0
        mean = xf.mean(dim=(0, 2, 3))
        std = xf.std(dim=(0, 2, 3)).clamp_min(1e-6)
    else:
        mean, std = torch.tensor(norm[0]), torch.tensor(norm[1])
    mean, std = mean.view(1, -1, 1, 1).to(device), std.view(1, -1, 1, 1).to(device)
    probe_idx = np.sort(np.random.default_rng(cfg.seed + 2).permutation(len(train))[
        :min(cfg.probe_train_samples, len(train))])

    def std_(images: np.ndarray) -> torch.Tensor:
        return (_tensor(images).to(device).float() / 255.0 - mean) / std

    ev = EvalData(
        probe_train_x=std_(train.images[probe_idx]),
        probe_train_y=_tensor(train.labels[probe_idx]).to(device),
        test_x=std_(test.images),
        test_y=_tensor(test.labels).to(device),
    )
    return MAEData(x.to(device), _tensor(train.labels).to(device), mean, std, ev)


def evaluate(model: torch.nn.Module, prepared: MAEData, cfg: MAETrainConfig) -> dict[str, float]:
    """Probe and k-NN accuracy of the encoder, plus test reconstruction loss or test accuracy."""
    amp = cfg.amp
    out = probe_encoder(model.encoder, prepared.eval, knn_k=cfg.knn_k, amp=amp,
                        mlp=cfg.mlp_probe)
    if cfg.model.method == "supervised":
        out["test_acc"] = classifier_accuracy(model, prepared.eval.test_x, prepared.eval.test_y,
                                              amp=amp)
    else:
        out["test_loss"] = reconstruction_loss(model, prepared.eval.test_x, seed=cfg.seed + 7,
                                               amp=amp)
    return out


def _empty_history() -> dict[str, list]:
    return {"epoch": [], "train_loss": [], "lr": [], "eval_epoch": [], "probe_acc": [],
            "knn_acc": [], "mlp_acc": [], "test_loss": [], "test_acc": []}


def _record_eval(history: dict[str, list], epoch: int, metrics: dict[str, float]) -> None:
    history["eval_epoch"].append(epoch)
    for key in ("probe_acc", "knn_acc", "mlp_acc", "test_loss", "test_acc"):
        history.setdefault(key, []).append(metrics.get(key))


def train(cfg: MAETrainConfig, data: DatasetSplits, run_dir: str | Path | None = None, *,
          init_encoder: dict[str, torch.Tensor] | None = None,
          norm: tuple[list[float], list[float]] | None = None,
          stop_after: int | None = None, show_progress: bool | None = None,
          desc: str = "") -> TrainResult:
    """Train (or resume) one run and return its history and final metrics.

    Args:
        cfg: the run's configuration.
        data: train/test splits (uint8 images ``[N, C, H, W]``).
        run_dir: folder for ``checkpoint.pt``; if it holds a checkpoint of the same config the run
            resumes from it (a finished run returns at once). None: no checkpoints.
        init_encoder: encoder state dict to start from (fine-tuning a pretrained encoder).
        norm: per-channel (mean, std) to standardise with (default: the training subset's).
        stop_after: stop after this many epochs *in this call* (simulates an interruption).
        show_progress: progress bar with loss and images/s (None: on unless MRP_NO_PROGRESS).

    Under ``torchrun --nproc_per_node N`` the run is data-parallel (:mod:`mrptheory.distributed`):
    ``cfg.batch_size`` is the global batch, each process computes its share of it, and only
    rank 0 writes the checkpoint, evaluates and shows progress (the other ranks return a result
    without evaluations); a checkpoint resumes under any N.
    """
    dist = distributed.context(cfg.device)
    device = dist.device(cfg.device)
    seed_everything(cfg.seed)
    model = build_model(cfg.model).to(device)
    if init_encoder is not None:
        model.encoder.load_state_dict(init_encoder)
    decay, no_decay = [], []
    for name, p in model.named_parameters():  # no decay on biases, norms, tokens (MAE recipe)
        (no_decay if p.ndim < 2 or name.endswith("token") else decay).append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=(0.9, 0.95), **adamw_options(device),
    )
    perm_gen = torch.Generator()              # data order (CPU)
    perm_gen.manual_seed(cfg.seed + 101)
    noise_gen = torch.Generator(device=device)  # masks and noise (on the device)
    noise_gen.manual_seed(cfg.seed + 202)

    history, epoch, timing = _empty_history(), 0, {"data_s": 0.0, "total_s": 0.0, "images": 0}
    ckpt = Path(run_dir) / CHECKPOINT_NAME if run_dir is not None else None
    if ckpt is not None and ckpt.exists():
        payload = load_checkpoint(ckpt, map_location="cpu")  # generator states must stay on CPU
        if payload.get("fingerprint") != cfg.fingerprint():
            raise ConfigError(
                f"{ckpt} was written by a different configuration; use another run folder or "
                f"delete it to start over"
            )
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        perm_gen.set_state(payload["perm_gen"])
        noise_gen.set_state(payload["noise_gen"])
        history, epoch, timing, norm = (payload["history"], payload["epoch"], payload["timing"],
                                        payload["norm"])
    dist.barrier()  # every rank has read the checkpoint before rank 0 writes the next one
    prepared = prepare_data(cfg, data, device, norm)
    norm = (prepared.mean.flatten().tolist(), prepared.std.flatten().tolist())
    step_loss = distributed.loss_module(model, dist)
    draws = distributed.uniform_draws_per_image(cfg.model) if dist.active else 0

    n = prepared.train_x.shape[0]
    distributed.check_batches(n, cfg.batch_size, dist)
    steps_per_epoch = max(1, math.ceil(n / cfg.batch_size))
    total_steps = cfg.epochs * steps_per_epoch
    warmup_steps = int(round(cfg.warmup_epochs * steps_per_epoch))

    def save() -> None:
        if ckpt is not None and dist.is_main:
            save_checkpoint(ckpt, model=model, optimizer=optimizer, epoch=epoch, history=history,
                            timing=timing, norm=norm, config=cfg.to_dict(),
                            fingerprint=cfg.fingerprint(), perm_gen=perm_gen.get_state(),
                            noise_gen=noise_gen.get_state(), global_step=epoch * steps_per_epoch)
        dist.barrier()  # no rank goes on (or reads the checkpoint) before it is written

    if epoch == 0 and not history["eval_epoch"]:
        if dist.is_main:
            _record_eval(history, 0, evaluate(model, prepared, cfg))
        save()

    epochs_this_call = 0
    bar = progress(total=(cfg.epochs - epoch) * steps_per_epoch, desc=desc or cfg.model.method,
                   enabled=show_progress if dist.is_main else False, unit="step")
    model.train()
    while epoch < cfg.epochs and (stop_after is None or epochs_this_call < stop_after):
        t_epoch = time.perf_counter()
        order = torch.randperm(n, generator=perm_gen)
        loss_sum, seen = 0.0, 0
        for i in range(steps_per_epoch):
            t0 = time.perf_counter()
            idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size].to(device)
            x = prepared.standardise(prepared.train_x[idx])       # [B, C, H, W]
            y = prepared.train_y[idx]                              # [B]
            if cfg.hflip:
                flip = torch.rand(x.shape[0], device=device, generator=noise_gen) < 0.5
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            timing["data_s"] += time.perf_counter() - t0
            step = epoch * steps_per_epoch + i
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, total_steps, warmup_steps, cfg.lr)
            if dist.active:  # this rank's share of the global batch, and its masks' draws
                start, stop = dist.share(x.shape[0])
                x, y, rows = x[start:stop], y[start:stop], x.shape[0]
                distributed.skip_uniform(noise_gen, start * draws)
            with autocast(device, cfg.amp):
                loss = step_loss(x, y, noise_gen)
            if dist.active:  # DDP averages over ranks: weight n_r N / B gives the global mean
                distributed.skip_uniform(noise_gen, (rows - stop) * draws)
                loss = loss * (x.shape[0] * dist.world / rows)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_value = (dist.sum(float(loss.detach()) / dist.world, device) if dist.active
                          else float(loss.detach()))
            if not math.isfinite(loss_value):
                raise FloatingPointError(f"training loss became {loss_value} at epoch {epoch + 1}; "
                                         f"lower lr (now {cfg.lr:g})")
            loss_sum += loss_value * (rows if dist.active else x.shape[0])
            seen += rows if dist.active else x.shape[0]
            timing["images"] += rows if dist.active else x.shape[0]
            bar.update(1)
            elapsed = timing["total_s"] + time.perf_counter() - t_epoch
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss_value:.4f}",
                            img_s=f"{timing['images'] / max(elapsed, 1e-9):.0f}")
        timing["total_s"] += time.perf_counter() - t_epoch
        epoch += 1
        epochs_this_call += 1
        history["epoch"].append(epoch)
        history["train_loss"].append(loss_sum / max(seen, 1))
        history["lr"].append(optimizer.param_groups[0]["lr"])
        if dist.is_main and (epoch == cfg.epochs or (cfg.eval_every and epoch % cfg.eval_every == 0)):
            _record_eval(history, epoch, evaluate(model, prepared, cfg))
        save()
    bar.close()

    last = len(history["eval_epoch"]) - 1
    final = {k: history[k][last] for k in ("probe_acc", "knn_acc", "mlp_acc", "test_loss",
                                            "test_acc")
             if history.get(k) and history[k][last] is not None}
    timing_out = dict(timing)
    timing_out["images_per_s"] = timing["images"] / max(timing["total_s"], 1e-9)
    timing_out["data_share"] = timing["data_s"] / max(timing["total_s"], 1e-9)
    return TrainResult(cfg, history, final, epoch, timing_out,
                       Path(run_dir) if run_dir is not None else None, model, norm)


def load_run(run_dir: str | Path, device: str | torch.device = "cpu"
             ) -> tuple[MAETrainConfig, torch.nn.Module, dict[str, Any]]:
    """Rebuild a run's model from its checkpoint: ``(config, model in eval mode, payload)``."""
    path = Path(run_dir)
    ckpt = path / CHECKPOINT_NAME if path.is_dir() else path
    if not ckpt.exists():
        raise ConfigError(f"no checkpoint at {ckpt}; train with `mrp mae pretrain --out ...` first")
    payload = load_checkpoint(ckpt, restore_rng=False, map_location="cpu")
    cfg = MAETrainConfig.from_dict(payload["config"])
    model = build_model(cfg.model).to(resolve_device(device))
    model.load_state_dict(payload["model"])
    model.eval()
    return cfg, model, payload


def small_dataset(n_train: int = 64, n_test: int = 32, shape: tuple[int, int, int] = (1, 8, 8),
                  num_classes: int = 3, seed: int = 0) -> DatasetSplits:
    """A tiny generated labelled image set (class = which image quadrant is bright) for tests/demos."""
    rng = np.random.default_rng(seed)
    c, h, w = shape

    def make(n: int, split: str) -> ImageDataset:
        labels = rng.integers(0, num_classes, size=n)
        imgs = rng.integers(0, 60, size=(n, c, h, w))
        for i, y in enumerate(labels):
            r0 = (int(y) % 2) * (h // 2)
            c0 = (int(y) // 2 % 2) * (w // 2)
            imgs[i, :, r0:r0 + h // 2, c0:c0 + w // 2] += 150
        return ImageDataset(imgs.clip(0, 255).astype(np.uint8), labels.astype(np.int64),
                            tuple(f"class{i}" for i in range(num_classes)), "toy", split)

    return DatasetSplits(make(n_train, "train"), make(n_test, "test"))


__all__ = ["MAETrainConfig", "TrainResult", "MAEData", "train", "evaluate", "prepare_data",
           "learning_rate", "estimated_bytes", "adamw_options", "load_run", "small_dataset"]
