"""Presets as data files (``mrptheory.presets`` and ``--preset`` / ``--config``): the loader's
errors, unknown keys and names, explicit options winning, and every shipped preset file being
accepted by its command (up to the point where the work would start)."""

from __future__ import annotations

import importlib
import re

import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from mrptheory.errors import ConfigError
from mrptheory.presets import (ENV_VAR, apply_preset, load_config_file, load_preset,
                               preset_names, presets_root, read_config_file)
from tests.cli_checks import assert_one_line_error, refused


class Reached(Exception):
    """Raised where a command's work would start; carries the arguments it got."""


@pytest.fixture
def capture(monkeypatch):
    """Replace the functions where work starts; returns the dict the last call's args land in."""
    seen: dict = {}

    def stop(*args, **kwargs):
        seen["args"], seen["kwargs"] = args, kwargs
        raise Reached

    for module, attr in [("mrptheory.experiments.multiview.experiment", "run_compare"),
                         ("mrptheory.experiments.multiview.experiment", "run_multiview_sweep"),
                         ("mrptheory.data.registry", "load_dataset")]:
        monkeypatch.setattr(importlib.import_module(module), attr, stop)
    return seen


def _run(*args):
    return CliRunner().invoke(main, list(args))


def test_loader_reads_flat_tables_and_refuses_others(tmp_path):
    good = tmp_path / "a.toml"
    good.write_text('mu = 0.1\nname = "x"\n')
    assert load_config_file(good) == {"mu": 0.1, "name": "x"}
    with pytest.raises(ConfigError, match="not found"):
        load_config_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("mu = = 1\n")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config_file(bad)
    nested = tmp_path / "nested.toml"
    nested.write_text("[data]\nmu = 1\n")
    with pytest.raises(ConfigError, match="flat table"):
        load_config_file(nested)


def test_the_dry_run_table_is_split_off_and_checked(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('epochs = 3\n[dry_run]\nimage_shape = [3, 224, 224]\nprocesses = 8\n')
    assert read_config_file(path) == ({"epochs": 3}, {"image_shape": [3, 224, 224], "processes": 8})
    assert load_config_file(path) == {"epochs": 3}  # a real run reads the options only
    for body, needle in [("[dry_run]\nnodes = 2\n", "unknown key 'nodes' in [dry_run]"),
                         ("[dry_run]\nimage_shape = [3, 224]\n", "list of 3 integers"),
                         ("[dry_run]\nprocesses = 0\n", "an integer >= 1"),
                         ("dry_run = true\n", "'dry_run' is not a table")]:
        path.write_text(body)
        with pytest.raises(ConfigError, match=re.escape(needle)):
            read_config_file(path)


def test_apply_preset_lets_explicit_keys_win_and_refuses_unknown_ones():
    merged = apply_preset({"mu": 0.5, "k": 3}, {"mu": 0.1, "d": 40}, {"mu", "d", "k"}, {"mu"},
                          "f.toml")
    assert merged == {"mu": 0.5, "k": 3, "d": 40}
    with pytest.raises(ConfigError, match="unknown key 'bogus' in f.toml"):
        apply_preset({}, {"bogus": 1}, {"mu"}, (), "f.toml")


def test_presets_folder_and_env_override(tmp_path, monkeypatch):
    assert "noisy" in preset_names("multiview") and "theory" in preset_names("multiview")
    assert load_preset("multiview", "noisy")["sigma_p"] == "none"
    (tmp_path / "multiview").mkdir()
    (tmp_path / "multiview" / "mine.toml").write_text("mu = 0.3\n")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert presets_root() == tmp_path and preset_names("multiview") == ["mine"]


def test_unknown_preset_lists_the_available_names():
    line = refused("multiview", "compare", "--preset", "bogus")
    assert "'bogus'" in line and "available: noisy, " in line and "theory" in line


def test_unknown_key_is_refused_naming_the_key_and_the_file(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text("sigma-p = 0.1\n")
    line = refused("multiview", "compare", "--config", str(path))
    assert "'sigma-p'" in line and str(path) in line and "sigma_p" in line


def test_config_file_sets_options_and_config_only_fields_explicit_options_win(tmp_path,
                                                                               capture):
    path = tmp_path / "run.toml"
    path.write_text("mu = 0.3\nk = 4\nd = 40\ncapture_threshold = 0.25\nmrp_lr = 2.0\n"
                    "seeds = 2\n")
    result = _run("multiview", "compare", "--config", str(path), "--mu", "0.05",
                  "--out", str(tmp_path / "out"))
    assert isinstance(result.exception, Reached), result.output
    data_cfg, sl_cfg, mrp_cfg, seeds = capture["args"][:4]
    assert (data_cfg.mu, data_cfg.k, data_cfg.d) == (0.05, 4, 40)  # --mu beats the file
    assert sl_cfg.capture_threshold == mrp_cfg.capture_threshold == 0.25
    assert (mrp_cfg.lr, sl_cfg.lr) == (2.0, 8.0) and len(seeds) == 2


def test_config_file_wins_over_the_preset(tmp_path, capture):
    path = tmp_path / "run.toml"
    path.write_text("mu = 0.2\n")
    result = _run("multiview", "compare", "--preset", "noisy", "--config", str(path),
                  "--out", str(tmp_path / "out"))
    assert isinstance(result.exception, Reached), result.output
    data_cfg, sl_cfg = capture["args"][:2]
    assert data_cfg.mu == 0.2 and data_cfg.gamma == 0.03 and data_cfg.sigma_p is None
    assert sl_cfg.steps == 300


def test_a_field_the_command_sets_itself_is_refused_in_a_file(tmp_path):
    path = tmp_path / "shape.toml"
    path.write_text("image_shape = [1, 8, 8]\n")
    line = refused("mae", "pretrain", "--config", str(path))
    assert "'image_shape'" in line and "set by the command" in line


def test_a_bad_value_in_a_file_is_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('mu = "lots"\n')
    assert_one_line_error(_run("multiview", "compare", "--config", str(path)))


@pytest.mark.parametrize("experiment, command", [("multiview", ("multiview", "compare")),
                                                 ("dynamics", ("dynamics",)),
                                                 ("subspace", ("subspace",))])
def test_every_shipped_preset_is_accepted_by_its_command(experiment, command, tmp_path,
                                                         capture):
    # paper_* presets are paper-scale: tests/commands/test_dry_run_cli.py runs each with its
    # command (multiview regime, mae pretrain, subspace) and --dry-run
    names = [n for n in preset_names(experiment) if not n.startswith("paper_")]
    assert names
    for name in names:
        result = _run(*command, "--preset", name, "--out", str(tmp_path / name))
        assert isinstance(result.exception, Reached), (name, result.output)


def test_every_presets_folder_is_installed_with_the_package():
    """A non-editable install finds presets under <prefix>/share/mrptheory/simulations only
    when pyproject's data-files list each experiment's folder (the MAE paper preset was missing)."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    data_files = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"]
    folders = sorted(p.name for p in (root / "simulations").iterdir()
                     if p.is_dir() and any(p.glob("*.toml")))
    assert folders == sorted(k.rsplit("/", 1)[1] for k in data_files)
    for name in folders:
        assert data_files[f"share/mrptheory/simulations/{name}"] == [f"simulations/{name}/*.toml"]
