"""Sweeps through submitit's local executor (each job a process here): the same records as
``--launcher local``, a failed or killed job reported with its log and no file half-written, and
a rerun that submits only the missing unit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from mrptheory.cli import main
from tests.cli_checks import assert_one_line_error

submitit = pytest.importorskip("submitit", reason="the optional [cluster] extra is not installed")

from mrptheory.launch.submitit_launcher import FAIL_ENV, KILL_ENV  # noqa: E402

TINY = ["--k", "3", "--d", "20", "--patches", "8", "--seeds", "2", "--steps", "10",
        "--mrp-steps", "10", "--n-train", "30", "--n-pretrain", "30", "--n-test", "30",
        "--probe-steps", "5", "--ft-steps", "3", "--log-every", "5", "--no-progress", "--threads", "1"]
SWEEP = ["multiview", "compare", *TINY, "--sweep", "mu=0,0.5"]
JOBS = ["--launcher", "submitit", "--submitit-cluster", "local"]


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


def _jobs_run(out: Path) -> int:
    """How many jobs submitit ran for the sweep's store (one folder per job id)."""
    folder = out / "multiview_sweep_mu.jsonl.jobs"
    return sum(1 for p in folder.iterdir() if p.is_dir() and p.name != "%j") if folder.is_dir() else 0


def test_submitit_local_sweep_equals_the_local_launcher(tmp_path):
    here, jobs = tmp_path / "local", tmp_path / "jobs"
    first = CliRunner().invoke(main, [*SWEEP, "--out", str(here)])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(main, [*SWEEP, *JOBS, "--out", str(jobs)])
    assert second.exit_code == 0, second.output
    assert _jobs_run(jobs) == 2
    # the same bytes: records (merged in the sweep's order) and the payload drawn from them
    for name in ("multiview_sweep_mu.jsonl", "multiview_sweep_mu.json"):
        assert (jobs / name).read_bytes() == (here / name).read_bytes(), name
    assert not (jobs / "multiview_sweep_mu.jsonl.units").exists()  # every unit file merged
    again = CliRunner().invoke(main, [*SWEEP, *JOBS, "--out", str(jobs)])
    assert again.exit_code == 0, again.output
    assert _jobs_run(jobs) == 2  # all stored: nothing submitted


@pytest.mark.parametrize("env, needle", [(FAIL_ENV, "injected failure of unit mu=0.5|"),
                                         (KILL_ENV, "ended without a result (killed?)")])
def test_a_failed_job_is_reported_and_the_rerun_finishes_only_its_unit(tmp_path, monkeypatch,
                                                                        env, needle):
    monkeypatch.setenv(env, "mu=0.5|*")  # the jobs inherit it: that unit's job fails (once)
    # submitit waits 15 s for the result of a job that ended (network file systems are slow to
    # show files); a killed job never writes one, so the test waits 1 s
    monkeypatch.setattr(submitit.core.core.Job, "_results_timeout_s", 1)
    out = tmp_path / "out"
    failed = CliRunner().invoke(main, [*SWEEP, *JOBS, "--out", str(out)])
    assert failed.exit_code == 1, failed.output
    lines = [line for line in failed.output.splitlines() if line.strip()]
    assert "1 of 2 units failed" in lines[0], failed.output
    unit_lines = [line for line in lines if line.strip().startswith("unit ")]
    assert len(unit_lines) == 1 and "unit mu=0.5|" in unit_lines[0], failed.output
    assert needle in unit_lines[0], unit_lines[0]
    log = Path(unit_lines[0].split(" log ")[1].split(" (stdout")[0])
    assert log.exists(), log  # the job's stderr file, named so the user can read it
    store = out / "multiview_sweep_mu.jsonl"
    assert [json.loads(line)["value"] for line in store.read_text().splitlines()] == [0.0]
    units = out / "multiview_sweep_mu.jsonl.units"
    assert not units.exists() or not list(units.iterdir())  # nothing half-written left
    assert not (out / "multiview_sweep_mu.json").exists()
    monkeypatch.delenv(env)
    rerun = CliRunner().invoke(main, [*SWEEP, *JOBS, "--out", str(out)])
    assert rerun.exit_code == 0, rerun.output
    assert _jobs_run(out) == 3  # 2 first, then only the failed unit
    assert [json.loads(line)["value"] for line in store.read_text().splitlines()] == [0.0, 0.5]


def test_launcher_refusals_are_one_line(tmp_path):
    assert_one_line_error(CliRunner().invoke(main, [*SWEEP, "--out", str(tmp_path),
                                                    "--slurm-partition", "gpu"]),
                          "--slurm-partition applies to --launcher submitit only")
    bad = tmp_path / "slurm.toml"
    bad.write_text('partition = "gpu"\ngpu = 1\n')
    assert_one_line_error(CliRunner().invoke(main, [*SWEEP, *JOBS, "--out", str(tmp_path),
                                                    "--slurm-config", str(bad)]),
                          "unknown key(s) gpu")
    assert_one_line_error(CliRunner().invoke(main, [*SWEEP, *JOBS, "--out", str(tmp_path),
                                                    "--slurm-time", "0"]),
                          "time_min must be in [1, inf], got 0")


def test_without_submitit_the_launcher_says_so_in_one_line(tmp_path):
    code = ("import sys; sys.modules['submitit'] = None\n"
            "from mrptheory.cli import main\n"
            f"main({[*SWEEP, '--launcher', 'submitit', '--out', str(tmp_path)]!r})\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert len(lines) == 1 and "pip install -e \".[cluster]\"" in lines[0], lines
    assert not (tmp_path / "multiview_sweep_mu.jsonl").exists()  # refused before any work


def _without_seconds(obj):
    """``obj`` without its wall-clock ``seconds`` fields (the only numbers that differ by run)."""
    if isinstance(obj, dict):
        return {k: _without_seconds(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [_without_seconds(v) for v in obj]
    return obj


def test_regime_map_cells_as_jobs_equal_the_local_ones(tmp_path):
    """Two cells of the leak/gap map, as two submitit jobs: the same cells (all numbers but
    their wall-clock seconds) and the same payload as computed here."""
    from mrptheory.experiments.multiview.cli import build_configs
    from mrptheory.launch.submitit_launcher import SlurmConfig, SubmititLauncher
    from mrptheory.experiments.multiview.regime_map import run_regime_map

    torch.set_num_threads(1)
    base = build_configs({"k": 3, "d": 20, "patches": 8, "steps": 10, "mrp_steps": 10,
                          "n_train": 30, "n_pretrain": 30, "n_test": 30, "probe_steps": 5,
                          "ft_steps": 3, "log_every": 5})
    grid = ([0.03, 30.0], [0.1])  # outside the regime (y > 0.025): 1 seed per cell
    here = run_regime_map("leak_gap", base, [0], tmp_path / "here.jsonl", grid=grid,
                          show_progress=False)
    jobs = run_regime_map("leak_gap", base, [0], tmp_path / "jobs.jsonl", grid=grid,
                          show_progress=False, device="auto",
                          launcher=SubmititLauncher(SlurmConfig(cluster="local")))
    assert len(jobs["cells"]) == 2
    assert _without_seconds(jobs) == _without_seconds(here)
