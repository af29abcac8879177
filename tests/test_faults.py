"""Fault injection: unwritable outputs, torn stores, concurrent writers, kill-and-resume.

Every fault must end in one clear line (bad input: exit 2) or in a result identical to an
uninterrupted run -- never a traceback, a lost unit or a unit counted twice. Runs are tiny
(seconds); subprocess tests run the real ``mrp`` entry point with ``python -m``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from tests.cli_checks import assert_one_line_error
from tests.data.test_loaders import write_mnist_folder

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_fashion(tmp_path_factory) -> str:
    """A small random data set in Fashion-MNIST's file format (400 train / 200 test, 28x28):
    the fault tests need real files and loaders, not real images, and run without the data set."""
    folder = tmp_path_factory.mktemp("tiny_fashion")
    write_mnist_folder(folder, n_train=400, n_test=200, hw=28)
    return str(folder)

#: Every command that writes into an output folder, with the least arguments that parse.
OUT_COMMANDS = {
    "alignment": ["alignment"],
    "dynamics": ["dynamics"],
    "subspace": ["subspace"],
    "reproduce": ["reproduce", "--quick"],
    "mae pretrain": ["mae", "pretrain"],
    "mae sweep": ["mae", "sweep", "--quick"],
    "multiview sl": ["multiview", "sl"],
    "multiview mrp": ["multiview", "mrp"],
    "multiview compare": ["multiview", "compare"],
}


def _blocker(tmp_path: Path) -> Path:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    return blocker


@pytest.mark.parametrize("name", sorted(OUT_COMMANDS))
def test_out_under_a_file_is_one_line_exit_2(name, tmp_path):
    out = _blocker(tmp_path) / "results"
    result = CliRunner().invoke(main, [*OUT_COMMANDS[name], "--out", str(out)])
    assert_one_line_error(result, "--out", "a_file", "is a file")


@pytest.mark.parametrize("name", sorted(OUT_COMMANDS))
def test_out_that_is_a_file_is_one_line_exit_2(name, tmp_path):
    result = CliRunner().invoke(main, [*OUT_COMMANDS[name], "--out", str(_blocker(tmp_path))])
    assert_one_line_error(result, "--out", "is a file")


def _read_only_dir() -> Path | None:
    """An existing folder this process cannot write into (root ignores chmod: use /sys)."""
    for candidate in (Path("/sys"), Path("/proc/self")):
        try:
            probe = candidate / ".mrp_probe"
            probe.write_text("x")
            probe.unlink()
        except OSError:
            return candidate
    return None


@pytest.mark.parametrize("name", sorted(OUT_COMMANDS))
def test_read_only_out_is_one_line_exit_2(name, tmp_path):
    ro = _read_only_dir()
    if ro is None:
        pytest.skip("no read-only folder available")
    for out in (ro, ro / "mrp_results"):
        result = CliRunner().invoke(main, [*OUT_COMMANDS[name], "--out", str(out)])
        assert_one_line_error(result, "--out")


def test_noise_check_json_unwritable_is_one_line_exit_2_before_the_search(tmp_path):
    result = CliRunner().invoke(main, ["noise-check", "gaussian:0.5", "--trials", "100000",
                                       "--json", str(_blocker(tmp_path) / "x.json")])
    assert_one_line_error(result, "--json", "is a file")


def test_plot_out_under_a_file_is_one_line_exit_2(tmp_path):
    res = tmp_path / "r.json"
    res.write_text("{}")
    result = CliRunner().invoke(main, ["plot", str(res), "--out", str(_blocker(tmp_path) / "o")])
    assert_one_line_error(result, "--out", "is a file")


def test_missing_parents_of_out_are_created_with_a_note(tmp_path):
    from mrptheory.cli_support.outputs import ensure_writable_dir

    target = tmp_path / "new" / "deeper" / "out"
    notes: list[str] = []
    ensure_writable_dir(target, "--out", note=notes.append)
    assert target.is_dir() and not any(target.iterdir())  # the probe file is gone
    assert len(notes) == 1 and "new" in notes[0]
    notes.clear()
    ensure_writable_dir(tmp_path / "plain", "--out", note=notes.append)
    assert notes == []  # the out folder itself is created silently


# ----------------------------------------------------------------------- kill, resume, concurrency

TIMING_KEYS = {"seconds", "images_per_s", "timing", "data_s", "total_s", "data_share", "run_dir"}


def _strip(obj):
    """``obj`` without wall-clock fields (the only thing allowed to differ between runs)."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _env() -> dict[str, str]:
    # Everything else is inherited: MRP_FASHION_MNIST_DIR (set by the test) and the BLAS thread
    # settings -- a child with another BLAS thread count than the in-process reference run
    # rounds the eigendecomposition differently in the last bit, and the exact comparisons of
    # resumed vs uninterrupted results would fail for that reason alone.
    env = dict(os.environ)
    env.update(PYTHONPATH=str(REPO), MRP_NO_PROGRESS="1")
    return env


