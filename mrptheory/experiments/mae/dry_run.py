"""``mrp mae pretrain --dry-run``: one data-parallel pretraining job's cost (see
:mod:`mrptheory.planning`).

The time per step is measured on the same widths with one encoder block on 64 px images and a
batch of 8, and scaled by :func:`vit_train_flops` of the full step to the measured one.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from mrptheory.planning import Plan, timed_steps


def vit_train_flops(model_cfg, batch: int) -> float:
    """FLOPs of one MAE training step (forward + backward = 3 x forward) on ``batch`` images.

    A block of width d and MLP ratio r on T tokens costs 2 T (4 + 2 r) d^2 (QKV, projection, MLP)
    plus 4 T^2 d (scores and weighted sum); the encoder sees the visible patches and the class
    token, the decoder all patches; patch embedding and prediction 2 L p^2 C d each.
    """
    m = model_cfg
    L, r = m.num_patches, m.mlp_ratio
    keep = L if m.method != "mae" else max(1, int(L * (1 - m.mask_ratio)))

    def blocks(depth: int, d: int, t: int) -> float:
        return depth * (2 * t * (4 + 2 * r) * d * d + 4 * t * t * d)

    fwd = 2 * L * m.patch_dim * m.embed_dim + blocks(m.depth, m.embed_dim, keep + 1)
    if m.method != "supervised":
        dd = m.decoder_embed_dim
        fwd += 2 * (keep + 1) * m.embed_dim * dd + blocks(m.decoder_depth, dd, L + 1)
        fwd += 2 * L * dd * m.patch_dim
    return 3.0 * batch * fwd


def plan_pretrain(label: str, cfg, *, world: int, base_lr: float | None, n_train: int,
                  n_eval: int, device: torch.device) -> Plan:
    """The :class:`~mrptheory.planning.Plan` of ``mrp mae pretrain`` with train config ``cfg``
    (whose ``batch_size`` is the effective batch, as the command builds it) on ``world``
    processes, ``n_train`` training and ``n_eval`` probe + test images."""
    from mrptheory.distributed import lr_statement
    from mrptheory.experiments.mae.model import build_model
    from mrptheory.experiments.mae.training import estimated_bytes

    model = cfg.model
    per_process = cfg.batch_size // world
    memory = estimated_bytes(dataclasses.replace(cfg, batch_size=per_process), n_train, n_eval)
    data_bytes = n_train * math.prod(model.image_shape)
    channels = model.image_shape[0]
    small = dataclasses.replace(model, image_shape=(channels, 64, 64), depth=1)
    from mrptheory.resources import check_fits

    # the timed step keeps the planned widths: it must fit here (ViT-H's 1280 fits easily)
    check_fits(estimated_bytes(dataclasses.replace(cfg, model=small, batch_size=8), 0, 0),
               f"timing one block of width {model.embed_dim} for the dry run",
               "--embed-dim / --decoder-embed-dim")
    net = build_model(small).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x = torch.randn(8, channels, 64, 64, device=device)
    y = torch.zeros(8, dtype=torch.long, device=device)
    gen = torch.Generator(device=device).manual_seed(0)

    def step() -> None:
        loss = net.training_loss(x, y, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()

    t_small = timed_steps(step)
    t_step = t_small * vit_train_flops(model, per_process) / vit_train_flops(small, 8)
    steps = cfg.epochs * math.ceil(n_train / cfg.batch_size)
    hours = world * steps * t_step / 3600
    return Plan(label, f"MAE ViT ({model.embed_dim} wide, depth {model.depth}, patch "
                       f"{model.patch_size}) on {n_train:,} images of {tuple(model.image_shape)}, "
                       f"{cfg.epochs} epochs, {world} process{'es' if world != 1 else ''} "
                       f"(torchrun)",
                memory, 1, (steps, steps), t_step, (hours, hours),
                f"measured: {t_small * 1e3:.1f} ms per step of 1 block at 64 px, batch 8 on "
                f"{device}, scaled by the ViT FLOPs ({vit_train_flops(model, per_process):.3g} "
                f"per step and process)",
                [lr_statement(cfg.lr, per_process, world, base_lr),
                 "memory is per process" + (f"; device-hours count all {world} processes"
                                            if world > 1 else ""),
                 f"the engine keeps the training images on the device as uint8: "
                 f"{data_bytes / 2**30:.1f} GiB of the memory per job"])


__all__ = ["plan_pretrain", "vit_train_flops"]
