"""Data-parallel training under ``torchrun``: the process group, the per-rank share of each
global batch, and what only rank 0 does (checkpoints, logs, progress).

``torchrun --nproc_per_node N`` starts N processes with ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK`` in their environment; :func:`context` reads them (a plain run is one process of
rank 0) and initialises ``torch.distributed`` once: the gloo backend on CPU, NCCL on CUDA (each
process on GPU ``LOCAL_RANK``).

Each optimiser step takes one *global* batch of ``B`` images (the config's batch size, so a run's
configuration -- and its checkpoint -- do not depend on N); rank ``r`` computes the loss on its
contiguous share ``[start_r, stop_r)`` (``B`` split as evenly as possible). With ``n_r`` images
on rank ``r`` and per-rank mean loss ``l_r``, the rank's loss is scaled by ``n_r N / B`` before
the backward pass: DDP averages the N gradients, so the update is the gradient of
``sum_r n_r l_r / B``, the mean loss of the global batch, exactly as one process would compute it
(up to the order of the float sums in the all-reduce).

Random draws per image (MAE masks: ``L`` uniforms per image) come from one generator that every
rank advances over the whole global batch (:func:`skip_uniform`): rank ``r`` skips the draws of
the images before its share, draws its own, then skips the rest, so its masks equal those the
single process draws for the same images (CPU generators fill uniform tensors serially, so a
split draw equals the whole one; on CUDA the masks are valid but not the single process's), and
all ranks keep the same generator state, the one rank 0 checkpoints.

The MAE reference learning-rate rule: ``lr = base_lr x effective_batch / 256``
(:func:`scaled_lr`), with the effective batch = per-process batch x N.
"""

from __future__ import annotations

import dataclasses
import datetime
import os

import torch

from mrptheory.errors import ConfigError

#: The batch size the MAE reference's base learning rate refers to.
LR_REFERENCE_BATCH = 256


@dataclasses.dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``world`` processes, this one of rank ``rank`` (``local_rank``
    on its node). ``world == 1``: a plain single-process run (nothing distributed)."""

    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints and results and shows progress."""
        return self.rank == 0

    def device(self, requested: str | torch.device) -> torch.device:
        """The device of this process: ``requested`` resolved, with CUDA on GPU ``local_rank``
        when distributed (one GPU per process)."""
        from mrptheory.device import resolve_device

        dev = resolve_device(requested)
        if self.active and dev.type == "cuda":
            dev = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(dev)
        return dev

    def share(self, batch: int) -> tuple[int, int]:
        """``(start, stop)`` of this rank's rows of a global batch of ``batch`` rows (contiguous,
        sizes differing by at most one)."""
        base, extra = divmod(batch, self.world)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (1 if self.rank < extra else 0)

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def sum(self, value: float, device: torch.device) -> float:
        """The sum of ``value`` over the ranks (the value itself in a single process)."""
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=device)
        torch.distributed.all_reduce(t)
        return float(t.item())


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not an integer (set by "
                          f"torchrun; unset it for a single-process run)") from None


def context(device: str | torch.device = "auto") -> DistContext:
    """This process's :class:`DistContext` from torchrun's environment variables, initialising
    the process group (gloo on CPU, NCCL on CUDA) the first time; a single process when
    ``WORLD_SIZE`` is unset or 1."""
    world = _env_int("WORLD_SIZE") or 1
    if world <= 1:
        return DistContext()
    rank, local = _env_int("RANK"), _env_int("LOCAL_RANK")
    if rank is None:
        raise ConfigError("WORLD_SIZE is set but RANK is not: start distributed runs with "
                          "torchrun --nproc_per_node N")
    ctx = DistContext(world, rank, rank if local is None else local)
    if not torch.distributed.is_initialized():
        from mrptheory.device import resolve_device

        cuda = resolve_device(device).type == "cuda"
        if cuda:
            torch.cuda.set_device(ctx.local_rank)
        torch.distributed.init_process_group("nccl" if cuda else "gloo", rank=rank,
                                             world_size=world,
                                             timeout=datetime.timedelta(minutes=60))
    return ctx


def scaled_lr(base_lr: float, effective_batch: int) -> float:
    """The MAE reference rule: ``base_lr x effective_batch / 256``."""
    return base_lr * effective_batch / LR_REFERENCE_BATCH


def lr_statement(lr: float, per_process: int, world: int, base_lr: float | None) -> str:
    """One line saying the effective batch and where the learning rate came from."""
    eff = per_process * world
    head = (f"effective batch {eff} = {per_process} per process x {world} "
            f"process{'es' if world != 1 else ''}")
    if base_lr is None:
        return (f"{head}; lr {lr:g} as given (--lr; --blr B sets lr = B x effective batch / "
                f"{LR_REFERENCE_BATCH}, the MAE reference rule)")
    return (f"{head}; lr = base lr {base_lr:g} x {eff} / {LR_REFERENCE_BATCH} = {lr:g} "
            f"(the MAE reference rule)")


class _Loss(torch.nn.Module):
    """Puts a model's ``training_loss`` behind ``forward`` (DDP hooks the forward call)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, imgs: torch.Tensor, labels: torch.Tensor,
                generator: torch.Generator | None) -> torch.Tensor:
        return self.model.training_loss(imgs, labels, generator)


def loss_module(model: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """The module a step calls as ``step(imgs, labels, generator) -> loss``: the model's
    ``training_loss`` itself in one process, a DDP-wrapped one when distributed (the gradients
    are averaged over the ranks in the backward pass; checkpoints keep the un-wrapped model)."""
    if not ctx.active:
        return _Loss(model)
    from torch.nn.parallel import DistributedDataParallel

    dev = next(model.parameters()).device
    ids = [dev.index] if dev.type == "cuda" else None
    return DistributedDataParallel(_Loss(model), device_ids=ids)


def uniform_draws_per_image(model_cfg) -> int:
    """Uniform numbers a model draws per training image from the step's generator (MAE / AE:
    one per patch, for the masking permutation; supervised: none). The Gaussian DAE also draws
    normals, which CPU generators do not fill serially: refused under torchrun."""
    if model_cfg.method == "supervised":
        return 0
    if model_cfg.method == "dae":
        raise ConfigError("--method dae is not supported under torchrun yet (its Gaussian noise "
                          "cannot be split across processes reproducibly); run it in one process")
    return int(model_cfg.num_patches)


def skip_uniform(generator: torch.Generator, count: int) -> None:
    """Advance ``generator`` past ``count`` uniform draws (as ``torch.rand(count)`` would)."""
    if count > 0:
        torch.rand(count, generator=generator, device=generator.device)


def check_batches(n_train: int, batch: int, ctx: DistContext) -> None:
    """Every rank needs at least one image of every global batch (the last one is ``n_train mod
    batch`` when that is not 0)."""
    if not ctx.active:
        return
    last = n_train % batch or batch
    if min(batch, last) < ctx.world:
        raise ConfigError(f"the global batch of {min(batch, last)} images (batch {batch}, "
                          f"{n_train} training images) gives some of the {ctx.world} processes "
                          f"no image; use fewer processes or other sizes")


__all__ = ["DistContext", "context", "scaled_lr", "lr_statement", "loss_module",
           "uniform_draws_per_image", "skip_uniform", "check_batches", "LR_REFERENCE_BATCH"]
