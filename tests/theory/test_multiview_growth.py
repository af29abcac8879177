"""The SL growth recursion on numbers: hand-computed steps, and the config adapter."""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.data.multiview import MultiViewConfig
from mrptheory.theory.multiview_growth import sl_growth_curve
from mrptheory.train.multiview_config import SLConfig
from mrptheory.train.multiview_sl import sl_theory_growth


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
    data, cfg = MultiViewConfig(k=4, d=40, P=8), SLConfig(sigma_0=0.01, lr=2.0)
    steps = [0, 10, 20, 40]
    direct = sl_growth_curve(0.03, steps, k=4, mu=data.mu, lr=2.0, q=cfg.q, rho=cfg.rho,
                             view_weight_range=data.view_weight_range,
                             patches_per_view=data.patches_per_view,
                             init_noise_std=0.01 * data.noise_std * np.sqrt(40), n_mc=500)
    np.testing.assert_array_equal(sl_theory_growth(data, cfg, 0.03, steps, n_mc=500), direct)
    with pytest.raises(TypeError):
        sl_growth_curve(0.03, steps)  # numbers are keyword-only and required
