"""The MAE claims' protocol: plateau rule, registered conditions, data identity, the shared
pretraining store (stored once; a config or data change re-runs) and the label-budget splits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.experiments.mae import pretrained as pre
from mrptheory.experiments.mae.training import small_dataset
from mrptheory.experiments.mae.budget import choose_lr, split_indices, summarise
from mrptheory.experiments.mae.protocol import (PLATEAU_TOL, MAEProtocol, data_identity, deviations,
                                                plateau, quick_protocol)


@pytest.mark.parametrize("losses, converged", [
    ([2.0, 1.0, 0.90, 0.89, 0.885, 0.884], True),      # 0.7% better over the last fifth
    ([2.0, 1.5, 1.2, 1.0, 0.9, 0.8], False),            # 11% better: still falling
    ([2.0, 1.0], False),                                # one epoch: window starts at init
])
def test_plateau_rule(losses, converged) -> None:
    out = plateau(list(range(len(losses))), losses)
    assert out["converged"] is converged
    assert out["tolerance"] == PLATEAU_TOL and "last 20%" in out["rule"]


def test_plateau_window_is_the_last_fifth() -> None:
    out = plateau(list(range(11)), [10.0 - i * 0.1 for i in range(11)])
    assert out["window"] == [8, 10]
    assert out["relative_improvement"] == pytest.approx(0.2 / 9.2, abs=1e-5)


def test_quick_protocol_is_the_registered_one() -> None:
    p = quick_protocol()
    assert deviations(p, 60000, "finetune") == ""
    fields = p.fields()
    assert fields["pretraining_set"] == "whole train split, labels unused"
    assert fields["label_budgets"] == [500, 1000, 5000]


@pytest.mark.parametrize("change, text", [
    ({"pretrain_samples": 4000}, "pretraining on 4000 of the 60000"),
    ({"mask_ratio": 0.9}, "mask ratio 0.9"),
    ({"norm_pix": False}, "plain-pixel target"),
    ({"label_budgets": (5000,)}, "no label budget <= 1000"),
])
def test_deviations_name_the_missed_condition(change, text) -> None:
    p = dataclasses.replace(quick_protocol(), **change)
    assert text in deviations(p, 60000, "finetune")


def test_finetune_epochs_rule() -> None:
    p = quick_protocol()
    assert p.finetune_epochs(500) == 24 and p.finetune_epochs(1000) == 12
    assert p.finetune_epochs(5000) == 3 and p.finetune_epochs(100) == 30


def test_data_identity_follows_content(tmp_path) -> None:
    data = small_dataset(20, 10)
    same = small_dataset(20, 10)
    assert data_identity(data) == data_identity(same)
    images = np.array(data.train.images)
    images[0, 0, 0, 0] ^= 1
    changed = DatasetSplits(ImageDataset(images, data.train.labels, data.train.class_names),
                            data.test)
    assert data_identity(changed) != data_identity(data)
    (tmp_path / "a.bin").write_bytes(b"one")
    first = data_identity(data, tmp_path)
    (tmp_path / "a.bin").write_bytes(b"two")
    assert data_identity(data, tmp_path) != first and first.startswith("files:")


def _tiny_cfg(**changes):
    p = MAEProtocol(name="tiny", patch_size=2, embed_dim=16, depth=1, num_heads=2, decoder_dim=8,
                    epochs=1, batch_size=16, probe_train_samples=20, test_samples=None,
                    val_samples=4, label_budgets=(10,))
    cfg = pre.pretrain_config(p, (1, 8, 8), 3, device="cpu")
    return dataclasses.replace(cfg, **changes)


def _count_training(monkeypatch) -> list:
    calls = []
    real = pre.train
    monkeypatch.setattr(pre, "train", lambda cfg, *a, **k: calls.append(cfg) or real(cfg, *a, **k))
    return calls


def test_pretraining_is_stored_once_and_keyed_by_config(monkeypatch, tmp_path,
                                                         one_torch_thread) -> None:
    data = small_dataset(32, 16)
    calls = _count_training(monkeypatch)
    ident = data_identity(data)
    first = pre.ensure_pretrained([_tiny_cfg()], data, ident, tmp_path)[0]
    again = pre.ensure_pretrained([_tiny_cfg()], data, ident, tmp_path)[0]
    assert len(calls) == 1 and again["key"] == first["key"]
    assert (pre.run_dir_of(tmp_path, first["key"]) / "checkpoint.pt").exists()
    assert first["convergence"]["rule"] and first["data_id"] == ident
    pre.ensure_pretrained([_tiny_cfg(lr=5e-4)], data, ident, tmp_path)
    assert len(calls) == 2                       # another config is another unit


def test_replacing_the_data_files_reruns(monkeypatch, tmp_path, one_torch_thread) -> None:
    monkeypatch.setenv("MRP_CACHE_DIR", str(tmp_path / "cache"))
    from mrptheory.data.registry import clear_cache, load_dataset
    from tests.data.test_loaders import write_mnist_folder

    folder = tmp_path / "fm"
    write_mnist_folder(folder, n_train=24, n_test=12, hw=8, seed=0)
    calls = _count_training(monkeypatch)
    cfg = dataclasses.replace(_tiny_cfg(), probe_train_samples=12,
                              model=dataclasses.replace(_tiny_cfg().model, num_classes=10))

    def run() -> dict:
        clear_cache()
        data = load_dataset("fashion-mnist", folder)
        return pre.ensure_pretrained([cfg], data, data_identity(data, folder), tmp_path / "o")[0]

    first = run()
    assert run()["key"] == first["key"] and len(calls) == 1      # same files: reused
    write_mnist_folder(folder, n_train=24, n_test=12, hw=8, seed=1)  # replaced in place
    second = run()
    assert second["key"] != first["key"] and len(calls) == 2
    clear_cache()


def test_label_budget_splits_are_disjoint_and_nested() -> None:
    val, b500 = split_indices(3000, 400, 500, seed=0)
    _, b1000 = split_indices(3000, 400, 1000, seed=0)
    _, other = split_indices(3000, 400, 500, seed=1)
    _, everything = split_indices(3000, 400, None, seed=0)
    assert len(val) == 400 and len(b500) == 500 and len(everything) == 2600
    assert not set(val) & set(everything)
    assert set(b500) <= set(b1000) and set(b500) != set(other)


def _unit(method, budget, lr, seed, val, test) -> dict:
    return {"method": method, "budget": budget, "lr": lr, "seed": seed, "val_acc": val,
            "test_acc": test, "epochs": 10, "n_test": 2000}


def test_lr_rule_and_crossover() -> None:
    grid = (5e-4, 1e-3, 2e-3)
    recs = [_unit("scratch", 500, 1e-3, 0, 0.60, 0.61), _unit("scratch", 500, 2e-3, 0, 0.65, 0.62),
            _unit("scratch", 500, 5e-4, 0, 0.65, 0.50),             # tie: the grid's first wins
            _unit("scratch", 5000, 1e-3, 0, 0.80, 0.86), _unit("scratch", 5000, 2e-3, 0, 0.7, 0.7),
            _unit("scratch", 500, 1e-3, 1, 0.99, 0.99),             # other seeds do not choose
            _unit("finetune", 500, 1e-3, 0, 0.7, 0.70), _unit("finetune", 500, 2e-3, 0, 0.8, 0.72),
            _unit("finetune", 5000, 1e-3, 0, 0.8, 0.85)]
    chosen = {m: choose_lr(recs, grid, m) for m in ("finetune", "scratch")}
    assert chosen == {"scratch": {500: 5e-4, 5000: 1e-3}, "finetune": {500: 2e-3, 5000: 1e-3}}
    summary = summarise(recs, chosen)
    assert [r["difference"] for r in summary["rows"]] == pytest.approx([0.22, -0.01])
    assert summary["crossover_budget"] == 5000
    assert summary["rows"][0]["finetune_lr"] == 2e-3 and summary["rows"][0]["scratch_lr"] == 5e-4
