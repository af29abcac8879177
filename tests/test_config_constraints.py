"""One generic test of every config's declared constraints, through the command line.

For every command that takes configs (``options.preset_options`` records them on the command),
every constrained field of each of those configs and every invalid value its table produces
(below the range, above it, the wrong type, not in the choices; ``Constraint.invalid_values``),
the value goes through the CLI option of that name -- or, for a field without an option or a
flag option, through ``--config FILE`` -- and the command must refuse it in one line with exit 2
before any work starts (the functions that start work are replaced by ones that fail the test).

Plus: every dataclass config in the package declares a constraint for every field (or says why
not with ``unconstrained``), and every declared config is owned by a command or listed here with
the reason it is not.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import click
import pytest
from click.testing import CliRunner

import mrptheory
from mrptheory.cli import main
from mrptheory.cli_support.options import _option_key
from mrptheory.config_spec import CONFIGS, constraints, option_key
from tests.cli_checks import assert_one_line_error

#: constrained configs no command takes, and why
NOT_OWNED = {
    "ConvConfig": "a view of SLConfig / MRPConfig's shared fields (cfg.conv), built from them",
    "ClassifierTrainConfig": "built from ProjectionConfig / ClassifierLagConfig (train_config())",
    "ClassifierLagConfig": "the classifier-lag claim's (claims.real_data); no command takes it",
    "MAEProtocol": "the MAE protocol claims' (claims.mae; mrp reproduce --only 'mae-*'); no command",
    "SlurmConfig": "built by mrptheory.launch.options from the --slurm-* options (tests/launch "
                   "checks their refusals)",
    "SweepConfig": "built by `mae sweep` from its shape-dependent Python presets (quick, default, "
                   "gpu: patch sizes follow the image side) and its list options",
}

#: dataclasses named *Config that are not (yet) declared with config_spec, and why
UNDECLARED: dict[str, str] = {}

#: functions where a command's work starts (data, training): reaching one fails the test
WORK = [
    ("mrptheory.experiments.multiview", "make_data"),
    ("mrptheory.experiments.multiview.experiment", "run_compare"),
    ("mrptheory.experiments.multiview.experiment", "run_multiview_sweep"),
    ("mrptheory.experiments.multiview.regime_map", "run_regime_map"),
    ("mrptheory.experiments.mae.cli", "load_splits"),
]


def _commands() -> list[tuple[tuple[str, ...], click.Command]]:
    """Every leaf command of ``mrp`` as (path, command)."""
    found = []

    def walk(group: click.Group, path: tuple[str, ...]) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if isinstance(cmd, click.Group):
                walk(cmd, path + (name,))
            elif cmd is not None:
                found.append((path + (name,), cmd))

    walk(main, ())
    return found


def _owners() -> list[tuple[tuple[str, ...], click.Command, tuple[type, ...]]]:
    return [(path, cmd, cmd.callback.__configs__) for path, cmd in _commands()
            if getattr(cmd.callback, "__configs__", None)]


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return "[" + ", ".join(_toml(v) for v in value) + "]"


def _cases():
    cases = []
    for path, cmd, configs in _owners():
        derived = set(getattr(cmd.callback, "__derived__", ()))
        for cls in configs:
            for name, constraint in constraints(cls).items():
                key = option_key(cls, name)
                if constraint.kind == "config" or key in derived:
                    continue
                for what, value in constraint.invalid_values():
                    cases.append(pytest.param(path, cmd, cls, name, key, value,
                                              id=f"{' '.join(path)}:{cls.__name__}.{name}:{what}"))
    return cases


def _positional(cmd: click.Command, tmp_path) -> list[str]:
    """Values for the command's required arguments (a RUN folder: an empty one)."""
    return [str(tmp_path) for p in cmd.params if isinstance(p, click.Argument)]


@pytest.fixture
def no_work(monkeypatch):
    def reached(*args, **kwargs):
        raise AssertionError("an invalid value reached the command's work")

    for module, attr in WORK:
        monkeypatch.setattr(importlib.import_module(module), attr, reached)


@pytest.mark.parametrize("path, cmd, cls, name, key, value", _cases())
def test_invalid_value_is_refused_in_one_line(path, cmd, cls, name, key, value, tmp_path,
                                              no_work):
    option = next((p for p in cmd.params if isinstance(p, click.Option)
                   and _option_key(p) == key), None)
    flag = "--" + key.replace("_", "-")
    args = [*path, *_positional(cmd, tmp_path)]
    if option is not None and not option.is_flag and not option.secondary_opts \
            and not isinstance(value, tuple):
        args += [flag, str(value)]
    else:
        config = tmp_path / "bad.toml"
        config.write_text(f"{key} = {_toml(value)}\n")
        args += ["--config", str(config)]
    if "--out" in {o for p in cmd.params for o in p.opts}:
        args += ["--out", str(tmp_path / "out")]
    line = assert_one_line_error(CliRunner().invoke(main, args))
    squeezed = line.replace(" ", "").replace("_", "")  # "data set" names the dataset field
    assert name in line or flag in line or name.replace("_", "") in squeezed, line


def _package_dataclass_configs() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(mrptheory.__path__, "mrptheory."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (isinstance(obj, type) and dataclasses.is_dataclass(obj)
                    and obj.__name__.endswith("Config") and obj.__module__ == info.name):
                found[obj.__name__] = obj
    return found


def test_every_config_declares_every_field():
    configs = _package_dataclass_configs()
    undeclared = sorted(set(configs) - set(CONFIGS) - set(UNDECLARED))
    assert not undeclared, f"configs without declared constraints: {undeclared}"
    for cls in CONFIGS.values():  # @constrained refuses an undeclared field; checked again here
        missing = [f.name for f in dataclasses.fields(cls) if "constraint" not in f.metadata]
        assert not missing, (cls.__name__, missing)
        for constraint in constraints(cls).values():
            assert constraint.kind != "any" or constraint.reason


def test_every_declared_config_is_owned_by_a_command():
    owned = {cls.__name__ for _, _, configs in _owners() for cls in configs}
    package = {name for name, cls in CONFIGS.items() if cls.__module__.startswith("mrptheory.")}
    assert package - owned - set(NOT_OWNED) == set()  # (test modules' own toy configs aside)
    assert _cases(), "no command declares its configs"
