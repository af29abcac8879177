"""``mrp dry-run``: what paper-scale presets would cost, without running them.

    mrp dry-run --all                          every simulations/<experiment>/paper_*.toml
    mrp dry-run multiview/paper_regime_large   one preset (or a path to a TOML file)

Each preset is the preset of one command (:data:`PRESET_COMMANDS`: its experiment's command that
runs at paper scale), and ``mrp dry-run EXPERIMENT/NAME`` is that command with ``--preset NAME
--dry-run`` (a TOML path: ``--config PATH --dry-run``, the experiment being the file's folder).
So the estimate is the one the command itself prints (:mod:`mrptheory.planning`): memory per
job, jobs, steps per job and device-hours. Nothing is trained or written.
"""

from __future__ import annotations

from pathlib import Path

import click

from mrptheory.cli_support.options import device_option
from mrptheory.errors import ConfigError

#: experiment -> the command its presets are dry-run with
PRESET_COMMANDS: dict[str, tuple[str, ...]] = {
    "multiview": ("multiview", "regime"),
    "mae": ("mae", "pretrain"),
    "subspace": ("subspace",),
}


def preset_arguments(spec: str) -> tuple[tuple[str, ...], list[str]]:
    """``(command path, its arguments)`` that dry-run the preset ``spec``: ``EXPERIMENT/NAME`` of
    the presets folder or a path to a TOML file (ConfigError naming the paper presets if
    neither)."""
    from mrptheory.presets import paper_presets, preset_names

    path = Path(spec)
    if path.suffix == ".toml":
        if not path.is_file():
            raise ConfigError(f"preset file {spec} not found")
        experiment, args = path.resolve().parent.name, ["--config", str(path)]
    else:
        experiment, _, name = spec.partition("/")
        if not name or name not in preset_names(experiment):
            raise ConfigError(f"no preset {spec!r}; paper presets: "
                              f"{', '.join(paper_presets()) or 'none found'}")
        args = ["--preset", name]
    if experiment not in PRESET_COMMANDS:
        raise ConfigError(f"no dry run for experiment {experiment!r} (preset {spec}); dry runs "
                          f"exist for {', '.join(PRESET_COMMANDS)}")
    return PRESET_COMMANDS[experiment], args


@click.command("dry-run")
@click.argument("presets", nargs=-1)
@click.option("--all", "all_presets", is_flag=True, help="Every paper_* preset.")
@device_option
@click.pass_context
def dry_run(ctx: click.Context, presets: tuple[str, ...], all_presets: bool, device: str) -> None:
    """Memory per job, number of jobs and device-hours of paper-scale presets (runs nothing):
    each preset's command with --dry-run."""
    from mrptheory.presets import paper_presets

    names = list(presets) + (paper_presets() if all_presets else [])
    if not names:
        raise ConfigError(f"name a preset or give --all (paper presets: "
                          f"{', '.join(paper_presets())})")
    planned = [preset_arguments(name) for name in names]  # every name checked before any runs
    root = ctx.find_root()
    for path, args in planned:
        command: click.Command = root.command
        for word in path:
            command = command.get_command(root, word)
        click.echo(f"$ mrp {' '.join(path)} {' '.join(args)} --dry-run --device {device}")
        argv = [*args, "--dry-run", "--device", device]
        with command.make_context(" ".join(("mrp", *path)), argv, parent=ctx) as sub:
            command.invoke(sub)


__all__ = ["dry_run", "preset_arguments", "PRESET_COMMANDS"]
