"""Output locations are checked before any work: one line and exit 2, never a late traceback.

Rule for output folders (``--out``): the folder itself is created when missing; missing parent
folders are created too, but never silently (a note on stderr names them), so a typo does not
scatter folders unnoticed. Writability is proven by writing and removing a probe file. A path
component that is a file, a folder that cannot be created or is not writable is a
:class:`~mrptheory.errors.ConfigError` naming the flag.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from mrptheory.errors import ConfigError


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


def _writable_out(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: check an output folder option up front (see :func:`ensure_writable_dir`)."""
    if value is None or ctx.resilient_parsing:
        return value
    ensure_writable_dir(value, param.opts[0] if param.opts else "--out")
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
    ensure_writable_dir(path.parent, flag)
    return value


#: callback for any option naming a folder results are written to (``--out``).
writable_out_callback = _writable_out
#: callback for any option naming a file results are written to (``noise-check --json``).
writable_file_callback = _writable_file
