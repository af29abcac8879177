"""Results are data first: JSON / NPZ files that carry the config and seed that produced them.

Writes are atomic (write to a temporary file, then rename), so an interrupted run never leaves a
half-written result behind. :class:`JsonlStore` appends one record per finished unit of work
(a seed, a sweep point, a claim) so that a sweep can resume where it stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

try:  # POSIX advisory file locks; absent on Windows (see JsonlStore)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


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


_MAGIC = {b"\x89PNG": "a PNG image", b"%PDF": "a PDF document", b"PK\x03\x04": "a zip/npz archive",
          b"\x93NUMPY": "a numpy array file"}


def load_result(path: str | Path) -> dict[str, Any]:
    """Load a results file written by :func:`save_json` (a JSON object with ``"figure_kind"``).

    Anything else raises :class:`~mrptheory.errors.ConfigError` in one line naming the file and
    what is wrong: empty, binary (an image...), a JSON Lines store, invalid or truncated JSON, or
    JSON without a ``figure_kind``.
    """
    from mrptheory.errors import ConfigError

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not raw.strip():
        raise ConfigError(f"{path} is empty: not a results file (was its run interrupted?)")
    for magic, what in _MAGIC.items():
        if raw.startswith(magic):
            raise ConfigError(f"{path} is {what}, not a results file; pass the .json file the "
                              f"run wrote (mrp plot redraws figures from their numbers)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text file (binary data): not a results file") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            jsonl = len(lines) > 1 and all(isinstance(json.loads(line), dict) for line in lines)
        except json.JSONDecodeError:
            jsonl = False
        if jsonl:
            raise ConfigError(f"{path} is a JSON Lines store (one record per line, for resuming), "
                              f"not a results file; pass the .json file the run wrote") from None
        raise ConfigError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column "
                          f"{exc.colno}): truncated or not a results file") from None
    if not isinstance(payload, dict) or "figure_kind" not in payload:
        raise ConfigError(f"{path} is JSON but has no 'figure_kind' key: not the numbers of a "
                          f"figure (nothing to redraw)")
    return payload


def load_json(path: str | Path) -> Any:
    with open(path) as fh:
        return json.load(fh)


class JsonlStore:
    """Append-only store of finished records, keyed by ``record["key"]``, for resumable sweeps.

    Each line is one JSON record written and flushed as soon as its unit of work finishes, so
    at most the unit in progress is lost on interruption.

    * Torn lines: a line cut short by a kill is skipped on reading with a warning naming the file
      and line; every append starts on a fresh line, so the next record is never glued to it.
    * Duplicates: reading keeps one record per key (the last written, at the position of the
      first), so two runs that stored the same unit never count it twice.
    * Concurrency: appends (and :meth:`get_or_run`'s check-then-store) hold an exclusive
      ``fcntl.flock`` on the sidecar ``<file>.lock`` -- POSIX only; elsewhere writers are not
      serialised, and the de-duplication on read is what keeps results single-counted.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def records(self) -> Iterator[dict]:
        """The stored records, one per key (last written wins), in first-written order."""
        from mrptheory.errors import MrpWarning

        if not self.path.exists():
            return
        keyed: dict[str, dict] = {}
        order: list[tuple[str | None, dict | None]] = []
        with open(self.path) as fh:
            for number, line in enumerate(fh, start=1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    warnings.warn(f"{self.path}: line {number} is incomplete (a run was killed while "
                                  f"writing it); skipped, its unit will be recomputed",
                                  MrpWarning, stacklevel=2)
                    continue
                if not isinstance(record, dict):
                    warnings.warn(f"{self.path}: line {number} is not a record; skipped", MrpWarning,
                                  stacklevel=2)
                    continue
                if "key" not in record:
                    order.append((None, record))
                    continue
                key = str(record["key"])
                if key not in keyed:
                    order.append((key, None))
                keyed[key] = record
        for key, record in order:
            yield keyed[key] if key is not None else record

    def done_keys(self) -> set[str]:
        return {str(r["key"]) for r in self.records() if "key" in r}

    def get(self, key: str) -> dict | None:
        """The stored record of ``key``, or None."""
        found = None
        for r in self.records():
            if str(r.get("key")) == str(key):
                found = r
        return found

    def _append_unlocked(self, record: dict) -> None:
        line = json.dumps(to_jsonable(record)) + "\n"
        with open(self.path, "a+b") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # the last line was torn by a kill: end it first
                    line = "\n" + line
            fh.write(line.encode())
            fh.flush()
            os.fsync(fh.fileno())

    def append(self, record: dict) -> None:
        """Append ``record`` as one line (under the store's lock), flushed to disk."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.lock_path):
            self._append_unlocked(record)

    def get_or_run(self, key: str, fn: Callable[[], dict]) -> dict:
        """The record of ``key``: the stored one, else ``fn()`` (plus ``"key"``), stored once.

        ``fn`` runs without the lock (other writers keep going); if another process stored
        ``key`` meanwhile, its record is returned and ours is dropped, so a unit is stored once.
        """
        found = self.get(key)
        if found is not None:
            return found
        record = {"key": key, **fn()}
        record["key"] = key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.lock_path):
            found = self.get(key)
            if found is not None:
                return found
            self._append_unlocked(record)
        return record


def fingerprint(obj: Any, length: int = 10) -> str:
    """The one resume fingerprint: a short SHA-1 of ``obj`` as sorted JSON.

    ``obj`` holds everything that changes a result (config, data identity, package version...);
    equal inputs give equal fingerprints across processes and Python versions. Configs' own
    ``fingerprint()`` methods and ``mrp reproduce`` keys are built with this function.
    """
    text = json.dumps(to_jsonable(obj), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def folder_identity(folder: str | Path) -> str | list[list[Any]]:
    """Cheap identity of a data folder: ``[name, size, mtime_ns]`` of each top-level entry.

    Installing, replacing or deleting a data file changes it (a sub-folder's mtime changes when
    its entries change); reading nothing but ``stat`` keeps it instant even for big data sets.
    ``"absent"`` when the folder does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return "absent"
    entries = []
    for child in sorted(folder.iterdir()):
        try:
            st = child.stat()
        except OSError:
            continue
        entries.append([child.name, st.st_size, st.st_mtime_ns])
    return entries


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``lock_path`` (``fcntl.flock``), released on exit.

    POSIX only: where ``fcntl`` is missing (Windows) the store is still append-safe for one
    writer but concurrent writers are not serialised (a unit may be computed and stored twice;
    reads de-duplicate by key, so results are never double-counted).
    """
    if fcntl is None:  # pragma: no cover - non-POSIX
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def write(payloads: Mapping[str, dict[str, Any]], out_dir: str | Path, *,
          draw: bool = True) -> list[Path]:
    """The one write path of results: save each payload as ``OUT/<name>.json``, then draw its
    figure(s) from the saved file, exactly as ``mrp plot OUT/<name>.json`` would redraw them.

    ``payloads`` maps file names (without ``.json``) to payloads; one without a ``figure_kind``
    (a summary table) is only saved, and ``draw=False`` saves every payload without drawing
    (numbers kept for a later ``mrp plot``). Returns the written paths, figures before each JSON file.
    Drawing goes through :mod:`mrptheory.plots.registry`, imported here lazily because plotting
    sits above this module.
    """
    from mrptheory.plots.registry import redraw

    out = Path(out_dir)
    written: list[Path] = []
    for name, payload in payloads.items():
        path = save_json(out / f"{name}.json", payload)
        if draw and "figure_kind" in payload:
            written += redraw(path, out)
        written.append(path)
    return written
