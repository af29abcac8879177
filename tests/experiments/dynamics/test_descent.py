"""The gradient-descent loop of the learned-last experiment against its closed-form twins."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mrptheory.device import cpu_threads
from mrptheory.experiments.dynamics.theory import one_layer_trajectory, two_layer_trajectory
from mrptheory.linear.noise import GaussianNoise, MaskNoise, NoNoise
from mrptheory.experiments.dynamics.descent import LinearAEDescent, descent_trajectory


def data(n: int = 400, d: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * np.geomspace(1.5, 0.3, d)
    return x - x.mean(0)


@pytest.mark.parametrize("noise", [NoNoise(), GaussianNoise(0.3), MaskNoise(0.25)],
                         ids=["none", "gaussian", "mask"])
def test_one_layer_descent_follows_the_flow(noise) -> None:
    """Big minibatches (4N rows) and a small step (lr = 0.05 / lambda_max): the sampling noise and
    the step discretisation are both a few percent of W's scale at most (max |W - W_theory| is
    ~0.013 here), while training under one of these noises and comparing with the flow of
    another gives >= 0.07: the 0.05 bound separates the two."""
    x = data()
    n = len(x)
    lam_max = np.linalg.eigvalsh(x.T @ x / n)[-1]
    lr, steps = 0.05 / lam_max, [0, 20, 80]
    with cpu_threads(1):
        measured = descent_trajectory(x, noise, steps, lr, batch_size=4 * n, seed=1)
    theory = one_layer_trajectory(x.T @ x, n, noise, np.array(steps) * lr)
    for (w, w1), w_t in zip(measured, theory):
        assert w1 is None
        assert np.abs(w - w_t).max() < 0.05


def test_two_layer_descent_follows_the_sigmoids() -> None:
    """Same conditions; the balanced start is random but the end-to-end map is not."""
    x = data()
    n = len(x)
    lam, vecs = np.linalg.eigh(x.T @ x / n)
    lr, steps = 0.05 / lam[-1], [0, 40, 160]
    with cpu_threads(1):
        measured = descent_trajectory(x, NoNoise(), steps, lr, batch_size=4 * n, init_scale=0.3,
                                      seed=2)
    theory = two_layer_trajectory(lam, vecs, 0.3, np.array(steps) * lr)
    for (w, w1), (w_t, _) in zip(measured, theory):
        assert w1.shape == (6, 6)
        assert np.abs(w - w_t).max() < 0.05


def test_state_round_trip_resumes_exactly() -> None:
    x = torch.as_tensor(data(), dtype=torch.float32)

    def make() -> LinearAEDescent:
        return LinearAEDescent(x, MaskNoise(0.5), two_layer=True, lr=0.01, batch_size=16,
                               init_scale=0.1, init_seed=0, sample_seed=3)

    ref = make()
    ref.run_to(30)
    part = make()
    part.run_to(12)
    state = part.state()
    resumed = make()
    resumed.load_state(state)
    resumed.run_to(30)
    assert resumed.step == 30
    np.testing.assert_array_equal(resumed.weights()[0], ref.weights()[0])
