"""Supervised learning (SL) on multi-view data, S seeds at once: full-batch GD on cross-entropy.

The learner is Allen-Zhu & Li's two-layer conv net (:class:`~mrptheory.models.conv_learner.
ConvLearner`, m kernels per class); its gradient is in closed form
(:meth:`~mrptheory.models.conv_learner.ConvLearner.loss_and_grads`). On a grid of steps the loop
records the k x 2 view-correlation matrix, the loss and the accuracies on the training set and on
fresh multi-view and single-view test sets; :func:`~mrptheory.metrics.feature_capture.sl_summary`
turns them into captured views per class and the lottery's hit rate. Batching, float32 and the
optimiser: see :mod:`mrptheory.train.multiview`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from mrptheory.data.multiview import STREAM_INIT, MultiViewConfig
from mrptheory.device import resolve_device
from mrptheory.metrics.feature_capture import accuracy, sl_summary, sl_view_correlations
from mrptheory.models.conv_learner import ConvLearner, gaussian_kernels, patches_t
from mrptheory.models.smooth_relu import smooth_relu_grad
from mrptheory.progress import progress
from mrptheory.train.multiview_common import (MultiViewData, check_finite, log_steps, make_data,
                                              to_numpy)
from mrptheory.train.multiview_config import SLConfig


@dataclass
class SLResult:
    """Histories (numpy, leading axis = log step, then seed) and summaries of an SL run."""

    seeds: list[int]
    steps: list[int]
    view_corr: np.ndarray  # [L, S, k, 2]
    loss: np.ndarray  # [L, S]
    train_acc: np.ndarray  # [L, S]
    acc_multi: np.ndarray  # [L, S]
    acc_single: np.ndarray  # [L, S]
    seconds: float = 0.0
    w_final: np.ndarray | None = None  # [S, k, m, d]
    summary: dict = field(default_factory=dict)


def train_sl(data_cfg: MultiViewConfig, cfg: SLConfig, seeds: list[int], *,
             device: str | torch.device = "auto", data: MultiViewData | None = None,
             show_progress: bool | None = None) -> SLResult:
    """Train S = len(seeds) supervised conv learners at once with full-batch GD on cross-entropy.

    Returns histories of the k x 2 view-correlation matrix Gamma_{i,l} = max_r <w_{i,r}, v_{i,l}>,
    loss, train accuracy and accuracy on fresh multi-view and single-view test sets.
    """
    device = resolve_device(device)
    if data is None:
        data = make_data(data_cfg, seeds, cfg.n_train, cfg.n_test, device)
    k, d = data_cfg.k, data_cfg.d
    conv = cfg.conv
    model = ConvLearner(gaussian_kernels((k, conv.m, d), conv.sigma_0, seeds, STREAM_INIT, device),
                        conv.q, conv.rho)
    y = data.train.y
    P = data_cfg.P
    # the data are fixed: lay the patches out for the fused kernels once
    xt, xt_multi, xt_single = (patches_t(b.x) for b in (data.train, data.test_multi,
                                                        data.test_single))
    onehot = torch.nn.functional.one_hot(y, k).to(data.train.x.dtype)
    w = model.w  # updated in place
    work_train, work_eval = {}, {}  # reused scratch buffers (D lives in work_train)
    log_at = set(log_steps(cfg.steps, cfg.log_every))
    hist: dict[str, list] = {n: [] for n in ("steps", "view_corr", "loss", "train_acc",
                                             "acc_multi", "acc_single")}
    start = time.perf_counter()
    bar = progress(total=cfg.steps, desc=f"SL x{len(seeds)} seeds", enabled=show_progress)
    with torch.no_grad():
        for step in range(cfg.steps + 1):
            loss, logits, grad_w = model.loss_and_grads(xt, onehot, P, with_grad=step < cfg.steps,
                                                        work=work_train)
            if step in log_at or step == cfg.steps:
                check_finite("SL training", step, f"lr={cfg.lr:g}", seeds, loss, w)
            if step in log_at:
                hist["steps"].append(step)
                hist["view_corr"].append(to_numpy(sl_view_correlations(w, data.features)))
                hist["loss"].append(to_numpy(loss))
                hist["train_acc"].append(to_numpy(accuracy(logits, y)))
                for name, xt_, batch in (("acc_multi", xt_multi, data.test_multi),
                                         ("acc_single", xt_single, data.test_single)):
                    hist[name].append(to_numpy(accuracy(model.fused_logits(xt_, P,
                                                                           work=work_eval)[0],
                                                        batch.y)))
                bar.set_postfix(loss=f"{float(loss.mean()):.3f}")
            if step == cfg.steps:
                break
            w.sub_(grad_w, alpha=cfg.lr)
            bar.update(1)
    bar.close()
    res = SLResult(seeds=list(seeds), steps=hist["steps"],
                   **{n: np.stack(hist[n]) for n in hist if n != "steps"},
                   seconds=time.perf_counter() - start, w_final=to_numpy(model.w))
    res.summary = sl_summary(res.view_corr, cfg.capture_threshold)
    res.summary["final_acc_multi"] = res.acc_multi[-1].tolist()
    res.summary["final_acc_single"] = res.acc_single[-1].tolist()
    return res


def sl_theory_growth(data_cfg: MultiViewConfig, cfg: SLConfig, c0: float, steps: list[int],
                     n_mc: int = 4000, seed: int = 0) -> np.ndarray:
    """Early-phase prediction of the winning view's correlation Gamma(t) under GD (Allen-Zhu & Li,
    Sec. 5 "lottery winning" phase), for comparison with the measured curves.

    While all logits are small, softmax gives class i probability ~1/k, so the GD update of the
    best kernel of class i along its view v is
        Gamma_{t+1} = Gamma_t + lr * (1/k) * (1 - 1/k) * E[ sum_p z_p act'(Gamma_t z_p) ],
    the expectation over class-i samples of the view's patch weights z_p and of the patch noise's
    contribution <w, xi_p> ~ N(0, sigma_0^2 sigma_p^2 d) to the pre-activation (its own gradient
    terms average out, but by convexity of act' it speeds up the early growth). Below rho, act'(z) = (z/rho)^(q-1): growth of order Gamma^(q-1), a finite-time
    blow-up; above rho it is linear. Valid until the logits are order 1 (the curve is cut at
    Gamma = 2). ``c0`` is the initial value; returns Gamma at ``steps``.

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
    lo, hi = data_cfg.view_weight_range
    C = data_cfg.patches_per_view
    tot = lo + (hi - lo) * torch.rand(n_mc, generator=gen)
    u = 0.5 + torch.rand(n_mc, C, generator=gen)
    z = tot.unsqueeze(1) * u / u.sum(1, keepdim=True)  # [n_mc, C] patch weights of a strong view
    # the pre-activation also holds <w, xi_p> ~ N(0, sigma_0^2 ||xi_p||^2) at init
    noise = cfg.sigma_0 * data_cfg.noise_std * math.sqrt(data_cfg.d) * torch.randn(
        n_mc, C, generator=gen)
    strong = (1.0 - data_cfg.mu) + data_cfg.mu / 2.0  # P(view present with order-1 weight)
    k = data_cfg.k
    out, c, want = [], float(c0), sorted(steps)
    t, i = 0, 0
    while i < len(want):
        while t < want[i]:
            g = float((z * smooth_relu_grad(c * z + noise, cfg.q, cfg.rho)).sum(1).mean())
            c = c + cfg.lr * strong * (1.0 / k) * (1.0 - 1.0 / k) * g
            t += 1
            if c > 2.0:
                break
        out.append(c if c <= 2.0 else float("nan"))
        if c > 2.0:
            out.extend([float("nan")] * (len(want) - i - 1))
            break
        i += 1
    return np.asarray(out)


__all__ = ["SLResult", "train_sl", "sl_theory_growth"]
