"""The SL growth recursion on numbers: hand-computed steps, and the config adapter."""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.experiments.multiview.data import MultiViewConfig
from mrptheory.experiments.multiview.growth import sl_growth_curve
from mrptheory.experiments.multiview.config import SLConfig
from mrptheory.experiments.multiview.sl import sl_theory_growth


def test_deterministic_case_matches_hand_recursion():
    """One patch of fixed weight w, no noise: Gamma_{t+1} = Gamma_t + lr s (1/k)(1-1/k) w act'(Gamma_t w),
    with act'(z) = (z/rho)^(q-1) below rho and 1 above, s = (1 - mu) + mu/2."""
    k, mu, lr, q, rho, w = 5, 0.1, 3.0, 4, 0.2, 1.5
    s = (1 - mu) + mu / 2
    c, expected = 0.05, []
    for t in range(1, 13):
        z = c * w
        c = c + lr * s * (1 / k) * (1 - 1 / k) * w * (min(z / rho, 1.0) ** (q - 1) if z < rho else 1.0)
        expected.append(c)
    got = sl_growth_curve(0.05, list(range(1, 13)), k=k, mu=mu, lr=lr, q=q, rho=rho,
                          view_weight_range=(w, w), patches_per_view=1, init_noise_std=0.0, n_mc=50)
    finite = np.isfinite(got)
    np.testing.assert_allclose(got[finite], np.asarray(expected)[finite], rtol=1e-5)
    assert finite[:3].all()  # the early polynomial phase is compared, not only the cut-off


def test_growth_is_increasing_and_cut_at_two():
    got = sl_growth_curve(0.02, list(range(0, 2000, 50)), k=10, mu=0.0, lr=8.0, q=4, rho=0.2,
                          view_weight_range=(1.0, 2.0), patches_per_view=2, init_noise_std=0.0)
    finite = got[np.isfinite(got)]
    assert np.all(np.diff(finite) > 0) and finite.max() <= 2.0
    assert np.isnan(got[-1])  # passed Gamma = 2 (logits order 1) within the horizon


def test_config_adapter_reads_the_runs_numbers():
    data, cfg = MultiViewConfig(k=4, d=40, patches=8), SLConfig(sigma_0=0.01, lr=2.0)
    steps = [0, 10, 20, 40]
    direct = sl_growth_curve(0.03, steps, k=4, mu=data.mu, lr=2.0, q=cfg.q, rho=cfg.rho,
                             view_weight_range=data.view_weight_range,
                             patches_per_view=data.patches_per_view,
                             init_noise_std=0.01 * data.noise_std * np.sqrt(40), n_mc=500)
    np.testing.assert_array_equal(sl_theory_growth(data, cfg, 0.03, steps, n_mc=500), direct)
    with pytest.raises(TypeError):
        sl_growth_curve(0.03, steps)  # numbers are keyword-only and required


# --- budgets from the slowest unit, on literal numbers ---------------------------------------

from mrptheory.experiments.multiview.growth import (capture_step, max_normal_quantile,  # noqa: E402
                                                    step_budget)


def test_max_normal_quantile_literal_values():
    # Phi(z)^n = p: the 5% quantile of the max of 8 normals (SL, m = 4, two views) and of 40
    # (MRP, k m = 40 kernels), and the median of 8
    assert max_normal_quantile(0.05, 8) == pytest.approx(0.48922, abs=1e-4)
    assert max_normal_quantile(0.05, 40) == pytest.approx(1.45991, abs=1e-4)
    assert max_normal_quantile(0.5, 8) == pytest.approx(1.38520, abs=1e-4)
    assert max_normal_quantile(0.5, 1) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        max_normal_quantile(1.0, 8)


def _hand_capture(c: float, k: int, mu: float, lr: float, q: int, rho: float, w: float,
                  thr: float) -> int:
    """The deterministic recursion (one patch of weight w, no noise), step by step."""
    s = (1 - mu) + mu / 2
    t = 0
    while c < thr:
        z = c * w
        c = c + lr * s * (1 / k) * (1 - 1 / k) * w * ((z / rho) ** (q - 1) if z < rho else 1.0)
        t += 1
    return t


def test_capture_step_and_budget_match_the_hand_recursion():
    k, mu, lr, q, rho, w = 10, 0.02, 8.0, 4, 0.2, 1.5
    kw = dict(k=k, mu=mu, lr=lr, q=q, rho=rho, view_weight_range=(w, w), patches_per_view=1,
              init_noise_std=0.0, n_mc=10)
    for c0 in (0.005 * 0.48922, 0.005 * 1.3852):  # the 5%-quantile and the median class
        t = capture_step(c0, 0.5, 100_000, **kw)
        assert t == _hand_capture(c0, k, mu, lr, q, rho, w, 0.5)
    slow = capture_step(0.005 * 0.48922, 0.5, 100_000, **kw)
    fast = capture_step(0.005 * 1.3852, 0.5, 100_000, **kw)
    # capture time ~ 1 / c0^(q-2): the slowest class needs ~(1.385 / 0.489)^2 = 8x the median's
    assert 6 < slow / fast < 9
    assert step_budget(slow, 2.0) == 100 * int(np.ceil(2 * slow / 100))
    assert step_budget(957, 2.0) == 2000 and step_budget(127, 2.0) == 300
    assert capture_step(1e-9, 0.5, 50, **kw) == float("inf")
    with pytest.raises(ValueError):
        step_budget(float("inf"), 2.0)