def _mrp(args: list[str], code: str | None = None) -> subprocess.Popen:
    """Start ``mrp ARGS`` (or a Python snippet) in a subprocess."""
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "mrptheory.cli", *args]
    return subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120.0) -> bool:
    """SIGKILL ``proc`` as soon as ``ready()``; True if it was still running (killed mid-run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.02)
    running = proc.poll() is None
    if running:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return running


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return out


def _lines_in(path_glob: str, folder: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in folder.glob(path_glob))


def _tear_last_line(store: Path) -> None:
    """Simulate a kill in the middle of a write: a record cut short, no newline."""
    with open(store, "a") as fh:
        fh.write('{"key": "mlp|top|0.9000|99", "arch": "ml')


SUBSPACE = ["subspace", "--cuts", "0.9", "--seeds", "3", "--epochs", "1", "--train-size", "300",
            "--test-size", "200", "--examples", "0", "--threads", "1", "--no-progress"]


def test_subspace_kill_resume_torn_line_and_concurrent_runs_match_one_clean_run(tmp_path,
                                                                                monkeypatch,
                                                                                tiny_fashion):
    monkeypatch.setenv("MRP_FASHION_MNIST_DIR", tiny_fashion)
    clean = tmp_path / "clean"
    result = CliRunner().invoke(main, [*SUBSPACE, "--out", str(clean)])
    assert result.exit_code == 0, result.output
    reference = _strip(json.loads((clean / "subspace_fashion-mnist.json").read_text()))
    assert [row["n_seeds"] for row in reference["summary"]] == [3, 3]

    killed = tmp_path / "killed"
    proc = _mrp([*SUBSPACE, "--out", str(killed)])
    mid_run = _kill_when(proc, lambda: _lines_in("*_runs_*.jsonl", killed) >= 1)
    (store,) = killed.glob("*_runs_*.jsonl")
    assert mid_run and len(store.read_text().splitlines()) < 6, "the run was not killed mid-run"
    _tear_last_line(store)
    # resume with two concurrent runs into the same --out: each unit must be counted once
    procs = [_mrp([*SUBSPACE, "--out", str(killed)]) for _ in range(2)]
    outputs = [_finish(p) for p in procs]
    assert any(f"{store}: line" in out and "incomplete" in out for out in outputs), outputs
    payload = json.loads((killed / "subspace_fashion-mnist.json").read_text())
    assert [row["n_seeds"] for row in payload["summary"]] == [3, 3], outputs
    assert _strip(payload) == reference
    lines = store.read_text().splitlines()
    assert sum(line.startswith('{"key": "mlp|top|0.9000|99", "arch": "ml') for line in lines) == 1
    keys = {json.loads(line)["key"] for line in lines if not line.endswith('"arch": "ml')}
    assert keys == {r["key"] for r in reference["records"]}  # nothing lost, nothing glued


MAE = ["mae", "pretrain", "--epochs", "30", "--train-samples", "64", "--test-samples", "32",
       "--probe-train-samples", "32", "--embed-dim", "8", "--depth", "1", "--num-heads", "1",
       "--decoder-embed-dim", "8", "--batch-size", "16", "--patch-size", "7", "--eval-every", "5",
       "--threads", "1", "--no-progress"]


def _mae_payload(out: Path) -> dict:
    (path,) = out.glob("mae_pretrain_*.json")
    return _strip(json.loads(path.read_text()))


def test_mae_pretrain_killed_and_resumed_equals_an_uninterrupted_run(tmp_path, monkeypatch,
                                                                    tiny_fashion):
    monkeypatch.setenv("MRP_FASHION_MNIST_DIR", tiny_fashion)
    clean = tmp_path / "clean"
    result = CliRunner().invoke(main, [*MAE, "--out", str(clean)])
    assert result.exit_code == 0, result.output

    killed = tmp_path / "killed"
    proc = _mrp([*MAE, "--out", str(killed)])
    seen: list[float] = []

    def two_checkpoints() -> bool:  # killed after the epoch-0 and at least one epoch checkpoint
        found = list(killed.glob("mae_runs_cli/*/checkpoint.pt"))
        if found:
            mtime = found[0].stat().st_mtime_ns
            if mtime not in seen:
                seen.append(mtime)
        return len(seen) >= 2

    assert _kill_when(proc, two_checkpoints), "the run finished before it could be killed"
    assert not list(killed.glob("mae_pretrain_*.json"))
    _finish(_mrp([*MAE, "--out", str(killed)]))
    resumed, reference = _mae_payload(killed), _mae_payload(clean)
    assert resumed["final"] == reference["final"]
    assert resumed["curves"] == reference["curves"]


def register_fake_claims(registry) -> None:
    """Six instant deterministic claims in place of the real ones (0.25 s each)."""
    from mrptheory import catalog
    from mrptheory.claims.registry import ClaimResult, Verdict, register_claim

    catalog.CLAIM_MODULES[:] = []
    registry._REGISTRY.clear()
    for i in range(6):
        def check(ctx, i=i):
            time.sleep(0.25)
            return ClaimResult(f"value {i * ctx.seed + i}", "e",
                               Verdict.CONFIRMED if i % 2 else Verdict.REFUTED, details={"i": i})
        register_claim(f"fake-{i}", paper="p", statement=f"claim {i}")(check)


REPRODUCE_DRIVER = """
import sys
from mrptheory.claims import registry
from tests.test_faults import register_fake_claims
register_fake_claims(registry)
from mrptheory.cli import main
main(["reproduce", "--quick", "--no-progress", "--out", sys.argv[1]])
"""


def _reproduce(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", REPRODUCE_DRIVER, str(out)], cwd=REPO,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def test_reproduce_killed_and_resumed_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    from mrptheory.claims import registry

    clean, killed = tmp_path / "clean", tmp_path / "killed"
    proc = _reproduce(killed)
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr("mrptheory.catalog.CLAIM_MODULES", [])
    register_fake_claims(registry)
    assert _kill_when(proc, lambda: _lines_in("claims.jsonl", killed) >= 2)
    result = CliRunner().invoke(main, ["reproduce", "--quick", "--no-progress", "--out", str(clean)])
    assert result.exit_code == 0, result.output
    _tear_last_line(killed / "claims.jsonl")
    out = _finish(_reproduce(killed))
    assert out.count("[resume]") >= 2 and out.count("[run]") <= 4, out
    rows = lambda d: _strip(json.loads((d / "claims.json").read_text()))  # noqa: E731
    assert rows(killed) == rows(clean)


WRITER = """
import sys
from mrptheory.results import JsonlStore
store = JsonlStore(sys.argv[1])
for i in range(100000):
    store.append({"key": f"{sys.argv[2]}{i}", "pad": "x" * 20000})
