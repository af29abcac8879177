"""The per-unit result files of a sweep run as jobs: one file per unit, written atomically.

A job writes its record to ``<store>.units/<hash of key>.json`` (temporary file in the same
folder, ``fsync``, ``os.replace``, then ``fsync`` of the folder), so a reader sees either no file
or the whole record, whatever kills the job, and no lock is needed (advisory locks are unreliable
on the network file systems clusters share). The parent merges the files into the store with
:func:`merge_unit_files` and removes each one after its record is appended.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from mrptheory.results import JsonlStore, decode_strict, default_file_mode, dumps_strict


def units_dir(store: JsonlStore) -> Path:
    """The folder of a store's per-unit files (``<store>.units``, beside the store)."""
    return store.path.with_name(store.path.name + ".units")


def unit_file(store: JsonlStore, key: str) -> Path:
    """The file unit ``key`` writes (its name is a hash: keys hold any characters)."""
    return units_dir(store) / (hashlib.sha1(str(key).encode()).hexdigest()[:20] + ".json")


def write_unit_file(path: str | Path, record: dict) -> Path:
    """Write ``record`` (with its ``"key"``) to ``path`` atomically and durably: temp file in the
    same folder, flush + fsync, ``os.replace``, fsync of the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps_strict(record) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode())
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def read_unit_file(path: str | Path) -> dict | None:
    """The record in a unit file, or None when it is unreadable or not a record."""
    try:
        record = decode_strict(json.loads(Path(path).read_text()))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "key" in record else None


def merge_unit_files(store: JsonlStore, keys: Iterable[str] | None = None,
                     validate: Callable[[dict], str | None] | None = None,
                     replace: Iterable[str] = ()) -> dict[str, str]:
    """Append the finished unit files of ``store`` (only those of ``keys`` when given) to the
    store and remove them; returns ``{key: why}`` of the files that were rejected (unreadable,
    or refused by the store's or ``validate``'s check): those are removed too, so the unit is
    computed again. Stored keys are never appended twice, except those in ``replace`` (a stored
    record that was not final: the new one is appended, and reading keeps the last)."""
    folder = units_dir(store)
    if not folder.is_dir():
        return {}
    wanted = None if keys is None else {unit_file(store, k).name: str(k) for k in keys}
    done = store.done_keys() - {str(k) for k in replace}
    rejected: dict[str, str] = {}
    # in the units' order (so the store's lines follow the sweep, whatever order jobs finished)
    paths = (sorted(folder.glob("*.json")) if wanted is None else
             [p for p in (folder / name for name in wanted) if p.exists()])
    for path in paths:
        record = read_unit_file(path)
        key = wanted.get(path.name) if wanted is not None else None
        if record is None:
            rejected[key or path.name] = f"its result file {path} is unreadable"
        else:
            key = str(record["key"])
            why = store._invalid(record) or (validate(record) if validate else None)
            if why is not None:
                rejected[key] = f"its record is invalid ({why})"
            elif key not in done:
                store.append(record)
                done.add(key)
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()
    return rejected


__all__ = ["units_dir", "unit_file", "write_unit_file", "read_unit_file", "merge_unit_files"]
