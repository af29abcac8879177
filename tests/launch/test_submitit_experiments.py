"""``mrp mae sweep`` and ``mrp subspace`` (projection grid and budget curve) through submitit's
local executor (each job a process here, reading Fashion-MNIST itself): the same records and
payload numbers as ``--launcher local`` except the timing fields, and a killed job reported with
its log, whose rerun submits only that unit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from mrptheory.cli import main
from tests.cli_checks import assert_one_line_error
from tests.conftest import FASHION_MNIST_DIR, requires_fashion_mnist

JOBS = ["--launcher", "submitit", "--submitit-cluster", "local"]
#: what differs between two runs of the same unit: wall-clock seconds and throughputs
TIMING = ("seconds", "timing", "images_per_s")

pytestmark = requires_fashion_mnist


@pytest.fixture
def submitit():
    return pytest.importorskip("submitit", reason="the optional [cluster] extra is not installed")


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


def _without_timing(obj):
    """``obj`` without its timing fields (the only numbers that differ between runs)."""
    if isinstance(obj, dict):
        return {k: _without_timing(v) for k, v in obj.items() if k not in TIMING}
    if isinstance(obj, list):
        return [_without_timing(v) for v in obj]
    return obj


def _records(store: Path) -> dict[str, dict]:
    """The store's records by key, without timing."""
    return {r["key"]: _without_timing(r) for r in map(json.loads, store.read_text().splitlines())}


def _jobs_run(store: Path) -> int:
    """How many jobs submitit ran for ``store`` (one folder per job id)."""
    folder = store.with_name(store.name + ".jobs")
    return sum(1 for p in folder.iterdir() if p.is_dir() and p.name != "%j") if folder.is_dir() else 0


def _run(args: list[str], code: int = 0):
    res = CliRunner().invoke(main, args)
    assert res.exit_code == code, res.output
    return res


def _tiny_mae_sweep(image_shape, num_classes, device):
    """Three points of a one-block ViT on 128 images: the reference MAE, then (second wave) the
    from-scratch control (reads its pixel normalisation) and the fine-tuning (its encoder)."""
    from mrptheory.experiments.mae.finetune import FinetuneConfig
    from mrptheory.experiments.mae.model import MAEConfig
    from mrptheory.experiments.mae.sweep import SweepConfig
    from mrptheory.experiments.mae.training import MAETrainConfig

    model = MAEConfig(image_shape=image_shape, patch_size=7, embed_dim=16, depth=1, num_heads=2,
                      decoder_embed_dim=8, decoder_depth=1, decoder_num_heads=2, mlp_ratio=2.0,
                      mask_ratio=0.75, num_classes=num_classes)
    base = MAETrainConfig(model=model, epochs=1, batch_size=64, train_samples=128,
                          probe_train_samples=128, test_samples=128, knn_k=5, eval_every=1,
                          device=device)
    return SweepConfig(name="quick", base=base, mask_ratios=(), patch_sizes=(), grid=False,
                       noise_stds=(), seeds=(0,), methods=("mae", "scratch", "finetune"),
                       finetune=FinetuneConfig(epochs=1, batch_size=64, train_samples=128))


def test_mae_sweep_points_as_jobs_equal_the_local_ones(tmp_path, submitit, monkeypatch):
    """First the reference MAE's job fails: its two dependents are reported as not submitted
    and nothing is stored. The rerun submits the three points (the reference, then the two
    that read its run) and stores what the local launcher stores."""
    from mrptheory.experiments.mae import sweep as sweep_mod
    from mrptheory.launch.submitit_launcher import FAIL_ENV

    # the parent builds every point's config and sends it to the job: patching it here is enough
    monkeypatch.setitem(sweep_mod.PRESETS, "quick", _tiny_mae_sweep)
    args = ["mae", "sweep", "--quick", "--data-root", FASHION_MNIST_DIR, "--device", "cpu",
            "--no-progress", "--threads", "1"]
    here = _run([*args, "--out", str(tmp_path / "here")])
    monkeypatch.setenv(FAIL_ENV, "mae-*")  # the jobs inherit it
    failed = _run([*args, *JOBS, "--out", str(tmp_path / "jobs")], code=1)
    lines = [line.strip() for line in failed.output.splitlines() if line.strip()]
    assert "3 of 3 units failed" in lines[0], failed.output
    units = [line for line in lines if line.startswith("unit ")]
    assert "injected failure of unit mae-" in units[0] and " log " in units[0], units
    assert [u.split("-")[0] for u in units[1:]] == ["unit scratch", "unit finetune"], units
    assert all("not submitted: it reads the run of point mae-" in u for u in units[1:]), units
    store = tmp_path / "jobs" / "mae_sweep_quick.jsonl"
    assert not store.exists() or not store.read_text()
    monkeypatch.delenv(FAIL_ENV)
    jobs = _run([*args, *JOBS, "--out", str(tmp_path / "jobs")])
    assert _jobs_run(store) == 1 + 3  # the failed one, then the reference, scratch and ft
    assert _records(store) == _records(tmp_path / "here" / store.name)
    for name in ("mae_probe_curves_quick.json", "mae_mask_sweep_quick.json"):
        a, b = (json.loads((tmp_path / where / name).read_text()) for where in ("here", "jobs"))
        assert _without_timing(b) == _without_timing(a), name
    # every point's final numbers are printed (for jobs after its wave), in the same order
    finals = [[line for line in res.output.splitlines() if "probe_acc=" in line]
              for res in (here, jobs)]
    assert len(finals[0]) == 3 and finals[1] == finals[0]


