"""The ``mrp`` command line.

Sub-commands live in the experiments (``mrptheory.experiments.<name>.cli``) and, for the
cross-experiment ones, in ``mrptheory.commands.<name>``; they are imported lazily, so ``mrp --help`` is
fast and one command's heavy imports never slow another. Every user-actionable error
(:class:`~mrptheory.errors.MrpError`, and click's own option-parsing errors) becomes a one-line
message and exit code 2, never a traceback or a usage block. Ctrl-C ends with one line and exit
code 130, saying so when rerunning the same command resumes.
"""

from __future__ import annotations

import importlib
import importlib.util
import signal
import sys
import warnings
from collections.abc import Sequence

import click

from mrptheory.errors import MrpError, MrpWarning

#: command name -> "module:attribute" of its click command or group.
COMMANDS: dict[str, str] = {
    "prove": "mrptheory.commands.prove:prove",
    "alignment": "mrptheory.experiments.alignment.cli:alignment",
    "noise-check": "mrptheory.experiments.alignment.noise_check:noise_check",
    "reproduce": "mrptheory.commands.reproduce:reproduce",
    "plot": "mrptheory.commands.plot:plot",
    "datasets": "mrptheory.commands.datasets:datasets",
    "multiview": "mrptheory.experiments.multiview.cli:multiview",
    "subspace": "mrptheory.experiments.subspace.cli:subspace",
    "dynamics": "mrptheory.experiments.dynamics.cli:dynamics",
    "mae": "mrptheory.experiments.mae.cli:mae",
    "dry-run": "mrptheory.commands.dry_run:dry_run",
}


#: commands that resume an interrupted run when rerun with the same arguments.
RESUMABLE: frozenset[str] = frozenset({
    "reproduce", "subspace", "dynamics", "mae pretrain", "mae sweep", "mae finetune",
    "multiview compare", "multiview regime",
})


def command_of(args: Sequence[str]) -> str:
    """The (sub-)command named in ``args``: ``"mae sweep"`` for ``mae sweep --quick --out x``."""
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return ""
    if words[0] in ("mae", "multiview") and len(words) > 1:
        return f"{words[0]} {words[1]}"
    return words[0]


def interrupted_message(args: Sequence[str]) -> str:
    """The one line printed on Ctrl-C."""
    if command_of(args) in RESUMABLE:
        return ("Aborted: interrupted; rerun the same command to resume where it stopped "
                "(finished units are kept)")
    return "Aborted: interrupted"


def _help_path(exc: click.UsageError, argv: Sequence[str]) -> str:
    """The command whose --help explains a usage error (click sometimes reports the group's)."""
    ctx = exc.ctx
    path = ctx.command_path if ctx is not None else "mrp"
    words = command_of(argv).split()
    if (ctx is None or ctx.parent is None) and words and words[0] in COMMANDS:
        path = f"{path} {' '.join(words)}"
    return path


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Package warnings in one line; everyone else's keep Python's format (file and line)."""
    if isinstance(category, type) and issubclass(category, MrpWarning):
        return f"warning: {message}\n"
    return _python_format_warning(message, category, filename, lineno, line)


_python_format_warning = warnings.formatwarning


class UserError(click.ClickException):
    """A click exception carrying an MrpError's message and exit code."""

    def __init__(self, error: MrpError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


class MrpGroup(click.Group):
    """A click group that loads sub-commands lazily and turns MrpError into clean messages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        present = {name for name, target in COMMANDS.items()
                   if importlib.util.find_spec(target.split(":")[0]) is not None}
        return sorted(set(super().list_commands(ctx)) | present)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module_name, attr = COMMANDS[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        from mrptheory.cli_support.outputs import OUTPUT_FOLDERS_KEY, disk_full_error, is_disk_full

        try:
            return super().invoke(ctx)
        except MrpError as exc:
            raise UserError(exc) from None
        except (OSError, RuntimeError) as exc:  # a full disk / size limit, from any writer
            if not is_disk_full(exc):
                raise
            folders = ctx.meta.get(OUTPUT_FOLDERS_KEY) or [None]
            raise UserError(disk_full_error(exc, folders[-1])) from None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra):
        """Click's main, with every error in one line: usage errors (exit 2) name the flag and
        point to ``--help`` instead of printing the usage block; Ctrl-C exits 130."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        warnings.formatwarning = _format_warning
        if hasattr(signal, "SIGXFSZ"):  # past `ulimit -f`, writes fail with EFBIG instead of a kill
            try:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            except ValueError:  # not the main thread: signals cannot be set there
                pass
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `mrp` / `mrp mae`: the help
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            click.echo(f"Error: {exc.format_message()} (see '{_help_path(exc, argv)} --help')",
                       err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo(interrupted_message(argv), err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=MrpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mrptheory")
def main() -> None:
    """mrptheory: check the theory of reconstruction-based self-supervised learning.

    Pan, Zhou & Yan 2022 (why mask-reconstruction pretraining helps) and Balestriero & LeCun 2024
    (reconstruction learns uninformative features) as executable, testable science.
    """


if __name__ == "__main__":  # pragma: no cover
    main()
