"""Dry runs of paper-scale presets: memory per job, number of jobs and device-hours, without
running the experiment.

A preset is a TOML file ``simulations/<experiment>/<name>.toml`` whose keys are the experiment
command's option names (``-`` written ``_``), plus an optional ``[dry_run]`` table describing what
the command reads from the data or the launch (image shape, number of images, processes).
:func:`read_preset` is a minimal reader (the kernel's preset loader, when present, reads the same
files).

For each experiment the plan combines

* the memory the existing estimators give for one job (``train.multiview_memory``,
  ``train.mae.estimated_bytes``, ``commands.subspace.resnet_bytes``);
* the number of jobs (the units the launcher submits: regime-map cells, one DDP pretraining job,
  budget-curve units);
* a per-step time **measured here** on a reduced size (a few timed steps after one warm-up) and
  **scaled by the ratio of FLOPs** (or of the dominant tensor sizes) of the full to the reduced
  step: ``t_full = t_reduced x flops_full / flops_reduced``. That assumes the device runs the
  full size at the reduced size's FLOP rate (large steps usually run faster per FLOP on a GPU:
  the estimate tends to be an upper bound there), and it counts optimiser steps only (no data
  loading, logging or evaluation);
* steps per job from the run's own rules (multi-view: the derived budget to its cap, 5x for SL and 20x for MRP, a range).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from mrptheory.errors import ConfigError
from mrptheory.presets import presets_root

def preset_path(spec: str | Path) -> Path:
    """``EXPERIMENT/NAME`` (a file of the presets folder, :func:`mrptheory.presets.presets_root`)
    or a path to a TOML file."""
    path = Path(spec)
    if path.suffix != ".toml":
        path = presets_root() / f"{spec}.toml"
    if not path.is_file():
        known = ", ".join(paper_presets()) or "none found"
        raise ConfigError(f"no preset {spec!r} (looked for {path}); paper presets: {known}")
    return path


def paper_presets() -> list[str]:
    """The ``EXPERIMENT/paper_*`` presets of the presets folder, sorted."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in presets_root().glob("*/paper_*.toml"))


def read_preset(spec: str | Path) -> tuple[str, dict[str, Any]]:
    """``(experiment, values)`` of a preset file; the experiment is its folder's name."""
    import tomllib

    path = preset_path(spec)
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"preset {path} is not valid TOML ({exc})") from None
    return path.parent.name, values


@dataclasses.dataclass
class Plan:
    """What a preset would cost. ``steps``/``device_hours``: (low, high) when the run's length
    has a range (until converged), else equal. ``seconds_per_step``: per job and step, as
    measured (reduced size) and scaled."""

    preset: str
    what: str
    memory_per_job: float
    jobs: int
    steps_per_job: tuple[int, int]
    seconds_per_step: float
    device_hours: tuple[float, float]
    measured: str
    notes: list[str] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        from mrptheory.resources import format_bytes

        lo, hi = self.device_hours
        steps = (f"{self.steps_per_job[0]:,}" if self.steps_per_job[0] == self.steps_per_job[1]
                 else f"{self.steps_per_job[0]:,} to {self.steps_per_job[1]:,}")
        hours = f"{lo:,.1f}" if math.isclose(lo, hi) else f"{lo:,.1f} to {hi:,.1f}"
        return [f"{self.preset}: {self.what}",
                f"  memory per job  {format_bytes(self.memory_per_job)} (the package's estimator)",
                f"  jobs            {self.jobs}",
                f"  steps per job   {steps}",
                f"  time per step   {self.seconds_per_step:.3g} s ({self.measured})",
                f"  device-hours    {hours} (jobs x steps x time per step)",
                *(f"  note: {n}" for n in self.notes),
                "  nothing was run (dry run)"]


def timed_steps(step: Callable[[], Any], n: int = 3) -> float:
    """Seconds per call of ``step``: one warm-up call, then the mean of ``n`` timed calls."""
    step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


# ---------------------------------------------------------------------------- multi-view

def _multiview_work(data, cfg, n: int, seeds: int) -> float:
    """The size of one multi-view GD step: the fused kernels' ``[S, R, P, n]`` buffers times the
    patch dimension d (each entry is a d-long inner product), R = k m kernels."""
    return float(seeds) * data.k * cfg.m * data.patches * n * data.d


