"""End-to-end tests of the linear-theory commands: alignment, noise-check, plot, reproduce."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mrptheory.cli import COMMANDS, main

from tests.conftest import requires_fashion_mnist


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_lists_every_registered_command_that_exists():
    result = run("--help")
    assert result.exit_code == 0
    for name in ("alignment", "noise-check", "reproduce", "plot", "datasets"):
        assert name in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_imports(name):
    import importlib
    import importlib.util

    module, attr = COMMANDS[name].split(":")
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} not part of this build")
    assert callable(getattr(importlib.import_module(module), attr))


@pytest.mark.parametrize("args, fragment", [
    (("alignment", "--noise", "mask:1.5"), "mask ratio p must be in [0, 1)"),
    (("alignment", "--noise", "blur:3"), "unknown noise spec"),
    (("alignment", "--dataset", "imagenet22k"), "unknown data set"),
    (("alignment", "--ratios", "0.2,abc"), "--ratios"),
    (("alignment", "--ratios", "0.2,1.0"), "[0, 1)"),
    (("alignment", "--k-min", "0"), "--k-min"),
    (("alignment", "--dataset", "all", "--data-root", "/tmp"), "MRP_<NAME>_DIR"),
    (("noise-check", "mask:0.5:2y2"), "patch must look like AxB"),
    (("noise-check", "mask:0.5", "--image-shape", "1,2"), "--image-shape"),
    (("reproduce", "--only", "no-such-claim*"), "matches no claim"),
    (("reproduce", "--device", "tpu"), "device must be"),
])
def test_bad_input_is_one_line_and_exit_2(args, fragment):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output


def test_missing_dataset_names_where_it_looked(tmp_path):
    result = CliRunner().invoke(main, ["alignment", "--data-root", str(tmp_path / "nowhere"),
                                       "--noise", "none"])
    assert result.exit_code == 2
    assert "nowhere" in result.output and "--data-root" in result.output


def test_noise_check_gaussian_is_proved_and_mask_has_counterexample(tmp_path):
    out = tmp_path / "g.json"
    result = run("noise-check", "gaussian:0.5", "--trials", "20", "--mc-draws", "200", "--json", str(out))
    assert result.exit_code == 0
    assert "NEVER changes" in result.output and "agree" in result.output
    assert json.loads(out.read_text())["changes_subspace"] is False

    result = run("noise-check", "mask:0.5:2x2", "--trials", "50", "--mc-draws", "0")
    assert result.exit_code == 0
    assert "CAN change" in result.output and "counterexample covariance" in result.output


def test_reproduce_list():
    result = run("reproduce", "--list", "--only", "bl-*")
    assert result.exit_code == 0
    assert "bl-gaussian-never-changes-subspace" in result.output


@requires_fashion_mnist
def test_alignment_writes_figures_and_numbers_then_plot_redraws(tmp_path):
    result = run("alignment", "--out", str(tmp_path), "--max-samples", "2000", "--ratios", "0.5",
                 "--patch-sides", "1,2", "--no-progress")
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "alignment_fashion-mnist.json").read_text())
    assert payload["figure_kind"] == "alignment"
    assert set(payload["curves"]) == {"mask:0.5:1x1", "mask:0.5:2x2", "gaussian:1"}
    assert len(payload["baseline"]) == 784 and abs(payload["baseline"][-1] - 100) < 1e-6
    for name in ("alignment_fashion-mnist.png", "impact_of_noise_fashion-mnist.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    redo = tmp_path / "redo"
    result = run("plot", str(tmp_path / "alignment_fashion-mnist.json"), "--out", str(redo))
    assert result.exit_code == 0
    assert (redo / "impact_of_noise_fashion-mnist.png").exists()


@requires_fashion_mnist
def test_alignment_all_writes_summary_table(tmp_path, monkeypatch):
    result = run("alignment", "--dataset", "all", "--out", str(tmp_path), "--max-samples", "1000",
                 "--noise", "mask:0.75:4x4", "--noise", "gaussian:1", "--no-progress")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "alignment_summary.md").read_text()
    assert "| fashion-mnist | gaussian:1 |" in text and "negligible" in text


@requires_fashion_mnist
def test_reproduce_linear_claims_quick_and_resume(tmp_path):
    args = ("reproduce", "--quick", "--only", "bl-gaussian*", "--only", "bl-masking-changes*",
            "--out", str(tmp_path), "--no-progress")
    result = run(*args)
    assert result.exit_code == 0, result.output
    records = json.loads((tmp_path / "claims.json").read_text())["claims"]
    verdicts = {r["claim_id"]: r["verdict"] for r in records}
    assert verdicts["bl-gaussian-never-changes-subspace"] == "confirmed"
    assert verdicts["bl-masking-changes-subspace"] == "confirmed"
    assert "| claim |" in (tmp_path / "claims.md").read_text()
    again = run(*args)  # resumes from claims.jsonl instead of recomputing
    assert again.output.count("[resume]") == 2
