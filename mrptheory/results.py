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
import math
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
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


#: Top-level key listing the non-finite numbers a JSON file stores as ``null`` (see :func:`encode_strict`).
NON_FINITE_KEY = "non_finite"


def _replace_non_finite(obj: Any, where: list, found: list[dict[str, Any]]) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        found.append({"path": list(where), "value": "nan" if obj != obj else
                      ("inf" if obj > 0 else "-inf")})
        return None
    if isinstance(obj, dict):
        return {k: _replace_non_finite(v, [*where, k], found) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_replace_non_finite(v, [*where, i], found) for i, v in enumerate(obj)]
    return obj


def encode_strict(obj: Any) -> Any:
    """``obj`` (already :func:`to_jsonable`) in strict JSON: every NaN / +-inf becomes ``null``.

    Strict JSON has no NaN, so a dict payload gets a top-level :data:`NON_FINITE_KEY` list saying
    why each such ``null`` is there: ``[{"path": ["records", 0, "loss"], "value": "nan"}, ...]``
    (``"nan"``, ``"inf"`` or ``"-inf"``); :func:`decode_strict` puts the numbers back. Non-dict
    values with non-finite numbers keep plain ``null`` (there is no place for the reason).
    """
    found: list[dict[str, Any]] = []
    clean = _replace_non_finite(obj, [], found)
    if found and isinstance(clean, dict):
        clean = {**clean, NON_FINITE_KEY: found}
    return clean


def decode_strict(obj: Any) -> Any:
    """Undo :func:`encode_strict`: the listed ``null`` values become NaN / +-inf again.

    Files written before (bare ``NaN`` tokens, which Python's json reads) pass through unchanged.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get(NON_FINITE_KEY), list):
        return obj
    obj = dict(obj)
    entries = obj.pop(NON_FINITE_KEY)
    numbers = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), list) or not entry["path"]:
            continue
        target: Any = obj
        *parents, last = entry["path"]
        try:
            for step in parents:
                target = target[step]
            if target[last] is None:
                target[last] = numbers.get(entry.get("value"), math.nan)
        except (KeyError, IndexError, TypeError):
            continue  # an edited file: leave that value as null
    return obj


def dumps_strict(obj: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``obj`` (:func:`to_jsonable`, then :func:`encode_strict`)."""
    return json.dumps(encode_strict(to_jsonable(obj)), allow_nan=False, **kwargs)


def save_json(path: str | Path, payload: Any) -> Path:
    """Atomically write ``payload`` (converted by :func:`to_jsonable`) as pretty, strict JSON
    (non-finite numbers as ``null``, listed under :data:`NON_FINITE_KEY`)."""
    path = Path(path)
    text = dumps_strict(payload, indent=2, sort_keys=False) + "\n"
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
    return decode_strict(payload)


def load_json(path: str | Path) -> Any:
    """A JSON file written by :func:`save_json` (non-finite numbers restored), or an older one."""
    with open(path) as fh:
        return decode_strict(json.load(fh))


#: A record validator: None when a stored record is usable, else why not (one short phrase).
Validator = Callable[[dict], "str | None"]

#: (file, line, reason) of the store lines already warned about in this process: each is
#: reported once, however many times the store is read.
_WARNED: set[tuple[str, int, str]] = set()


def _warn_once(path: Path, number: int, text: str) -> None:
    from mrptheory.errors import MrpWarning

    key = (str(path.resolve()), number, text)
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(f"{path}: line {number} {text}", MrpWarning, stacklevel=3)


def check_record(record: dict, fields: Mapping[str, Any]) -> str | None:
    """A small declarative record check: ``fields`` maps each required key to a type (or tuple of
    types) or to ``(types, low, high)`` for a number in ``[low, high]`` (``None``: unbounded).

    Returns None when the record passes, else e.g. ``"test_accuracy = 5.0 is outside [0, 1]"``.
    bools are not numbers here (``True`` is not an accuracy).
    """
    for name, rule in fields.items():
        if name not in record:
            return f"lacks {name!r}"
        value = record[name]
        low = high = None
        types = rule
        if (isinstance(rule, tuple) and len(rule) == 3 and isinstance(rule[0], (type, tuple))
                and not isinstance(rule[1], type) and not isinstance(rule[2], type)):
            types, low, high = rule
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            return f"{name} = {value!r} is not a {_type_names(types)}"
        if not isinstance(value, types):
            return f"{name} = {value!r:.40} is not a {_type_names(types)}"
        if isinstance(value, (int, float)) and (low is not None or high is not None):
            if value != value or (low is not None and value < low) or (high is not None and value > high):
                return (f"{name} = {value!r} is outside [{'-inf' if low is None else low}, "
                        f"{'inf' if high is None else high}]")
    return None


