"""Click options and parameter types shared by several sub-commands."""

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

device_option = click.option(
    "--device", default="auto", show_default=True,
    help="'auto' (cuda when available, else cpu), 'cpu' or 'cuda[:N]'.",
)
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), default="paper_figs", show_default=True,
    callback=_writable_out,
    help="Folder for figures and their numbers (JSON); created if missing (missing parent "
         "folders too, with a note). Checked for writability before any work starts.",
)
data_root_option = click.option(
    "--data-root", type=click.Path(), default=None,
    help="Folder holding the data set's files (default: the data set's standard location; "
         "or the environment variable MRP_<NAME>_DIR, e.g. MRP_FASHION_MNIST_DIR).",
)
progress_option = click.option(
    "--progress/--no-progress", default=True, show_default=True, help="Show progress bars."
)


def threads_option(default: int = 1):
    """``--threads N``: torch CPU threads (0 = torch's default); see ``mrptheory.device.cpu_threads``."""
    return click.option(
        "--threads", type=int, default=default, show_default=True,
        help="Torch CPU threads (0 = torch's default). One is often fastest for these small models "
             "on a shared CPU; raise it on a dedicated multi-core machine.",
    )


def parse_float_list(text: str | None, name: str) -> tuple[float, ...] | None:
    """``"0.1,0.5"`` -> ``(0.1, 0.5)``; None stays None; anything else is a ConfigError naming ``name``."""
    if text is None:
        return None
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a comma-separated list of numbers, got {text!r}") from None


def parse_int_list(text: str | None, name: str, minimum: int | None = None) -> tuple[int, ...] | None:
    """Like :func:`parse_float_list` for integers (each at least ``minimum`` when given)."""
    values = parse_float_list(text, name)
    if values is None:
        return None
    if any(v != int(v) for v in values) or (minimum is not None and any(v < minimum for v in values)):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ConfigError(f"{name} must be integers{bound}, got {text!r}")
    return tuple(int(v) for v in values)
