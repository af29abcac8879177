"""Content fingerprints of data files: what a stored result was computed from.

A store keyed by a config alone reuses old units after the data files are swapped in place (another
copy of Fashion-MNIST, a corrected image folder). Every stored unit is therefore keyed by a
fingerprint of the *content* it read, not by file names.

The fingerprint of one file is a SHA-256 of its size and of its first and last
:data:`BLOCK` bytes, plus its full SHA-256 when the file is at most :data:`FULL_HASH_LIMIT` bytes.
That reads at most a few MiB whatever the file's size, and a replacement file of the same size
with different content is caught unless it differs only in the middle of a large file; the full
hash (cached by path, size and mtime in :data:`_CACHE`, so a second call in the same process reads
nothing) closes that gap for every file the package's data sets hold today (the largest
Fashion-MNIST file is 26 MB compressed).

A folder's fingerprint combines its files' relative paths and fingerprints, in sorted order, so
adding, removing, renaming or changing any file changes it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

#: Bytes read from each end of a file for the partial hash.
BLOCK = 1 << 20
#: Files up to this size are hashed in full (cached by path, size and mtime).
FULL_HASH_LIMIT = 64 << 20

_CACHE: dict[tuple[str, int, int], str] = {}


def file_fingerprint(path: str | os.PathLike) -> str:
    """Hex SHA-256 of one file's content (see the module doc for what is read)."""
    path = Path(path)
    st = path.stat()
    cache_key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    digest = hashlib.sha256(f"size={st.st_size};".encode())
    with open(path, "rb") as fh:
        if st.st_size <= FULL_HASH_LIMIT:
            for chunk in iter(lambda: fh.read(BLOCK), b""):
                digest.update(chunk)
        else:
            digest.update(fh.read(BLOCK))
            fh.seek(-BLOCK, os.SEEK_END)
            digest.update(fh.read(BLOCK))
    value = digest.hexdigest()
    _CACHE[cache_key] = value
    return value


def files_fingerprint(paths: Iterable[str | os.PathLike], root: str | os.PathLike | None = None,
                      length: int = 16) -> str:
    """Short fingerprint of several files' contents and names (relative to ``root`` if given).

    The order of ``paths`` does not matter; renaming a file changes the fingerprint.
    """
    digest = hashlib.sha256()
    entries = []
    for p in paths:
        p = Path(p)
        name = str(p.relative_to(root)) if root is not None else p.name
        entries.append((name, file_fingerprint(p)))
    for name, fp in sorted(entries):
        digest.update(f"{name}\0{fp}\n".encode())
    return digest.hexdigest()[:length]


def content_fingerprint(path: str | os.PathLike, length: int = 16) -> str:
    """Fingerprint of a file or of every regular file below a folder (recursively).

    Symbolic links are followed for files named directly and skipped inside folders (a link in a
    data folder is not data the loaders read). Raises ``FileNotFoundError`` when ``path`` is missing.
    """
    path = Path(path)
    if path.is_file():
        return files_fingerprint([path], length=length)
    if not path.is_dir():
        raise FileNotFoundError(path)
    files = [p for p in sorted(path.rglob("*")) if p.is_file() and not p.is_symlink()]
    return files_fingerprint(files, root=path, length=length)