def _type_names(types: Any) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


class JsonlStore:
    """Append-only store of finished records, keyed by ``record["key"]``, for resumable sweeps.

    Each line is one JSON record written and flushed as soon as its unit of work finishes, so
    at most the unit in progress is lost on interruption.

    * Torn lines: a line cut short by a kill is skipped on reading with a warning naming the file
      and line; every append starts on a fresh line, so the next record is never glued to it.
    * Invalid records: with a ``validate`` function (:data:`Validator`, e.g. built on
      :func:`check_record`), a record it rejects (a missing key, an accuracy of 5.0) is treated
      like a torn line: skipped with a warning, so its unit is recomputed. Each bad line is
      reported once per process, however often the store is read.
    * Duplicates: reading keeps one record per key (the last written, at the position of the
      first), so two runs that stored the same unit never count it twice.
    * Concurrency: :meth:`get_or_run` is the one claim-then-compute path: a process takes an
      exclusive claim file per unit (``<file>.claims/<hash of key>.claim``, created with
      ``O_CREAT | O_EXCL``, holding pid, host, time and a per-process token) before computing
      it, and touches it every ``heartbeat_s`` while it computes; another process wanting that
      unit waits for its record instead of computing it too (saying so once), and takes over a
      stale claim: its process is gone (same host: the pid is dead, or is now another process),
      or its last heartbeat is older than ``claim_timeout_s`` (any host).
      Appends hold an exclusive ``fcntl.flock`` on the sidecar ``<file>.lock`` -- POSIX only;
      elsewhere writers are not serialised, and the de-duplication on read keeps results
      single-counted.
    """

    #: A claim whose file was not touched for this long (seconds) is stale, whoever holds it
    #: (a holder on another host, or one that was killed, stops its heartbeat).
    claim_timeout_s: float = 600.0
    #: Seconds between two touches of a held claim (its heartbeat).
    heartbeat_s: float = 30.0
    #: Seconds between two looks at a unit another process has claimed.
    poll_s: float = 0.2

    def __init__(self, path: str | Path, validate: Validator | None = None):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.claims_dir = self.path.with_name(self.path.name + ".claims")
        self.validate = validate

    def records(self) -> Iterator[dict]:
        """The stored valid records, one per key (last written wins), in first-written order."""
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
                    record = decode_strict(json.loads(line))
                except json.JSONDecodeError:
                    _warn_once(self.path, number, "is incomplete (a run was killed while writing "
                                                  "it); skipped, its unit will be recomputed")
                    continue
                if not isinstance(record, dict):
                    _warn_once(self.path, number, "is not a record; skipped")
                    continue
                why = self._invalid(record)
                if why is not None:
                    _warn_once(self.path, number, f"is not a valid record ({why}); skipped, its "
                                                  f"unit will be recomputed")
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

    def _invalid(self, record: dict) -> str | None:
        if self.validate is None or "key" not in record:
            return None
        try:
            return self.validate(record)
        except Exception as exc:  # a validator tripping over a malformed record rejects it
            return f"{type(exc).__name__}: {exc}"

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
        line = dumps_strict(record) + "\n"
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
        """Append ``record`` as one line (under the store's lock), flushed to disk.

        Low level: units of work go through :meth:`get_or_run`, which claims them first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.lock_path):
            self._append_unlocked(record)

    # ------------------------------------------------------------------ claims

    def claim_path(self, key: str) -> Path:
        """The claim file of unit ``key`` (its name is a hash: keys hold any characters)."""
        return self.claims_dir / (hashlib.sha1(str(key).encode()).hexdigest()[:20] + ".claim")

    def _try_claim(self, claim: Path, key: str) -> bool:
        """Create ``claim`` exclusively (True), or find it taken (False); a stale one is removed
        and created anew. Runs under the store's lock, so two waiters never both take over."""
        with _locked(self.lock_path):
            self.claims_dir.mkdir(parents=True, exist_ok=True)
            if claim.exists() and self._stale(claim):
                claim.unlink(missing_ok=True)
            try:
                fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w") as fh:
                json.dump({"key": str(key), "pid": os.getpid(), "host": socket.gethostname(),
                           "time": time.time(), "token": _PROCESS_TOKEN}, fh)
            return True

    def _release(self, claim: Path) -> None:
        """Remove ``claim``, and the claims folder when no other claim is left (under the lock,
        so a process about to claim never finds its folder gone)."""
        with _locked(self.lock_path):
            claim.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.claims_dir.rmdir()

    def _claim_info(self, claim: Path) -> dict[str, Any] | None:
        try:
            info = json.loads(claim.read_text())
            return info if isinstance(info, dict) else None
        except (OSError, ValueError):
            return None

    def _stale(self, claim: Path) -> bool:
        """True when the holder of ``claim`` is gone or its heartbeat stopped (see class doc).

        An unreadable claim (its writer was killed between creating and filling it) is judged by
        its heartbeat alone."""
        try:
            silent = time.time() - claim.stat().st_mtime
        except OSError:
            return False
        if silent > self.claim_timeout_s:
            return True
        info = self._claim_info(claim)
        if info is None:
            return silent > max(10 * self.poll_s, 5.0)
        try:
            pid, host = int(info["pid"]), str(info["host"])
        except (KeyError, TypeError, ValueError):
            return True
        if host != socket.gethostname():
            return False
        if pid == os.getpid():  # our pid: ours only if we wrote it (a restarted container
            return info.get("token") != _PROCESS_TOKEN  # reuses the pid of a killed run)
        return not _pid_alive(pid)

    def get_or_run(self, key: str, fn: Callable[[], dict],
                   reuse: Callable[[dict], bool] | None = None) -> dict:
        """The record of ``key``: the stored one, else ``fn()`` (plus ``"key"``), computed once.

        The unit is claimed first (see the class doc): while another live process holds its
        claim, this one waits for that record instead of computing it (one note on stderr); a
        stale claim is taken over. The claim is removed when ``fn`` returns or raises (an
        exception propagates and nothing is stored, so the unit is retried later).
        ``reuse(record)`` (default: always) says whether a stored record is final; one that is
        not is recomputed and replaced.
        """
        key = str(key)
        reuse = reuse or (lambda record: True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        claim = self.claim_path(key)
        noted = False
        while True:
            found = self.get(key)
            if found is not None and reuse(found):
                return found
            if self._try_claim(claim, key):
                beat = _Heartbeat(claim, self.heartbeat_s)
                try:
                    found = self.get(key)  # stored between our look and our claim
                    if found is not None and reuse(found):
                        return found
                    record = {"key": key, **fn()}
                    record["key"] = key
                    self.append(record)
                    return record
                finally:
                    beat.stop()
                    self._release(claim)
            if not noted:
                info = self._claim_info(claim) or {}
                sys.stderr.write(f"note: {self.path}: unit {key} is being computed by process "
                                 f"{info.get('pid', '?')} on {info.get('host', '?')}; waiting "
                                 f"for its record\n")
                noted = True
            time.sleep(self.poll_s)


#: Written into every claim this process takes: a claim with our pid but another token was left
#: by an earlier process that had the same pid.
_PROCESS_TOKEN = uuid.uuid4().hex


class _Heartbeat:
    """Touch a held claim file every ``period`` seconds (a daemon thread) until :meth:`stop`."""

    def __init__(self, path: Path, period: float):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(path, period), daemon=True)
        self._thread.start()

    def _run(self, path: Path, period: float) -> None:
        while not self._stop.wait(period):
            with contextlib.suppress(OSError):
                os.utime(path)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped by its parent is a zombie: it will never finish
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def fingerprint(obj: Any, length: int = 10) -> str:
    """The one resume fingerprint: a short SHA-1 of ``obj`` as sorted JSON.

    ``obj`` holds everything that changes a result (config, data identity, package version...);
    equal inputs give equal fingerprints across processes and Python versions. Configs' own
    ``fingerprint()`` methods and ``mrp reproduce`` keys are built with this function.
    """
    text = json.dumps(to_jsonable(obj), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def store_fingerprint(config_fingerprint: str, data_fingerprint: str) -> str:
    """Fingerprint of a store of units: its config's and its data's content fingerprints (store
    file and checkpoint names carry it, so units of other data are never reused)."""
    return fingerprint({"config": config_fingerprint, "data": data_fingerprint})


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


def write(payloads: Mapping[str, dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Save each payload as ``OUT/<name>.json`` (``payloads`` maps file names without ``.json`` to
    payloads) and return the written paths, in order. The store only saves and loads: drawing a
    payload's figure is the figure registry's job, one layer up
    (:func:`mrptheory.plots.registry.write` saves through here, then draws from the saved file).
    """
    out = Path(out_dir)
    return [save_json(out / f"{name}.json", payload) for name, payload in payloads.items()]
