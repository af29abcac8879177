"""``mrp subspace --dry-run``: the projection sweep's or the budget curve's cost (see
:mod:`mrptheory.planning`), one job per unit (architecture x cut or side x seed, and train size
x epochs for the budget curve).

ResNet-9: the time per step is measured at width 16 on 32 px images with a batch of 16 and scaled
by the conv and linear FLOPs (:func:`conv_flops`) of the full step to the measured one. The MLP
is small: its step is measured at the full image size and batch. The principal basis (one SVD
per train size) is not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from mrptheory.errors import ConfigError
from mrptheory.planning import Plan, timed_steps


def conv_flops(model: torch.nn.Module, shape: tuple[int, int, int]) -> float:
    """Forward FLOPs of ``model`` on one image: 2 x multiply-adds of every Conv2d and Linear,
    counted with forward hooks on a batch of one (on the model's device: a model built on the
    ``meta`` device is counted without allocating its weights)."""
    total = [0.0]

    def hook(module, inputs, output) -> None:
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total[0] += 2.0 * output.numel() * module.in_channels // module.groups * k
        elif isinstance(module, torch.nn.Linear):
            total[0] += 2.0 * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    device = next(model.parameters()).device
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, *shape, device=device))
    for h in handles:
        h.remove()
    return total[0]


def resnet_bytes(width: int, image_shape: tuple[int, int, int], batch_size: int) -> int:
    """Rough peak training bytes of the ResNet-9 classifier of base width ``width``.

    Parameters grow as ~1700 width^2 (1628-1712 measured for widths 16-64), each held four times
    in float32 (weights, gradients, Adam's two moments); activations as ~12 float32 maps of
    ``[batch, width, H, W]`` kept for the backward pass.
    """
    _, h, w = image_shape
    return 16 * 1700 * width * width + 48 * batch_size * width * h * w


def _step_time(net: torch.nn.Module, shape: tuple[int, int, int], batch: int,
               device: torch.device) -> float:
    """Seconds of one Adam step of ``net`` on a batch of ``batch`` random images."""
    net = net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(batch, *shape, device=device)
    y = torch.zeros(batch, dtype=torch.long, device=device)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return timed_steps(step)


def arch_step(arch: str, shape: tuple[int, int, int], classes: int, batch: int, width: int,
              mlp_max_width: int | None, device: torch.device) -> tuple[float, str]:
    """(seconds per training step of ``arch`` at the full size, how that was measured)."""
    from mrptheory.nets.classifiers import build_classifier

    if arch == "resnet9":
        with torch.device("meta"):  # the planned width is counted, never allocated
            planned = build_classifier("resnet9", shape, classes, width=width)
        full = conv_flops(planned, shape)
        small_shape = (shape[0], 32, 32)
        small = conv_flops(build_classifier("resnet9", small_shape, classes, width=16), small_shape)
        t_small = _step_time(build_classifier("resnet9", small_shape, classes, width=16),
                             small_shape, 16, device)
        scale = full * batch / (small * 16)
        return t_small * scale, (f"ResNet-9: {t_small * 1e3:.1f} ms per step of width 16 at 32 px, "
                                 f"batch 16 on {device}, scaled by the conv FLOPs (x{scale:.0f})")
    from mrptheory.resources import check_fits

    # the MLP is timed at its planned size: its weights and a batch of activations must fit here
    check_fits(16.0 * math.prod(shape) * (mlp_max_width or 256) + 16.0 * batch * math.prod(shape),
               f"timing one step of the {arch} for the dry run", "--batch-size / --mlp-max-width")
    net = build_classifier(arch, shape, classes, max_width=mlp_max_width)
    t = _step_time(net, shape, batch, device)
    return t, f"{arch}: {t * 1e3:.1f} ms per step measured at the full size, batch {batch}"


def plan_subspace(label: str, *, what: str, archs: Sequence[str], cells: Sequence[tuple[int, int]],
                  jobs_per_cell: int, shape: tuple[int, int, int], classes: int, batch: int,
                  width: int, mlp_max_width: int | None, device: torch.device) -> Plan:
    """The :class:`~mrptheory.planning.Plan` of ``mrp subspace``: for every architecture and
    (train size, epochs) cell, ``jobs_per_cell`` units of ``epochs x ceil(n / batch)`` steps."""
    steps, hours, memory, times, how = [], 0.0, 0.0, [], []
    for arch in archs:
        t_step, measured = arch_step(arch, shape, classes, batch, width, mlp_max_width, device)
        times.append(t_step)
        how.append(measured)
        if arch == "resnet9":
            memory = max(memory, resnet_bytes(width, shape, batch))
        else:  # the MLP's weights and a batch of activations, with Adam: small next to data
            memory = max(memory, 16.0 * math.prod(shape) * (mlp_max_width or 256)
                         + 16.0 * batch * math.prod(shape))
        for n, epochs in cells:
            s = epochs * math.ceil(n / batch)
            steps.append(s)
            hours += jobs_per_cell * s * t_step / 3600
    return Plan(label, what, memory, jobs_per_cell * len(cells) * len(archs),
                (min(steps), max(steps)), max(times), (hours, hours),
                "measured: " + "; ".join(how),
                ["time per step is the slowest architecture's; jobs of smaller n have fewer steps",
                 "the principal basis (one SVD per train size) is not counted"])


def train_images(n: int, planned: dict, option: str) -> int:
    """The images of a train size ``n`` (0 = the whole split: the ``[dry_run]`` table's
    ``train_images``, which a dry run cannot read from the data)."""
    if n:
        return n
    if "train_images" not in planned:
        raise ConfigError(f"{option} 0 (the whole train split) needs the split's size for a dry "
                          f"run: train_images = N in the [dry_run] table of a --config or "
                          f"--preset file")
    return int(planned["train_images"])


__all__ = ["plan_subspace", "conv_flops", "arch_step", "resnet_bytes", "train_images"]
