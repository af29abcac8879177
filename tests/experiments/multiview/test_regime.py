"""The finite-k regime check, presets and the up-front memory estimate of the multi-view runs."""

from __future__ import annotations

import dataclasses

import pytest

from mrptheory.experiments.multiview.data import MultiViewConfig
from mrptheory.errors import ConfigError
from mrptheory.experiments.multiview.config import MRPConfig, SLConfig
from mrptheory.experiments.multiview.memory import check_memory, estimate_run_bytes
from mrptheory.experiments.multiview.regime import (combined_report, expected_max_normal,
                                                    preset_configs, regime_check)


def test_expected_max_of_normals():
    assert expected_max_normal(1) == pytest.approx(0.0, abs=1e-6)
    assert expected_max_normal(2) == pytest.approx(1 / 3.14159265 ** 0.5, rel=1e-4)
    assert expected_max_normal(4) == pytest.approx(1.0294, rel=1e-3)


def test_theory_defaults_are_inside_and_noisy_preset_outside():
    data, sl, mrp = preset_configs("theory")
    assert regime_check(data, sl).in_regime
    assert regime_check(data, mrp).in_regime
    assert combined_report(data, sl, mrp).label == ""
    data, sl, mrp = preset_configs("noisy")
    rep = regime_check(data, sl)
    failing = {c.name for c in rep.failing}
    assert {"feature-noise leak", "patch-noise leak", "lottery gap", "memorisation"} <= failing
    assert rep.label.startswith("outside the theorem's regime: ")


@pytest.mark.parametrize("change, name", [
    (dict(gamma=1e-3), "feature-noise leak"),
    (dict(sigma_p=1e-3), "patch-noise leak"),
    (dict(mu=0.1), "memorisation"),
    # the refuted "few single-view samples" branch: mu N = 8 <= k is no longer inside
    (dict(mu=0.02), "memorisation"),
    (dict(test_weak_weight=0.15), "single-view test weak weight"),
    (dict(test_num_noise_features=2), "single-view test off-target features"),
])
def test_each_data_condition_can_fail_alone(change, name):
    data = dataclasses.replace(MultiViewConfig(), **change)
    rep = regime_check(data, SLConfig())
    assert [c.name for c in rep.failing] == [name]
    check = rep.failing[0]
    assert check.lhs > check.rhs  # the two sides are reported


def test_learner_conditions():
    data = MultiViewConfig()
    assert [c.name for c in regime_check(data, SLConfig(sigma_0=0.01)).failing][0] == "lottery gap"
    # a short budget is a convergence question (measured), not a regime condition
    assert regime_check(data, SLConfig(steps=200)).in_regime
    # memorisation is fine with many single-view samples when d >> N P
    big_d = MultiViewConfig(d=5000, mu=0.2, gamma=0, sigma_p=0)
    assert "memorisation" not in {c.name for c in regime_check(big_d, SLConfig(n_train=40)).failing}


def test_memory_estimate_scales_and_refuses_with_one_line():
    data = MultiViewConfig()
    one = estimate_run_bytes(data, 1, SLConfig(), MRPConfig())
    assert estimate_run_bytes(data, 10, SLConfig(), MRPConfig()) > 9 * one
    # data alone: 4 bytes x (N + 2 n_test + n_pretrain) x P x d per seed, twice
    assert one > 4 * 2 * (400 + 1000 + 400) * 12 * 100
    assert estimate_run_bytes(data, 1, SLConfig()) < one
    with pytest.raises(ConfigError, match=r"^--seeds/--n-train/.*: .* 4 seeds needs about .* more than "
                                          r"the limit of .*; reduce --seeds"):
        check_memory(data, 4, "cpu", SLConfig(), MRPConfig(), limit=one)
    # the shared check allows 80% of what is available (headroom for what the estimate omits)
    assert check_memory(data, 1, "cpu", SLConfig(), MRPConfig(), limit=2 * one) == one


def test_regime_map_cell_configs_and_verdicts():
    from mrptheory.experiments.multiview.regime import gamma_final_estimate
    from mrptheory.experiments.multiview.regime_map import cell_configs

    base = preset_configs("theory")
    data, sl, mrp = cell_configs("leak_gap", 1.0, 0.05, base, quick=True)
    assert sl.sigma_0 == pytest.approx(0.05 * sl.rho) and mrp.sigma_0 == sl.sigma_0
    leak = data.sigma_p * gamma_final_estimate(data) / (sl.sigma_0 * expected_max_normal(sl.m))
    assert leak == pytest.approx(1.0)
    # quick cuts cells and seeds, not the sizes of a cell's runs
    assert sl.n_train == base[1].n_train and mrp.n_pretrain == base[2].n_pretrain
    data, _, _ = cell_configs("mu_d", 160, 0.1, base, quick=False)
    assert (data.d, data.mu) == (160, 0.1)


def test_claim_slice_inside_cell_is_the_base_comparison_and_gets_enough_seeds():
    from mrptheory.experiments.multiview.regime_map import (MIN_SEEDS_IN_REGIME, cell_configs,
                                                            cell_seed_list, claim_slice)

    base = preset_configs("theory")
    (x_in, x_out), (y,) = claim_slice(base)
    assert x_in == pytest.approx(0.0687, abs=1e-3) and x_out == 30.0 and y == pytest.approx(0.025)
    inside = cell_configs("leak_gap", x_in, y, base)
    assert inside == base  # exactly: the main comparison is this cell and is reused
    assert cell_seed_list(inside, [0, 1]) == list(range(MIN_SEEDS_IN_REGIME))
    outside = cell_configs("leak_gap", x_out, y, base)
    assert not combined_report(*outside).in_regime
    assert cell_seed_list(outside, [0, 1]) == [0, 1]
