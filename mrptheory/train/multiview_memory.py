"""Up-front memory estimate of a multi-view run, so that sizes that cannot fit are refused in one
line before any allocation (instead of crashing deep inside the generator or a matmul).

Everything is float32 (4 bytes). For S seeds the estimate adds:

* data: the patches of the training, pretraining and the two test sets, ``S n P d`` each, twice
  (the samples and their :func:`~mrptheory.models.conv_learner.patches_t` layout), plus the
  generator's per-sample coefficient tensors ``[n, P, 2k]`` (two at a time, one seed at a time);
* weights: SL ``S k m d``; MRP student + EMA teacher ``2 S R d`` and decoder ``S R R`` (R = k m);
* activations: the fused kernels' ``[S, R, P, n]`` buffers -- 4 for a training pass
  (pre-activation, clamp, power, derivative), 3 for evaluation, MRP's teacher 2 more.

The estimate is deliberately a little generous (x 1.25 for allocator slack and small temporaries).
"""

from __future__ import annotations

import os

from mrptheory.data.multiview import MultiViewConfig
from mrptheory.errors import ConfigError

BYTES = 4  # float32
SLACK = 1.25


def estimate_run_bytes(data_cfg: MultiViewConfig, n_seeds: int, sl_cfg=None, mrp_cfg=None) -> int:
    """Bytes a run of ``n_seeds`` seeds needs (SL if ``sl_cfg``, MRP if ``mrp_cfg``, or both)."""
    S, P, d, k, F = n_seeds, data_cfg.P, data_cfg.d, data_cfg.k, 2 * data_cfg.k
    cfgs = [c for c in (sl_cfg, mrp_cfg) if c is not None]
    if not cfgs:
        return 0
    n_train = max(c.n_train for c in cfgs)
    n_test = max(c.n_test for c in cfgs)
    n_pre = mrp_cfg.n_pretrain if mrp_cfg is not None else 0
    floats = 2.0 * S * (n_train + 2 * n_test + n_pre) * P * d  # samples + patches_t copy
    floats += 2.0 * max(n_train, n_test, n_pre) * P * F  # generator coefficients (one seed)
    floats += S * F * d  # features
    if sl_cfg is not None:
        R = k * sl_cfg.m
        floats += 2.0 * S * R * d  # weights + gradient
        floats += S * R * P * (4 * n_train + 3 * n_test)
    if mrp_cfg is not None:
        R = k * mrp_cfg.m
        floats += 3.0 * S * R * d + 2.0 * S * R * R  # student, teacher, gradient, decoder
        floats += S * R * P * (6 * max(n_pre, n_train) + 3 * n_test)
    return int(SLACK * BYTES * floats)


def available_bytes(device) -> tuple[int, str]:
    """(bytes available, description): free GPU memory on CUDA, else available RAM."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        return int(free), f"free GPU memory on {dev}"
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available RAM"
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")), "available RAM"


def _fmt(b: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if b < 1024 or unit == "TB":
            return f"{b:.1f} {unit}"
        b /= 1024
    return f"{b:.1f} TB"


def check_memory(data_cfg: MultiViewConfig, n_seeds: int, device, sl_cfg=None, mrp_cfg=None,
                 limit: int | None = None) -> int:
    """Raise ConfigError (one line: estimate and limit) if the run cannot fit; return the estimate.

    ``limit`` overrides the measured available memory (tests)."""
    need = estimate_run_bytes(data_cfg, n_seeds, sl_cfg, mrp_cfg)
    if limit is None:
        limit, what = available_bytes(device)
    else:
        what = "the given limit"
    if need > limit:
        raise ConfigError(f"this run needs about {_fmt(need)} (float32 data + weights + "
                          f"activations for {n_seeds} seeds) but only {_fmt(limit)} is {what}: "
                          "use fewer --seeds or smaller --n-train/--n-test/--n-pretrain/--d")
    return need


__all__ = ["estimate_run_bytes", "check_memory", "available_bytes"]
