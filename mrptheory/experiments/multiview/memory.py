"""Up-front memory estimate of a multi-view run, so that sizes that cannot fit are refused in one
line before any allocation (instead of crashing deep inside the generator or a matmul).

Everything is float32 (4 bytes). For S seeds the estimate adds:

* data: the patches of the training, pretraining and the two test sets, ``S n P d`` each, twice
  (the samples and their :func:`~mrptheory.experiments.multiview.conv_learner.patches_t` layout), plus the
  generator's per-sample coefficient tensors ``[n, P, 2k]`` (two at a time, one seed at a time);
* weights: SL ``S k m d``; MRP student + EMA teacher ``2 S R d`` and decoder ``S R R`` (R = k m);
* activations: the fused kernels' ``[S, R, P, n]`` buffers -- 4 for a training pass
  (pre-activation, clamp, power, derivative), 3 for evaluation, MRP's teacher 2 more.

The estimate is deliberately a little generous (x 1.25 for allocator slack and small temporaries).
"""

from __future__ import annotations

from mrptheory.experiments.multiview.data import MultiViewConfig
from mrptheory.resources import check_fits, device_memory_bytes

BYTES = 4  # float32
SLACK = 1.25


def estimate_run_bytes(data_cfg: MultiViewConfig, n_seeds: int, sl_cfg=None, mrp_cfg=None) -> int:
    """Bytes a run of ``n_seeds`` seeds needs (SL if ``sl_cfg``, MRP if ``mrp_cfg``, or both)."""
    S, P, d, k, F = n_seeds, data_cfg.patches, data_cfg.d, data_cfg.k, 2 * data_cfg.k
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


def check_memory(data_cfg: MultiViewConfig, n_seeds: int, device, sl_cfg=None, mrp_cfg=None,
                 limit: int | None = None) -> int:
    """Refuse (one line: the flags, the estimate and the limit) a run that cannot fit on ``device``
    (free GPU memory on CUDA, available RAM otherwise); return the estimate in bytes.

    ``limit`` overrides the measured available memory (tests). The check itself is
    :func:`mrptheory.resources.check_fits`, shared by every command."""
    need = estimate_run_bytes(data_cfg, n_seeds, sl_cfg, mrp_cfg)
    check_fits(need, f"float32 data, weights and activations for {n_seeds} seeds",
               "--seeds/--n-train/--n-test/--n-pretrain/--d",
               available=limit if limit is not None else device_memory_bytes(device))
    return need


__all__ = ["estimate_run_bytes", "check_memory"]
