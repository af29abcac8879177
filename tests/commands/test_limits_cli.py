"""Limits shared by every command: thread counts, work sizes, contradictory options.

Each refusal is one line with exit 2 (``tests/cli_checks.refused``), before any work starts.
"""

from __future__ import annotations

import pytest

from mrptheory.device import available_cpus, check_threads
from mrptheory.errors import ConfigError
from tests.cli_checks import refused

#: A command line of each command that takes --threads (the refusal comes before any work).
THREADS_COMMANDS = {
    "dynamics": ["dynamics"],
    "subspace": ["subspace"],
    "multiview sl": ["multiview", "sl"],
    "multiview compare": ["multiview", "compare"],
    "mae pretrain": ["mae", "pretrain"],
    "mae sweep": ["mae", "sweep", "--quick"],
}


@pytest.mark.parametrize("name", sorted(THREADS_COMMANDS))
def test_more_threads_than_cpus_is_refused(name, tmp_path):
    """``--threads 100000`` segfaulted (exit 139) in ``multiview sl`` and ``mae pretrain``."""
    line = refused(*THREADS_COMMANDS[name], "--threads", "100000", "--out", str(tmp_path))
    assert "--threads" in line and f"at most {available_cpus()}" in line and "100000" in line


def test_check_threads_accepts_up_to_the_cpu_count():
    cpus = available_cpus()
    assert check_threads(cpus) == cpus and check_threads(0) == 0 and check_threads(None) is None
    for bad in (cpus + 1, -1):
        with pytest.raises(ConfigError, match="--threads"):
            check_threads(bad)


# --- work sizes: beyond the data refused; past an hour refused without --yes ----------------------

from pathlib import Path  # noqa: E402

from mrptheory.resources import (TooMuchWorkError, check_work, dynamics_eval_seconds,  # noqa: E402
                                 format_seconds, monte_carlo_seconds)
from tests.data.test_loaders import write_mnist_folder  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    """Fashion-MNIST's file format, 400 train / 200 test random 28x28 images."""
    folder = tmp_path_factory.mktemp("tiny_fashion")
    write_mnist_folder(folder, n_train=400, n_test=200, hw=28)
    return str(folder)


@pytest.mark.parametrize("args,needles", [
    (["dynamics", "--n-eval", "100000000"], ["--n-eval", "--yes", "days"]),
    (["subspace", "--train-size", "1000000"], ["--train-size 1000000", "400 train images"]),
    (["subspace", "--test-size", "100000"], ["--test-size 100000", "200 test images"]),
    (["subspace", "--examples", "100000"], ["--examples"]),
    (["subspace", "--examples", "90", "--test-size", "50"], ["--examples 90", "50 test images"]),
    (["subspace", "--budget-train-sizes", "100,1000000"], ["--train-size 1000000", "400 train images"]),
    (["dynamics", "--train-size", "1000000"], ["--train-size 1000000", "400 train images"]),
])
def test_sizes_beyond_the_data_or_hours_of_work_are_refused(tiny, tmp_path, args, needles):
    line = refused(*args, "--data-root", tiny, "--out", str(tmp_path))
    for needle in needles:
        assert needle in line, line
    assert not list(Path(tmp_path).glob("*.json*"))  # nothing started


def test_noise_check_refuses_a_hundred_billion_draws():
    line = refused("noise-check", "gaussian:0.5", "--mc-draws", "100000000000")
    assert "--mc-draws" in line and "--yes" in line


def test_check_work_rule():
    check_work(3599.0, "x", "--flag", yes=False, rate="r")  # under the limit: runs
    check_work(1e9, "x", "--flag", yes=True, rate="r")  # confirmed: runs
    with pytest.raises(TooMuchWorkError, match="--flag.*about 2 h.*--yes"):
        check_work(7200.0, "x", "--flag", yes=False, rate="r")
    assert format_seconds(90) == "1.5 min" and format_seconds(3e6) == "35 days"
    # the defaults stay well inside the limit (so no normal run needs --yes)
    assert monte_carlo_seconds(2000, 16) < 60
    assert dynamics_eval_seconds(30, 4, 196) < 3600


# --- contradictory or inapplicable options: one rule ----------------------------------------------

def test_a_swept_knob_given_explicitly_is_refused(tmp_path):
    line = refused("multiview", "compare", "--sweep", "mu=0.1,0.2", "--mu", "0.2", "--out",
                   str(tmp_path))
    assert "--mu" in line and "--sweep" in line


@pytest.mark.parametrize("args,flag", [(["--map", "mu_d", "--mu", "0.1"], "--mu"),
                                       (["--map", "all", "--sigma-0", "0.01"], "--sigma-0"),
                                       (["--map", "leak_gap", "--gamma", "0.01"], "--gamma")])
def test_a_knob_the_regime_map_sets_is_refused(tmp_path, args, flag):
    line = refused("multiview", "regime", *args, "--out", str(tmp_path))
    assert flag in line and "--map" in line


@pytest.mark.parametrize("args,flag", [(["dynamics", "--downsample", "5"], "--downsample"),
                                       (["alignment", "--pool", "5"], "--pool")])
def test_a_pooling_factor_must_divide_the_image_side(tiny, tmp_path, args, flag):
    """``dynamics --downsample 5`` silently ran on 28x28 images (dropping the last 3 rows and
    columns) while ``alignment --pool 5`` was refused; now both follow one rule."""
    line = refused(*args, "--data-root", tiny, "--out", str(tmp_path))
    assert f"{flag} 5 does not divide the image size 28x28; use one of 1, 2, 4, 7, 14, 28" in line
