"""``mrp reproduce --launcher submitit``: one job per experiment's pending claims (submitit's local
executor: each job a process here). The rows equal the local run's, a killed job is reported
with its log while the finished experiment's rows are stored and tabulated, and a rerun submits
only the killed experiment's job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from tests.conftest import requires_fashion_mnist

submitit = pytest.importorskip("submitit", reason="the optional [cluster] extra is not installed")

from mrptheory.launch.submitit_launcher import KILL_ENV  # noqa: E402

#: two cheap claims of two experiments (alignment, dynamics): two jobs
CLAIMS = ["--only", "bl-masking-changes-subspace", "--only", "real-data-dynamics-match-theory"]
RUN = ["reproduce", "--quick", *CLAIMS, "--no-progress"]
JOBS = ["--launcher", "submitit", "--submitit-cluster", "local"]
#: what may differ between a claim run here and in a job: its store key (the inputs' device is
#: the option as given, resolved on the job's node), its duration and the job's device
RUN_SPECIFIC = {"key", "seconds", "job_device"}


def _rows(out: Path) -> list[dict]:
    rows = json.loads((out / "claims.json").read_text())["claims"]
    return [{k: v for k, v in r.items() if k not in RUN_SPECIFIC} for r in rows]


def _jobs_run(out: Path) -> int:
    folder = out / "claims_units.jsonl.jobs"
    return sum(1 for p in folder.iterdir() if p.is_dir() and p.name != "%j") if folder.is_dir() else 0


@requires_fashion_mnist
def test_claims_as_jobs_give_the_local_rows_and_are_resumed(tmp_path):
    here, jobs = tmp_path / "here", tmp_path / "jobs"
    local = CliRunner().invoke(main, [*RUN, "--out", str(here)])
    assert local.exit_code == 0, local.output
    first = CliRunner().invoke(main, [*RUN, *JOBS, "--out", str(jobs)])
    assert first.exit_code == 0, first.output
    assert "[job] alignment: bl-masking-changes-subspace" in first.output
    assert _jobs_run(jobs) == 2  # one job per experiment
    assert _rows(jobs) == _rows(here)
    stored = [json.loads(line) for line in (jobs / "claims.jsonl").read_text().splitlines()]
    assert sorted(r["claim_id"] for r in stored) == sorted(CLAIMS[1::2])
    assert all(r["job_device"] == "cpu" for r in stored)
    again = CliRunner().invoke(main, [*RUN, *JOBS, "--out", str(jobs)])
    assert again.exit_code == 0, again.output
    assert _jobs_run(jobs) == 2  # every claim final: nothing submitted
    assert again.output.count("[resume]") == 2, again.output


@requires_fashion_mnist
def test_a_killed_claims_job_is_reported_and_only_it_is_rerun(tmp_path, monkeypatch):
    monkeypatch.setattr(submitit.core.core.Job, "_results_timeout_s", 1)
    monkeypatch.setenv(KILL_ENV, "experiment=dynamics|*")
    out = tmp_path / "out"
    killed = CliRunner().invoke(main, [*RUN, *JOBS, "--out", str(out)])
    assert killed.exit_code == 1, killed.output
    assert "1 of 2 units failed" in killed.output, killed.output
    unit_line = next(line for line in killed.output.splitlines()
                     if line.strip().startswith("unit experiment=dynamics|"))
    assert "ended without a result (killed?)" in unit_line
    assert Path(unit_line.split(" log ")[1].split(" (stdout")[0]).exists()
    # the finished experiment is stored and in the table; the killed one is "not run" there
    rows = {r["claim_id"]: r for r in json.loads((out / "claims.json").read_text())["claims"]}
    assert rows["bl-masking-changes-subspace"]["verdict"] == "confirmed"
    assert rows["real-data-dynamics-match-theory"]["verdict"] == "not run"
    monkeypatch.delenv(KILL_ENV)
    rerun = CliRunner().invoke(main, [*RUN, *JOBS, "--out", str(out)])
    assert rerun.exit_code == 0, rerun.output
    assert _jobs_run(out) == 3  # the killed experiment's job only
    assert "[resume] bl-masking-changes-subspace" in rerun.output
    assert "[job] dynamics: real-data-dynamics-match-theory" in rerun.output
    assert "[job] alignment" not in rerun.output
