"""``mrp mae``: end-to-end runs on a tiny generated data set, and clean exits on bad input."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from mrptheory.cli import main
from mrptheory.experiments.mae import cli as mae_cmd
from mrptheory.experiments.mae.training import small_dataset

TINY = ["--embed-dim", "16", "--depth", "1", "--num-heads", "2", "--decoder-embed-dim", "8",
        "--patch-size", "2", "--epochs", "2", "--batch-size", "16", "--train-samples", "0",
        "--test-samples", "0", "--probe-train-samples", "48", "--device", "cpu", "--no-progress",
        "--threads", "1"]


@pytest.fixture
def tiny_data(monkeypatch):
    data = small_dataset(48, 32)
    monkeypatch.setattr(mae_cmd, "load_splits", lambda dataset, root: data)
    monkeypatch.setattr(mae_cmd, "dataset_shape", lambda dataset: ((1, 8, 8), 3))
    old = torch.get_num_threads()
    yield data
    torch.set_num_threads(old)


def test_pretrain_probe_finetune(tmp_path, tiny_data) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["mae", "pretrain", "--out", str(tmp_path), *TINY])
    assert res.exit_code == 0, res.output
    payloads = list(tmp_path.glob("mae_pretrain_*.json"))
    assert len(payloads) == 1 and payloads[0].with_suffix(".png").exists()
    payload = json.loads(payloads[0].read_text())
    assert payload["figure_kind"] == "mae_probe_curves" and payload["seed"] == 0
    run_dir = payload["run_dir"]
    res = runner.invoke(main, ["mae", "probe", run_dir, "--knn-k", "3", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "linear probe" in res.output
    res = runner.invoke(main, ["mae", "finetune", run_dir, "--epochs", "1", "--batch-size", "16",
                               "--train-samples", "0", "--out", str(tmp_path), "--device", "cpu",
                               "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "finetune: test accuracy" in res.output and "scratch: test accuracy" in res.output
    # replot from the saved numbers
    res = runner.invoke(main, ["plot", str(payloads[0]), "--out", str(tmp_path / "re")])
    assert res.exit_code == 0, res.output


def test_sweep_cli_resumes(tmp_path, tiny_data) -> None:
    args = ["mae", "sweep", "--quick", "--mask-ratios", "0.75", "--patch-sizes", "2", "--epochs", "1",
            "--train-samples", "0", "--out", str(tmp_path), "--device", "cpu", "--no-progress",
            "--threads", "1"]
    runner = CliRunner()
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "mae_mask_sweep_quick.png").exists()
    assert (tmp_path / "mae_summary_quick.md").exists()
    res = runner.invoke(main, args)              # everything done: nothing is retrained
    assert res.exit_code == 0 and "[1/" not in res.output


@pytest.mark.parametrize("args, text", [
    (["pretrain", "--patch-size", "5"], "--patch-size 5 must divide"),
    (["pretrain", "--mask-ratio", "1.0"], "--mask-ratio"),
    (["pretrain", "--mask-ratio", "-0.2"], "--mask-ratio"),
    (["pretrain", "--patch-size", "14", "--mask-ratio", "0.9"], "no visible patch"),
    (["pretrain", "--epochs", "0"], "epochs"),
    (["pretrain", "--dataset", "imagenet22k"], "unknown data set"),
    (["sweep", "--mask-ratios", "0.5,abc"], "--mask-ratios"),
    (["sweep", "--patch-sizes", "3"], "patch_size 3"),
    (["sweep", "--mask-ratios", "1.5"], "mask_ratio"),
])
def test_bad_settings_exit_2_before_loading_data(args, text) -> None:
    res = CliRunner().invoke(main, ["mae", *args, "--data-root", "/nonexistent/never-read"])
    assert res.exit_code == 2, res.output
    assert text in res.output
    assert "Traceback" not in res.output


def test_missing_data_exits_2(tmp_path) -> None:
    res = CliRunner().invoke(main, ["mae", "pretrain", "--quick", "--data-root",
                                    str(tmp_path / "nothing"), "--out", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output


def test_probe_of_missing_run_exits_2(tmp_path) -> None:
    res = CliRunner().invoke(main, ["mae", "probe", str(tmp_path)])
    assert res.exit_code == 2 and "no checkpoint" in res.output


# --- issue 9: explicit options win over presets, conflicting presets, k-NN k, figure panels ---


def test_pretrain_quick_keeps_explicit_epochs_and_samples(tmp_path, tiny_data) -> None:
    args = [a for a in TINY]
    res = CliRunner().invoke(main, ["mae", "pretrain", "--quick", "--out", str(tmp_path), *args])
    assert res.exit_code == 0, res.output
    payload = json.loads(next(tmp_path.glob("mae_pretrain_*.json")).read_text())
    assert payload["config"]["epochs"] == 2            # explicit --epochs 2, not quick's 3
    assert payload["config"]["train_samples"] is None  # explicit --train-samples 0 (all)
    assert payload["config"]["probe_train_samples"] == 48


@pytest.mark.parametrize("flag,value", [("--epochs", "0"), ("--epochs", "-3"),
                                        ("--train-samples", "-5")])
def test_pretrain_quick_still_validates_explicit_options(tmp_path, tiny_data, flag, value) -> None:
    args = [a for a in TINY]
    args[args.index(flag) + 1] = value
    res = CliRunner().invoke(main, ["mae", "pretrain", "--quick", "--out", str(tmp_path), *args])
    assert res.exit_code == 2, res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not list(tmp_path.glob("mae_pretrain_*.json"))


def test_sweep_quick_with_another_preset_is_an_error(tmp_path, tiny_data) -> None:
    res = CliRunner().invoke(main, ["mae", "sweep", "--quick", "--preset", "gpu",
                                    "--out", str(tmp_path), "--device", "cpu"])
    assert res.exit_code == 2, res.output
    assert "--quick" in res.output and "--preset gpu" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_probe_rejects_knn_k_larger_than_the_probe_set(tmp_path, tiny_data) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["mae", "pretrain", "--out", str(tmp_path), *TINY])
    assert res.exit_code == 0, res.output
    run_dir = json.loads(next(tmp_path.glob("mae_pretrain_*.json")).read_text())["run_dir"]
    res = runner.invoke(main, ["mae", "probe", run_dir, "--knn-k", "49", "--device", "cpu"])
    assert res.exit_code == 2, res.output
    assert "--knn-k" in res.output and "48" in res.output
    res = runner.invoke(main, ["mae", "probe", run_dir, "--knn-k", "0", "--device", "cpu"])
    assert res.exit_code == 2 and "--knn-k" in res.output


def test_whole_split_pretraining_prints_no_warning(tmp_path) -> None:
    """`--train-samples 0` on read-only (memory-mapped) arrays, with UserWarnings as errors, in a
    fresh interpreter (torch prints its not-writable warning only once per process)."""
    import os
    import subprocess
    import sys

    script = f"""