def plan_multiview(name: str, values: dict, device: torch.device) -> Plan:
    """``mrp multiview regime`` at the preset's sizes: one job per map cell."""
    from mrptheory.experiments.multiview.cli import build_configs
    from mrptheory.experiments.multiview import make_data, train_mrp, train_sl
    from mrptheory.experiments.multiview.budget import step_plan
    from mrptheory.experiments.multiview.memory import estimate_run_bytes
    from mrptheory.experiments.multiview.regime_map import GRIDS, cell_configs, cell_seed_list

    values = dict(values)
    values.pop("dry_run", None)
    maps = values.pop("map", "all")
    n_seeds = int(values.pop("seeds", 4))
    base = build_configs(values)
    cells = [(m, x, y) for m in (("leak_gap", "mu_d") if maps == "all" else (maps,))
             for y in GRIDS[False][m][1] for x in GRIDS[False][m][0]]
    seeds = list(range(n_seeds))
    # measured: 20 SL and 20 MRP steps at a reduced size (1 seed, d and n cut), scaled by size
    small = build_configs({**values, "d": max(2 * base[0].k, 20), "n_train": 50, "n_test": 20,
                           "n_pretrain": 50, "steps": 20, "mrp_steps": 20, "log_every": 20,
                           "probe_steps": 1, "ft_steps": 1})
    data_s = make_data(small[0], [0], 50, 20, device, n_pretrain=50)
    t_sl = timed_steps(lambda: train_sl(small[0], small[1], [0], device=device, data=data_s,
                                        show_progress=False), n=1) / 20
    t_mrp = timed_steps(lambda: train_mrp(small[0], small[2], [0], device=device, data=data_s,
                                          show_progress=False), n=1) / 20
    sl_small = _multiview_work(small[0], small[1], 50, 1)
    mrp_small = _multiview_work(small[0], small[2], 50, 1)
    memory, lo_s, hi_s, hours_lo, hours_hi, per_step = 0.0, [], [], 0.0, 0.0, []
    for m, x, y in cells:
        data, sl, mrp = cell_configs(m, x, y, base)
        s = len(cell_seed_list((data, sl, mrp), seeds))
        memory = max(memory, estimate_run_bytes(data, s, sl, mrp))
        t1 = t_sl * _multiview_work(data, sl, sl.n_train, s) / sl_small
        t2 = t_mrp * _multiview_work(data, mrp, max(mrp.n_pretrain, mrp.n_train), s) / mrp_small
        p_sl, p_mrp = step_plan(data, sl, "sl"), step_plan(data, mrp, "mrp")
        lo_s.append(p_sl.min_steps + p_mrp.min_steps)
        hi_s.append(p_sl.max_steps + p_mrp.max_steps)
        hours_lo += (p_sl.min_steps * t1 + p_mrp.min_steps * t2) / 3600
        hours_hi += (p_sl.max_steps * t1 + p_mrp.max_steps * t2) / 3600
        per_step.append((t1 + t2) / 2)
    data = base[0]
    return Plan(name, f"multi-view regime map(s) {maps} at k={data.k}, d={data.d}, P={data.patches}, "
                      f"{n_seeds} seeds per cell (4 or more inside the regime)",
                memory, len(cells), (min(lo_s), max(hi_s)), sum(per_step) / len(per_step),
                (hours_lo, hours_hi),
                f"measured: {t_sl * 1e3:.2f} ms per SL and {t_mrp * 1e3:.2f} ms per MRP GD step at "
                f"1 seed, d={small[0].d}, n=50 on {device}, scaled by S k m P n d; mean over cells",
                ["steps per job: SL + MRP pretraining, from the derived budget (low) to its cap "
                 "(high: 5x for SL, 20x for MRP); probe and fine-tuning steps not counted"])


# ---------------------------------------------------------------------------- MAE

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


