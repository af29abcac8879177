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
    """results.write: every payload becomes OUT/<name>.json, its figure is drawn from that saved
    file (so `mrp plot` redraws the same figure), and a payload without a figure kind is only saved."""
    from mrptheory.plots import registry
    from mrptheory.results import load_json, write

    seen = []

    def fake_plot(payload, out_dir):
        seen.append(payload)
        path = out_dir / f"{payload['figure_name']}.png"
        path.write_bytes(b"png")
        return [path]

    monkeypatch.setitem(registry._FIGURES, "test_kind", fake_plot)
    monkeypatch.setattr(registry, "figure_kinds", lambda: dict(registry._FIGURES))
    payload = {"figure_kind": "test_kind", "figure_name": "fig", "values": (1, 2), "x": np.float32(0.5)}
    written = write({"result": payload, "summary": {"rows": []}}, tmp_path)
    assert written == [tmp_path / "fig.png", tmp_path / "result.json", tmp_path / "summary.json"]
    assert load_json(tmp_path / "summary.json") == {"rows": []}
    # drawn from the saved JSON, not from the in-memory payload (tuple -> list, numpy -> float)
    assert seen == [{"figure_kind": "test_kind", "figure_name": "fig", "values": [1, 2], "x": 0.5}]
