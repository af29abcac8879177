"""MRP on multi-view data, S seeds at once: pretraining, then a linear probe and fine-tuning.

Pretraining: full-batch GD on the reconstruction loss of :class:`~mrptheory.experiments.multiview.
mrp_autoencoder.MRPAutoEncoder` (closed-form gradients for the teacher target, autograd for the
pixel variant), with fresh Bernoulli(1 - mask_ratio) patch masks every step and the EMA teacher
following the student. Probe and fine-tuning: full-batch GD on cross-entropy of a
:class:`~mrptheory.experiments.multiview.mrp_autoencoder.LinearHead` (closed form,
:meth:`~mrptheory.experiments.multiview.mrp_autoencoder.LinearHead.loss_and_grads`), the encoder frozen (probe)
or trained too (fine-tuning). :func:`~mrptheory.experiments.multiview.feature_capture.mrp_summary` turns the
histories into captured features and fine-tuning retention. Batching, float32 and the
optimiser: see :mod:`mrptheory.experiments.multiview`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from mrptheory.experiments.multiview.data import (STREAM_DECODER, STREAM_INIT, STREAM_MASK,
                                                  MultiViewConfig, stream_generator)
from mrptheory.device import resolve_device
from mrptheory.experiments.multiview.feature_capture import (CONVERGED_FRACTION, accuracy,
                                                             convergence_record,
                                                             feature_convergence, kernel_assignment,
                                                             kernel_feature_correlations,
                                                             max_feature_correlations, mrp_summary)
from mrptheory.experiments.multiview.conv_learner import (conv_encode_fused, conv_weight_grad,
                                                          gaussian_kernels, patches_t)
from mrptheory.experiments.multiview.mrp_autoencoder import LinearHead, MRPAutoEncoder
from mrptheory.progress import progress
from mrptheory.text import plural
from mrptheory.experiments.multiview.budget import step_plan
from mrptheory.experiments.multiview.common import (MultiViewData, check_finite, log_steps,
                                                    make_data, to_numpy)
from mrptheory.experiments.multiview.config import MRPConfig


@dataclass
class MRPResult:
    """Histories (numpy; leading axis = log step, then seed) and summaries of an MRP run."""

    seeds: list[int]
    steps: list[int]
    feature_corr: np.ndarray  # [L, S, 2k] max_r <w_r, v_f> during pretraining
    multi_kernels: np.ndarray  # [L, S] kernels above threshold for >= 2 features
    loss: np.ndarray  # [L, S]
    ft_steps: list[int]
    ft_feature_corr: np.ndarray  # [L', S, 2k] during fine-tuning
    ft_acc_multi: np.ndarray  # [L', S]
    ft_acc_single: np.ndarray  # [L', S]
    probe_acc_multi: np.ndarray  # [S]
    probe_acc_single: np.ndarray  # [S]
    final_corr: np.ndarray  # [S, R, 2k] kernel-feature correlations after pretraining
    seconds: float = 0.0
    w_pretrained: np.ndarray | None = None  # [S, R, d]
    w_finetuned: np.ndarray | None = None  # [S, R, d]
    summary: dict = field(default_factory=dict)
    budget: dict = field(default_factory=dict)  # StepPlan.to_dict of pretraining
    convergence: dict = field(default_factory=dict)  # pretraining, per feature
    ft_convergence: dict = field(default_factory=dict)  # fine-tuning, per feature


def _masks(seeds: list[int], gens: list[torch.Generator], n: int, P: int, keep_prob: float,
           device: torch.device) -> torch.Tensor:
    """Fresh Bernoulli(keep_prob) patch masks, ``[S, n, P]``, one generator per seed."""
    return torch.stack([(torch.rand(n, P, generator=g, device=device) < keep_prob).float()
                        for g in gens])


def train_linear_head(head: LinearHead, y: torch.Tensor, steps: int, lr: float, *,
                      h_fixed: torch.Tensor | None = None, encoder: tuple | None = None,
                      encoder_lr: float = 0.0, on_log=None, log_at: set[int] | None = None,
                      desc: str = "", show_progress: bool | None = None,
                      seeds: list[int] | None = None) -> None:
    """Full-batch GD on cross-entropy of ``head(h)``, gradients from
    :meth:`LinearHead.loss_and_grads` (closed form, no autograd); ``y: [S, N]`` labels.

    Either ``h_fixed`` (linear probe: frozen features ``[S, N, R]``) or
    ``encoder = (xt, w, q, rho, P)`` (fine-tuning: h = conv_encode of the patches ``xt`` from
    :func:`patches_t`, and the kernels ``w [S, R, d]`` are trained too, with ``encoder_lr``,
    through dL/dh and :func:`conv_weight_grad`). ``on_log(step)`` is called at the steps in
    ``log_at`` (before that step's update).
    """
    S = y.shape[0]
    seeds = list(range(S)) if seeds is None else seeds
    k = head.A.shape[1]
    onehot = torch.nn.functional.one_hot(y, k).to(head.A.dtype)
    A, b = head.A, head.b
    work: dict = {}  # reused scratch buffers of the encoder
    bar = progress(total=steps, desc=desc, enabled=show_progress)
    with torch.no_grad():
        for step in range(steps + 1):
            if (log_at is not None and step in log_at) or step == steps or step % 50 == 0:
                check_finite(desc or "linear head", step,
                             f"head lr={lr:g}, encoder lr={encoder_lr:g}", seeds,
                             A, *(() if encoder is None else (encoder[1],)))
            if on_log is not None and log_at is not None and step in log_at:
                on_log(step)
            if step == steps:
                break
            if encoder is not None:
                xt, w, q, rho, P = encoder
                h, D = conv_encode_fused(xt, w.detach(), q, rho, P, with_grad=True, work=work)
            else:
                h = h_fixed
            _, grad_A, grad_b, dh = head.loss_and_grads(h, onehot, input_grad=encoder is not None)
            if encoder is not None:
                w.sub_(conv_weight_grad(xt, D, dh, q, rho), alpha=encoder_lr)
            A.sub_(grad_A, alpha=lr)
            b.sub_(grad_b, alpha=lr)
            bar.update(1)
    bar.close()


def train_mrp(data_cfg: MultiViewConfig, cfg: MRPConfig, seeds: list[int], *,
              device: str | torch.device = "auto", data: MultiViewData | None = None,
              show_progress: bool | None = None) -> MRPResult:
    """MRP-pretrain S encoders at once, then linear-probe and fine-tune them on the labelled set.

    Pretraining: full-batch GD on the reconstruction loss with fresh masks each step; the EMA
    teacher follows the student after every step. Probe: frozen encoder, linear head.
    Fine-tuning: head + encoder, starting from the pretrained encoder; the 2k feature
    correlations are logged during fine-tuning (does the captured set shrink?). Pretraining
    steps: ``cfg.steps`` exactly when given, else until converged between the derived budget
    and its cap (:func:`~mrptheory.experiments.multiview.budget.step_plan`); the convergence records
    of pretraining and fine-tuning are in ``convergence`` / ``ft_convergence``.
    """
    device = resolve_device(device)
    if data is None or data.pretrain is None:
        data = make_data(data_cfg, seeds, cfg.n_train, cfg.n_test, device,
                         n_pretrain=cfg.n_pretrain)
    k, d, P = data_cfg.k, data_cfg.d, data_cfg.patches
    conv = cfg.conv
    R = k * conv.m
    w0 = gaussian_kernels((R, d), conv.sigma_0, seeds, STREAM_INIT, device)
    model = MRPAutoEncoder(w0, conv.q, conv.rho, target=cfg.target, target_norm=cfg.target_norm,
                           decoder_init=cfg.decoder_init, decoder_shape=cfg.decoder_shape,
                           decoder_random=(gaussian_kernels((R, R), 1.0, seeds, STREAM_DECODER,
                                                            device)
                                           if cfg.decoder_init == "random" else None))
    mask_gens = [stream_generator(s, STREAM_MASK, device) for s in seeds]
    xp = data.pretrain.x
    xpt = patches_t(xp)
    closed_form = cfg.target == "teacher"  # the pixel variant keeps autograd
    keep_prob = 1.0 - cfg.mask_ratio
    plan = step_plan(data_cfg, cfg, "mrp")
    last = plan.max_steps
    log_at = set(log_steps(last, cfg.log_every))
    hist: dict[str, list] = {n: [] for n in ("steps", "feature_corr", "multi_kernels", "loss")}
    start = time.perf_counter()
    bar = progress(total=last, desc=f"MRP, {plural(len(seeds), 'seed')}", enabled=show_progress)
    for step in range(last + 1):
        keep = _masks(seeds, mask_gens, xp.shape[1], P, keep_prob, device)
        if closed_form:
            loss, grad_w, grad_dec = model.loss_and_grads(xpt, keep, P)
        else:
            loss = model.loss(xp, keep)
        if step in log_at or step == last:
            check_finite("MRP pretraining", step, f"lr={cfg.lr:g}, decoder_lr={cfg.decoder_lr:g}",
                         seeds, loss, model.w, model.decoder)
        if step in log_at:
            with torch.no_grad():
                corr = kernel_feature_correlations(model.w, data.features)
                hist["steps"].append(step)
                hist["feature_corr"].append(to_numpy(corr.amax(dim=1)))
                hist["multi_kernels"].append(to_numpy(kernel_assignment(
                    corr, cfg.capture_threshold)["multi"]))
                hist["loss"].append(to_numpy(loss))
            bar.set_postfix(loss=f"{float(loss.detach().mean()):.3g}")
            if plan.until_converged and step >= plan.min_steps:
                settled = feature_convergence(np.stack(hist["feature_corr"]), hist["steps"])
                if settled["converged"].mean() >= CONVERGED_FRACTION:
                    break  # every seed stops here: pretraining met the convergence rule
        if step == last:
            break
        if not closed_form:
            grad_w, grad_dec = torch.autograd.grad(loss.sum(), [model.w, model.decoder])
        with torch.no_grad():
            model.w.add_(grad_w, alpha=-cfg.lr)
            if cfg.decoder_lr > 0:
                model.decoder.add_(grad_dec, alpha=-cfg.decoder_lr)
            model.update_teacher(cfg.ema)
        bar.update(1)
    bar.close()
    w_pre = model.w.detach().clone()
    final_corr = kernel_feature_correlations(w_pre, data.features)
    q, rho = conv.q, conv.rho
    xt_tr, xt_tm, xt_ts = (patches_t(b.x) for b in (data.train, data.test_multi,
                                                    data.test_single))

    work_eval: dict = {}

    def encode(xt: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return conv_encode_fused(xt, w, q, rho, P, work=work_eval)[0]

    # linear probe: frozen encoder
    with torch.no_grad():
        h_tr, h_tm, h_ts = encode(xt_tr, w_pre), encode(xt_tm, w_pre), encode(xt_ts, w_pre)
    probe = LinearHead(h_tr, k)
    train_linear_head(probe, data.train.y, cfg.probe_steps, cfg.probe_lr, h_fixed=h_tr,
                      desc="linear probe", show_progress=show_progress, seeds=list(seeds))
    with torch.no_grad():
        probe_multi = accuracy(probe(h_tm), data.test_multi.y)
        probe_single = accuracy(probe(h_ts), data.test_single.y)

    # fine-tuning: head (from the probe's standardisation) + encoder
    w_ft = w_pre.clone()
    head = LinearHead(h_tr, k)
    ft_log_at = set(log_steps(cfg.ft_steps, max(1, min(cfg.log_every, cfg.ft_steps))))
    ft_hist: dict[str, list] = {n: [] for n in ("steps", "feature_corr", "acc_multi", "acc_single")}

    def log_ft(step: int) -> None:
        with torch.no_grad():
            ft_hist["steps"].append(step)
            ft_hist["feature_corr"].append(to_numpy(max_feature_correlations(w_ft, data.features)))
            ft_hist["acc_multi"].append(to_numpy(accuracy(head(encode(xt_tm, w_ft)),
                                                          data.test_multi.y)))
            ft_hist["acc_single"].append(to_numpy(accuracy(head(encode(xt_ts, w_ft)),
                                                           data.test_single.y)))

    train_linear_head(head, data.train.y, cfg.ft_steps, cfg.ft_lr,
                      encoder=(xt_tr, w_ft, q, rho, P), encoder_lr=cfg.ft_encoder_lr,
                      on_log=log_ft, log_at=ft_log_at, desc="fine-tune",
                      show_progress=show_progress, seeds=list(seeds))
    res = MRPResult(
        seeds=list(seeds), steps=hist["steps"],
        feature_corr=np.stack(hist["feature_corr"]), multi_kernels=np.stack(hist["multi_kernels"]),
        loss=np.stack(hist["loss"]), ft_steps=ft_hist["steps"],
        ft_feature_corr=np.stack(ft_hist["feature_corr"]),
        ft_acc_multi=np.stack(ft_hist["acc_multi"]), ft_acc_single=np.stack(ft_hist["acc_single"]),
        probe_acc_multi=to_numpy(probe_multi), probe_acc_single=to_numpy(probe_single),
        final_corr=to_numpy(final_corr), seconds=time.perf_counter() - start,
        w_pretrained=to_numpy(w_pre), w_finetuned=to_numpy(w_ft))
    res.summary = summarise_mrp(res, cfg.capture_threshold)
    res.budget = plan.to_dict(steps_run=res.steps[-1])
    res.convergence = convergence_record(feature_convergence(res.feature_corr, res.steps),
                                         res.steps[-1], "features", res.budget["source"])
    res.ft_convergence = convergence_record(
        feature_convergence(res.ft_feature_corr, res.ft_steps, floor=cfg.capture_threshold),
        cfg.ft_steps, "features", "explicit ft_steps")
    return res


def summarise_mrp(res: MRPResult, threshold: float) -> dict:
    """:func:`~mrptheory.experiments.multiview.feature_capture.mrp_summary` of an :class:`MRPResult`."""
    return mrp_summary(res.final_corr, res.ft_feature_corr, res.probe_acc_multi,
                       res.probe_acc_single, res.ft_acc_multi, res.ft_acc_single, threshold)


__all__ = ["MRPResult", "train_mrp", "train_linear_head", "summarise_mrp"]
