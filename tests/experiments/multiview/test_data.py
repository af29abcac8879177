"""Invariants of the multi-view generator (Allen-Zhu & Li Def. 3.1 as implemented)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mrptheory.experiments.multiview.data import (STREAM_TEST_MULTI, MultiViewConfig, make_features,
                                                  sample_multiview)
from mrptheory.errors import ConfigError


@st.composite
def configs(draw):
    k = draw(st.integers(2, 6))
    d = draw(st.integers(2 * k, 2 * k + 20))
    C = draw(st.integers(1, 3))
    nf = draw(st.integers(0, min(3, 2 * (k - 1))))
    P = draw(st.integers(2 * C + nf, 2 * C + nf + 4))
    mu = draw(st.sampled_from([0.0, 0.3, 1.0]))
    return MultiViewConfig(k=k, d=d, patches=P, mu=mu, patches_per_view=C, num_noise_features=nf)


@settings(max_examples=20, deadline=None)
@given(cfg=configs(), seed=st.integers(0, 10_000))
def test_features_are_orthonormal(cfg, seed):
    V = make_features(cfg, [seed, seed + 1], "cpu")
    assert V.shape == (2, 2 * cfg.k, cfg.d)
    gram = V @ V.transpose(1, 2)
    assert torch.allclose(gram, torch.eye(2 * cfg.k).expand_as(gram), atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(cfg=configs(), seed=st.integers(0, 10_000))
def test_views_have_the_right_weights(cfg, seed):
    """Noise-free patches decompose exactly into the declared feature weights."""
    clean = MultiViewConfig(**{**cfg.to_dict(), "gamma": 0.0, "sigma_p": 0.0})
    b = sample_multiview(clean, 64, [seed], device="cpu")
    V = make_features(clean, [seed], "cpu")
    coef = torch.einsum("snpd,sfd->snpf", b.x, V)  # [1, N, P, 2k]
    total = coef.sum(dim=2)
    assert torch.allclose(total, b.feature_weights, atol=1e-4)
    lo, hi = clean.view_weight_range
    vw = b.view_weights[0]
    multi, strong = b.multi_view[0], b.strong_view[0]
    # multi-view: both views order 1; single-view: strong view order 1, the other weak
    assert ((vw[multi] >= lo - 1e-5) & (vw[multi] <= hi + 1e-5)).all()
    for s in (0, 1):
        sel = (~multi) & (strong == s)
        assert ((vw[sel, s] >= lo - 1e-5) & (vw[sel, s] <= hi + 1e-5)).all()
        assert torch.allclose(vw[sel, 1 - s], torch.full_like(vw[sel, 1 - s],
                                                              clean.single_view_weak_weight))
    # each present view sits in exactly patches_per_view patches, other classes below the views
    y = b.y[0]
    own = torch.stack([2 * y, 2 * y + 1], 1)
    per_patch = torch.gather(coef[0], 2, own.unsqueeze(1).expand(-1, clean.patches, -1))
    assert ((per_patch > 1e-6).sum(dim=1) == clean.patches_per_view).all()
    others = total[0].scatter(1, own, 0.0)
    assert (others <= clean.feature_noise_max + 1e-5).all()
    if clean.mu == 0.0:
        assert multi.all()
    if clean.mu == 1.0:
        assert (~multi).all()


def test_label_balance_and_single_view_rate():
    cfg = MultiViewConfig(k=5, d=20, patches=8, mu=0.2)
    b = sample_multiview(cfg, 20_000, [3], device="cpu")
    freq = torch.bincount(b.y[0], minlength=5).float() / 20_000
    assert (freq - 0.2).abs().max() < 0.015  # ~5 sd of a binomial(20000, 0.2) frequency
    assert abs((~b.multi_view[0]).float().mean().item() - 0.2) < 0.015
    sv = b.strong_view[0][~b.multi_view[0]]
    assert abs(sv.float().mean().item() - 0.5) < 0.04


def test_deterministic_per_seed_and_independent_of_batch():
    cfg = MultiViewConfig(k=4, d=16, patches=8)
    a = sample_multiview(cfg, 32, [5, 6], device="cpu")
    b = sample_multiview(cfg, 32, [6], device="cpu")
    c = sample_multiview(cfg, 32, [6], device="cpu")
    assert torch.equal(b.x, c.x) and torch.equal(b.y, c.y)
    assert torch.equal(a.x[1], b.x[0]) and torch.equal(a.y[1], b.y[0])
    t = sample_multiview(cfg, 32, [6], device="cpu", stream=STREAM_TEST_MULTI)
    assert not torch.equal(t.x, b.x)


def test_patch_noise_scale_and_default_sigma():
    cfg = MultiViewConfig(k=3, d=400, patches=8, gamma=0.0, num_noise_features=0, patches_per_view=1,
                          sigma_p=None)
    assert cfg.noise_std == pytest.approx(0.05)
    b = sample_multiview(cfg, 200, [0], device="cpu")
    V = make_features(cfg, [0], "cpu")
    resid = b.x - torch.einsum("snpf,sfd->snpd",
                               torch.einsum("snpd,sfd->snpf", b.x, V), V)
    assert resid.std().item() == pytest.approx(0.05, rel=0.05)


def test_device_independence_of_statistics():
    """Same distribution on every device: compare summary statistics (CUDA only when present)."""
    cfg = MultiViewConfig(k=4, d=16, patches=8)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    stats = []
    for dev in devices:
        b = sample_multiview(cfg, 4000, [0], device=dev)
        assert b.x.device.type == dev
        stats.append(torch.stack([b.x.pow(2).mean(), b.view_weights.mean(),
                                  b.multi_view.float().mean()]).cpu())
    for s in stats[1:]:
        assert torch.allclose(s, stats[0], rtol=0.05)


@pytest.mark.parametrize("kwargs, field", [
    (dict(patches=4, patches_per_view=2, num_noise_features=2), "patches must be"),
    (dict(k=10, d=19), "d must be >= 2k"),
    (dict(mu=1.5), "mu must be"),
    (dict(mu=-0.1), "mu must be"),
    (dict(k=1), "k must be"),
    (dict(single_view_weak_weight=1.5), "single_view_weak_weight"),
    (dict(view_weight_range=(2.0, 1.0)), "view_weight_range[1]"),
    (dict(gamma=-1), "gamma"),
])
def test_bad_configs_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        MultiViewConfig(**kwargs)


def test_single_view_test_data_follow_the_theory_defaults():
    """Weak view 0.05, four off-target features each with total weight in [0.2, 0.4]."""
    cfg = MultiViewConfig(gamma=0.0, sigma_p=0.0)
    tcfg = cfg.single_view_test_config()
    assert (tcfg.single_view_weak_weight, tcfg.num_noise_features) == (0.05, 4)
    b = sample_multiview(tcfg, 300, [0], mu=1.0, device="cpu")
    w = b.feature_weights[0]  # [N, 2k]
    y = b.y[0]
    own = torch.stack([w[torch.arange(300), 2 * y], w[torch.arange(300), 2 * y + 1]], 1)
    assert torch.allclose(own.min(1).values, torch.tensor(0.05), atol=1e-5)
    other = w.clone()
    other[torch.arange(300), 2 * y] = 0
    other[torch.arange(300), 2 * y + 1] = 0
    present = other > 0
    assert (present.sum(1) == 4).all()
    assert other[present].min() >= 0.2 - 1e-5 and other[present].max() <= 0.4 + 1e-5


def test_test_noise_features_capped_for_small_configs():
    assert MultiViewConfig(k=2, d=8, patches=8).single_view_test_config().num_noise_features == 2
    assert MultiViewConfig(k=4, d=16, patches=6).single_view_test_config().num_noise_features == 2
