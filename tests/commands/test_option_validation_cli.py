"""Options that do nothing or do not fit are refused up front, in one line naming the flag (exit 2).

Issue 9 item 11: grid options beside --noise, an empty --ratios list, a --share too small for the
top subspace to exist, negative --threads / --seed, in every command that has them.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from tests.cli_checks import refused
from tests.experiments.subspace.test_cli import tiny_splits


@pytest.mark.parametrize("grid", [("--ratios", "0.5"), ("--patch-sides", "2"),
                                  ("--gaussian-sigma", "2")])
def test_alignment_grid_options_conflict_with_noise(grid, tmp_path):
    message = refused("alignment", "--noise", "none", *grid, "--out", str(tmp_path))
    assert grid[0] in message and "--noise" in message


def test_alignment_empty_ratio_list_is_refused(tmp_path):
    message = refused("alignment", "--ratios", "", "--out", str(tmp_path))
    assert "--ratios must list at least one number" in message


@pytest.mark.parametrize("sigma", ["-1", "nan", "1e200"])
def test_alignment_gaussian_sigma_is_validated_by_flag(sigma, tmp_path):
    assert "--gaussian-sigma" in refused("alignment", "--gaussian-sigma", sigma, "--out", str(tmp_path))


@pytest.mark.parametrize("args, flag", [
    (("mae", "sweep", "--mask-ratios", ""), "--mask-ratios"),
    (("mae", "sweep", "--seeds", "0,-1"), "--seeds"),
])
def test_mae_sweep_lists(args, flag):
    assert flag in refused(*args)


@pytest.mark.parametrize("command", [("subspace",), ("dynamics",), ("mae", "pretrain"),
                                     ("mae", "sweep")])
def test_negative_threads_are_refused(command):
    assert "--threads must be an integer >= 0, got -1" in refused(*command, "--threads", "-1")


@pytest.mark.parametrize("command", [("alignment",), ("subspace",), ("dynamics",),
                                     ("reproduce",), ("mae", "pretrain"), ("noise-check", "none")])
def test_negative_seed_is_refused(command):  # refused while parsing: nothing runs or is written
    assert "--seed must be an integer in [0, 4294967295], got -1" in refused(*command, "--seed", "-1")


@pytest.fixture
def fake_data(monkeypatch):
    import mrptheory.data.registry as registry

    monkeypatch.setattr(registry, "load_dataset", lambda name, root=None: tiny_splits())


def test_subspace_share_below_the_top_direction_is_refused_before_training(tmp_path, fake_data):
    from mrptheory.experiments.subspace.projection import fit_basis, preprocess

    splits = tiny_splits()
    x, _, _ = preprocess(splits.train.flat(np.float32), splits.test.flat(np.float32))
    top_share = float(fit_basis(x).explained_share[0])  # the smallest top subspace holds this
    message = refused("subspace", "--cuts", "0.001", "--cuts", "0.9", "--seeds", "1",
                      "--epochs", "1", "--train-size", "0", "--out", str(tmp_path),
                      "--no-progress", "--device", "cpu")
    assert "--cuts 0.001" in message and f"{top_share:.4f}" in message
    assert not list(tmp_path.glob("*.jsonl"))  # nothing was trained


def test_subspace_seeds_message_names_the_flag(tmp_path):
    assert "--seeds" in refused("subspace", "--seeds", "0", "--out", str(tmp_path))


# ---- sizes that cannot fit (issue 9 item 8): refused with the estimate before any allocation ----

def test_dynamics_batch_too_large_for_memory_is_refused(tmp_path, monkeypatch):
    import mrptheory.data.registry as registry
    from tests.experiments.dynamics.test_cli import tiny_splits as tiny_4x4

    monkeypatch.setattr(registry, "load_dataset", lambda name, root=None: tiny_4x4())
    message = refused("dynamics", "--downsample", "1", "--batch-size", "1000000000000",
                      "--out", str(tmp_path), "--no-progress", "--device", "cpu")
    assert "--batch-size" in message and "D = 16" in message and "available" in message


def test_subspace_resnet_width_too_large_for_memory_is_refused(tmp_path, fake_data):
    message = refused("subspace", "--archs", "resnet9", "--resnet-width", "1000000", "--seeds", "1",
                      "--cuts", "0.9", "--out", str(tmp_path), "--no-progress", "--device", "cpu")
    assert "--resnet-width" in message and "available" in message
    assert not list(tmp_path.glob("*.jsonl"))


# ---- options that only some models / architectures use (issue 9 item 11) ----

@pytest.mark.parametrize("option, model", [(("--sigma", "0.3"), "gaussian"), (("--keep", "0.5"), "mask"),
                                           (("--deep-t-max", "5"), "deep"),
                                           (("--init-scale", "0.01"), "deep")])
def test_dynamics_option_of_a_model_not_run_is_refused(tmp_path, option, model):
    message = refused("dynamics", "--models", "linear", *option, "--out", str(tmp_path))
    assert option[0] in message and model in message and "--models" in message


def test_subspace_resnet_width_without_resnet_is_refused(tmp_path):
    message = refused("subspace", "--archs", "mlp", "--resnet-width", "32", "--out", str(tmp_path))
    assert "--resnet-width" in message and "resnet9" in message


@pytest.mark.parametrize("args, flag", [(("--method", "ae", "--mask-ratio", "0.5"), "--mask-ratio"),
                                        (("--method", "mae", "--noise-std", "0.3"), "--noise-std")])
def test_mae_pretrain_option_of_another_method_is_refused(tmp_path, args, flag):
    message = refused("mae", "pretrain", *args, "--out", str(tmp_path))
    assert flag in message and "--method" in message


@pytest.mark.parametrize("args, start", [
    (("dynamics", "--train-size", "1"), "--train-size must be"),
    (("dynamics", "--n-eval", "1"), "--n-eval must be"),
    (("subspace", "--epochs", "0"), "--epochs must be"),
    (("mae", "pretrain", "--embed-dim", "0"), "--embed-dim must be"),
])
def test_config_errors_name_the_flag_not_the_field(tmp_path, args, start):
    assert refused(*args, "--out", str(tmp_path)).startswith(f"Error: {start}")
