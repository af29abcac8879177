"""Output locations are checked before any work: one line and exit 2, never a late traceback.

Rule for output folders (``--out``): the folder itself is created when missing; missing parent
folders are created too, but never silently (a note on stderr names them), so a typo does not
scatter folders unnoticed. Writability is proven by writing and removing a probe file. A path
component that is a file, a folder that cannot be created or is not writable is a
:class:`~mrptheory.errors.ConfigError` naming the flag.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from mrptheory.errors import ConfigError, DiskFullError

#: errno values meaning "no room to write": disk full, file size limit (ulimit -f), quota.
DISK_FULL_ERRNOS: frozenset[int] = frozenset(
    e for e in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", None)) if e is not None)

#: Phrases of torch's RuntimeError when ``torch.save`` could not write (it drops the errno).
TORCH_WRITE_FAILURES: tuple[str, ...] = ("file write failed", "PytorchStreamWriter failed",
                                         "unexpected pos")

#: ``click.Context.meta`` key: the output folders the current command checked (see below).
OUTPUT_FOLDERS_KEY = "mrptheory.output_folders"


def _note(text: str) -> None:
    click.echo(f"note: {text}", err=True)


def ensure_writable_dir(path: str | os.PathLike, flag: str = "--out",
                        note: Callable[[str], None] = _note) -> Path:
    """Make sure results can be written into folder ``path`` before any work starts.

    Rule: the folder itself is created when missing; parent folders that are missing too are
    created as well, but never silently (``note`` says which were created), so a typo does not
    scatter folders unnoticed. A probe file is written and removed to prove writability.
    Raises ConfigError (one line naming ``flag`` and the reason: a path component is a file,
    the folder cannot be created, or it is not writable).
    """
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{flag} {folder} is a file, not a folder")
    if not folder.exists():
        ancestor = folder.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if ancestor.exists() and not ancestor.is_dir():
            raise ConfigError(f"{flag} {folder}: {ancestor} is a file, not a folder")
        missing_parents = []
        parent = folder.parent
        while parent != ancestor and parent != parent.parent:
            missing_parents.append(parent)
            parent = parent.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{flag} {folder}: cannot create the folder "
                              f"({exc.strerror or exc})") from None
        if missing_parents:
            note(f"created {flag} folder {folder} and its missing parent folder(s) "
                 f"{', '.join(str(p) for p in reversed(missing_parents))}")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".mrp-write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{flag} {folder} is not writable ({exc.strerror or exc})") from None
    return folder


def _remember(ctx: click.Context, folder: str | os.PathLike) -> None:
    """Record ``folder`` as an output folder of this command (``ctx.meta`` is shared by nested
    contexts), so a disk-full error without a file name can still name where it wrote."""
    ctx.meta.setdefault(OUTPUT_FOLDERS_KEY, []).append(Path(folder))


def _writable_out(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: check an output folder option up front (see :func:`ensure_writable_dir`);
    not under ``--dry-run`` (an eager option, so it is parsed first), which writes nothing."""
    if value is None or ctx.resilient_parsing or ctx.params.get("dry_run"):
        return value
    _remember(ctx, ensure_writable_dir(value, param.opts[0] if param.opts else "--out"))
    return value


def _writable_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback for an output file option: its folder must be writable (same rule)."""
    if value is None or ctx.resilient_parsing:
        return value
    flag = param.opts[0] if param.opts else "--json"
    path = Path(value).expanduser()
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise ConfigError(f"{flag} {path}: {ancestor} is a file, not a folder")
    _remember(ctx, ensure_writable_dir(path.parent, flag))
    return value


def is_disk_full(exc: BaseException) -> bool:
    """True for an OSError with a "no room" errno (:data:`DISK_FULL_ERRNOS`), or torch's
    RuntimeError from a failed ``torch.save`` write (which carries no errno)."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL_ERRNOS
    return isinstance(exc, RuntimeError) and any(p in str(exc) for p in TORCH_WRITE_FAILURES)


def _file_size_limit() -> int | None:
    """The soft per-file size limit (``ulimit -f``) in bytes; None when unlimited or unknown."""
    try:
        import resource
    except ImportError:  # pragma: no cover (not POSIX)
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def disk_full_error(exc: BaseException, folder: str | os.PathLike | None = None,
                    needed: int | None = None) -> DiskFullError:
    """One-line :class:`DiskFullError` for ``exc`` (see :func:`is_disk_full`).

    Names the folder (the file's folder when the error carries a file name, else ``folder``),
    the reason (disk full / file size limit / quota), the free space there and, when known,
    ``needed`` bytes.
    """
    from mrptheory.resources import format_bytes

    name = getattr(exc, "filename", None)
    where = Path(name).parent if name else (Path(folder) if folder is not None else None)
    code = getattr(exc, "errno", None)
    limit = _file_size_limit()
    if code == errno.EFBIG:
        reason = "the file size limit (ulimit -f) was reached"
        if limit is not None:
            reason += f": {format_bytes(limit)} per file"
    elif code == getattr(errno, "EDQUOT", -1):
        reason = "the disk quota is exhausted"
    elif code == errno.ENOSPC:
        reason = "no space left on the device"
    elif limit is not None:
        reason = f"the write failed (the file size limit, ulimit -f, is {format_bytes(limit)})"
    else:
        reason = "the write failed (disk full?)"
    details = []
    if where is not None:
        try:
            details.append(f"{format_bytes(shutil.disk_usage(where).free)} free there")
        except OSError:
            pass
    if needed:
        details.append(f"about {format_bytes(needed)} needed")
    extra = f" ({', '.join(details)})" if details else ""
    place = f"into {where}" if where is not None else "the results"
    return DiskFullError(f"cannot write {place}: {reason}{extra}; free some space (or raise the "
                         f"limit) or choose another output folder, then rerun (files already "
                         f"saved are intact)")


#: callback for any option naming a folder results are written to (``--out``).
writable_out_callback = _writable_out
#: callback for any option naming a file results are written to (``noise-check --json``).
writable_file_callback = _writable_file
