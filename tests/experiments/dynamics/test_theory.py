"""Closed-form learning trajectories vs their empirical twins (and vs gradient descent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.errors import ConfigError
from mrptheory.experiments.dynamics.theory import (OneLayerFlow, direction_reconstruction,
                                                   direction_reconstruction_empirical,
                                                   fraction_from_gain, one_layer_half_time,
                                                   one_layer_mode_gain, one_layer_trajectory,
                                                   saxe_half_time, saxe_mode_strength,
                                                   time_to_fraction, two_layer_trajectory)
from mrptheory.linear.moments import DataMoments
from mrptheory.linear.noise import GaussianNoise, MaskNoise, NoNoise
from mrptheory.experiments.dynamics import experiment as ld
from mrptheory.device import cpu_threads


@pytest.fixture(autouse=True)
def one_thread():
    with cpu_threads(1):
        yield


def data(n: int = 300, d: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * np.geomspace(3, 0.2, d)
    return x - x.mean(0)


NOISES = {"none": NoNoise(), "gaussian": GaussianNoise(0.5), "mask": MaskNoise(0.3),
          "patch-mask": MaskNoise(0.3, (2, 1))}


@pytest.mark.parametrize("noise", sorted(NOISES))
def test_one_layer_flow_solves_its_ode(noise: str) -> None:
    x = data()
    g, n = x.T @ x, len(x)
    moments = DataMoments(g, n, (1, 2, 3))
    m1, m2 = NOISES[noise].moments(moments)
    rng = np.random.default_rng(1)
    flow = OneLayerFlow.from_noise(moments, NOISES[noise], w0=rng.normal(size=(6, 6)) * 0.1)
    np.testing.assert_allclose(flow(0.0), flow.w0, atol=1e-12)
    t, h = 0.7, 1e-5
    deriv = (flow(t + h) - flow(t - h)) / (2 * h)
    np.testing.assert_allclose(deriv, 2.0 / n * (m1.T - flow(t) @ m2), atol=1e-6)
    # long-time limit: the DAE optimum M1^T M2^{-1}
    np.testing.assert_allclose(flow(1e4), m1.T @ np.linalg.inv(m2), atol=1e-6)


def test_one_layer_flow_matches_small_step_gradient_descent() -> None:
    x = data()
    g, n = x.T @ x, len(x)
    w, lr = np.zeros((6, 6)), 1e-3
    for _ in range(1500):
        w = w + lr * 2.0 / n * (g - w @ g)
    np.testing.assert_allclose(w, OneLayerFlow(g, g, n)(1.5), atol=5e-3)


def test_trajectories_are_the_flows_at_each_time() -> None:
    x = data()
    g, n = x.T @ x, len(x)
    times = np.array([0.0, 0.3, 2.0])
    ws = one_layer_trajectory(g, n, MaskNoise(0.3), times)
    m1, m2 = MaskNoise(0.3).moments(DataMoments(g, n))
    for t, w in zip(times, ws):
        np.testing.assert_allclose(w, OneLayerFlow(m1, m2, n)(t), atol=1e-12)
    vals, vecs = np.linalg.eigh(g / n)
    for t, (w, w1) in zip(times, two_layer_trajectory(vals, vecs, 0.1, times)):
        strength = saxe_mode_strength(vals, 0.01, t)
        np.testing.assert_allclose(vecs.T @ w @ vecs, np.diag(strength), atol=1e-12)
        np.testing.assert_allclose(w1.T @ w1, w, atol=1e-12)  # W1 = diag(sqrt w) V^T


def test_saxe_sigmoid_solves_the_logistic_ode_and_matches_balanced_gradient_descent() -> None:
    lam, w0 = np.array([2.0, 0.5, 0.1]), 1e-2
    t, h = 1.3, 1e-6
    w = saxe_mode_strength(lam, w0, t)
    deriv = (saxe_mode_strength(lam, w0, t + h) - saxe_mode_strength(lam, w0, t - h)) / (2 * h)
    np.testing.assert_allclose(deriv, 4 * lam * w * (1 - w), rtol=1e-5)
    # two-layer gradient descent from W1 = eps Q^T, W2 = eps Q on data with covariance V diag(lam) V^T
    rng = np.random.default_rng(3)
    v, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    cov = (v * lam) @ v.T
    eps = np.sqrt(w0)
    w1, w2, lr = eps * q.T, eps * q, 1e-3
    for _ in range(3000):
        r = (np.eye(3) - w2 @ w1) @ cov
        w1, w2 = w1 + lr * 2 * w2.T @ r, w2 + lr * 2 * r @ w1.T
    strength = np.diag(v.T @ (w2 @ w1) @ v)
    np.testing.assert_allclose(strength, saxe_mode_strength(lam, w0, 3.0), atol=5e-3)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 2.0))
def test_direction_reconstruction_equals_its_empirical_twin(seed: int, scale: float) -> None:
    x = data(80, 5, seed)
    w = np.random.default_rng(seed + 1).normal(size=(5, 5)) * scale
    vals, vecs = np.linalg.eigh(x.T @ x / len(x))
    theory = direction_reconstruction(w, x.T @ x / len(x), vecs, vals)
    np.testing.assert_allclose(theory, direction_reconstruction_empirical(x, x @ w.T, vecs),
                               atol=1e-8)


def test_half_times_invert_the_closed_forms() -> None:
    lam = np.array([5.0, 1.0, 0.2])
    t1 = one_layer_half_time(lam, 0.5)
    np.testing.assert_allclose(fraction_from_gain(one_layer_mode_gain(lam, t1)), 0.5)
    t2 = saxe_half_time(lam, 1e-3, 0.5)
    np.testing.assert_allclose(fraction_from_gain(saxe_mode_strength(lam, 1e-3, t2)), 0.5)
    np.testing.assert_allclose(t1 * lam, t1[0] * lam[0])  # time ~ 1 / lambda
    times = np.geomspace(1e-3, 100, 400)
    curves = fraction_from_gain(one_layer_mode_gain(lam[None, :], times[:, None]))
    np.testing.assert_allclose(time_to_fraction(times, curves, 0.5), t1, rtol=0.02)
    assert np.isinf(time_to_fraction(times, np.zeros((400, 1)), 0.5)[0])


def toy_splits(seed: int = 0) -> DatasetSplits:
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(16, 16)))

    def make(n: int, split: str) -> ImageDataset:
        y = rng.integers(0, 3, n)
        c = rng.normal(size=(n, 16)) * np.geomspace(20, 1, 16)
        c[:, 12] += 3.0 * (y - 1)
        img = np.clip(np.round(100 + c @ u.T), 0, 255).astype(np.uint8).reshape(n, 1, 4, 4)
        return ImageDataset(img, y.astype(np.int64), ("a", "b", "c"), "toy", split)

    return DatasetSplits(make(400, "train"), make(200, "test"))


def tiny_config(**kw) -> ld.DynamicsConfig:
    base = dict(dataset="toy", train_size=400, probe_train_size=300, probe_test_size=200,
                downsample=1, batch_size=400, lr_scale=0.2, t_max=12.0, deep_t_max=40.0,
                n_eval=8)
    base.update(kw)
    return ld.DynamicsConfig(**base)


def controlled_data(seed: int = 0) -> ld.DynamicsData:
    """16-dim centred data with eigenvalues 4 ... 0.1 and a label in a low-variance direction."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    y = rng.integers(0, 3, 700)
    c = rng.normal(size=(700, 16)) * np.sqrt(np.geomspace(4, 0.1, 16))
    c[:, 12] += 0.6 * (y - 1)
    x = c @ u.T
    x -= x[:400].mean(0)
    return ld.DynamicsData.from_arrays(x[:400], x[:300], y[:300], x[400:], y[400:], (1, 4, 4))


