"""Click options and parameter types shared by several sub-commands."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from mrptheory.cli_support.outputs import writable_out_callback
from mrptheory.errors import ConfigError


device_option = click.option(
    "--device", default="auto", show_default=True,
    help="'auto' (cuda when available, else cpu), 'cpu' or 'cuda[:N]'.",
)


def int_in_range(low: int, high: int | None = None):
    """A click callback: the integer option's value must lie in ``[low, high]``.

    Raises :class:`~mrptheory.errors.ConfigError` (one line naming the flag, exit 2) while the
    command line is parsed, so nothing runs with a value that would fail later (a negative seed
    crashes numpy; a negative thread count was silently accepted).
    """

    def callback(ctx: click.Context, param: click.Parameter, value):
        if value is None or ctx.resilient_parsing:  # shell completion parses without acting
            return value
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if v < low or (high is not None and v > high):
                allowed = f"in [{low}, {high}]" if high is not None else f">= {low}"
                raise ConfigError(f"{param.opts[0]} must be an integer {allowed}, got {v}")
        return value

    return callback


#: Largest seed: numpy and torch both take any seed in [0, 2**32 - 1].
MAX_SEED = 2**32 - 1

seed_option = click.option("--seed", type=int, default=0, show_default=True,
                           callback=int_in_range(0, MAX_SEED), help="Random seed (>= 0).")
def _out_option(default: str):
    return click.option(
        "--out", "out_dir", type=click.Path(file_okay=False), default=default, show_default=True,
        callback=writable_out_callback,
        help="Folder for figures and their numbers (JSON); created if missing (missing parent "
             "folders too, with a note). Checked for writability before any work starts.",
    )


#: ``--out`` of the cross-experiment commands (``mrp reproduce`` writes OUT/<experiment>/)
out_option = _out_option("paper_figs")


def experiment_out_option(experiment: str):
    """``--out`` of an experiment's commands: by default ``paper_figs/<experiment>``, the folder
    where ``mrp reproduce --out paper_figs`` writes that experiment's figures."""
    return _out_option(f"paper_figs/{experiment}")
data_root_option = click.option(
    "--data-root", type=click.Path(), default=None,
    help="Folder holding the data set's files (default: the data set's standard location; "
         "or the environment variable MRP_<NAME>_DIR, e.g. MRP_FASHION_MNIST_DIR).",
)
def dataset_option(allow_all: bool = False):
    """``--dataset NAME``: one of the registry's data sets (``mrp datasets`` lists them); with
    ``allow_all``, also ``all`` (every data set found). The name is not checked here: each command
    canonicalises it through the registry, which names the choices when it is unknown."""
    from mrptheory.data.registry import DATASET_NAMES

    names = ", ".join(DATASET_NAMES)
    extra = " or 'all' (every data set found, see `mrp datasets`)" if allow_all else ""
    return click.option("--dataset", default="fashion-mnist", show_default=True,
                        help=f"Data set: {names}{extra}.")


progress_option = click.option(
    "--progress/--no-progress", default=True, show_default=True, help="Show progress bars."
)


def _threads_callback(ctx: click.Context, param: click.Parameter, value):
    """Click callback: a thread count in [0, CPUs this process may use] (checked while parsing)."""
    from mrptheory.device import check_threads

    if value is None or ctx.resilient_parsing:
        return value
    return check_threads(value, param.opts[0])


yes_option = click.option(
    "--yes", is_flag=True, default=False,
    help="Start work estimated to take more than an hour (otherwise refused with the estimate).",
)


def threads_option(default: int = 1):
    """``--threads N``: torch CPU threads (0 = torch's default), at most the machine's CPUs;
    see ``mrptheory.device.cpu_threads``."""
    return click.option(
        "--threads", type=int, default=default, show_default=True, callback=_threads_callback,
        help="Torch CPU threads (0 = torch's default). One is often fastest for these small models "
             "on a shared CPU; raise it on a dedicated multi-core machine.",
    )


def parse_float_list(text: str | None, name: str) -> tuple[float, ...] | None:
    """``"0.1,0.5"`` -> ``(0.1, 0.5)``; None stays None; anything else is a ConfigError naming ``name``.

    An empty list (``--ratios ""``) is an error too: silently falling back to a default grid
    would run something the user did not ask for.
    """
    if text is None:
        return None
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a comma-separated list of numbers, got {text!r}") from None
    if not values:
        raise ConfigError(f"{name} must list at least one number, got {text!r}")
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{name} must list finite numbers, got {text!r}")
    return values


