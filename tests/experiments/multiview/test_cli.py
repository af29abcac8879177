"""``mrp multiview``: clean errors for bad flags, a tiny end-to-end comparison, redraw."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from mrptheory.cli import main

TINY = ["--k", "3", "--d", "20", "--patches", "8", "--seeds", "2", "--steps", "10",
        "--mrp-steps", "10", "--n-train", "30", "--n-pretrain", "30", "--n-test", "30",
        "--probe-steps", "5", "--ft-steps", "3", "--log-every", "5", "--no-progress", "--threads", "1"]


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """``--threads 1`` sets the process-wide torch thread count; put it back after each test."""
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("args, message", [
    (["compare", "--mu", "1.5"], "mu must be in [0, 1]"),
    (["compare", "--k", "30", "--d", "40"], "d must be >= 2k"),
    (["sl", "--patches", "3"], "patches must be >= "),
    (["mrp", "--mask-ratio", "1.2"], "mask_ratio"),
    (["mrp", "--target", "bogus"], "target must be one of"),
    (["compare", "--sweep", "foo=1,2"], "--sweep parameter must be one of"),
    (["compare", "--sweep", "mu=0.1,x"], "--sweep values must be numbers"),
    (["compare", "--sweep", "mu=0.1,2"], "mu must be in [0, 1]"),
    (["sl", "--seeds", "0"], "seeds must be"),
    (["sl", "--device", "tpu"], "device must be"),
    (["mrp", "--steps", "10"], "--steps sets SL's steps"),
    (["compare", "--n-train", "10000000"], "seeds needs about"),
    (["sl", "--seeds", "100000"], "seeds needs about"),
    (["compare", "--preset", "bogus"], "available: noisy, paper_regime_large, sweep_d"),
])
def test_bad_flags_exit_2_without_traceback(args, message):
    result = CliRunner().invoke(main, ["multiview", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_compare_writes_figures_and_json_and_plot_redraws(tmp_path):
    out = tmp_path / "figs"
    result = CliRunner().invoke(main, ["multiview", "compare", *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    for kind in ("capture_curves", "captured_views", "accuracy", "lottery"):
        payload = json.loads((out / f"multiview_{kind}.json").read_text())
        assert payload["figure_kind"] == f"multiview_{kind}"
        assert payload["seeds"] == [0, 1]
        assert (out / f"multiview_{kind}.png").stat().st_size > 0
        # a run cut short (explicit 10 steps) says so in every result JSON and on the console
        conv = payload["convergence"]
        assert conv["converged"] is False and conv["sl"]["budget"] == 10
        assert conv["sl"]["budget_detail"]["source"] == "explicit steps"
        assert {"fraction_converged", "step_reached", "per_seed", "rule"} <= set(conv["mrp"])
    assert "NOT CONVERGED -- SL: NOT CONVERGED (" in result.output
    redo = CliRunner().invoke(main, ["plot", str(out / "multiview_accuracy.json"), "--out",
                                     str(tmp_path / "redo")])
    assert redo.exit_code == 0, redo.output
    assert (tmp_path / "redo" / "multiview_accuracy.png").exists()


def test_sweep_resumes_from_its_store(tmp_path):
    args = ["multiview", "compare", *TINY, "--out", str(tmp_path), "--sweep", "mu=0,0.5"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    store = tmp_path / "multiview_sweep_mu.jsonl"
    assert len(store.read_text().splitlines()) == 2
    again = CliRunner().invoke(main, args)  # both points done: nothing re-run or re-appended
    assert again.exit_code == 0
    assert len(store.read_text().splitlines()) == 2
    assert (tmp_path / "multiview_sweep_mu.png").exists()


@pytest.mark.parametrize("cmd", ["sl", "mrp"])
def test_single_method_commands_write_prefixed_files(tmp_path, cmd):
    tiny = [a for a in TINY]
    drop = (("--mrp-steps", "--n-pretrain", "--probe-steps", "--ft-steps") if cmd == "sl"
            else ("--steps",))  # sl has no MRP options; mrp rejects SL's --steps
    for opt in drop:
        i = tiny.index(opt)
        del tiny[i:i + 2]
    result = CliRunner().invoke(main, ["multiview", cmd, *tiny, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / f"multiview_{cmd}_accuracy.json").read_text())
    assert payload["figure_kind"] == "multiview_accuracy"
    assert list(payload["per_seed"]) == (["SL"] if cmd == "sl" else
                                         ["MRP linear probe", "MRP fine-tuned"])
    assert (tmp_path / f"multiview_{cmd}_capture_curves.png").exists()


def test_presets_label_outputs_outside_the_regime(tmp_path):
    """The noisy preset is outside the theorem's regime: CLI line and JSON say so, with the
    failing inequality; explicit options win over the preset."""
    args = ["multiview", "compare", *TINY, "--out", str(tmp_path), "--preset", "noisy",
            "--sigma-0", "0.004"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "OUTSIDE THE THEOREM'S REGIME" in result.output
    # the noisy preset's files are prefixed so they sit beside the theory-regime ones
    payload = json.loads((tmp_path / "multiview_noisy_accuracy.json").read_text())
    assert payload["config"]["sl"]["sigma_0"] == 0.004  # explicit option beats the preset
    assert payload["config"]["data"]["gamma"] == 0.03  # the preset's value
    assert not payload["regime"]["in_regime"]
    assert "feature-noise leak" in payload["regime"]["label"]


def test_regime_map_writes_heat_maps_and_resumes(tmp_path):
    # the full grid (4 x 3) at TINY sizes: --quick would raise the sample sizes to 200
    args = ["multiview", "regime", *TINY, "--out", str(tmp_path), "--map", "leak_gap",
            "--seeds", "1"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    store = tmp_path / "multiview_regime_leak_gap.jsonl"
    assert len(store.read_text().splitlines()) == 12
    payload = json.loads((tmp_path / "multiview_regime_leak_gap.json").read_text())
    assert payload["figure_kind"] == "multiview_regime"
    cell = payload["cells"][0]
    assert set(cell["verdicts"]) == {"P1", "P2", "P3", "P4", "P5"}
    assert "in_regime" in cell["regime"]
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0
    assert len(store.read_text().splitlines()) == 12  # nothing recomputed
    redo = CliRunner().invoke(main, ["plot", str(tmp_path / "multiview_regime_leak_gap.json"),
                                     "--out", str(tmp_path / "redo")])
    assert redo.exit_code == 0, redo.output
    assert (tmp_path / "redo" / "multiview_regime_leak_gap.png").exists()