def test_gradient_descent_follows_the_closed_forms() -> None:
    config = tiny_config()
    data = controlled_data()
    summary = {}
    for model in ld.MODELS:
        rec = ld.run_model(model, data, config, device="cpu", show_progress=False)
        rho, theory = np.asarray(rec["rho"]), np.asarray(rec["theory_rho"])
        assert rho.shape == theory.shape == (len(rec["times"]), 16)
        # Full batch: only the step discretisation (and, for the DAEs, noise sampling) separates
        # them; it is largest on the fastest direction where the curve is steepest.
        diff = np.abs(rho - theory)
        assert np.median(diff) < 0.01 and diff.max() < 0.15, model
        summary[model] = ld.summarise_model(rec, data.eigenvalues)
        assert summary[model]["median_log_ratio"] < 0.1, model
    assert summary["linear"]["spearman"] < -0.9 and summary["deep"]["spearman"] < -0.9
    assert 0.0 <= summary["linear"]["probe_closure_at_t90"] <= 1.5


def test_dynamics_resume_is_exact(tmp_path) -> None:
    config = tiny_config(batch_size=32, models=("mask",), n_eval=6, t_max=3.0)
    data = controlled_data()
    ref = ld.run_model("mask", data, config, device="cpu", show_progress=False)
    ckpt = tmp_path / "mask.pt"
    part = ld.run_model("mask", data, config, device="cpu", checkpoint_path=ckpt,
                        stop_after_evals=3, show_progress=False)
    assert not part["finished"] and ckpt.exists()
    torch.manual_seed(999)  # must not matter
    resumed = ld.run_model("mask", data, config, device="cpu", checkpoint_path=ckpt,
                           show_progress=False)
    assert resumed["finished"]
    assert resumed["rho"] == ref["rho"] and resumed["loss"] == ref["loss"]
    assert resumed["probe_learned"] == ref["probe_learned"]


def test_run_dynamics_payload_and_store_resume(tmp_path, monkeypatch) -> None:
    # the uint8 toy images have a dominant brightness direction (lambda_max ~ 300), so keep
    # t_max small: steps = t_max * 2 lambda_max / lr_scale
    config = tiny_config(models=("linear", "deep"), n_eval=5, lr_scale=0.5, t_max=0.05,
                         deep_t_max=0.1)
    payload = ld.run_dynamics(toy_splits(), config, tmp_path, device="cpu", show_progress=False)
    assert payload["figure_kind"] == "dynamics" and set(payload["models"]) == {"linear", "deep"}
    assert (tmp_path / "dynamics_toy.json").exists()

    def boom(*a, **k):
        raise AssertionError("finished model retrained")

    monkeypatch.setattr(ld, "run_model", boom)  # run_dynamics calls it through this module
    again = ld.run_dynamics(toy_splits(), config, tmp_path, device="cpu", show_progress=False)
    assert again["models"]["linear"]["rho"] == payload["models"]["linear"]["rho"]


@pytest.mark.parametrize("field,value", [("keep", 1.0), ("lr_scale", 1.5), ("t_max", 0.0),
                                         ("models", ("foo",))])
def test_dynamics_config_validation(field: str, value) -> None:
    with pytest.raises(ConfigError):
        ld.DynamicsConfig(**{field: value})
