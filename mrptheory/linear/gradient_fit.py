"""The gradient-trained twin of the closed-form optimal linear DAE.

:func:`fit_linear_dae` minimises the same expected loss as
:func:`mrptheory.linear.closed_form.optimal_linear_dae`,

    L(V, W) = tr(G) - 2 tr(W^T V^T M1) + tr(W^T V^T M2 V W)     (V: [D, K], W: [K, D]),

but by full-batch L-BFGS in float64 from a random start instead of a generalised eigenproblem.
It takes the same arguments (data moments, noise model, width K), so the two can be compared
call for call: the closed form must never lose (it is the global minimum) and gradient training
must reach it. The loss is written out term by term here (not by calling
:func:`~mrptheory.linear.closed_form.expected_dae_loss`) so the twin is an independent check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mrptheory.linear.closed_form import dae_moments
from mrptheory.linear.moments import DataMoments
from mrptheory.linear.noise import NoiseModel
from mrptheory.validation import check_int


@dataclass(frozen=True)
class FittedLinearDAE:
    """A rank-K linear DAE found by gradient training.

    Attributes:
        encoder: ``[D, K]`` ``V`` (identified only up to an invertible ``K x K`` map).
        decoder: ``[K, D]`` ``W``.
        loss: its expected loss ``L(V, W)`` (a sum over samples, like the closed form's).
    """

    encoder: np.ndarray
    decoder: np.ndarray
    loss: float


def fit_linear_dae(data: DataMoments, noise: NoiseModel, k: int, *, seed: int = 0,
                   restarts: int = 6, max_iter: int = 400) -> FittedLinearDAE:
    """Minimise the expected rank-``k`` DAE loss under ``noise`` by L-BFGS; same call as the closed form.

    The moments are divided by ``tr(G)`` so the optimiser works at unit scale (the returned loss is
    scaled back). ``V, W`` start as ``N(0, 1/D)`` entries drawn from a torch generator seeded with
    ``seed``. L-BFGS (strong-Wolfe line search, ``max_iter`` iterations per call) is called
    ``restarts`` times: each call restarts its curvature history, which helps past saddles and
    slow tails.
    """
    d = data.dim
    k = check_int("K (bottleneck width)", k, 1, d)
    restarts = check_int("restarts", restarts, 1)
    max_iter = check_int("max_iter", max_iter, 1)
    m1, m2 = dae_moments(data, noise)
    scale = float(np.trace(data.gram))
    g_t, m1_t, m2_t = (torch.as_tensor(a / scale, dtype=torch.float64) for a in (data.gram, m1, m2))
    gen = torch.Generator().manual_seed(seed)
    v = (torch.randn(d, k, generator=gen, dtype=torch.float64) / d**0.5).requires_grad_()
    w = (torch.randn(k, d, generator=gen, dtype=torch.float64) / d**0.5).requires_grad_()

    def loss_fn() -> torch.Tensor:
        return (torch.trace(g_t) - 2 * torch.trace(w.T @ v.T @ m1_t)
                + torch.trace(w.T @ v.T @ m2_t @ v @ w))

    opt = torch.optim.LBFGS([v, w], lr=1.0, max_iter=max_iter, history_size=30,
                            tolerance_grad=1e-10, tolerance_change=1e-13,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    for _ in range(restarts):
        opt.step(closure)
    with torch.no_grad():
        final = float(loss_fn()) * scale
    return FittedLinearDAE(v.detach().numpy(), w.detach().numpy(), final)
