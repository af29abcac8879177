"""``mrp subspace`` end to end on tiny generated images; clean errors; ``mrp plot`` redraws."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from mrptheory.data.dataset import DatasetSplits, ImageDataset


def tiny_splits() -> DatasetSplits:
    rng = np.random.default_rng(0)

    def make(n: int, split: str) -> ImageDataset:
        y = rng.integers(0, 2, n)
        img = rng.integers(0, 200, (n, 1, 6, 6)).astype(np.uint8)
        img[y == 1, :, :3, :] += 40
        return ImageDataset(img, y.astype(np.int64), ("a", "b"), "fashion-mnist", split)

    return DatasetSplits(make(160, "train"), make(60, "test"))


@pytest.fixture
def fake_data(monkeypatch):
    import mrptheory.data.registry as registry

    monkeypatch.setattr(registry, "load_dataset", lambda name, root=None: tiny_splits())


def test_subspace_runs_resumes_and_redraws(tmp_path, fake_data) -> None:
    out = tmp_path / "figs"
    args = ["subspace", "--cuts", "0.8", "--cuts", "0.9", "--seeds", "1", "--epochs", "1",
            "--train-size", "0", "--examples", "2", "--out", str(out), "--no-progress",
            "--device", "cpu"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "top-90%" in result.output and "bottom-20%" in result.output
    payload = json.loads((out / "subspace_fashion-mnist.json").read_text())
    assert payload["figure_kind"] == "subspace_accuracy"
    assert len(payload["records"]) == 2 * 2
    assert (out / "subspace_fashion-mnist_accuracy.png").stat().st_size > 0
    assert (out / "subspace_fashion-mnist_images.png").stat().st_size > 0
    # a rerun finds every unit in the store and retrains nothing
    store = next(out.glob("subspace_fashion-mnist_runs_*.jsonl"))
    lines = store.read_text().count("\n")
    assert CliRunner().invoke(main, args).exit_code == 0
    assert store.read_text().count("\n") == lines
    # figures are redrawn from the saved numbers alone
    redraw = tmp_path / "redraw"
    for name in ("subspace_fashion-mnist.json", "subspace_fashion-mnist_images.json"):
        r = CliRunner().invoke(main, ["plot", str(out / name), "--out", str(redraw)])
        assert r.exit_code == 0, r.output
    assert len(list(redraw.glob("*.png"))) == 2


@pytest.mark.parametrize("args,message", [
    (["--cuts", "1.5"], "cuts must be in (0, 1)"),
    (["--cuts", "0"], "cuts must be in (0, 1)"),
    (["--archs", "vgg"], "archs must be one of mlp, resnet9"),
    (["--dataset", "imagenet-22k"], "unknown data set"),
    (["--device", "tpu"], "device must be"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message) -> None:
    result = CliRunner().invoke(main, ["subspace", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_subspace_budget_runs_resumes_and_redraws(tmp_path, fake_data) -> None:
    out = tmp_path / "figs"
    args = ["subspace", "--budget-train-sizes", "40,0", "--budget-epochs", "1,2", "--seeds", "2",
            "--out", str(out), "--no-progress", "--device", "cpu"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "subspace_budget_fashion-mnist.json").read_text())
    assert payload["figure_kind"] == "subspace_budget"
    # 2 sizes (40 and all 160) x 2 epoch counts x 2 sides x 2 seeds
    assert len(payload["records"]) == 16
    assert {r["train_size"] for r in payload["summary"]} == {40, 160}
    assert {c["epochs"] for c in payload["crossovers"]} == {1, 2}
    assert (out / "subspace_budget_fashion-mnist.png").stat().st_size > 0
    store = next(out.glob("subspace_budget_fashion-mnist_runs_*.jsonl"))
    lines = store.read_text().count("\n")
    assert CliRunner().invoke(main, args).exit_code == 0
    assert store.read_text().count("\n") == lines
    r = CliRunner().invoke(main, ["plot", str(out / "subspace_budget_fashion-mnist.json"),
                                  "--out", str(tmp_path / "redraw")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "redraw" / "subspace_budget_fashion-mnist.png").is_file()


@pytest.mark.parametrize("args,message", [
    (["--budget-train-sizes", "10,x"], "--budget-train-sizes"),
    (["--budget-train-sizes", "1"], "train_sizes"),
    (["--budget-epochs", "3"], "--budget-epochs needs --budget"),
    (["--budget-train-sizes", "100", "--budget-epochs", "0"], "--budget-epochs"),
    (["--budget-train-sizes", "100", "--cuts", "0.5"], "--cuts does not apply"),
])
def test_bad_budget_input_is_one_line_and_exit_2(tmp_path, args, message) -> None:
    result = CliRunner().invoke(main, ["subspace", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
