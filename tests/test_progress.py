"""Progress bars: a live bar on a terminal, plain periodic lines in logs."""

from __future__ import annotations

import io

from mrptheory import progress as progress_mod
from mrptheory.progress import progress


def test_non_terminal_output_gets_plain_lines_not_carriage_returns(monkeypatch):
    log = io.StringIO()  # not a tty, like a redirected log file
    monkeypatch.setattr(progress_mod.sys, "stderr", log)
    bar = progress(range(500), desc="work", enabled=True)
    for i in bar:
        bar.set_postfix(loss=i)  # training loops update metrics every step
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 3, lines  # start and end (a report every 30 s in between)
    assert "500/500" in lines[-1] and lines[-1].startswith("work")


def test_manual_bar_in_a_log_reports_the_final_count(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(progress_mod.sys, "stderr", log)
    bar = progress(total=10, desc="manual", enabled=True)
    bar.update(10)
    bar.close()
    assert "10/10" in log.getvalue().splitlines()[-1]


def test_disabled_bar_writes_nothing(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(progress_mod.sys, "stderr", log)
    for _ in progress(range(5), enabled=False):
        pass
    assert log.getvalue() == ""


def test_nested_bars_in_a_log_write_no_escape_sequences(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(progress_mod.sys, "stderr", log)
    for _ in progress(range(3), desc="outer", enabled=True):
        for _ in progress(range(3), desc="inner", enabled=True, position=1):
            pass
    assert "\x1b" not in log.getvalue() and "\r" not in log.getvalue()
