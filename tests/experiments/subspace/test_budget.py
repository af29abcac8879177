"""Budget-curve bookkeeping: per-cell summaries and crossover location."""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.errors import ConfigError
from mrptheory.experiments.subspace.budget import BudgetConfig, crossovers, summarise_budget


def rec(arch, n, e, part, seed, acc):
    return {"arch": arch, "train_size": n, "epochs": e, "part": part, "seed": seed,
            "test_accuracy": acc}


def test_summary_difference_and_standard_error():
    rows = summarise_budget([rec("mlp", 100, 1, "top", 0, 0.8), rec("mlp", 100, 1, "top", 1, 0.9),
                             rec("mlp", 100, 1, "bottom", 0, 0.7), rec("mlp", 100, 1, "bottom", 1, 0.7)])
    (row,) = rows
    assert row["difference"] == pytest.approx(0.7 - 0.85)
    # var(top) = 0.005 (ddof 1) over 2 seeds, bottom 0 -> se = sqrt(0.005 / 2) = 0.05
    assert row["se_difference"] == pytest.approx(0.05)
    assert row["n_seeds"] == 2


def test_crossover_is_interpolated_in_log_size():
    rows = [{"arch": "mlp", "epochs": 5, "train_size": n, "difference": d}
            for n, d in ((1000, -0.04), (10000, 0.02), (100000, 0.05))]
    (c,) = crossovers(rows)
    # d crosses zero 2/3 of the way from log(1e3) to log(1e4)
    assert c["crossover_size"] == pytest.approx(10 ** (3 + 2 / 3))
    assert c["winner"] == "mixed"
    (none,) = crossovers([{**r, "difference": -abs(r["difference"])} for r in rows])
    assert none["crossover_size"] is None and none["winner"] == "top"


def test_config_validation_names_the_field():
    with pytest.raises(ConfigError, match="arch"):
        BudgetConfig(archs=("vgg",))
    with pytest.raises(ConfigError, match="epochs"):
        BudgetConfig(epochs=(0,))
    with pytest.raises(ConfigError, match="train_sizes"):
        BudgetConfig(train_sizes=(1,))
    assert np.isclose(BudgetConfig().unit_config(2000, 5).cuts, (0.8, 0.9)).all()
