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
from tests.conftest import FASHION_MNIST_DIR, requires_fashion_mnist

REPO = Path(__file__).resolve().parents[1]

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


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], result.output


def _blocker(tmp_path: Path) -> Path:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    return blocker


@pytest.mark.parametrize("name", sorted(OUT_COMMANDS))
def test_out_under_a_file_is_one_line_exit_2(name, tmp_path):
    out = _blocker(tmp_path) / "results"
    result = CliRunner().invoke(main, [*OUT_COMMANDS[name], "--out", str(out)])
    _one_line_error(result, "--out", "a_file", "is a file")


@pytest.mark.parametrize("name", sorted(OUT_COMMANDS))
def test_out_that_is_a_file_is_one_line_exit_2(name, tmp_path):
    result = CliRunner().invoke(main, [*OUT_COMMANDS[name], "--out", str(_blocker(tmp_path))])
    _one_line_error(result, "--out", "is a file")


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
        _one_line_error(result, "--out")


def test_noise_check_json_unwritable_is_one_line_exit_2_before_the_search(tmp_path):
    result = CliRunner().invoke(main, ["noise-check", "gaussian:0.5", "--trials", "100000",
                                       "--json", str(_blocker(tmp_path) / "x.json")])
    _one_line_error(result, "--json", "is a file")


def test_plot_out_under_a_file_is_one_line_exit_2(tmp_path):
    res = tmp_path / "r.json"
    res.write_text("{}")
    result = CliRunner().invoke(main, ["plot", str(res), "--out", str(_blocker(tmp_path) / "o")])
    _one_line_error(result, "--out", "is a file")


def test_missing_parents_of_out_are_created_with_a_note(tmp_path):
    from mrptheory.commands.options import ensure_writable_dir

    target = tmp_path / "new" / "deeper" / "out"
    notes: list[str] = []
    ensure_writable_dir(target, "--out", note=notes.append)
    assert target.is_dir() and not any(target.iterdir())  # the probe file is gone
    assert len(notes) == 1 and "new" in notes[0]
    notes.clear()
    ensure_writable_dir(tmp_path / "plain", "--out", note=notes.append)
    assert notes == []  # the out folder itself is created silently
