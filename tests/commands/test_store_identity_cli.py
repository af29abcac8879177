"""Stores keyed by data identity, validated on read (issue 17), through the real loaders.

A tiny Fashion-MNIST folder in its IDX file format is written by the test; replacing its files in
place (same names, same sizes, other pixels) must re-run every stored unit of ``mrp subspace``
(sweep and budget) and ``mrp dynamics``, and the result JSON shows the data fingerprint."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from tests.data.test_loaders import write_mnist_folder

COMMON = ["--no-progress", "--device", "cpu", "--threads", "1"]
COMMANDS = {
    "subspace": (["subspace", "--cuts", "0.9", "--seeds", "1", "--epochs", "1", "--train-size",
                  "0", "--examples", "0", *COMMON], "subspace_fashion-mnist", 2),
    "subspace --budget": (["subspace", "--budget-train-sizes", "40", "--seeds", "1", "--epochs", "1",
                           *COMMON], "subspace_budget_fashion-mnist", 2),
    "dynamics": (["dynamics", "--models", "linear", "--downsample", "1",
                  "--train-size", "60", "--t-max", "0.05", "--n-eval", "3", "--batch-size", "32",
                  *COMMON], "dynamics_fashion-mnist", 1),
}


def _stored_units(out: Path, tag: str) -> dict[str, int]:
    return {p.name: len(p.read_text().splitlines()) for p in out.glob(f"{tag}_runs_*.jsonl")}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_replacing_the_data_files_reruns_every_unit(tmp_path, name):
    args, tag, units = COMMANDS[name]
    data, out = tmp_path / "fashion", tmp_path / "out"
    write_mnist_folder(data, n_train=60, n_test=30, hw=8, seed=0)
    run = [*args, "--data-root", str(data), "--out", str(out)]
    first = CliRunner().invoke(main, run)
    assert first.exit_code == 0, first.output
    before = _stored_units(out, tag)
    assert list(before.values()) == [units]
    fp_before = json.loads((out / f"{tag}.json").read_text())["data_fingerprint"]
    assert isinstance(fp_before, str) and len(fp_before) >= 10

    assert CliRunner().invoke(main, run).exit_code == 0  # same data: every unit reused
    assert _stored_units(out, tag) == before

    write_mnist_folder(data, n_train=60, n_test=30, hw=8, seed=1)  # same names and sizes
    third = CliRunner().invoke(main, run)
    assert third.exit_code == 0, third.output
    after = _stored_units(out, tag)
    new = {k: v for k, v in after.items() if k not in before}
    assert list(new.values()) == [units], after  # every unit ran again, into its own store
    assert after[next(iter(before))] == units  # the old data's units are kept, not mixed in
    fp_after = json.loads((out / f"{tag}.json").read_text())["data_fingerprint"]
    assert fp_after != fp_before


def _one_subspace_run(tmp_path: Path) -> tuple[list[str], Path]:
    """A finished two-unit subspace run on a tiny IDX folder: (its arguments, its store)."""
    args, tag, _ = COMMANDS["subspace"]
    data, out = tmp_path / "fashion", tmp_path / "out"
    write_mnist_folder(data, n_train=60, n_test=30, hw=8)
    run = [*args, "--data-root", str(data), "--out", str(out)]
    assert CliRunner().invoke(main, run).exit_code == 0
    (store,) = out.glob(f"{tag}_runs_*.jsonl")
    return run, store


def test_an_invalid_stored_record_is_dropped_and_its_unit_recomputed(tmp_path):
    """A subspace store line with test_accuracy 5.0 used to print 'acc 500.00%'; one lacking a key
    gave a KeyError traceback. Both are now skipped with one warning each and recomputed."""
    run, store = _one_subspace_run(tmp_path)
    lines = [json.loads(line) for line in store.read_text().splitlines()]
    good = lines[0]["test_accuracy"]
    lines[0]["test_accuracy"] = 5.0
    del lines[1]["dims"]
    store.write_text("".join(json.dumps(r) + "\n" for r in lines))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = CliRunner().invoke(main, run)
    assert second.exit_code == 0, second.output
    assert "Traceback" not in second.output and "500.00%" not in second.output
    warned = [str(w.message) for w in caught if "not a valid record" in str(w.message)]
    assert len(warned) == 2, warned  # once per bad line, not once per read of the store
    assert "test_accuracy = 5.0 is outside [0.0, 1.0]" in warned[0]
    assert "lacks 'dims'" in warned[1]
    payload = json.loads((store.parent / "subspace_fashion-mnist.json").read_text())
    assert sorted(r["test_accuracy"] for r in payload["records"])[0] <= 1.0
    assert any(r["test_accuracy"] == good for r in payload["records"])  # recomputed, same seed


def test_a_torn_store_line_is_warned_once_on_the_terminal(tmp_path):
    """The real entry point (a subprocess): the store is read once per unit and once for the
    payload, and its torn line used to be reported twice; it is reported once."""
    import os
    import subprocess
    import sys

    run, store = _one_subspace_run(tmp_path)
    with open(store, "a") as fh:
        fh.write('{"key": "mlp|top|0.9000|7", "arch": "ml')
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "MRP_NO_PROGRESS": "1"}
    proc = subprocess.run([sys.executable, "-m", "mrptheory.cli", *run], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout + proc.stderr
    assert text.count("is incomplete") == 1, text
