"""The CUDA speed path's selection logic (tested on CPU) and the throughput benchmark's reference."""

from __future__ import annotations

import inspect

import pytest
import torch

from mrptheory.experiments.mae.training import adamw_options
from mrptheory.experiments.mae.evaluation import autocast


def test_fused_adamw_only_on_cuda() -> None:
    assert adamw_options("cpu") == {}
    fused = "fused" in inspect.signature(torch.optim.AdamW).parameters
    assert adamw_options(torch.device("cuda")) == ({"fused": True} if fused else {})
    assert adamw_options("cuda:1") == adamw_options("cuda")


@pytest.mark.filterwarnings("ignore:CUDA is not available")
def test_bf16_autocast_only_on_cuda() -> None:
    ctx = autocast(torch.device("cuda"))
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16
    assert not isinstance(autocast(torch.device("cpu")), torch.autocast)
    assert not isinstance(autocast(torch.device("cuda"), enabled=False), torch.autocast)


def test_benchmark_reference_is_the_same_size_and_trains(one_torch_thread) -> None:
    from benchmarks.bench_mae_throughput import ReferenceMAE, SDPALayer, bench, protocol_model
    from mrptheory.experiments.mae.model import MaskedAutoencoder

    cfg = protocol_model()
    n = [sum(p.numel() for p in m.parameters())
         for m in (MaskedAutoencoder(cfg), ReferenceMAE(cfg), ReferenceMAE(cfg, SDPALayer))]
    assert n[0] == n[1] == n[2]
    row = bench("cpu", batch=8, steps=1, repeats=1)
    assert row["ratio_package_over_reference"] > 0 and row["optimizer"] == {"fused": False}
