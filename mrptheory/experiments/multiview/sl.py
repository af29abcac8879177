"""Supervised learning (SL) on multi-view data, S seeds at once: full-batch GD on cross-entropy.

The learner is Allen-Zhu & Li's two-layer conv net (:class:`~mrptheory.experiments.multiview.conv_learner.
ConvLearner`, m kernels per class); its gradient is in closed form
(:meth:`~mrptheory.experiments.multiview.conv_learner.ConvLearner.loss_and_grads`). On a grid of steps the loop
records the k x 2 view-correlation matrix, the loss and the accuracies on the training set and on
fresh multi-view and single-view test sets; :func:`~mrptheory.experiments.multiview.feature_capture.sl_summary`
turns them into captured views per class and the lottery's hit rate. Batching, float32 and the
optimiser: see :mod:`mrptheory.experiments.multiview`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from mrptheory.experiments.multiview.data import STREAM_INIT, MultiViewConfig
from mrptheory.device import resolve_device
from mrptheory.experiments.multiview.feature_capture import (CONVERGED_FRACTION, accuracy,
                                                             convergence_record,
                                                             sl_class_convergence, sl_summary,
                                                             sl_view_correlations)
from mrptheory.experiments.multiview.conv_learner import ConvLearner, gaussian_kernels, patches_t
from mrptheory.progress import progress
from mrptheory.text import plural
from mrptheory.experiments.multiview.growth import sl_growth_curve
from mrptheory.experiments.multiview.budget import step_plan
from mrptheory.experiments.multiview.common import (MultiViewData, check_finite, log_steps,
                                                    make_data, to_numpy)
from mrptheory.experiments.multiview.config import SLConfig


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
    budget: dict = field(default_factory=dict)  # StepPlan.to_dict: steps run, budget, cap
    convergence: dict = field(default_factory=dict)  # experiments.multiview.feature_capture.convergence_record


def _sl_converged(hist: dict, threshold: float) -> bool:
    """Whether the history so far meets the convergence rule (checked at a log step)."""
    vc = np.stack(hist["view_corr"])
    conv = sl_class_convergence(vc, hist["steps"], threshold)["converged"]
    return bool(conv.mean() >= CONVERGED_FRACTION)


def train_sl(data_cfg: MultiViewConfig, cfg: SLConfig, seeds: list[int], *,
             device: str | torch.device = "auto", data: MultiViewData | None = None,
             show_progress: bool | None = None) -> SLResult:
    """Train S = len(seeds) supervised conv learners at once with full-batch GD on cross-entropy.

    Returns histories of the k x 2 view-correlation matrix Gamma_{i,l} = max_r <w_{i,r}, v_{i,l}>,
    loss, train accuracy and accuracy on fresh multi-view and single-view test sets, the step
    plan (``budget``) and the convergence record (``convergence``). Steps: ``cfg.steps`` exactly
    when given; otherwise until the run meets the convergence rule, from the budget derived from
    the slowest class up to the cap (:func:`~mrptheory.experiments.multiview.budget.step_plan`).
    """
    device = resolve_device(device)
    if data is None:
        data = make_data(data_cfg, seeds, cfg.n_train, cfg.n_test, device)
    k, d = data_cfg.k, data_cfg.d
    conv = cfg.conv
    model = ConvLearner(gaussian_kernels((k, conv.m, d), conv.sigma_0, seeds, STREAM_INIT, device),
                        conv.q, conv.rho)
    y = data.train.y
    P = data_cfg.patches
    # the data are fixed: lay the patches out for the fused kernels once
    xt, xt_multi, xt_single = (patches_t(b.x) for b in (data.train, data.test_multi,
                                                        data.test_single))
    onehot = torch.nn.functional.one_hot(y, k).to(data.train.x.dtype)
    w = model.w  # updated in place
    work_train, work_eval = {}, {}  # reused scratch buffers (D lives in work_train)
    plan = step_plan(data_cfg, cfg, "sl")
    last = plan.max_steps
    log_at = set(log_steps(last, cfg.log_every))
    hist: dict[str, list] = {n: [] for n in ("steps", "view_corr", "loss", "train_acc",
                                             "acc_multi", "acc_single")}
    start = time.perf_counter()
    bar = progress(total=last, desc=f"SL, {plural(len(seeds), 'seed')}", enabled=show_progress)
    with torch.no_grad():
        for step in range(last + 1):
            loss, logits, grad_w = model.loss_and_grads(xt, onehot, P, with_grad=step < last,
                                                        work=work_train)
            if step in log_at or step == last:
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
                if (plan.until_converged and step >= plan.min_steps
                        and _sl_converged(hist, cfg.capture_threshold)):
                    break  # every seed stops here: the run met the convergence rule
            if step == last:
                break
            w.sub_(grad_w, alpha=cfg.lr)
            bar.update(1)
    bar.close()
    res = SLResult(seeds=list(seeds), steps=hist["steps"],
                   **{n: np.stack(hist[n]) for n in hist if n != "steps"},
                   seconds=time.perf_counter() - start, w_final=to_numpy(model.w))
    res.summary = sl_summary(res.view_corr, cfg.capture_threshold)
    res.budget = plan.to_dict(steps_run=res.steps[-1])
    res.convergence = convergence_record(
        sl_class_convergence(res.view_corr, res.steps, cfg.capture_threshold),
        res.steps[-1], "classes", res.budget["source"])
    res.summary["final_acc_multi"] = res.acc_multi[-1].tolist()
    res.summary["final_acc_single"] = res.acc_single[-1].tolist()
    return res


def sl_theory_growth(data_cfg: MultiViewConfig, cfg: SLConfig, c0: float, steps: list[int],
                     n_mc: int = 4000, seed: int = 0) -> np.ndarray:
    """The theory's early-phase growth of the winning view's correlation for this run's settings:
    :func:`mrptheory.experiments.multiview.growth.sl_growth_curve` with its numbers read from the
    data and SL configs (the recursion and its derivation are documented there)."""
    return sl_growth_curve(
        c0, steps, k=data_cfg.k, mu=data_cfg.mu, lr=cfg.lr, q=cfg.q, rho=cfg.rho,
        view_weight_range=data_cfg.view_weight_range, patches_per_view=data_cfg.patches_per_view,
        init_noise_std=cfg.sigma_0 * data_cfg.noise_std * math.sqrt(data_cfg.d),
        n_mc=n_mc, seed=seed)


__all__ = ["SLResult", "train_sl", "sl_theory_growth"]
