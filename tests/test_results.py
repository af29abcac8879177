"""Tests of mrptheory.results: atomic JSON, the resumable JsonlStore and the resume fingerprint."""

from __future__ import annotations

import json
import multiprocessing as mp
import warnings

import numpy as np
import pytest

from mrptheory.results import JsonlStore, fingerprint, folder_identity


def test_append_after_a_torn_last_line_keeps_the_new_record(tmp_path):
    store = JsonlStore(tmp_path / "runs.jsonl")
    store.append({"key": "a", "v": 1})
    with open(store.path, "a") as fh:
        fh.write('{"key": "b", "v"')  # killed mid-write: no newline
    store.append({"key": "c", "v": 3})
    with pytest.warns(UserWarning, match=r"runs\.jsonl.*line 2"):
        keys = [r["key"] for r in store.records()]
    assert keys == ["a", "c"]


def test_only_the_torn_line_is_skipped_and_named(tmp_path):
    store = JsonlStore(tmp_path / "runs.jsonl")
    store.path.write_text('{"key": "a"}\n{"key": \n{"key": "c"}\n')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keys = [r["key"] for r in store.records()]
    assert keys == ["a", "c"]
    assert len(caught) == 1 and "line 2" in str(caught[0].message)


def test_records_are_deduplicated_by_key_last_wins_first_position(tmp_path):
    store = JsonlStore(tmp_path / "runs.jsonl")
    for rec in ({"key": "a", "v": 1}, {"key": "b", "v": 2}, {"key": "a", "v": 3}, {"nokey": 1}):
        store.append(rec)
    recs = list(store.records())
    assert [r.get("key") for r in recs] == ["a", "b", None]
    assert recs[0]["v"] == 3


def test_get_or_run_runs_once_and_reuses(tmp_path):
    store = JsonlStore(tmp_path / "runs.jsonl")
    calls = []

    def fn():
        calls.append(1)
        return {"v": len(calls)}

    first = store.get_or_run("k", fn)
    second = store.get_or_run("k", fn)
    assert first == second == {"key": "k", "v": 1}
    assert len(calls) == 1
    assert len(store.path.read_text().splitlines()) == 1


def _append_many(path: str, tag: str, n: int) -> None:
    store = JsonlStore(path)
    for i in range(n):
        store.append({"key": f"{tag}{i}", "pad": "x" * 5000})


def test_concurrent_appenders_never_interleave_lines(tmp_path):
    path = str(tmp_path / "runs.jsonl")
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(path, t, 40)) for t in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    lines = open(path).read().splitlines()
    assert len(lines) == 80
    assert all(json.loads(line)["pad"] == "x" * 5000 for line in lines)


def _get_or_run_slow(path: str) -> None:
    import time

    JsonlStore(path).get_or_run("unit", lambda: (time.sleep(0.3), {"v": 1})[1])


def test_concurrent_get_or_run_stores_a_unit_once(tmp_path):
    path = str(tmp_path / "runs.jsonl")
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_get_or_run_slow, args=(path,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert len(open(path).read().splitlines()) == 1


def test_fingerprint_is_stable_and_sensitive(tmp_path):
    base = fingerprint({"a": 1, "b": (1, 2)})
    assert base == fingerprint({"b": [1, 2], "a": 1})
    assert base != fingerprint({"a": 2, "b": (1, 2)})
    assert len(base) == 10
    # same hash the config fingerprints have always used (sha1 of sorted JSON), so stores resume
    import hashlib
    d = {"a": 1, "b": [1, 2]}
    assert base == hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]


def test_folder_identity_changes_when_a_file_appears_or_changes(tmp_path):
    empty = folder_identity(tmp_path)
    (tmp_path / "f.bin").write_bytes(b"12")
    one = folder_identity(tmp_path)
    assert one != empty
    (tmp_path / "f.bin").write_bytes(b"123")
    assert folder_identity(tmp_path) != one
    assert folder_identity(tmp_path / "missing") == "absent"


