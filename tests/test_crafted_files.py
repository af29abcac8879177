"""Crafted files never run code (issue 17): every checkpoint reader refuses a checkpoint holding
an object whose unpickling would act (here: create a marker file), in one line naming the file,
exit 2; checkpoints this package wrote, in the current and the earlier format, still load."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mrptheory.cli import main
from mrptheory.errors import CorruptCheckpointError
from mrptheory.checkpoint import load_checkpoint, save_checkpoint
from tests.cli_checks import assert_one_line_error
from tests.experiments.mae.test_cli import TINY, tiny_data  # noqa: F401  (fixture)


class Marker:
    """Unpickling this calls ``open(path, "w")``: the file existing afterwards means code ran."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def craft(path: Path, marker: Path, base: dict | None = None) -> Path:
    """A checkpoint at ``path``: ``base`` (a real payload) plus one acting object."""
    payload = dict(base or {"epoch": 1})
    payload["note"] = Marker(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def test_a_crafted_checkpoint_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    path = craft(tmp_path / "ckpt.pt", marker)
    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "refused" in message and "io.open" in message
    assert "\n" not in message
    assert not marker.exists()


def test_current_checkpoints_hold_only_weights_only_values(tmp_path):
    model = torch.nn.Linear(4, 4)
    opt = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5)
    opt.step()
    sched.step()
    random.random()
    np.random.randn()  # leaves a cached Gaussian in numpy's state
    path = save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched,
                           epoch=2, history=[{"loss": 1.0}])
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    expected = (random.random(), np.random.randn(), np.random.rand(), torch.rand(1).item())
    load_checkpoint(path)  # restores every RNG
    assert (random.random(), np.random.randn(), np.random.rand(), torch.rand(1).item()) == expected


def test_checkpoints_of_the_earlier_format_still_load(tmp_path):
    """Before issue 17 the RNG states were saved as Python's tuple and numpy's legacy tuple (a
    numpy array inside): such a checkpoint loads (numpy's array globals are allowed, nothing else)
    and restores the RNGs."""
    model = torch.nn.Linear(3, 3)
    np.random.seed(3)
    random.seed(3)
    old_rng = {"python": random.getstate(), "numpy": np.random.get_state(),
               "torch": torch.get_rng_state()}
    torch.save({"model": model.state_dict(), "epoch": 4, "rng": old_rng}, tmp_path / "old.pt")
    expected = (random.random(), np.random.rand())
    other = torch.nn.Linear(3, 3)
    payload = load_checkpoint(tmp_path / "old.pt", model=other)
    assert payload["epoch"] == 4 and torch.equal(other.weight, model.weight)
    assert (random.random(), np.random.rand()) == expected


# ----------------------------------------------------------------- every command that reads one

def _pretrained(tmp_path) -> Path:
    res = CliRunner().invoke(main, ["mae", "pretrain", "--out", str(tmp_path / "pre"), *TINY])
    assert res.exit_code == 0, res.output
    (ckpt,) = (tmp_path / "pre").glob("mae_runs_cli/*/checkpoint.pt")
    return ckpt


@pytest.mark.parametrize("command", ["finetune", "probe", "pretrain-resume"])
def test_mae_commands_refuse_a_crafted_run_folder(tmp_path, tiny_data, command):  # noqa: F811
    ckpt = _pretrained(tmp_path)
    marker = tmp_path / "ran"
    craft(ckpt, marker, torch.load(ckpt, weights_only=True))
    args = {"finetune": ["mae", "finetune", str(ckpt.parent), "--epochs", "1", "--batch-size",
                         "16", "--train-samples", "0", "--out", str(tmp_path / "ft"),
                         "--device", "cpu", "--no-progress"],
            "probe": ["mae", "probe", str(ckpt.parent), "--knn-k", "3", "--device", "cpu"],
            "pretrain-resume": ["mae", "pretrain", "--out", str(tmp_path / "pre"), *TINY]}[command]
    assert_one_line_error(CliRunner().invoke(main, args), str(ckpt), "refused")
    assert not marker.exists()


SUBSPACE = ["subspace", "--cuts", "0.9", "--seeds", "1", "--epochs", "1",
            "--train-size", "0", "--examples", "0", "--no-progress", "--device", "cpu"]
DYNAMICS = ["dynamics", "--models", "linear", "--downsample", "1", "--train-size", "100",
            "--t-max", "0.05", "--n-eval", "3", "--batch-size", "32", "--no-progress",
            "--device", "cpu"]


def _resume_checkpoint(out: Path, store_glob: str, name) -> Path:
    """Run done: delete the store (so its unit re-runs) and return where that unit's
    checkpoint is looked for (named by the store's fingerprint)."""
    (store,) = out.glob(store_glob)
    fp = store.stem.rsplit("_", 1)[1]
    store.unlink()
    return name(fp)


@pytest.mark.parametrize("command", ["subspace", "dynamics"])
def test_resuming_a_unit_from_a_crafted_checkpoint_is_refused(tmp_path, command, monkeypatch):
    import mrptheory.data.registry as registry
    from tests.experiments.dynamics import test_cli as test_dynamics_cli
    from tests.experiments.subspace import test_cli as test_subspace_cli

    tiny = (test_subspace_cli if command == "subspace" else test_dynamics_cli).tiny_splits
    monkeypatch.setattr(registry, "load_dataset", lambda name, root=None: tiny())
    out = tmp_path / "out"
    args = [*(SUBSPACE if command == "subspace" else DYNAMICS), "--out", str(out)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    if command == "subspace":
        path = _resume_checkpoint(out, "subspace_fashion-mnist_runs_*.jsonl", lambda fp: out /
                                  "checkpoints" / f"subspace_fashion-mnist_{fp}" /
                                  "mlp_top_0.9000_0.pt")
    else:
        path = _resume_checkpoint(out, "dynamics_fashion-mnist_runs_*.jsonl", lambda fp: out /
                                  "checkpoints" / f"dynamics_fashion-mnist_{fp}_linear.pt")
    marker = tmp_path / "ran"
    craft(path, marker)
    assert_one_line_error(CliRunner().invoke(main, args), str(path), "refused")
    assert not marker.exists()
