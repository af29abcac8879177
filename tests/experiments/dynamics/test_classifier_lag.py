"""Learned-last judged by a trained classifier: which directions count as learned, which
classifiers are trained (one per distinct set), and the numbers the claim reads."""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.experiments.dynamics import classifier_lag as dc
from mrptheory.experiments.dynamics.data import DynamicsData

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def toy_data(seed: int = 0) -> DynamicsData:
    """16-pixel images whose label lives on the second-largest direction."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(16, 16)))

    def make(n):
        y = rng.integers(0, 2, n)
        c = rng.normal(size=(n, 16)) * np.geomspace(10, 0.5, 16)
        c[:, 1] += 6.0 * (2 * y - 1)
        return (c @ u.T).astype(np.float32), y

    xtr, ytr = make(400)
    xte, yte = make(200)
    return DynamicsData.from_arrays(xtr, xtr, ytr, xte, yte, (1, 4, 4))


def test_learned_sets_follow_the_learned_level() -> None:
    rho = np.array([[0.0, 0.0, 0.0], [0.6, 0.4, 0.0], [0.9, 0.5, 0.1]])
    assert dc.learned_sets(rho) == [(), (0,), (0, 1)]


def test_run_trains_one_classifier_per_distinct_set_and_resumes(tmp_path, monkeypatch) -> None:
    data = toy_data()
    d = data.train.shape[1]
    rho = np.zeros((5, d))
    rho[2:, 0] = 1.0
    rho[3:, :2] = 1.0
    rho[4:, :] = 1.0
    payload = {"dataset": "toy", "config": {"seed": 0},
               "models": {"linear": {"rho": rho.tolist(), "times": [0, 1, 2, 3, 4],
                                     "loss": [10.0, 6.0, 3.0, 1.5, 1.0]}}}
    config = dc.ClassifierLagConfig(epochs=5, batch_size=64, lr=1e-2)
    calls = []
    real = dc.classifier_accuracy
    monkeypatch.setattr(dc, "classifier_accuracy",
                        lambda data, dirs, *a, **k: calls.append(dirs) or real(data, dirs, *a, **k))
    lag = dc.run_classifier_lag(payload, data, config, tmp_path, "lag", device="cpu")
    assert calls == [(), (0,), (0, 1), tuple(range(d))]  # t = 0 and 1 share the empty set
    acc = lag["archs"]["mlp"]["accuracy"]
    assert acc[0] == acc[1] == pytest.approx(max(np.mean(data.probe_test_labels == k) for k in (0, 1)), abs=0.1)
    assert acc[3] > acc[1] + 0.2  # the label direction (index 1) is in
    assert lag["reconstruction_closed"] == pytest.approx([0, 4 / 9, 7 / 9, 8.5 / 9, 1])
    s = dc.lag_summary(lag)["mlp"]
    assert s["index"] == 3 and s["n_learned_at_t90"] == 2
    assert s["accuracy_closed_at_t90"] == pytest.approx(lag["archs"]["mlp"]["closed"][3])
    calls.clear()
    again = dc.run_classifier_lag(payload, data, config, tmp_path, "lag", device="cpu")
    assert calls == [] and again["archs"] == lag["archs"]
    assert (tmp_path / "lag.json").is_file()