def test_write_saves_then_draws_from_the_saved_file(tmp_path, monkeypatch):
    """plots.registry.write: every payload becomes OUT/<name>.json (through results.write), its
    figure is drawn from that saved file (so `mrp plot` redraws the same figure), and a payload
    without a figure kind is only saved."""
    from mrptheory.plots import registry
    from mrptheory.plots.registry import write
    from mrptheory.results import load_json

    seen = []

    def fake_plot(payload, out_dir):
        seen.append(payload)
        path = out_dir / f"{payload['figure_name']}.png"
        path.write_bytes(b"png")
        return [path]

    monkeypatch.setitem(registry._FIGURES, "test_kind", fake_plot)
    monkeypatch.setattr(registry, "figure_kinds", lambda modules=(): dict(registry._FIGURES))
    payload = {"figure_kind": "test_kind", "figure_name": "fig", "values": (1, 2), "x": np.float32(0.5)}
    written = write({"result": payload, "summary": {"rows": []}}, tmp_path)
    assert written == [tmp_path / "fig.png", tmp_path / "result.json", tmp_path / "summary.json"]
    assert load_json(tmp_path / "summary.json") == {"rows": []}
    # drawn from the saved JSON, not from the in-memory payload (tuple -> list, numpy -> float)
    assert seen == [{"figure_kind": "test_kind", "figure_name": "fig", "values": [1, 2], "x": 0.5}]


def test_the_store_only_saves(tmp_path, monkeypatch):
    """results.write saves and never draws, even a payload with a figure kind: drawing is the
    figure registry's (the store sits below plots and imports nothing of it)."""
    from mrptheory.plots import registry
    from mrptheory.results import load_json, write

    monkeypatch.setitem(registry._FIGURES, "test_kind",
                        lambda payload, out_dir: pytest.fail("the store drew a figure"))
    payload = {"figure_kind": "test_kind", "values": [1]}
    assert write({"result": payload}, tmp_path) == [tmp_path / "result.json"]
    assert load_json(tmp_path / "result.json") == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


# ------------------------------------------------------------- claim-then-compute (issue 17)

def _compute_units(path: str, marks: str, n_units: int) -> None:
    """Compute units 0..n-1 through get_or_run; each computation leaves one marker file."""
    import os
    import time
    from pathlib import Path

    store = JsonlStore(path)
    store.poll_s = 0.02

    def compute(i: int) -> dict:
        Path(marks, f"unit{i}.{os.getpid()}").write_text("")
        time.sleep(0.15)
        return {"v": i}

    for i in range(n_units):
        store.get_or_run(f"u{i}", lambda i=i: compute(i))


