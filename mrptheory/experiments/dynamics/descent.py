"""Minibatch gradient descent on a linear (denoising) autoencoder: the empirical twin of the flows.

Two architectures, trained on ``(1/B) sum_b ||x_b - f(x~_b)||^2`` over minibatches of ``B``
rows drawn with replacement, with a fresh corruption ``x~ = noise.sample(x)`` every step:

* one layer ``f(x~) = W x~`` from ``W = 0`` -- twin of
  :func:`mrptheory.experiments.dynamics.theory.one_layer_trajectory`;
* two layers ``f(x~) = W2 W1 x~`` from the balanced start ``W1 = eps Q^T``, ``W2 = eps Q``
  (``Q`` a random orthogonal ``[D, D]`` matrix) -- twin of
  :func:`mrptheory.experiments.dynamics.theory.two_layer_trajectory`.

Gradient-descent time ``t = lr * step`` is gradient-flow time (:mod:`mrptheory.experiments.dynamics.theory`).
The state (weights, step, sampling generator) can be saved and restored, so a run resumes exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from mrptheory.linear.noise import NoiseModel


class LinearAEDescent:
    """One linear AE under minibatch gradient descent on ``x: [N, D]`` (float32 tensor).

    ``sample_seed`` seeds the generator (on ``x``'s device) that draws the minibatch indices and
    the noise; ``init_seed`` the CPU generator of the two-layer start (one layer starts at 0).
    """

    def __init__(self, x: torch.Tensor, noise: NoiseModel, *, two_layer: bool, lr: float,
                 batch_size: int, init_scale: float, init_seed: int, sample_seed: int,
                 image_shape: tuple[int, int, int] | None = None):
        self.x, self.noise, self.two_layer = x, noise, two_layer
        self.lr, self.batch_size, self.image_shape = lr, batch_size, image_shape
        dev = x.device
        d = x.shape[1]
        self.generator = torch.Generator(device=dev)
        self.generator.manual_seed(sample_seed)
        init = torch.Generator().manual_seed(init_seed)
        if two_layer:
            q, _ = torch.linalg.qr(torch.randn(d, d, generator=init, dtype=torch.float64))
            w1 = (init_scale * q.T).to(torch.float32).to(dev).requires_grad_(True)
            w2 = (init_scale * q).to(torch.float32).to(dev).requires_grad_(True)
            self.params = [w1, w2]
        else:
            self.params = [torch.zeros(d, d, device=dev, requires_grad=True)]
        self.step = 0

    def _forward(self, xin: torch.Tensor) -> torch.Tensor:
        if self.two_layer:
            w1, w2 = self.params
            return (xin @ w1.T) @ w2.T
        return xin @ self.params[0].T

    def run_to(self, target: int, on_step: Callable[[], None] | None = None) -> None:
        """Take gradient steps until ``self.step == target`` (no-op when already there)."""
        x, gen = self.x, self.generator
        while self.step < target:
            idx = torch.randint(0, len(x), (self.batch_size,), generator=gen, device=x.device)
            xb = x[idx]
            xin = self.noise.sample(xb, self.image_shape, generator=gen)
            loss = ((xb - self._forward(xin)) ** 2).sum(1).mean()
            grads = torch.autograd.grad(loss, self.params)
            with torch.no_grad():
                for p, g in zip(self.params, grads):
                    p -= self.lr * g
            self.step += 1
            if on_step is not None:
                on_step()

    def weights(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(W, W1)`` as float64 numpy: the end-to-end map ``[D, D]`` and the first layer
        (features, ``[D, D]``) for two layers, else ``None``."""
        with torch.no_grad():
            if self.two_layer:
                w1, w2 = self.params
                return (w2 @ w1).double().cpu().numpy(), w1.double().cpu().numpy()
            return self.params[0].double().cpu().numpy(), None

    def state(self) -> dict[str, Any]:
        """What a checkpoint needs: ``params`` (CPU tensors), ``generator`` state, ``step``."""
        return {"params": [p.detach().cpu() for p in self.params],
                "generator": self.generator.get_state(), "step": self.step}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state` returned."""
        with torch.no_grad():
            for p, s in zip(self.params, state["params"]):
                p.copy_(s)
        self.generator.set_state(state["generator"].cpu())
        self.step = int(state["step"])


def descent_trajectory(x: np.ndarray, noise: NoiseModel, steps: Sequence[int], lr: float, *,
                       batch_size: int, init_scale: float | None = None, seed: int = 0,
                       image_shape: tuple[int, int, int] | None = None,
                       device: str | torch.device = "cpu"
                       ) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """``(W, W1)`` after each of ``steps`` (increasing) of minibatch gradient descent on ``x: [N, D]``.

    The empirical twin of the closed-form trajectories at times ``lr * steps``: one layer from 0
    when ``init_scale`` is None, else two layers from the balanced start of scale ``init_scale``.
    """
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32, device=device)
    run = LinearAEDescent(xt, noise, two_layer=init_scale is not None, lr=lr,
                          batch_size=batch_size, init_scale=init_scale or 0.0, init_seed=seed,
                          sample_seed=seed, image_shape=image_shape)
    out = []
    for s in steps:
        run.run_to(int(s))
        out.append(run.weights())
    return out
