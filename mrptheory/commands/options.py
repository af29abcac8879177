"""Click options and parameter types shared by several sub-commands."""

from __future__ import annotations

import click

from mrptheory.commands.outputs import writable_out_callback
from mrptheory.errors import ConfigError


device_option = click.option(
    "--device", default="auto", show_default=True,
    help="'auto' (cuda when available, else cpu), 'cpu' or 'cuda[:N]'.",
)
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), default="paper_figs", show_default=True,
    callback=writable_out_callback,
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
