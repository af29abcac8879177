"""Decode once: decoded image arrays kept on disk as memory-mapped uint8 ``.npy`` files.

Where: :func:`cache_dir` -- ``$MRP_CACHE_DIR`` when set (tests point it at a temporary folder),
else ``$XDG_CACHE_HOME/mrptheory``, else ``~/.cache/mrptheory`` (the XDG default).

One entry per source is a folder ``<cache_dir>/decoded-<key>/`` holding one ``<name>.npy`` per
array and ``meta.json`` (the source, the arrays' shapes and dtypes, and the loader's metadata).
``key`` is the content fingerprint of the source (:func:`mrptheory.data.fingerprint.
content_fingerprint`: every file of a folder, or the archive) and the decoder's version, so
changing, adding or removing any file gives a new key, hence a fresh decode. For a folder,
hashing every file again on each load would cost seconds (15,000 small JPEGs: 2 s), so
:func:`source_fingerprint` keeps the files' hashes in a stat index (``index-<path hash>.json``)
and re-hashes only the files whose size or modification time changed -- the same rule as the
in-process cache of :mod:`mrptheory.data.fingerprint`, kept across processes; the resulting
fingerprint is identical to ``content_fingerprint(folder)``.

Writes are atomic: the entry is written into a temporary sibling folder and renamed into place,
``meta.json`` last, so a reader sees a whole entry or none. An entry that is torn anyway (a file
missing, truncated or of the wrong shape: outside damage) is removed and decoded again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import hashlib

from mrptheory.data.fingerprint import content_fingerprint, file_fingerprint
from mrptheory.errors import MrpWarning


def cache_dir() -> Path:
    """``$MRP_CACHE_DIR``, else ``$XDG_CACHE_HOME/mrptheory``, else ``~/.cache/mrptheory``."""
    env = os.environ.get("MRP_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mrptheory"


def _folder_files(root: Path) -> list[tuple[str, os.stat_result]]:
    """(relative path, stat) of every regular file below ``root``; links skipped, as
    :func:`~mrptheory.data.fingerprint.content_fingerprint` does."""
    out = []
    stack = [root]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                if e.is_symlink():
                    continue
                if e.is_dir():
                    stack.append(Path(e.path))
                elif e.is_file():
                    out.append((str(Path(e.path).relative_to(root)), e.stat()))
    return out


def source_fingerprint(source: str | os.PathLike, length: int = 16,
                       directory: str | os.PathLike | None = None) -> str:
    """``content_fingerprint(source)``, for a folder through the persistent stat index (see the
    module doc): only new files and files whose size or mtime changed are read."""
    source = Path(source)
    if not source.is_dir():
        return content_fingerprint(source, length)
    base = Path(directory) if directory is not None else cache_dir()
    index_path = base / f"index-{hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:16]}.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    entries, fresh = [], {}
    for rel, st in _folder_files(source):
        old = index.get(rel)
        if isinstance(old, list) and len(old) == 3 and old[:2] == [st.st_size, st.st_mtime_ns]:
            fp = old[2]
        else:
            fp = file_fingerprint(source / rel)
        fresh[rel] = [st.st_size, st.st_mtime_ns, fp]
        entries.append((rel, fp))
    digest = hashlib.sha256()
    for name, fp in sorted(entries):
        digest.update(f"{name}\0{fp}\n".encode())
    if fresh != index:
        try:
            base.mkdir(parents=True, exist_ok=True)
            tmp = index_path.with_name(index_path.name + f".tmp-{os.getpid()}")
            tmp.write_text(json.dumps(fresh))
            os.replace(tmp, index_path)
        except OSError:
            pass  # no index: the next load hashes every file again
    return digest.hexdigest()[:length]


def entry_path(source: str | os.PathLike, version: int = 1,
               directory: str | os.PathLike | None = None) -> Path:
    """The cache entry of ``source`` (a folder or a file) for decoder ``version``, inside
    ``directory`` (default :func:`cache_dir`)."""
    key = f"{source_fingerprint(source, directory=directory)}-v{version}"
    return (Path(directory) if directory is not None else cache_dir()) / f"decoded-{key}"


def _read(entry: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The entry's arrays (read-only memory maps) and metadata; None when absent or torn."""
    meta_path = entry / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        arrays = {}
        for name, spec in meta["arrays"].items():
            a = np.load(entry / f"{name}.npy", mmap_mode="r", allow_pickle=False)
            if list(a.shape) != spec["shape"] or str(a.dtype) != spec["dtype"]:
                raise ValueError(f"{name}.npy has shape {a.shape} {a.dtype}, meta says {spec}")
            arrays[name] = a
        return arrays, meta["meta"]
    except Exception as exc:  # noqa: BLE001 - a damaged cache is not the user's data: rebuild it
        warnings.warn(f"ignoring torn cache entry {entry} ({type(exc).__name__}: {exc}); "
                      "decoding again", MrpWarning, stacklevel=3)
        shutil.rmtree(entry, ignore_errors=True)
        return None


def _write(entry: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any], source: Path) -> None:
    """Write ``entry`` atomically (temporary sibling folder, then one rename)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-", dir=entry.parent))
    try:
        specs = {}
        for name, a in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(a), allow_pickle=False)
            specs[name] = {"shape": list(a.shape), "dtype": str(a.dtype)}
        (tmp / "meta.json").write_text(json.dumps({"source": str(source), "arrays": specs,
                                                   "meta": meta}, indent=1))
        try:
            os.rename(tmp, entry)
        except OSError:  # another process wrote the same entry first: keep theirs
            if not (entry / "meta.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cached_arrays(source: str | os.PathLike, decode: Callable[[], dict[str, Any]], *,
                  version: int = 1, directory: str | os.PathLike | None = None
                  ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``decode()``'s arrays for ``source``, decoded at most once per content.

    ``decode`` returns a dict whose numpy-array values are cached as ``.npy`` files and whose
    other (JSON-serialisable) values are the metadata. Returns ``(arrays, metadata)``; the arrays
    are read-only memory maps of the cache files. When the cache folder is not writable the
    decoded arrays are returned as they are, with a warning.
    """
    source = Path(source)
    entry = entry_path(source, version, directory)
    hit = _read(entry)
    if hit is not None:
        return hit
    decoded = decode()
    arrays = {k: v for k, v in decoded.items() if isinstance(v, np.ndarray)}
    meta = {k: v for k, v in decoded.items() if not isinstance(v, np.ndarray)}
    try:
        _write(entry, arrays, meta, source)
    except OSError as exc:
        warnings.warn(f"could not write the decode cache {entry} ({exc}); the next load decodes "
                      "again", MrpWarning, stacklevel=2)
        return arrays, meta
    hit = _read(entry)
    return hit if hit is not None else (arrays, meta)
