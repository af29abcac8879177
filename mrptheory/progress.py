"""Progress bars for long runs (tqdm on stderr; silenced with ``enabled=False`` or MRP_NO_PROGRESS=1).

tqdm is used rather than a hand-written bar because it handles rates, ETA, nested bars and
postfix metrics (loss, accuracy) robustly. On a terminal the bar redraws in place; when stderr is
not a terminal (a log file, a pipe, CI) each report is a plain line instead -- no carriage
returns -- written at the start, at most every :data:`LOG_INTERVAL_S` seconds, and at the end.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from typing import TextIO, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

#: Seconds between two plain progress lines when stderr is not a terminal.
LOG_INTERVAL_S = 30.0


def progress_enabled(enabled: bool | None = None) -> bool:
    """Bars are on unless disabled explicitly or through the MRP_NO_PROGRESS environment variable."""
    if enabled is not None:
        return enabled
    return os.environ.get("MRP_NO_PROGRESS", "") in ("", "0")


class _LineWriter:
    """File-like wrapper turning tqdm's in-place redraws into whole lines (for logs)."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.last = ""

    _ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # cursor moves of nested bars

    def write(self, text: str) -> None:
        line = self._ESCAPES.sub("", text.replace("\r", "")).strip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.last = line

    def flush(self) -> None:
        self.stream.flush()


class _LogBar(tqdm):
    """A tqdm bar for logs: postfix and description changes wait for the next periodic line."""

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs) -> None:
        super().set_postfix(ordered_dict, refresh=False, **kwargs)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        super().set_postfix_str(s, refresh=False)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        super().set_description(desc, refresh=False)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             enabled: bool | None = None, **kwargs) -> tqdm:
    """A tqdm bar over ``iterable`` (or a manual bar when ``iterable`` is None)."""
    stream = sys.stderr
    if not progress_enabled(enabled):
        return tqdm(iterable, total=total, desc=desc, disable=True, **kwargs)
    if _is_terminal(stream):
        return tqdm(iterable, total=total, desc=desc, file=stream, dynamic_ncols=True,
                    leave=False, **kwargs)
    kwargs.pop("leave", None)
    kwargs.setdefault("mininterval", LOG_INTERVAL_S)
    return _LogBar(iterable, total=total, desc=desc, file=_LineWriter(stream), ncols=100,
                ascii=True, leave=True, **kwargs)