def parse_int_list(text: str | None, name: str, minimum: int | None = None) -> tuple[int, ...] | None:
    """Like :func:`parse_float_list` for integers (each at least ``minimum`` when given)."""
    values = parse_float_list(text, name)
    if values is None:
        return None
    if any(v != int(v) for v in values) or (minimum is not None and any(v < minimum for v in values)):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ConfigError(f"{name} must be integers{bound}, got {text!r}")
    return tuple(int(v) for v in values)


def given(param_name: str) -> bool:
    """True when the current command's option ``param_name`` was set by the user (not a default).

    Used to refuse options that would be silently ignored by the rest of the command line
    (a Gaussian-noise std when no Gaussian model runs, grid options beside an explicit list...).
    """
    source = click.get_current_context().get_parameter_source(param_name)
    return source not in (None, click.core.ParameterSource.DEFAULT,
                          click.core.ParameterSource.DEFAULT_MAP)


def refuse_unused(options: dict[str, str], needed: str, active: bool) -> None:
    """Raise ConfigError if any of ``options`` (``{"--flag": "param_name"}``) was given while the
    thing it configures (``needed``, e.g. "the gaussian model (--model gaussian)") is not ``active``."""
    if active:
        return
    flags = [flag for flag, param in options.items() if given(param)]
    if flags:
        many = len(flags) > 1
        raise ConfigError(f"{'/'.join(flags)} only appl{'y' if many else 'ies'} to {needed}, which "
                          f"is not selected; drop {'them' if many else 'it'} or select it")


def refuse_swept(knob: str, sweep_flag: str = "--sweep") -> None:
    """Raise ConfigError when the option setting ``knob`` (``mu`` -> ``--mu``) was given beside a
    sweep over that knob: the sweep sets every value, so the option would be silently ignored."""
    command = click.get_current_context().command
    for param in command.params:
        if param.name == knob and given(param.name):
            flag = param.opts[0]
            raise ConfigError(f"{flag} sets {knob}, which {sweep_flag} sweeps (the sweep sets every "
                              f"value, so {flag} would be ignored); drop {flag}")


@contextmanager
def flags_named() -> Iterator[None]:
    """Rename a config field to the command-line flag in ConfigError messages raised inside.

    Dataclass configs name their fields (``train_size must be in [2, inf], got 1``); on the command
    line the user typed ``--train-size``. A message whose first word is a field that the current
    command has as a flag (``train_size`` -> ``--train-size``) is re-raised with the flag's name.
    """
    try:
        yield
    except ConfigError as exc:
        message = str(exc)
        match = re.match(r"([a-z][a-z0-9_]*)\b", message)
        if match:
            flag = "--" + match.group(1).replace("_", "-")
            command = click.get_current_context().command
            if any(flag in param.opts for param in command.params):
                raise type(exc)(flag + message[match.end():]) from None
        raise



def _option_key(param: click.Parameter) -> str:
    """A preset-file key of a click option: its long name without ``--``, ``-`` -> ``_``
    (``--sigma-p`` -> ``sigma_p``, ``--seeds`` -> ``seeds``, ``--progress/--no-progress`` ->
    ``progress``)."""
    longs = [o for o in param.opts if o.startswith("--")] or list(param.opts)
    return longs[0].lstrip("-").replace("-", "_")


def preset_options(experiment: str, *configs: type, default: str | None = None,
                   derived: tuple[str, ...] = ()):
    """``--preset NAME`` (a file of ``simulations/<experiment>/``) and ``--config FILE`` (any
    TOML path) for a command built from ``configs`` (:mod:`mrptheory.config_spec` classes; the
    generic constraints test reads them from the command). ``derived`` names config fields the
    command sets itself (e.g. the image shape, from the data set): a file may not set them. The
    command body calls
    :func:`with_presets` first; see :mod:`mrptheory.presets` for the file format."""

    def deco(fn):
        fn.__configs__ = configs
        fn.__experiment__ = experiment
        fn.__derived__ = tuple(derived)
        fn = click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                          help="TOML file of option = value (keys: option names with '_' for "
                               "'-'); explicit options win.")(fn)
        shown = f" [default: {default}]" if default else ""
        return click.option("--preset", default=default,
                            help=f"Preset NAME: simulations/{experiment}/NAME.toml (an unknown "
                                 f"name lists them); explicit options win.{shown}")(fn)

    return deco