def test_two_processes_compute_each_unit_exactly_once(tmp_path):
    path, marks = str(tmp_path / "runs.jsonl"), tmp_path / "marks"
    marks.mkdir()
    ctx = mp.get_context("spawn")  # real, independent interpreters
    procs = [ctx.Process(target=_compute_units, args=(path, str(marks), 6)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    computed = sorted(m.name.split(".")[0] for m in marks.iterdir())
    assert computed == [f"unit{i}" for i in range(6)], computed  # once each, none twice
    store = JsonlStore(path)
    assert [r["v"] for r in store.records()] == list(range(6))
    assert len(open(path).read().splitlines()) == 6
    assert not store.claims_dir.exists()  # every claim released


def test_a_claim_of_a_dead_process_is_taken_over(tmp_path):
    import socket
    import subprocess
    import sys

    store = JsonlStore(tmp_path / "runs.jsonl")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    claim = store.claim_path("k")
    claim.parent.mkdir(parents=True)
    claim.write_text(json.dumps({"key": "k", "pid": int(dead), "host": socket.gethostname(),
                                 "time": 0.0 + __import__("time").time()}))
    assert store.get_or_run("k", lambda: {"v": 7}) == {"key": "k", "v": 7}
    assert not claim.exists()


def test_a_timed_out_claim_is_taken_over_and_a_live_one_is_waited_for(tmp_path):
    import os
    import threading
    import time

    store = JsonlStore(tmp_path / "runs.jsonl")
    store.poll_s = 0.02
    claim = store.claim_path("old")
    claim.parent.mkdir(parents=True)
    claim.write_text(json.dumps({"key": "old", "pid": 1, "host": "another-host", "time": 0.0}))
    os.utime(claim, (0, 0))  # its heartbeat stopped in 1970
    assert store.get_or_run("old", lambda: {"v": 1})["v"] == 1
    # a live claim (another live process: our parent; fresh): the caller waits and returns the record written by
    # the claim holder instead of computing the unit itself
    live = store.claim_path("live")
    live.parent.mkdir(parents=True, exist_ok=True)
    live.write_text(json.dumps({"key": "live", "pid": os.getppid(), "host": __import__("socket")
                                .gethostname(), "time": time.time()}))

    def finish():
        time.sleep(0.3)
        store.append({"key": "live", "v": "theirs"})
        live.unlink()

    threading.Thread(target=finish).start()
    assert store.get_or_run("live", lambda: {"v": "ours"})["v"] == "theirs"


def test_a_claim_left_by_an_earlier_process_with_our_pid_is_taken_over(tmp_path):
    """A restarted container gives the new run the pid of the killed one: the claim it left
    is not ours (another token), so it is taken over instead of waited for."""
    import os
    import socket

    store = JsonlStore(tmp_path / "runs.jsonl")
    claim = store.claim_path("k")
    claim.parent.mkdir(parents=True)
    claim.write_text(json.dumps({"key": "k", "pid": os.getpid(), "host": socket.gethostname(),
                                 "time": 0.0, "token": "an earlier process"}))
    assert store.get_or_run("k", lambda: {"v": 3})["v"] == 3


def test_a_held_claim_is_kept_alive_by_its_heartbeat(tmp_path):
    import os
    import time

    store = JsonlStore(tmp_path / "runs.jsonl")
    store.heartbeat_s = 0.05
    seen = []

    def slow():
        claim = store.claim_path("k")
        os.utime(claim, (0, 0))
        time.sleep(0.3)
        seen.append(claim.stat().st_mtime)
        return {"v": 1}

    store.get_or_run("k", slow)
    assert seen[0] > time.time() - 5  # touched again while the unit ran


def test_a_failing_unit_releases_its_claim_and_stores_nothing(tmp_path):
    store = JsonlStore(tmp_path / "runs.jsonl")

    def boom():
        raise RuntimeError("unit crashed")

    with pytest.raises(RuntimeError):
        store.get_or_run("k", boom)
    assert not store.claim_path("k").exists() and store.get("k") is None
    assert store.get_or_run("k", lambda: {"v": 2})["v"] == 2


def test_a_record_that_is_not_final_is_recomputed(tmp_path):
    store = JsonlStore(tmp_path / "runs.jsonl")
    store.append({"key": "k", "final": False})
    rec = store.get_or_run("k", lambda: {"final": True}, reuse=lambda r: r["final"])
    assert rec["final"] and store.get("k")["final"]


# ------------------------------------------------------------- validation, warnings, strict JSON

def _accuracy(record):
    from mrptheory.results import check_record

    return check_record(record, {"test_accuracy": ((int, float), 0.0, 1.0), "arch": str})


def test_invalid_records_are_dropped_with_one_warning_and_recomputed(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"key": "a", "test_accuracy": 5.0, "arch": "mlp"}\n'
                    '{"key": "b", "arch": "mlp"}\n'
                    '{"key": "c", "test_accuracy": 0.5, "arch": "mlp"}\n')
    store = JsonlStore(path, validate=_accuracy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [r["key"] for r in store.records()] == ["c"]
        assert store.done_keys() == {"c"}  # a second read warns no more
        rec = store.get_or_run("a", lambda: {"test_accuracy": 0.25, "arch": "mlp"})
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2, messages
    assert "line 1" in messages[0] and "outside [0.0, 1.0]" in messages[0]
    assert "line 2" in messages[1] and "lacks 'test_accuracy'" in messages[1]
    assert rec["test_accuracy"] == 0.25 and store.get("a")["test_accuracy"] == 0.25


def test_a_torn_line_warns_once_however_often_the_store_is_read(tmp_path):
    store = JsonlStore(tmp_path / "runs.jsonl")
    store.path.write_text('{"key": "a"}\n{"key": ')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.done_keys()
        list(store.records())
        store.get("a")
    assert len(caught) == 1


def test_results_json_is_strict_with_null_and_the_reason_and_reads_back(tmp_path):
    import math

    from mrptheory.results import load_json, save_json

    payload = {"loss": [1.0, float("nan"), float("inf")], "nested": {"x": float("-inf")}, "ok": 2}
    path = save_json(tmp_path / "r.json", payload)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    strict = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c}"))
    assert strict["loss"] == [1.0, None, None] and strict["nested"]["x"] is None
    assert {"path": ["loss", 1], "value": "nan"} in strict["non_finite"]
    back = load_json(path)
    assert math.isnan(back["loss"][1]) and back["loss"][2] == math.inf
    assert back["nested"]["x"] == -math.inf and "non_finite" not in back
    # files written before this change hold bare NaN: still read
    old = tmp_path / "old.json"
    old.write_text('{"figure_kind": "x", "v": NaN}')
    assert math.isnan(load_json(old)["v"])
    store = JsonlStore(tmp_path / "s.jsonl")
    store.append({"key": "k", "v": float("nan")})
    assert "NaN" not in store.path.read_text() and math.isnan(store.get("k")["v"])
