"""``mrp dry-run``: what a paper-scale preset would cost, without running it.

    mrp dry-run --all                          every simulations/<experiment>/paper_*.toml
    mrp dry-run multiview/paper_regime_large   one preset (or a path to a TOML file)

Prints, per preset, the memory per job (the package's estimators), the number of jobs, the steps
per job and the estimated device-hours from a per-step time measured here on a reduced size and
scaled by FLOPs (see :mod:`mrptheory.commands.dry_run_plans`). Writes nothing.
"""

from __future__ import annotations

import click

from mrptheory.cli_support.options import device_option
from mrptheory.errors import ConfigError


@click.command("dry-run")
@click.argument("presets", nargs=-1)
@click.option("--all", "all_presets", is_flag=True, help="Every paper_* preset.")
@device_option
def dry_run(presets: tuple[str, ...], all_presets: bool, device: str) -> None:
    """Memory per job, number of jobs and device-hours of paper-scale presets (runs nothing)."""
    from mrptheory.device import set_cpu_threads
    from mrptheory.commands.dry_run_plans import paper_presets, plan_preset

    names = list(presets) + (paper_presets() if all_presets else [])
    if not names:
        raise ConfigError(f"name a preset or give --all (paper presets: "
                          f"{', '.join(paper_presets())})")
    set_cpu_threads(1)  # the measured steps: one thread, as a shared machine allows
    for name in names:
        for line in plan_preset(name, device).lines():
            click.echo(line)


__all__ = ["dry_run"]
