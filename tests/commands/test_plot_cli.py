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
