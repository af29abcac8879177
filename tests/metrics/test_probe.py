"""Linear probes (``mrptheory.metrics.probe``): perfect on separable data, chance on noise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrptheory.errors import ConfigError
from mrptheory.metrics.probe import logistic_probe_accuracy, ridge_probe_accuracy


def separable(seed: int, c: int, k: int, n_train: int = 300, n_test: int = 200,
              spread: float = 0.05):
    """Train and test sets with classes tightly clustered at well-separated random centres."""
    rng = np.random.default_rng(seed)
    # orthogonal centres: affinely independent and well conditioned, so least squares onto the
    # one-hot code maps each cluster to its own label (random centres can be nearly affinely
    # dependent, where regression onto indicators 'masks' a class).
    centres = np.linalg.qr(rng.normal(size=(max(c, k), max(c, k))))[0][:c, :k] * 5.0

    def draw(n):
        labels = rng.integers(0, c, size=n)
        return centres[labels] + spread * rng.normal(size=(n, k)), labels

    return (*draw(n_train), *draw(n_test))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), c=st.integers(2, 6), scale=st.floats(1e-3, 1e3))
def test_ridge_probe_perfect_on_separable_data(seed, c, scale):
    """Clusters 100x tighter than their distances: least squares onto one-hot separates them
    (K = C features, so the centres are affinely independent and the one-hot code is linear)."""
    ftr, ytr, fte, yte = separable(seed, c, c)
    assert ridge_probe_accuracy(scale * ftr, ytr, scale * fte, yte, num_classes=c) == 1.0


def test_ridge_probe_exact_linear_code():
    """Features that are (an invertible linear map of) the one-hot code itself."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=500)
    mix = rng.normal(size=(10, 10))
    feats = np.eye(10)[labels] @ mix + 100.0
    assert ridge_probe_accuracy(feats[:400], labels[:400], feats[400:], labels[400:]) == 1.0


def test_ridge_probe_chance_on_random_labels():
    rng = np.random.default_rng(3)
    feats = rng.normal(size=(6000, 20))
    labels = rng.integers(0, 10, size=6000)
    acc = ridge_probe_accuracy(feats[:3000], labels[:3000], feats[3000:], labels[3000:])
    # chance is 0.1; the std of an accuracy over 3000 test points is ~0.0055
    assert abs(acc - 0.1) < 0.03


def test_logistic_probe_separable_and_chance():
    ftr, ytr, fte, yte = separable(0, 4, 6)
    assert logistic_probe_accuracy(ftr, ytr, fte, yte, max_iter=50) == 1.0
    rng = np.random.default_rng(5)
    noise = rng.normal(size=(2000, 5))
    labels = rng.integers(0, 4, size=2000)
    acc = logistic_probe_accuracy(noise[:1000], labels[:1000], noise[1000:], labels[1000:], max_iter=20)
    assert abs(acc - 0.25) < 0.06  # chance 0.25, std over 1000 test points ~0.014


def test_probe_shape_errors():
    f = np.zeros((10, 3))
    y = np.zeros(10, dtype=int)
    with pytest.raises(ConfigError, match="equal K"):
        ridge_probe_accuracy(f, y, np.zeros((5, 4)), np.zeros(5, dtype=int))
    with pytest.raises(ConfigError, match="labels"):
        ridge_probe_accuracy(f, y[:9], f, y)
    with pytest.raises(ConfigError):
        logistic_probe_accuracy(f, y, np.zeros((5, 4)), np.zeros(5, dtype=int))


def test_mlp_probe_reads_what_a_linear_probe_cannot(one_torch_thread) -> None:
    """XOR of two feature signs: no linear read-out beats chance, a one-hidden-layer MLP does."""
    from mrptheory.metrics.probe import logistic_probe_accuracy, mlp_probe_accuracy

    rng = np.random.default_rng(0)
    f = rng.normal(size=(600, 2))
    y = ((f[:, 0] > 0) ^ (f[:, 1] > 0)).astype(np.int64)
    lin = logistic_probe_accuracy(f[:400], y[:400], f[400:], y[400:])
    mlp = mlp_probe_accuracy(f[:400], y[:400], f[400:], y[400:], steps=150)
    assert lin < 0.65 and mlp > 0.9
    assert mlp == mlp_probe_accuracy(f[:400], y[:400], f[400:], y[400:], steps=150)
