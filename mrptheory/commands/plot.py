"""``mrp plot RESULTS``: redraw a figure from its saved numbers, without re-running anything."""

from __future__ import annotations

from pathlib import Path

import click

from mrptheory.commands.outputs import writable_out_callback


@click.command()
@click.argument("results", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              callback=writable_out_callback,
              help="Folder for the figure (default: next to RESULTS).")
def plot(results: str, out_dir: str | None) -> None:
    """Redraw the figure(s) of a saved RESULTS json file.

    A file that is not a results file (empty, truncated, an image, a JSONL store, JSON without
    a known ``figure_kind``, or lacking the numbers its figure needs) is refused in one line.
    """
    from mrptheory.errors import ConfigError
    from mrptheory.plots.registry import figure_kinds
    from mrptheory.results import load_result

    payload = load_result(results)
    kind = payload["figure_kind"]
    kinds = figure_kinds()
    if kind not in kinds:
        raise ConfigError(f"{results} has an unknown figure_kind {kind!r}; known kinds: "
                          f"{', '.join(sorted(kinds))}")
    target = Path(out_dir) if out_dir else Path(results).parent
    try:
        paths = kinds[kind](payload, target)
    except (KeyError, IndexError, TypeError) as exc:
        raise ConfigError(f"{results} lacks numbers a {kind!r} figure needs "
                          f"({type(exc).__name__}: {exc}); was it edited, or written by another "
                          f"version? Rerun the command that wrote it") from None
    for path in paths:
        click.echo(f"wrote {path}")
