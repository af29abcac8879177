"""Presets as data files: ``simulations/<experiment>/<name>.toml``, read with the stdlib ``tomllib``.

The format (stable; other tools write it too)::

    # simulations/multiview/noisy.toml -- the first release's noisier setting
    mu = 0.1
    gamma = 0.03
    sigma_p = "none"          # None (TOML has no null): the field's documented default rule
    sigma_0 = 0.02
    mrp_steps = 300           # a prefixed option (--mrp-steps) keeps its prefix

* one flat table; a key is a CLI option name without ``--`` and with ``-`` -> ``_``, which is
  also the config field name (one name per knob; a ``prefixed`` field keeps its option's prefix,
  see :mod:`mrptheory.config_spec`); config fields that have no option (``capture_threshold``)
  may be set too;
* values are TOML scalars; a list is accepted where the option takes a comma-separated list
  (``ratios = [0.5, 0.75]``);
* an unknown key is refused in one line naming the key and the file;
* one table is allowed, ``[dry_run]``: what a ``--dry-run`` of the preset needs to know and the
  options do not say (:data:`DRY_RUN_KEYS`: the image shape of an image folder, its number of
  images and classes, the number of processes of a ``torchrun`` launch). A real run ignores it.

``--preset NAME`` looks ``NAME`` up in the experiment's folder (the error lists the names there),
``--config FILE`` reads any TOML path; explicit command-line options win over both (and a
``--config`` file over a ``--preset``). The click side is in
:func:`mrptheory.cli_support.options.preset_options`.

Where the folder is found: ``$MRP_PRESETS_DIR`` if set; else ``simulations/`` beside the package
(a source checkout or an editable install); else ``<sys.prefix>/share/mrptheory/simulations``,
where a non-editable install puts them (``pyproject.toml``'s ``data-files``).
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mrptheory.errors import ConfigError

ENV_VAR = "MRP_PRESETS_DIR"

#: The one table a preset may hold, read by ``--dry-run`` only.
DRY_RUN_TABLE = "dry_run"
#: Its keys: what the data or the launch would be, where the options do not say it.
DRY_RUN_KEYS: dict[str, str] = {
    "image_shape": "[C, H, W] of the images (an image folder's shape is known only once read)",
    "classes": "number of classes of the data",
    "train_images": "number of training images (where the options say 'all')",
    "processes": "processes of the data-parallel launch (torchrun --nproc_per_node N)",
}


def presets_root() -> Path:
    """The folder holding ``<experiment>/<name>.toml`` (see the module docstring for the order)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    candidates = [Path(__file__).resolve().parent.parent / "simulations",
                  Path(sys.prefix) / "share" / "mrptheory" / "simulations"]
    for path in candidates:
        if path.is_dir():
            return path
    raise ConfigError(f"presets folder not found (looked in {', '.join(map(str, candidates))}); "
                      f"set {ENV_VAR} or pass --config FILE")


def preset_names(experiment: str) -> list[str]:
    """Names of the presets of ``experiment`` (sorted; empty if it has none)."""
    folder = presets_root() / experiment
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def preset_path(experiment: str, name: str) -> Path:
    """The file of preset ``name`` of ``experiment``; ConfigError listing the names if unknown."""
    names = preset_names(experiment)
    if name not in names:
        listed = ", ".join(names) if names else "none"
        raise ConfigError(f"--preset {name!r} is not a preset of {experiment} "
                          f"(available: {listed}; or pass --config FILE)")
    return presets_root() / experiment / f"{name}.toml"


def read_config_file(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(options, dry_run)`` of a TOML preset file: its flat table of option = value and its
    ``[dry_run]`` table (empty if absent; keys :data:`DRY_RUN_KEYS`). ConfigError (one line,
    naming the file) when it is missing, not TOML, holds another table or an unknown dry-run key."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            table = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"--config file {path} not found") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--config file {path} cannot be read: "
                          f"{str(exc).splitlines()[0]}") from None
    dry_run = table.pop(DRY_RUN_TABLE, {})
    nested = [k for k, v in table.items() if isinstance(v, dict)]
    if nested or not isinstance(dry_run, dict):
        key = nested[0] if nested else DRY_RUN_TABLE
        raise ConfigError(f"{path}: key {key!r} is {'a table' if nested else 'not a table'}; "
                          f"presets are one flat table of option = value, plus an optional "
                          f"[{DRY_RUN_TABLE}] table")
    unknown = sorted(set(dry_run) - set(DRY_RUN_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} in [{DRY_RUN_TABLE}] (keys: "
                          f"{', '.join(DRY_RUN_KEYS)})")
    for key, value in dry_run.items():
        values = value if key == "image_shape" else [value]
        if not isinstance(values, list) or (key == "image_shape" and len(values) != 3) or \
                not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
            what = "a list of 3 integers >= 1" if key == "image_shape" else "an integer >= 1"
            raise ConfigError(f"{path}: [{DRY_RUN_TABLE}] {key} must be {what}, got {value!r}")
    return table, dry_run


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The flat table of option = value of a TOML preset file (its ``[dry_run]`` table left out;
    see :func:`read_config_file` for the errors)."""
    return read_config_file(path)[0]


def paper_presets() -> list[str]:
    """The paper-scale presets, ``EXPERIMENT/paper_*`` of the presets folder, sorted."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in presets_root().glob("*/paper_*.toml"))


def load_preset(experiment: str, name: str) -> dict[str, Any]:
    """The table of preset ``name`` of ``experiment`` (see :func:`preset_path`)."""
    return load_config_file(preset_path(experiment, name))


def check_keys(table: Mapping[str, Any], allowed: Iterable[str], source: str | Path) -> None:
    """ConfigError naming the first key of ``table`` not in ``allowed``, and the file."""
    allowed = set(allowed)
    for key in table:
        if key not in allowed:
            hint = f"; did you mean {key.replace('-', '_')!r}?" if "-" in key else ""
            raise ConfigError(f"unknown key {key!r} in {source} (keys are the command's option "
                              f"names with '_' for '-'{hint})")


def apply_preset(values: Mapping[str, Any], table: Mapping[str, Any], allowed: Iterable[str],
                 explicit: Iterable[str], source: str | Path) -> dict[str, Any]:
    """``values`` updated with ``table``'s entries, except the keys in ``explicit`` (given on the
    command line: they win); every key of ``table`` must be in ``allowed`` (else ConfigError
    naming the key and ``source``)."""
    check_keys(table, allowed, source)
    explicit = set(explicit)
    merged = dict(values)
    merged.update({k: v for k, v in table.items() if k not in explicit})
    return merged


__all__ = ["ENV_VAR", "DRY_RUN_TABLE", "DRY_RUN_KEYS", "apply_preset", "check_keys",
           "load_config_file", "load_preset", "paper_presets", "preset_names", "preset_path",
           "presets_root", "read_config_file"]
