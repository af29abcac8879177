"""Shared assertions for CLI tests: a refused input ends in one clear line with exit code 2."""

from __future__ import annotations

from click.testing import CliRunner, Result

from mrptheory.cli import main


def assert_one_line_error(result: Result, *needles: str) -> str:
    """Exit code 2, no traceback or escaped exception, exactly one non-empty output line holding
    every ``needle``; returns that line."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], result.output
    return lines[0]


def refused(*args: str) -> str:
    """Run ``mrp ARGS`` and check it is refused in one line (see :func:`assert_one_line_error`)."""
    return assert_one_line_error(CliRunner().invoke(main, list(args)))
