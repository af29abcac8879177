"""``mrp plot RESULTS``: redraw a figure from its saved numbers, without re-running anything."""

from __future__ import annotations

import click

from mrptheory.commands.options import writable_out_callback
from mrptheory.plots.registry import redraw


@click.command()
@click.argument("results", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              callback=writable_out_callback,
              help="Folder for the figure (default: next to RESULTS).")
def plot(results: str, out_dir: str | None) -> None:
    """Redraw the figure(s) of a saved RESULTS json file."""
    for path in redraw(results, out_dir):
        click.echo(f"wrote {path}")
