"""``mrp plot`` on files that are not results: one line naming the file and the problem, exit 2."""

from __future__ import annotations


import pytest
from click.testing import CliRunner

from mrptheory.cli import main

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40)

CASES = {
    "empty.json": (b"", "is empty"),
    "text.json": (b"hello, not json", "not valid JSON"),
    "truncated.json": (b'{"figure_kind": "alignment", "curves": [1, 2', "not valid JSON"),
    "figure.png": (PNG, "PNG image"),
    "store.jsonl": (b'{"key": "a", "v": 1}\n{"key": "b", "v": 2}\n', "JSON Lines"),
    "unrelated.json": (b'{"name": "x"}', "no 'figure_kind'"),
    "list.json": (b"[1, 2, 3]", "no 'figure_kind'"),
    "unknown_kind.json": (b'{"figure_kind": "nope"}', "unknown figure_kind 'nope'"),
    "incomplete.json": (b'{"figure_kind": "subspace_accuracy"}', "lacks"),
    "binary.json": (bytes(range(256)), "not a text"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_on_a_bad_file_is_one_line_exit_2(name, tmp_path):
    content, reason = CASES[name]
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["plot", str(path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert str(path) in lines[0] and reason in lines[0], lines[0]
    assert not list(tmp_path.glob("*.png")) or name == "figure.png"


# ------------------------------------------------- payloads validated per figure kind (issue 17)

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from mrptheory.plots.schemas import REQUIRED, payload_problem  # noqa: E402

PAPER_FIGS = Path(__file__).resolve().parents[2] / "paper_figs"


def _one_payload_per_kind() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in sorted(PAPER_FIGS.rglob("*.json")):
        payload = json.loads(path.read_text())
        if isinstance(payload, dict) and payload.get("figure_kind") in REQUIRED:
            found.setdefault(payload["figure_kind"], payload)
    return found


STORED = _one_payload_per_kind()


def test_every_figure_kind_declares_a_schema_that_the_stored_results_meet():
    from mrptheory.catalog import figure_kinds

    assert set(REQUIRED) == set(figure_kinds())
    for path in sorted(PAPER_FIGS.rglob("*.json")):
        payload = json.loads(path.read_text())
        if isinstance(payload, dict) and payload.get("figure_kind") in REQUIRED:
            assert payload_problem(payload["figure_kind"], payload) is None, path


def _refused_plot(tmp_path, payload, *needles):
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(payload))
    result = CliRunner().invoke(main, ["plot", str(path), "--out", str(tmp_path / "figs")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert str(path) in lines[0] and all(n in lines[0] for n in needles), lines[0]
    assert not list((tmp_path / "figs").glob("*.png"))


@pytest.mark.parametrize("kind,field,value", [
    ("alignment", "curves", "oops"), ("alignment", "k_min", "big"), ("alignment", "k_min", 0),
    ("alignment", "ks", [1, "two"]), ("mae_probe_curves", "curves", "oops"),
    ("dynamics", "models", [1]), ("subspace_accuracy", "summary", "oops"),
    ("multiview_regime", "axes", 3), ("mae_mask_sweep", "tolerance", "small"),
])
def test_a_field_of_the_wrong_type_or_range_is_one_line_exit_2(tmp_path, kind, field, value):
    if kind not in STORED:
        pytest.skip(f"no stored {kind} payload in paper_figs")
    _refused_plot(tmp_path, {**STORED[kind], field: value}, field)


@pytest.mark.parametrize("kind", sorted(REQUIRED))
def test_every_required_field_is_checked(tmp_path, kind):
    if kind not in STORED:
        pytest.skip(f"no stored {kind} payload in paper_figs")
    for field, rule in REQUIRED[kind].items():
        wrong = 12345 if rule is str else "oops"
        _refused_plot(tmp_path, {**STORED[kind], field: wrong}, field)
        _refused_plot(tmp_path, {k: v for k, v in STORED[kind].items() if k != field}, field)


def test_deeper_damage_is_still_one_line(tmp_path):
    payload = {**STORED["dynamics"], "models": {"linear": "oops"}}
    _refused_plot(tmp_path, payload, "lacks numbers")