import numpy as np
from click.testing import CliRunner
from mrptheory.cli import main
from mrptheory.experiments.mae import cli as mae_cmd
from mrptheory.experiments.mae.training import small_dataset
data = small_dataset(48, 32)
for split in (data.train, data.test):
    split.images.setflags(write=False)
    split.labels.setflags(write=False)
mae_cmd.load_splits = lambda dataset, root: data
mae_cmd.dataset_shape = lambda dataset: ((1, 8, 8), 3)
res = CliRunner().invoke(main, ["mae", "pretrain", "--out", {str(tmp_path)!r}, *{TINY!r}])
assert res.exit_code == 0, (res.output, res.exception)
"""
    proc = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", script],
                          capture_output=True, text=True, env={**os.environ}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Warning" not in proc.stderr, proc.stderr[-2000:]


def test_a_model_too_big_for_memory_is_refused_before_loading() -> None:
    from tests.cli_checks import refused

    line = refused("mae", "pretrain", "--embed-dim", "100000", "--data-root", "/nonexistent/x")
    assert "--embed-dim" in line and "memory" in line


@pytest.mark.parametrize("flag", ["--norm-pix-loss", "--no-norm-pix-loss"])
def test_norm_pix_is_refused_for_the_supervised_method(flag) -> None:
    from tests.cli_checks import refused

    line = refused("mae", "pretrain", "--method", "supervised", flag, "--data-root", "/nonexistent/x")
    assert "--norm-pix-loss" in line and "supervised" not in line.split("only")[0]


def test_pretrain_reads_an_image_folder_shape_from_its_images(tmp_path, monkeypatch) -> None:
    """``--dataset folder`` has no registered shape: the command reads the folder first and
    builds the ViT for its images (here 3 x 8 x 8 in 3 classes), instead of refusing."""
    from mrptheory.data.registry import clear_cache
    from tests.data.test_imagefolder import image_files, write_folder

    monkeypatch.setenv("MRP_CACHE_DIR", str(tmp_path / "cache"))
    clear_cache()
    root = write_folder(tmp_path, image_files(n_per_class=8, size=8)) / "data"
    threads = torch.get_num_threads()
    try:
        res = CliRunner().invoke(main, ["mae", "pretrain", "--dataset", "folder", "--data-root",
                                        str(root), "--out", str(tmp_path / "out"), *TINY,
                                        "--probe-train-samples", "8"])
    finally:
        torch.set_num_threads(threads)
        clear_cache()
    assert res.exit_code == 0, res.output
    payload = json.loads(next((tmp_path / "out").glob("mae_pretrain_*.json")).read_text())
    assert payload["config"]["model"]["image_shape"] == [3, 8, 8]
    assert payload["config"]["model"]["num_classes"] == 3