"""


def test_store_killed_mid_append_and_two_writers_lose_and_double_nothing(tmp_path):
    from mrptheory.results import JsonlStore

    path = tmp_path / "units.jsonl"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag], env=_env())
               for tag in "ab"]
    _kill_when(writers[0], lambda: path.exists() and path.stat().st_size > 2_000_000)
    writers[1].send_signal(signal.SIGKILL)
    writers[1].wait()
    _tear_last_line(path)
    store = JsonlStore(path)
    store.append({"key": "after-the-kill", "pad": ""})
    with pytest.warns(UserWarning) as caught:
        records = list(store.records())
    assert len(caught) <= 1  # only the one torn line is skipped
    assert records[-1]["key"] == "after-the-kill"
    assert all(r["pad"] == "x" * 20000 for r in records[:-1])
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)) > 50


#: store-backed commands: (arguments, results file, store glob, units in the run)
STORE_COMMANDS = {
    "dynamics": (["dynamics", "--models", "linear", "--models", "gaussian", "--models", "mask",
                  "--train-size", "300", "--downsample", "4", "--t-max", "2",
                  "--n-eval", "4", "--threads", "1", "--no-progress"],
                 "dynamics_fashion-mnist.json", "dynamics_*_runs_*.jsonl", 3),
    "multiview compare --sweep": (["multiview", "compare", "--sweep", "mu=0.05,0.1,0.2",
                                   "--steps", "20", "--n-train", "50", "--mrp-steps", "20",
                                   "--probe-steps", "20", "--ft-steps", "10", "--seeds", "1",
                                   "--threads", "1", "--no-progress"],
                                  "multiview_sweep_mu.json", "multiview_sweep_mu.jsonl", 3),
}


@pytest.mark.parametrize("name", sorted(STORE_COMMANDS))
def test_store_backed_command_killed_and_resumed_equals_an_uninterrupted_run(name, tmp_path,
                                                                             monkeypatch,
                                                                             tiny_fashion):
    args, result_name, store_glob, units = STORE_COMMANDS[name]
    monkeypatch.setenv("MRP_FASHION_MNIST_DIR", tiny_fashion)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    result = CliRunner().invoke(main, [*args, "--out", str(clean)])
    assert result.exit_code == 0, result.output
    proc = _mrp([*args, "--out", str(killed)])
    mid_run = _kill_when(proc, lambda: _lines_in(store_glob, killed) >= 1)
    assert mid_run and _lines_in(store_glob, killed) < units, "not killed mid-run"
    assert not (killed / result_name).exists()
    _finish(_mrp([*args, "--out", str(killed)]))
    resumed = _strip(json.loads((killed / result_name).read_text()))
    assert resumed == _strip(json.loads((clean / result_name).read_text()))
