"""``mrp dynamics`` end to end on tiny generated images; clean errors; ``mrp plot`` redraws."""

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
        img = rng.integers(0, 200, (n, 1, 4, 4)).astype(np.uint8)
        img[y == 1, :, :2, :] += 40
        return ImageDataset(img, y.astype(np.int64), ("a", "b"), "fashion-mnist", split)

    return DatasetSplits(make(200, "train"), make(80, "test"))


@pytest.fixture
def fake_data(monkeypatch):
    import mrptheory.data.registry as registry

    monkeypatch.setattr(registry, "load_dataset", lambda name, root=None: tiny_splits())


def test_dynamics_runs_and_redraws(tmp_path, fake_data) -> None:
    out = tmp_path / "figs"
    args = ["dynamics", "--downsample", "1", "--train-size", "200", "--t-max", "0.05",
            "--deep-t-max", "0.1", "--n-eval", "4", "--batch-size", "64", "--out", str(out),
            "--no-progress", "--device", "cpu"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for model in ("linear", "deep", "gaussian", "mask"):
        assert model in result.output
    payload = json.loads((out / "dynamics_fashion-mnist.json").read_text())
    assert payload["figure_kind"] == "dynamics" and len(payload["models"]) == 4
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["dynamics_fashion-mnist_directions.png", "dynamics_fashion-mnist_half_times.png",
                    "dynamics_fashion-mnist_probe.png"]
    r = CliRunner().invoke(main, ["plot", str(out / "dynamics_fashion-mnist.json"), "--out",
                                  str(tmp_path / "redraw")])
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "redraw").glob("*.png"))) == 3


@pytest.mark.parametrize("args,message", [
    (["--keep", "1.5"], "keep must be in (0, 1)"),
    (["--models", "vae"], "models must be one of"),
    (["--sigma", "-1"], "sigma must be in"),
    (["--dataset", "nope"], "unknown data set"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message) -> None:
    result = CliRunner().invoke(main, ["dynamics", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