_DRY_RUN_META = "mrptheory.dry_run"


def dry_run_option(fn):
    """``--dry-run``: print what the command would cost (memory per job, jobs, steps, device-hours;
    :mod:`mrptheory.planning`) and run nothing."""
    return click.option("--dry-run", is_flag=True, is_eager=True,  # before --out: no folder made
                        help="Print the memory per job, the number of jobs, the steps and the "
                             "device-hours this command would take (from a few timed steps at a "
                             "reduced size, scaled by FLOPs), then stop: nothing is trained or "
                             "written.")(fn)


def dry_run_inputs() -> tuple[str, dict]:
    """``(label, dry_run table)`` of the current command, set by :func:`with_presets`: the label
    names the preset (``mae/paper_vit_s16_224``), the ``--config`` file or the command line; the
    table is the files' ``[dry_run]`` entries (:data:`mrptheory.presets.DRY_RUN_KEYS`)."""
    return click.get_current_context().meta.get(_DRY_RUN_META, ("the command line", {}))


def dry_run_data_shape(dataset: str, planned: dict) -> tuple[tuple[int, int, int], int]:
    """``((C, H, W), classes)`` a dry run plans for: each from the ``[dry_run]`` table
    (``image_shape``, ``classes``) when it gives it, else from the data registry; an image folder,
    whose shape is known only once read, needs the table (one-line ConfigError naming the key)."""
    from mrptheory.data.registry import dataset_shape

    try:
        shape, classes = dataset_shape(dataset)
    except ConfigError:
        needed = {"image_shape": "image_shape = [C, H, W]", "classes": "classes = N"}
        missing = [entry for key, entry in needed.items() if key not in planned]
        if missing:
            raise ConfigError(f"a dry run of --dataset {dataset} reads no image: give "
                              f"{' and '.join(missing)} in the [dry_run] table of a --config or "
                              f"--preset file") from None
        shape, classes = None, None
    return (tuple(planned.get("image_shape", shape)), int(planned.get("classes", classes)))


def with_presets(kw: dict) -> dict:
    """The command's keyword arguments with the ``--preset`` file's values, then the ``--config``
    file's, applied to every option not given on the command line (explicit options win). Keys
    may be the command's options or fields of its configs that have no option; any other key is
    refused in one line naming the key and the file."""
    from mrptheory.config_spec import keys
    from mrptheory.presets import check_keys, preset_path, read_config_file

    ctx = click.get_current_context()
    fn = ctx.command.callback
    params = {_option_key(p): p for p in ctx.command.params
              if isinstance(p, click.Option) and p.name not in ("preset", "config_file")}
    allowed = set(params)
    for cls in getattr(fn, "__configs__", ()):
        allowed |= set(keys(cls))
    tables = []
    dry_run: dict = {}
    label = "the command line"
    sources = []
    if kw.get("preset"):
        sources.append(preset_path(fn.__experiment__, kw["preset"]))
        label = f"{fn.__experiment__}/{kw['preset']}"
    if kw.get("config_file"):
        sources.append(Path(kw["config_file"]))
        label = str(kw["config_file"])
    for path in sources:
        table, extra = read_config_file(path)
        tables.append((path, table))
        dry_run.update(extra)  # a --config file's entries win over the preset's
    ctx.meta[_DRY_RUN_META] = (label, dry_run)
    merged = dict(kw)
    derived = set(getattr(fn, "__derived__", ()))
    for source, table in tables:
        for key in table:
            if key in derived and key not in params:
                raise ConfigError(f"key {key!r} in {source} is set by the command itself (from "
                                  "the data set or other options), not by a file")
        check_keys(table, allowed, source)
        for key, value in table.items():
            param = params.get(key)
            if param is None:
                merged[key] = value
            elif not given(param.name):
                if value == "none":  # None (TOML has no null): checked by the config
                    merged[param.name] = value
                    continue
                if isinstance(value, list) and not param.multiple \
                        and isinstance(param.type, click.types.StringParamType):
                    value = ",".join(map(str, value))
                merged[param.name] = param.process_value(ctx, value)
    return merged