def plan_mae(name: str, values: dict, device: torch.device) -> Plan:
    """``mrp mae pretrain`` at the preset's sizes: one data-parallel job of N processes."""
    from mrptheory.distributed import lr_statement, scaled_lr
    from mrptheory.experiments.mae.model import MAEConfig, build_model
    from mrptheory.experiments.mae.training import MAETrainConfig, estimated_bytes

    extra = values.get("dry_run", {})
    shape = tuple(extra.get("image_shape", (3, 224, 224)))
    n_images = int(extra.get("train_images", 100_000))
    world = int(extra.get("processes", 1))
    per_proc = int(values.get("batch_size", 128))
    model = MAEConfig(image_shape=shape, patch_size=int(values.get("patch_size", 16)),
                      embed_dim=int(values.get("embed_dim", 384)), depth=int(values.get("depth", 12)),
                      num_heads=int(values.get("num_heads", 6)),
                      decoder_embed_dim=int(values.get("decoder_embed_dim", 512)),
                      method=values.get("method", "mae"),
                      mask_ratio=float(values.get("mask_ratio", 0.75)),
                      num_classes=int(extra.get("classes", 1000)))
    blr = values.get("blr")
    lr = scaled_lr(float(blr), per_proc * world) if blr is not None else float(values.get("lr", 1.5e-3))
    epochs = int(values.get("epochs", 100))
    n_train = int(values.get("train_samples") or n_images)
    cfg = MAETrainConfig(model=model, epochs=epochs, batch_size=per_proc, lr=lr,
                         train_samples=n_train, device="cpu")
    eval_images = int(values.get("probe_train_samples", 2000)) + int(values.get("test_samples", 2000))
    memory = estimated_bytes(cfg, n_train, eval_images)
    data_bytes = n_train * math.prod(shape)
    # measured: the same widths, 1 encoder block, 64 px images, batch 8
    small = dataclasses.replace(model, image_shape=(shape[0], 64, 64), depth=1)
    net = build_model(small).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x = torch.randn(8, shape[0], 64, 64, device=device)
    y = torch.zeros(8, dtype=torch.long, device=device)
    gen = torch.Generator(device=device).manual_seed(0)

    def step() -> None:
        loss = net.training_loss(x, y, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()

    t_small = timed_steps(step)
    t_step = t_small * vit_train_flops(model, per_proc) / vit_train_flops(small, 8)
    steps = epochs * math.ceil(n_train / (per_proc * world))
    hours = world * steps * t_step / 3600
    return Plan(name, f"MAE ViT ({model.embed_dim} wide, depth {model.depth}, patch "
                      f"{model.patch_size}) on {n_train:,} images of {shape}, {epochs} epochs, "
                      f"{world} processes (torchrun)",
                memory, 1, (steps, steps), t_step, (hours, hours),
                f"measured: {t_small * 1e3:.1f} ms per step of 1 block at 64 px, batch 8 on "
                f"{device}, scaled by the ViT FLOPs ({vit_train_flops(model, per_proc):.3g} per "
                f"step and process)",
                [lr_statement(lr, per_proc, world, None if blr is None else float(blr)),
                 f"memory is per process; device-hours count all {world} processes",
                 f"the engine keeps the training images on the device as uint8: "
                 f"{data_bytes / 2**30:.1f} GiB of the memory per job"])


# ---------------------------------------------------------------------------- projection

def conv_flops(model: torch.nn.Module, shape: tuple[int, int, int]) -> float:
    """Forward FLOPs of ``model`` on one image: 2 x multiply-adds of every Conv2d and Linear,
    counted with forward hooks on a batch of one."""
    total = [0.0]

    def hook(module, inputs, output) -> None:
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total[0] += 2.0 * output.numel() * module.in_channels // module.groups * k
        elif isinstance(module, torch.nn.Linear):
            total[0] += 2.0 * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    return total[0]


def plan_projection(name: str, values: dict, device: torch.device) -> Plan:
    """``mrp subspace --budget`` at the preset's sizes: one job per (arch, n, epochs, side, seed)."""
    from mrptheory.experiments.subspace.cli import resnet_bytes
    from mrptheory.nets.classifiers import build_classifier

    extra = values.get("dry_run", {})
    shape = tuple(extra.get("image_shape", (3, 64, 64)))
    classes = int(extra.get("classes", 200))
    width = int(values.get("resnet_width", 64))
    batch = int(extra.get("batch_size", 512))
    sizes = [int(s) for s in str(values.get("budget_train_sizes", "100000")).split(",")]
    epoch_grid = [int(e) for e in str(values.get("budget_epochs", values.get("epochs", 50))).split(",")]
    n_seeds = int(values.get("seeds", 3))
    archs = values.get("archs", ["resnet9"])
    archs = [archs] if isinstance(archs, str) else list(archs)
    if archs != ["resnet9"]:
        raise ConfigError("the projection dry run covers --arch resnet9 only")
    full = conv_flops(build_classifier("resnet9", shape, classes, width=width), shape)
    small_shape = (shape[0], 32, 32)
    net = build_classifier("resnet9", small_shape, classes, width=16).to(device)
    small = conv_flops(build_classifier("resnet9", small_shape, classes, width=16), small_shape)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(16, *small_shape, device=device)
    y = torch.zeros(16, dtype=torch.long, device=device)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    t_small = timed_steps(step)
    t_step = t_small * (full * batch) / (small * 16)
    jobs, hours, steps = 0, 0.0, []
    for n in sizes:
        for e in epoch_grid:
            s = e * math.ceil(n / batch)
            steps.append(s)
            jobs += 2 * n_seeds  # top-90% and bottom-20%, each seed
            hours += 2 * n_seeds * s * t_step / 3600
    return Plan(name, f"projection budget curve, ResNet-9 width {width} on {shape} images "
                      f"({classes} classes), n in {sizes}, epochs {epoch_grid}, {n_seeds} seeds",
                resnet_bytes(width, shape, batch), jobs, (min(steps), max(steps)), t_step,
                (hours, hours),
                f"measured: {t_small * 1e3:.1f} ms per step of width 16 at 32 px, batch 16 on "
                f"{device}, scaled by the conv FLOPs (x{full * batch / (small * 16):.0f})",
                ["time per step is at the largest batch; jobs of smaller n have fewer steps",
                 "the principal basis (one SVD per train size) is not counted"])


PLANNERS: dict[str, Callable[[str, dict, torch.device], Plan]] = {
    "multiview": plan_multiview, "mae": plan_mae, "subspace": plan_projection}


def plan_preset(spec: str | Path, device: str | torch.device = "auto") -> Plan:
    """The :class:`Plan` of one preset (reads it, measures a few reduced steps, runs nothing)."""
    from mrptheory.device import resolve_device

    experiment, values = read_preset(spec)
    if experiment not in PLANNERS:
        raise ConfigError(f"no dry run for experiment {experiment!r} (preset {spec}); "
                          f"dry runs exist for {', '.join(PLANNERS)}")
    return PLANNERS[experiment](str(spec), values, resolve_device(device))


__all__ = ["Plan", "paper_presets", "preset_path", "read_preset", "plan_preset",
           "vit_train_flops", "conv_flops", "timed_steps", "PLANNERS"]
