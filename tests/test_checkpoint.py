"""Checkpoints: atomic saves, exact resume state, and a clear error for a damaged file."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from mrptheory.errors import CorruptCheckpointError
from mrptheory.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import requires_fashion_mnist


def _saved(tmp_path):
    model = torch.nn.Linear(30, 30)
    return save_checkpoint(tmp_path / "ckpt.pt", model=model, epoch=3), model


def test_round_trip(tmp_path):
    path, model = _saved(tmp_path)
    other = torch.nn.Linear(30, 30)
    payload = load_checkpoint(path, model=other)
    assert payload["epoch"] == 3
    assert torch.equal(other.weight, model.weight)


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_a_damaged_checkpoint_names_the_file_and_says_corrupt(tmp_path, damage):
    path, _ = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": data[: len(data) // 2],
                      "garbage": b"not a checkpoint at all"}[damage])
    with pytest.raises(CorruptCheckpointError, match="corrupt") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


MAE_TINY = ["mae", "pretrain", "--epochs", "1", "--train-samples", "64", "--test-samples", "32",
            "--probe-train-samples", "32", "--embed-dim", "8", "--depth", "1", "--num-heads", "1",
            "--decoder-embed-dim", "8", "--batch-size", "32", "--patch-size", "7", "--threads", "1",
            "--no-progress"]


@requires_fashion_mnist
def test_mae_pretrain_on_a_corrupt_checkpoint_is_one_line_offering_fresh(tmp_path):
    from mrptheory.cli import main

    out = tmp_path / "out"
    first = CliRunner().invoke(main, [*MAE_TINY, "--out", str(out)])
    assert first.exit_code == 0, first.output
    (ckpt,) = out.glob("mae_runs_cli/*/checkpoint.pt")
    ckpt.write_bytes(b"")
    second = CliRunner().invoke(main, [*MAE_TINY, "--out", str(out)])
    assert second.exit_code == 2, second.output
    lines = [line for line in second.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(ckpt) in lines[0] and "--fresh" in lines[0], second.output
    third = CliRunner().invoke(main, [*MAE_TINY, "--out", str(out), "--fresh"])
    assert third.exit_code == 0, third.output
