"""The MAE training engine: exact resume, schedules, fine-tuning, resumable sweeps and figures."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from mrptheory.errors import ConfigError
from mrptheory.experiments.mae.model import MAEConfig
from mrptheory.experiments.mae.training import (MAETrainConfig, learning_rate, load_run,
                                                small_dataset, train)
from mrptheory.experiments.mae.finetune import FinetuneConfig, finetune, load_pretrained
from mrptheory.experiments.mae.sweep import SweepConfig, run_mae_sweep, store_for, sweep_points

MODEL = MAEConfig(image_shape=(1, 8, 8), patch_size=2, embed_dim=16, depth=1, num_heads=2,
                  decoder_embed_dim=8, decoder_num_heads=2, num_classes=3)
CFG = MAETrainConfig(model=MODEL, epochs=3, batch_size=16, lr=2e-3, train_samples=None,
                     test_samples=None, probe_train_samples=48, knn_k=5, device="cpu")


@pytest.fixture(scope="module")
def data():
    return small_dataset(48, 32)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("changes", [
    {},                                                               # MAE: masks
    {"model": dataclasses.replace(MODEL, method="dae", noise_std=0.5), "hflip": True},  # noise, flips
])
def test_resume_equals_uninterrupted_run(tmp_path, data, changes) -> None:
    cfg = dataclasses.replace(CFG, **changes)
    full = train(cfg, data, tmp_path / "full", show_progress=False)
    part = train(cfg, data, tmp_path / "resumed", stop_after=1, show_progress=False)
    assert part.epochs_done == 1 and not part.finished
    torch.manual_seed(12345)                      # disturb global RNGs between the two calls
    resumed = train(cfg, data, tmp_path / "resumed", show_progress=False)
    assert resumed.finished
    assert resumed.history == full.history
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # a finished run called again returns at once with the same result
    again = train(cfg, data, tmp_path / "full", show_progress=False)
    assert again.history == full.history


def test_history_has_evaluations_and_loss_drops(tmp_path, data) -> None:
    res = train(CFG, data, None, show_progress=False)
    h = res.history
    assert h["eval_epoch"] == [0, 1, 2, 3] and h["epoch"] == [1, 2, 3]
    assert all(0.0 <= a <= 1.0 for a in h["probe_acc"] + h["knn_acc"])
    assert h["test_loss"][-1] < h["test_loss"][0]
    assert set(res.final) == {"probe_acc", "knn_acc", "test_loss"}
    assert res.timing["images_per_s"] > 0 and 0 <= res.timing["data_share"] < 1


def test_resume_with_other_config_is_refused(tmp_path, data) -> None:
    train(CFG, data, tmp_path, stop_after=1, show_progress=False)
    with pytest.raises(ConfigError, match="different configuration"):
        train(dataclasses.replace(CFG, lr=1e-4), data, tmp_path, show_progress=False)


def test_config_validation_and_data_mismatch(data) -> None:
    with pytest.raises(ConfigError, match="epochs"):
        dataclasses.replace(CFG, epochs=0)
    with pytest.raises(ConfigError, match="image_shape"):
        train(dataclasses.replace(CFG, model=dataclasses.replace(MODEL, image_shape=(1, 28, 28))),
              data, None, show_progress=False)
    assert MAETrainConfig.from_dict(CFG.to_dict()) == CFG


def test_learning_rate_schedule() -> None:
    lrs = [learning_rate(s, 100, 10, 1.0) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[-1] < 0.01


def test_finetune_starts_from_pretrained_encoder(tmp_path, data) -> None:
    pre = train(dataclasses.replace(CFG, epochs=2), data, tmp_path / "pre", show_progress=False)
    cfg, encoder, norm = load_pretrained(tmp_path / "pre")
    assert all(torch.equal(encoder[k], v) for k, v in pre.model.encoder.state_dict().items())
    ft_cfg = FinetuneConfig(epochs=1, batch_size=16, train_samples=None)
    ft = finetune(data, ft_cfg, pretrained=tmp_path / "pre", show_progress=False)
    scratch = finetune(data, ft_cfg, base=cfg, norm=norm, show_progress=False)
    assert 0.0 <= ft.final["test_acc"] <= 1.0 and 0.0 <= scratch.final["test_acc"] <= 1.0
    # the fine-tuned run's probe at epoch 0 is the pretrained encoder's final probe
    assert ft.history["probe_acc"][0] == pytest.approx(pre.final["probe_acc"])
    _, model, _ = load_run(tmp_path / "pre")
    assert model.cfg == MODEL
    with pytest.raises(ConfigError, match="unfinished"):
        train(CFG, data, tmp_path / "half", stop_after=1, show_progress=False)
        load_pretrained(tmp_path / "half")


def _tiny_sweep(**changes) -> SweepConfig:
    return SweepConfig(name="t", base=dataclasses.replace(CFG, epochs=1),
                       mask_ratios=changes.get("mask_ratios", (0.5,)),
                       patch_sizes=changes.get("patch_sizes", (2, 4)), noise_stds=(0.5,),
                       finetune=FinetuneConfig(epochs=1, batch_size=16, train_samples=None))


def test_sweep_points_and_validation() -> None:
    cfg = _tiny_sweep()
    points = sweep_points(cfg)
    methods = [p.method for p in points]
    assert methods.count("mae") == 4 and methods[0] == "mae"      # 2 ratios x 2 patches
    assert methods.index("finetune") > 0
    assert points[methods.index("finetune")].init_from == points[0].key
    assert len({p.key for p in points}) == len(points)
    with pytest.raises(ConfigError, match="patch_size"):
        dataclasses.replace(cfg, patch_sizes=(3,))
    with pytest.raises(ConfigError, match="mask_ratio"):
        dataclasses.replace(cfg, mask_ratios=(0.99,), patch_sizes=(4,))


def test_sweep_resumes_and_draws_figures(tmp_path, data) -> None:
    from mrptheory.plots.registry import redraw
    from mrptheory.experiments.mae.report import summary_table, write_sweep_outputs

    cfg = _tiny_sweep(mask_ratios=(), patch_sizes=(2,))
    records = run_mae_sweep(data, cfg, tmp_path, show_progress=False)
    assert len(records) == len(sweep_points(cfg)) == 5
    store = store_for(tmp_path, cfg)
    lines = store.path.read_text().splitlines()
    # simulate an interruption during the last point: drop its record; only it is redone
    store.path.write_text("\n".join(lines[:-1]) + "\n")
    again = run_mae_sweep(data, cfg, tmp_path, show_progress=False)
    assert [r["key"] for r in again] == [r["key"] for r in records]
    assert len(store.path.read_text().splitlines()) == 5
    assert again[-1]["final"] == records[-1]["final"]     # resumed from its finished checkpoint
    written = write_sweep_outputs(again, cfg, data, tmp_path, dataset="toy")
    names = {p.name for p in written}
    for stem in ("mae_probe_curves_t", "mae_mask_sweep_t", "mae_reconstructions_t"):
        assert f"{stem}.json" in names and f"{stem}.png" in names
        payload = json.loads((tmp_path / f"{stem}.json").read_text())
        assert payload["figure_kind"].startswith("mae_")
        assert redraw(tmp_path / f"{stem}.json", tmp_path / "redrawn")
    assert "| mae (r=0.75, p=2) |" in summary_table(again)
    curves = json.loads((tmp_path / "mae_probe_curves_t.json").read_text())
    assert set(curves["baselines"]) == {"raw pixels", "random encoder"}
    sweep = json.loads((tmp_path / "mae_mask_sweep_t.json").read_text())
    assert "raw pixels" in sweep["baselines"]["probe_acc"]
    assert "random encoder" in sweep["baselines"]["knn_acc"]
    from mrptheory.experiments.mae.baselines import sweep_baselines

    table = summary_table(again, sweep_baselines(again, cfg, data))
    assert "| raw pixels (baseline) |" in table and "| random encoder (baseline) |" in table
    assert "| dae (sigma=0.5) |" in summary_table(again)
