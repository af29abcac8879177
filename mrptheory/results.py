"""Results are data first: JSON / NPZ files that carry the config and seed that produced them.

Writes are atomic (write to a temporary file, then rename), so an interrupted run never leaves a
half-written result behind. :class:`JsonlStore` appends one record per finished unit of work
(a seed, a sweep point, a claim) so that a sweep can resume where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, numpy scalars/arrays, paths and tuples into JSON-serialisable values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and callable(obj.tolist):  # torch tensors
        return obj.tolist()
    return obj


def default_file_mode() -> int:
    """File mode a plain ``open(..., "w")`` would give (0o666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, default_file_mode())  # mkstemp creates 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_json(path: str | Path, payload: Any) -> Path:
    """Atomically write ``payload`` (converted by :func:`to_jsonable`) as pretty JSON."""
    path = Path(path)
    text = json.dumps(to_jsonable(payload), indent=2, sort_keys=False) + "\n"
    _atomic_write(path, lambda fh: fh.write(text.encode()))
    return path


def load_json(path: str | Path) -> Any:
    with open(path) as fh:
        return json.load(fh)


class JsonlStore:
    """Append-only store of finished records, keyed by ``record["key"]``, for resumable sweeps.

    Each line is one JSON record written and flushed as soon as its unit of work finishes, so
    at most the unit in progress is lost on interruption. A truncated last line (killed mid-write)
    is ignored on reading.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def records(self) -> Iterator[dict]:
        if not self.path.exists():
            return
        with open(self.path) as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # partial line from an interrupted write

    def done_keys(self) -> set[str]:
        return {str(r["key"]) for r in self.records() if "key" in r}

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(to_jsonable(record)) + "\n"
        with open(self.path, "a") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
