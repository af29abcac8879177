"""``mrp reproduce``: resume only the same inputs, re-run what could not run, merge --only tables."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from mrptheory.claims import registry
from mrptheory.claims.registry import ClaimResult, Verdict, register_claim
from mrptheory.cli import main


@pytest.fixture
def fake_claims(monkeypatch, tmp_path):
    """Replace the registry by three instant claims; 'data-claim' needs files in a data folder."""
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr("mrptheory.catalog.CLAIM_MODULES", [])
    calls = {"data-claim": 0, "flaky-claim": 0, "plain-claim": 0}

    @register_claim("data-claim", paper="p", statement="needs data")
    def data_claim(ctx):
        calls["data-claim"] += 1
        folder = os.environ["MRP_FASHION_MNIST_DIR"]
        if not os.listdir(folder):
            return ClaimResult(f"not run: no data in {folder}", "e", Verdict.INCONCLUSIVE)
        return ClaimResult("measured on data", "e", Verdict.CONFIRMED)

    @register_claim("flaky-claim", paper="p", statement="crashes once")
    def flaky(ctx):
        calls["flaky-claim"] += 1
        if calls["flaky-claim"] == 1:
            raise RuntimeError("transient bug")
        return ClaimResult("fine", "e", Verdict.REFUTED)

    @register_claim("plain-claim", paper="p", statement="no data")
    def plain(ctx):
        calls["plain-claim"] += 1
        return ClaimResult("x", "e", Verdict.CONFIRMED)

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("MRP_FASHION_MNIST_DIR", str(data))
    return calls, data


def _rows(out):
    return {r["claim_id"]: r for r in json.loads((out / "claims.json").read_text())["claims"]}


def test_missing_data_and_crashes_are_rerun_and_installing_data_is_noticed(fake_claims, tmp_path):
    calls, data = fake_claims
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--no-progress"])
    assert first.exit_code == 1  # a crashed check is a bug: non-zero exit
    rows = _rows(out)
    assert rows["data-claim"]["measured"].startswith("not run")
    assert rows["flaky-claim"]["error"].startswith("RuntimeError: transient bug")
    (data / "train-images-idx3-ubyte.gz").write_bytes(b"installed")  # the data set arrives
    second = runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--no-progress"])
    assert second.exit_code == 0, second.output
    rows = _rows(out)
    assert rows["data-claim"]["measured"] == "measured on data"
    assert rows["flaky-claim"]["verdict"] == "refuted"
    assert calls == {"data-claim": 2, "flaky-claim": 2, "plain-claim": 2}  # new inputs: all re-run
    third = runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--no-progress"])
    assert third.exit_code == 0
    assert calls == {"data-claim": 2, "flaky-claim": 2, "plain-claim": 2}  # same inputs: resumed
    assert "[resume] plain-claim" in third.output


def test_a_claim_that_could_not_run_is_rerun_with_unchanged_inputs(fake_claims, tmp_path):
    calls, _ = fake_claims
    out = tmp_path / "out"
    runner = CliRunner()
    runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--only", "data-claim"])
    runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--only", "data-claim"])
    assert calls["data-claim"] == 2


def test_only_merges_into_the_existing_table(fake_claims, tmp_path):
    out = tmp_path / "out"
    runner = CliRunner()
    runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--only", "plain-claim"])
    res = runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--only", "data-*"])
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    assert set(rows) == {"plain-claim", "data-claim", "flaky-claim"}  # every registered claim
    assert rows["plain-claim"]["verdict"] == "confirmed"
    assert rows["flaky-claim"]["verdict"] == "not run"
    assert rows["flaky-claim"]["measured"] == "not run yet in this mode/seed"
    md = (out / "claims.md").read_text()
    assert "plain-claim" in md and "data-claim" in md
    # registry order, not run order
    assert md.index("data-claim") < md.index("plain-claim")


def test_only_does_not_merge_a_table_of_another_mode(fake_claims, tmp_path):
    out = tmp_path / "out"
    runner = CliRunner()
    runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--only", "plain-claim"])
    runner.invoke(main, ["reproduce", "--full", "--out", str(out), "--only", "data-*"])
    rows = _rows(out)
    assert rows["plain-claim"]["measured"] == "not run yet in this mode/seed"  # quick's row
    assert rows["data-claim"]["measured"].startswith("not run: no data")  # is not full's


def test_the_table_is_a_view_of_the_store_for_the_mode_and_seed(fake_claims, tmp_path):
    """Issue 17: `--only GLOB --seed 1` after a seed-0 table shrank it to one row, and going back to
    seed 0 did not restore the dropped rows although they were in claims.jsonl."""
    out = tmp_path / "out"
    runner = CliRunner()
    base = ["reproduce", "--quick", "--out", str(out), "--no-progress"]
    runner.invoke(main, base)  # seed 0: all three (flaky crashes once)
    seed0 = _rows(out)
    res = runner.invoke(main, [*base, "--only", "plain-*", "--seed", "1"])
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    assert list(rows) == ["data-claim", "flaky-claim", "plain-claim"]  # registry order
    assert rows["plain-claim"]["verdict"] == "confirmed"
    assert [rows[c]["measured"] for c in ("data-claim", "flaky-claim")] == \
        ["not run yet in this mode/seed"] * 2
    assert "2 not run yet in this mode/seed" in res.output
    back = runner.invoke(main, [*base, "--only", "plain-*"])  # seed 0 again
    assert back.exit_code == 0, back.output
    rows = _rows(out)
    assert rows["data-claim"] == seed0["data-claim"]
    assert rows["flaky-claim"] == seed0["flaky-claim"]  # the stored crash row, not "not run yet"
    assert set((out / "claims.md").read_text().split("|")) >= {" data-claim ", " flaky-claim "}


def test_a_data_root_that_does_not_exist_is_refused(fake_claims, tmp_path):
    from tests.cli_checks import refused

    line = refused("reproduce", "--quick", "--data-root", str(tmp_path / "nonexistent"),
                   "--out", str(tmp_path / "out"))
    assert "--data-root" in line and "nonexistent" in line
    assert not (tmp_path / "out" / "claims.jsonl").exists()


def test_an_invalid_stored_claim_record_is_rerun(fake_claims, tmp_path):
    calls, _ = fake_claims
    out = tmp_path / "out"
    runner = CliRunner()
    runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--only", "plain-claim"])
    store = out / "claims.jsonl"
    record = json.loads(store.read_text().splitlines()[0])
    record["verdict"] = "proven beyond doubt"
    store.write_text(json.dumps(record) + "\n")
    res = runner.invoke(main, ["reproduce", "--quick", "--out", str(out), "--only", "plain-claim"])
    assert res.exit_code == 0 and calls["plain-claim"] == 2, res.output
    assert _rows(out)["plain-claim"]["verdict"] == "confirmed"
