"""``mrp plot RESULTS``: redraw a figure from its saved numbers, without re-running anything."""

from __future__ import annotations

import click

from mrptheory.cli_support.outputs import writable_out_callback


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
    from mrptheory.catalog import figure_kinds
    from mrptheory.plots.registry import redraw

    figure_kinds()  # every experiment's figure kinds registered
    paths = redraw(results, out_dir)
    for path in paths:
        click.echo(f"wrote {path}")