SUBSPACE = ["subspace", "--data-root", FASHION_MNIST_DIR, "--seeds", "1", "--epochs", "1",
            "--test-size", "100", "--device", "cpu", "--no-progress", "--threads", "1"]


def test_projection_units_as_jobs_equal_the_local_ones(tmp_path, submitit):
    args = [*SUBSPACE, "--cuts", "0.9", "--train-size", "200", "--examples", "0"]
    _run([*args, "--out", str(tmp_path / "here")])
    _run([*args, *JOBS, "--out", str(tmp_path / "jobs")])
    store = next((tmp_path / "jobs").glob("subspace_fashion-mnist_runs_*.jsonl"))
    assert _jobs_run(store) == 2
    assert _records(store) == _records(tmp_path / "here" / store.name)
    name = "subspace_fashion-mnist.json"
    a, b = (json.loads((tmp_path / where / name).read_text()) for where in ("here", "jobs"))
    assert _without_timing(b) == _without_timing(a)


def test_a_killed_budget_job_is_reported_and_the_rerun_submits_only_it(tmp_path, submitit,
                                                                        monkeypatch):
    from mrptheory.launch.submitit_launcher import KILL_ENV

    args = [*SUBSPACE, "--budget-train-sizes", "150"]
    _run([*args, "--out", str(tmp_path / "here")])
    monkeypatch.setenv(KILL_ENV, "mlp|n150|e1|bottom|0")  # the jobs inherit it
    monkeypatch.setattr(submitit.core.core.Job, "_results_timeout_s", 1)  # see test_submitit_sweeps
    out = tmp_path / "jobs"
    failed = _run([*args, *JOBS, "--out", str(out)], code=1)
    lines = [line.strip() for line in failed.output.splitlines() if line.strip()]
    assert "1 of 2 units failed" in lines[0], failed.output
    unit_lines = [line for line in lines if line.startswith("unit ")]
    assert len(unit_lines) == 1 and "unit mlp|n150|e1|bottom|0:" in unit_lines[0], failed.output
    assert "ended without a result (killed?)" in unit_lines[0]
    assert Path(unit_lines[0].split(" log ")[1].split(" (stdout")[0]).exists()
    store = next(out.glob("subspace_budget_fashion-mnist_runs_*.jsonl"))
    assert list(_records(store)) == ["mlp|n150|e1|top|0"]  # the other unit is stored
    assert not (out / "subspace_budget_fashion-mnist.json").exists()
    monkeypatch.delenv(KILL_ENV)
    _run([*args, *JOBS, "--out", str(out)])
    assert _jobs_run(store) == 3  # 2 first, then only the killed unit
    assert _records(store) == _records(tmp_path / "here" / store.name)
    name = "subspace_budget_fashion-mnist.json"
    a, b = (json.loads((tmp_path / where / name).read_text()) for where in ("here", "jobs"))
    assert _without_timing(b) == _without_timing(a)


def test_slurm_options_without_submitit_launcher_are_refused(tmp_path):
    for args in (["mae", "sweep", "--quick"], SUBSPACE):
        assert_one_line_error(CliRunner().invoke(main, [*args, "--out", str(tmp_path),
                                                        "--slurm-time", "30"]),
                              "--slurm-time applies to --launcher submitit only")


def test_a_job_refuses_other_data_than_the_sweeps(fashion_mnist):
    from mrptheory.data.source import DataMismatchError, DataSource

    source = DataSource.of("fashion-mnist", FASHION_MNIST_DIR, fashion_mnist)
    assert source.load().train.images.shape == fashion_mnist.train.images.shape
    other = DataSource("fashion-mnist", FASHION_MNIST_DIR, "0123456789abcdef")
    with pytest.raises(DataMismatchError) as err:
        other.load()
    assert "\n" not in str(err.value) and "not 0123456789abcdef" in str(err.value)

