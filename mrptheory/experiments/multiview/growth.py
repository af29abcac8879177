"""Theory curves of the multi-view model that take numbers, not training configs.

``sl_growth_curve`` is the early-phase ("lottery winning") growth of the winning view's
correlation under supervised GD (Allen-Zhu & Li, Sec. 5), the closed-form twin of the measured
curves of :func:`mrptheory.experiments.multiview.sl.train_sl`; ``experiments.multiview.sl.sl_theory_growth``
maps a run's configs onto its arguments.
"""

from __future__ import annotations

import numpy as np
import torch

from mrptheory.experiments.multiview.smooth_relu import smooth_relu_grad


def sl_growth_curve(c0: float, steps: list[int], *, k: int, mu: float, lr: float, q: int,
                    rho: float, view_weight_range: tuple[float, float], patches_per_view: int,
                    init_noise_std: float, n_mc: int = 4000, seed: int = 0) -> np.ndarray:
    """Early-phase prediction of the winning view's correlation Gamma(t) under GD (Allen-Zhu & Li,
    Sec. 5 "lottery winning" phase), for comparison with the measured curves.

    While all logits are small, softmax gives class i probability ~1/k, so the GD update of the
    best kernel of class i along its view v is
        Gamma_{t+1} = Gamma_t + lr * (1/k) * (1 - 1/k) * E[ sum_p z_p act'(Gamma_t z_p) ],
    the expectation over class-i samples of the view's patch weights z_p and of the patch noise's
    contribution <w, xi_p> ~ N(0, sigma_0^2 sigma_p^2 d) to the pre-activation (its own gradient
    terms average out, but by convexity of act' it speeds up the early growth). Below rho, act'(z) = (z/rho)^(q-1): growth of order Gamma^(q-1), a finite-time
    blow-up; above rho it is linear. Valid until the logits are order 1 (the curve is cut at
    Gamma = 2). ``c0`` is the initial value; returns Gamma at ``steps`` (``[len(steps)]``, NaN
    once Gamma passed 2).

    Args: ``k`` classes, single-view fraction ``mu``, GD step ``lr``, activation power ``q`` and
    threshold ``rho``, the (low, high) range of a strong view's total weight spread over
    ``patches_per_view`` patches, and ``init_noise_std``, the std of <w, xi_p> at init
    (sigma_0 * sigma_p * sqrt(d)); ``n_mc`` Monte-Carlo samples of the patch weights and noise.

    The constant, from the data model and the loss: a class-i sample has probability 1/k, its
    logit gradient is 1 - p_i ~ 1 - 1/k, its view v is present with order-1 weight with
    probability (1 - mu) + mu/2, and in that case contributes sum over the view's patches of
    z_p act'(<w, x_p>) to <grad, v>; other classes' samples contribute only through off-target
    features and gamma (ignored). The map c0 -> Gamma(t) is increasing, so the curve from the
    median initial winner is the median of the per-class curves (the capture-curves figure
    draws it beside the simulated median). ``tests/train`` checks it against the simulation
    class by class (first step at Gamma = 0.05: within 25% or 2 steps).
    """
    gen = torch.Generator().manual_seed(seed)
    lo, hi = view_weight_range
    C = patches_per_view
    tot = lo + (hi - lo) * torch.rand(n_mc, generator=gen)
    u = 0.5 + torch.rand(n_mc, C, generator=gen)
    z = tot.unsqueeze(1) * u / u.sum(1, keepdim=True)  # [n_mc, C] patch weights of a strong view
    # the pre-activation also holds <w, xi_p> ~ N(0, sigma_0^2 ||xi_p||^2) at init
    noise = init_noise_std * torch.randn(n_mc, C, generator=gen)
    strong = (1.0 - mu) + mu / 2.0  # P(view present with order-1 weight)
    out, c, want = [], float(c0), sorted(steps)
    t, i = 0, 0
    while i < len(want):
        while t < want[i]:
            g = float((z * smooth_relu_grad(c * z + noise, q, rho)).sum(1).mean())
            c = c + lr * strong * (1.0 / k) * (1.0 - 1.0 / k) * g
            t += 1
            if c > 2.0:
                break
        out.append(c if c <= 2.0 else float("nan"))
        if c > 2.0:
            out.extend([float("nan")] * (len(want) - i - 1))
            break
        i += 1
    return np.asarray(out)



def max_normal_quantile(p: float, n: int) -> float:
    """The p-quantile of the max of n i.i.d. standard normals: Phi^-1(p^(1/n)).

    (P(max <= z) = Phi(z)^n.) E.g. p = 0.05, n = 8: 0.491 -- the initial winner of the class
    exceeded by 95% of classes, in units of sigma_0, for m = 4 kernels per view and 2 views."""
    from scipy.special import ndtri

    if not 0.0 < p < 1.0 or n < 1:
        raise ValueError(f"need 0 < p < 1 and n >= 1; got p={p}, n={n}")
    return float(ndtri(p ** (1.0 / n)))


def capture_step(c0: float, threshold: float, max_steps: int, **growth) -> float:
    """First GD step at which :func:`sl_growth_curve` from ``c0`` reaches ``threshold`` (inf if
    not within ``max_steps``); ``growth`` are its keyword arguments (k, mu, lr, q, rho, ...).

    The recursion is evaluated at every step (no grid), so the answer is exact for the recursion.
    """
    g = sl_growth_curve(c0, list(range(max_steps + 1)), **growth)
    hit = np.nonzero(np.nan_to_num(g, nan=np.inf) >= threshold)[0]
    return float(hit[0]) if hit.size else float("inf")


def step_budget(t_capture: float, safety: float, round_to: int = 100) -> int:
    """Step budget from the slowest unit's predicted capture step: ``safety * t_capture``,
    rounded up to a multiple of ``round_to`` (a ValueError if the unit never captures)."""
    if not np.isfinite(t_capture):
        raise ValueError("the slowest unit is predicted never to reach the capture threshold")
    return int(round_to * np.ceil(safety * t_capture / round_to))


__all__ = ["sl_growth_curve", "max_normal_quantile", "capture_step", "step_budget"]
