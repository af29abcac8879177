"""Training on multi-view data: supervised learning (SL) and mask-reconstruction pretraining (MRP)
followed by a linear probe and fine-tuning -- many seeds trained at once.

Batching: every weight has a leading seed axis S and every step is a handful of batched
matmuls (``bmm`` over the seed axis) plus in-place elementwise passes; the seeds never interact.
Each seed's data, initialisation and masks come from that seed's own generators, so a seed's run
does not depend on which seeds share its batch (``tests/train`` checks batched == looped).

Gradients are in closed form, not autograd (``conv_encode_fused`` / ``conv_weight_grad`` in
:mod:`mrptheory.models.conv_learner`, ``MRPAutoEncoder.loss_and_grads``; ``tests/models`` checks
them against autograd): the activation and its derivative come out of one fused pass over the
pre-activations, scratch buffers are reused across steps, the fixed data sets are laid out for the
matmuls once per run, and the MRP teacher's pre-activations follow the EMA recursion instead of a
third matmul per step. The pixel-target MRP variant still uses autograd. Everything is float32 (the
default dtype): the quantities the claims read (correlations of order sigma_0 = 0.02 up to 2,
accuracies) are far above float32 rounding, and batched == looped agree to ~1e-6.
Where the time goes and why batching wins on a GPU but hardly on a CPU: see
``benchmarks/bench_multiview.py``.

Optimiser: full-batch gradient descent on a fixed training set, as analysed by Allen-Zhu & Li
(Sec. 4: GD on N training samples) and Pan et al. (Sec. 4: GD on the pretraining loss).
Fresh masks eps ~ Bernoulli(1 - mask_ratio) are drawn for every MRP step.

Logging: on a grid of steps we record the feature-capture matrices (k x 2 for SL, 2k for MRP),
losses and accuracies on fresh multi-view and single-view test sets (see ``mrptheory.metrics``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from mrptheory.data.multiview import (STREAM_DECODER, STREAM_INIT, STREAM_MASK, STREAM_PRETRAIN, STREAM_TEST_MULTI,
                                      STREAM_TEST_SINGLE, STREAM_TRAIN, MultiViewBatch,
                                      MultiViewConfig, make_features, sample_multiview,
                                      stream_generator)
from mrptheory.device import resolve_device
from mrptheory.errors import MrpError
from mrptheory.metrics.feature_capture import (accuracy, captured_views_per_class,
                                               kernel_assignment, kernel_feature_correlations,
                                               lottery_hit_rate, lottery_prediction,
                                               max_feature_correlations, sl_view_correlations)
from mrptheory.models.conv_learner import (ConvLearner, conv_encode_fused, conv_weight_grad,
                                          gaussian_kernels, patches_t)
from mrptheory.models.mrp_autoencoder import LinearHead, MRPAutoEncoder
from mrptheory.models.smooth_relu import check_activation, smooth_relu_grad
from mrptheory.progress import progress
from mrptheory.validation import check_choice, check_float, check_int


@dataclass
class SLConfig:
    """Supervised learner (Allen-Zhu & Li, Sec. 4.1) and its GD run.

    Attributes:
        m: kernels per class (theory: m = polylog(k)).
        q: power of the smoothed ReLU (theory: a constant q >= 3).
        rho: threshold of the smoothed ReLU (theory: 1/polylog(k), above the init scale).
        sigma_0: init std of every kernel coordinate, so <w, v> ~ N(0, sigma_0^2) at init
            (theory: sigma_0 = 1/poly(k), well below rho).
        lr: GD step size (theory: eta = 1/poly(k)).
        steps: GD steps.
        n_train: labelled training samples per seed (theory: N = poly(k); the single-view ones,
            about mu N, are memorised through their noise rather than learned through features).
        n_test: samples per seed in each fresh test set (multi-view only and single-view only).
        log_every: record metrics every this many steps.
        capture_threshold: a view counts as captured when its max kernel correlation reaches this
            (order 1: the theory separates Omega(1) from O~(sigma_0)).

    Defaults are the theory-regime values of :mod:`mrptheory.train.multiview_regime`:
    sigma_0 = 0.005 so that sigma_0 / rho = 0.025 (lottery gap); lr = 8 and 500 steps so that
    the early-phase recursion from sigma_0 * E[max of m normals] reaches the capture threshold by
    step ~230 <= steps / 2 (step budget); N = 400 with mu = 0.02 gives mu N = 8 <= k single-view
    training samples (memorisation). The ``noisy`` preset restores sigma_0 = 0.02, lr = 1, 300
    steps.
    """

    m: int = 4
    q: int = 4
    rho: float = 0.2
    sigma_0: float = 0.005
    lr: float = 8.0
    steps: int = 500
    n_train: int = 400
    n_test: int = 500
    log_every: int = 20
    capture_threshold: float = 0.5

    def __post_init__(self) -> None:
        self.m = check_int("m", self.m, 1, 10_000)
        self.q, self.rho = check_activation(self.q, self.rho)
        self.sigma_0 = check_float("sigma_0", self.sigma_0, 0.0, None, low_open=True)
        self.lr = check_float("lr", self.lr, 0.0, None, low_open=True)
        self.steps = check_int("steps", self.steps, 1, 10_000_000)
        self.n_train = check_int("n_train", self.n_train, 1, 10_000_000)
        self.n_test = check_int("n_test", self.n_test, 1, 10_000_000)
        self.log_every = check_int("log_every", self.log_every, 1, 10_000_000)
        self.capture_threshold = check_float("capture_threshold", self.capture_threshold, 0.0,
                                             None, low_open=True)


@dataclass
class MRPConfig:
    """MRP pretraining (Pan et al., Sec. 3-4) then linear probe and fine-tuning.

    Attributes:
        m: the encoder has k*m kernels (Pan et al.: km kernels, not tied to classes).
        q, rho, sigma_0: activation and init, as for SL.
        mask_ratio: probability a patch is masked (eps_p ~ Bernoulli(1 - mask_ratio));
            Pan et al.'s analysis holds for a constant ratio; MAE's default is 0.75, 0.5 here.
        target: ``"teacher"`` (the paper's analysed teacher-student target) or ``"pixel"`` (MAE).
        ema: teacher EMA coefficient tau (data2vec-style mean teacher; 0 = current student).
        target_norm: ``"batch"`` (per-kernel unit RMS over the batch; default), ``"layer"`` or
            ``"none"`` (see :mod:`mrptheory.models.mrp_autoencoder`).
        decoder_init, decoder_shape: the one-layer decoder's initialisation (``"identity"``,
            default, or ``"random"`` N(0, 1/R)) and shape (``"full"`` R x R, default, or
            ``"diagonal"``: one scale per kernel); the paper does not pin either.
        lr: encoder GD step size in pretraining.
        decoder_lr: decoder GD step size (the one-layer linear decoder is trained with the
            encoder, as in an auto-encoder; 0 keeps the identity-initialised decoder fixed).
        steps: pretraining GD steps.
        n_pretrain: unlabelled pretraining samples per seed (same distribution, own stream).
        probe_steps, probe_lr: linear probe (frozen encoder) GD on the labelled set.
        ft_steps, ft_lr, ft_encoder_lr: fine-tuning (head + encoder) GD.
        n_train, n_test, log_every, capture_threshold: as for SL (labelled set = SL's).

    Defaults: sigma_0 = 0.005 as for SL (lottery gap and leak conditions of
    :mod:`mrptheory.train.multiview_regime`); lr = 4 so that MRP's early growth runs on SL's
    time scale: with per-kernel normalised targets, a kernel's target is of order sqrt(k) on the
    ~1/k of samples holding its feature, so its growth per step along that feature is about
    sqrt(k) (1 - mask_ratio) / (1 - 1/k) ~ 1.8 times SL's at equal step size, and
    8 / 1.8 ~ 4; 500 steps as SL (lr 1, 2 and 4 were also run: capture 0.79 / 0.89 / 0.94 of
    features in 500 steps, 4 seeds). The ``noisy`` preset restores sigma_0 = 0.02, lr = 1,
    300 steps.
    """

    m: int = 4
    q: int = 4
    rho: float = 0.2
    sigma_0: float = 0.005
    mask_ratio: float = 0.5
    target: str = "teacher"
    ema: float = 0.99
    target_norm: str = "batch"
    decoder_init: str = "identity"
    decoder_shape: str = "full"
    lr: float = 4.0
    decoder_lr: float = 1.0
    steps: int = 500
    n_pretrain: int = 400
    probe_steps: int = 200
    probe_lr: float = 1.0
    ft_steps: int = 100
    ft_lr: float = 1.0
    ft_encoder_lr: float = 0.1
    n_train: int = 400
    n_test: int = 500
    log_every: int = 20
    capture_threshold: float = 0.5

    def __post_init__(self) -> None:
        self.m = check_int("m", self.m, 1, 10_000)
        self.q, self.rho = check_activation(self.q, self.rho)
        self.sigma_0 = check_float("sigma_0", self.sigma_0, 0.0, None, low_open=True)
        self.mask_ratio = check_float("mask_ratio", self.mask_ratio, 0.0, 1.0, low_open=True,
                                      high_open=True)
        self.target = check_choice("target", self.target, ("teacher", "pixel"))
        self.ema = check_float("ema", self.ema, 0.0, 1.0, high_open=True)
        self.target_norm = check_choice("target_norm", self.target_norm, ("batch", "layer", "none"))
        self.decoder_init = check_choice("decoder_init", self.decoder_init, ("identity", "random"))
        self.decoder_shape = check_choice("decoder_shape", self.decoder_shape, ("full", "diagonal"))
        for name in ("lr", "probe_lr", "ft_lr"):
            setattr(self, name, check_float(name, getattr(self, name), 0.0, None, low_open=True))
        for name in ("decoder_lr", "ft_encoder_lr"):
            setattr(self, name, check_float(name, getattr(self, name), 0.0, None))
        self.steps = check_int("steps", self.steps, 1, 10_000_000)
        for name in ("n_pretrain", "n_train", "n_test", "log_every"):
            setattr(self, name, check_int(name, getattr(self, name), 1, 10_000_000))
        self.probe_steps = check_int("probe_steps", self.probe_steps, 0, 10_000_000)
        self.ft_steps = check_int("ft_steps", self.ft_steps, 0, 10_000_000)
        self.capture_threshold = check_float("capture_threshold", self.capture_threshold, 0.0,
                                             None, low_open=True)


@dataclass
class MultiViewData:
    """Features and data sets of S seeds (all on one device)."""

    features: torch.Tensor  # [S, 2k, d]
    train: MultiViewBatch
    test_multi: MultiViewBatch
    test_single: MultiViewBatch
    pretrain: MultiViewBatch | None = None


def make_data(cfg: MultiViewConfig, seeds: list[int], n_train: int, n_test: int,
              device: torch.device, n_pretrain: int | None = None) -> MultiViewData:
    """Features, labelled training set, fresh multi-/single-view test sets (and pretraining set).

    The single-view test set is drawn from ``cfg.single_view_test_config()`` (weak view well
    below several off-target features, as in the theory; see :mod:`mrptheory.data.multiview`).
    """
    feats = make_features(cfg, seeds, device)
    kw = dict(features=feats, device=device)
    return MultiViewData(
        features=feats,
        train=sample_multiview(cfg, n_train, seeds, stream=STREAM_TRAIN, **kw),
        test_multi=sample_multiview(cfg, n_test, seeds, stream=STREAM_TEST_MULTI, mu=0.0, **kw),
        # single-view test data from the theory's single-view distribution (test_* fields)
        test_single=sample_multiview(cfg.single_view_test_config(), n_test, seeds,
                                     stream=STREAM_TEST_SINGLE, mu=1.0, **kw),
        pretrain=(sample_multiview(cfg, n_pretrain, seeds, stream=STREAM_PRETRAIN, **kw)
                  if n_pretrain else None),
    )


def _log_steps(steps: int, every: int) -> list[int]:
    grid = list(range(0, steps + 1, every))
    return grid if grid[-1] == steps else grid + [steps]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


class DivergenceError(MrpError):
    """GD produced a non-finite loss or weight: the step size is too large for this setting."""


def check_finite(what: str, step: int, lr_text: str, seeds: list[int],
                 *tensors: torch.Tensor) -> None:
    """Raise :class:`DivergenceError` if any seed's tensor holds NaN/inf (first axis = seed).

    Called at every log step and at the end of every loop (a NaN or inf weight stays non-finite,
    so a divergence between two checks is caught at the next one): never silent NaN results.
    """
    bad = torch.zeros(tensors[0].shape[0], dtype=torch.bool, device=tensors[0].device)
    for t in tensors:
        bad |= ~torch.isfinite(t.detach().reshape(t.shape[0], -1)).all(dim=1)
    if bool(bad.any()):
        which = [seeds[i] for i in torch.nonzero(bad).flatten().tolist()]
        raise DivergenceError(f"{what} diverged by step {step} (non-finite loss/weights for seeds "
                              f"{which}) with step size {lr_text}: lower the step size")


# ----------------------------------------------------------------------------------------------
# Supervised learning
# ----------------------------------------------------------------------------------------------


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


def sl_summary(view_corr: np.ndarray, threshold: float) -> dict:
    """Captured views per class, lottery prediction/hit rate from a ``[L, S, k, 2]`` history."""
    c0, cT = torch.as_tensor(view_corr[0]), torch.as_tensor(view_corr[-1])
    counts = captured_views_per_class(cT, threshold)  # [S, k]
    one = counts == 1
    return {
        "captured_views_per_class": counts.tolist(),
        "frac_classes_one_view": one.float().mean(dim=1).tolist(),
        "frac_classes_two_views": (counts == 2).float().mean(dim=1).tolist(),
        "frac_classes_no_view": (counts == 0).float().mean(dim=1).tolist(),
        "lottery_prediction": lottery_prediction(c0).tolist(),
        "lottery_hit_rate_all": lottery_hit_rate(c0, cT).tolist(),
        "lottery_hit_rate_one_view": lottery_hit_rate(c0, cT, one).tolist(),
    }


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
    model = ConvLearner(gaussian_kernels((k, cfg.m, d), cfg.sigma_0, seeds, STREAM_INIT, device),
                        cfg.q, cfg.rho)
    x, y = data.train.x, data.train.y
    S, N = y.shape
    m, q, rho, P = cfg.m, cfg.q, cfg.rho, data_cfg.P
    # the data are fixed: lay the patches out for the fused kernels once
    xt, xt_multi, xt_single = (patches_t(b.x) for b in (data.train, data.test_multi,
                                                        data.test_single))
    onehot = torch.nn.functional.one_hot(y, k).to(x.dtype)
    w = model.w  # updated in place

    work_train, work_eval = {}, {}  # reused scratch buffers (D lives in work_train)

    def logits_of(xt_: torch.Tensor, with_grad: bool = False):
        h, D = conv_encode_fused(xt_, w.detach().view(S, k * m, d), q, rho, P,
                                 with_grad=with_grad,
                                 work=work_train if xt_ is xt else work_eval)
        return h.view(S, -1, k, m).sum(dim=-1), D

    log_at = set(_log_steps(cfg.steps, cfg.log_every))
    hist: dict[str, list] = {n: [] for n in ("steps", "view_corr", "loss", "train_acc",
                                             "acc_multi", "acc_single")}
    start = time.perf_counter()
    bar = progress(total=cfg.steps, desc=f"SL x{len(seeds)} seeds", enabled=show_progress)
    # Closed-form GD (no autograd): with p = softmax(F(X)), dL_s/dF = (p - onehot(y)) / N for
    # the per-seed mean cross-entropy, and every kernel of class i gets its class's logit
    # gradient, pushed through act' by conv_weight_grad. Checked against autograd in tests.
    with torch.no_grad():
        for step in range(cfg.steps + 1):
            logits, D = logits_of(xt, with_grad=step < cfg.steps)
            logp = torch.log_softmax(logits, dim=-1)
            loss = -(logp * onehot).sum(dim=-1).mean(dim=1)  # [S] cross-entropy
            if step in log_at or step == cfg.steps:
                check_finite("SL training", step, f"lr={cfg.lr:g}", seeds, loss, w)
            if step in log_at:
                hist["steps"].append(step)
                hist["view_corr"].append(_np(sl_view_correlations(w, data.features)))
                hist["loss"].append(_np(loss))
                hist["train_acc"].append(_np(accuracy(logits, y)))
                hist["acc_multi"].append(_np(accuracy(logits_of(xt_multi)[0], data.test_multi.y)))
                hist["acc_single"].append(_np(accuracy(logits_of(xt_single)[0],
                                                       data.test_single.y)))
                bar.set_postfix(loss=f"{float(loss.mean()):.3f}")
            if step == cfg.steps:
                break
            dlogits = logp.exp_().sub_(onehot).mul_(1.0 / N)  # [S, N, k]
            dh = dlogits.unsqueeze(-1).expand(S, N, k, m).reshape(S, N, k * m)
            w.sub_(conv_weight_grad(xt, D, dh, q, rho).view_as(w), alpha=cfg.lr)
            bar.update(1)
    bar.close()
    res = SLResult(seeds=list(seeds), steps=hist["steps"],
                   **{n: np.stack(hist[n]) for n in hist if n != "steps"},
                   seconds=time.perf_counter() - start, w_final=_np(model.w))
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


# ----------------------------------------------------------------------------------------------
# MRP pretraining + linear probe + fine-tuning
# ----------------------------------------------------------------------------------------------


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


def _masks(seeds: list[int], gens: list[torch.Generator], n: int, P: int, keep_prob: float,
           device: torch.device) -> torch.Tensor:
    """Fresh Bernoulli(keep_prob) patch masks, ``[S, n, P]``, one generator per seed."""
    return torch.stack([(torch.rand(n, P, generator=g, device=device) < keep_prob).float()
                        for g in gens])


def _train_head(head: LinearHead, y: torch.Tensor, steps: int, lr: float, *,
                h_fixed: torch.Tensor | None = None, encoder: tuple | None = None,
                encoder_lr: float = 0.0, on_log=None, log_at: set[int] | None = None,
                desc: str = "", show_progress: bool | None = None,
                seeds: list[int] | None = None) -> None:
    """Full-batch GD on cross-entropy of ``head(h)``, in closed form (no autograd).

    Either ``h_fixed`` (linear probe: frozen features ``[S, N, R]``) or
    ``encoder = (xt, w, q, rho, P)`` (fine-tuning: h = conv_encode of the patches ``xt`` from
    :func:`patches_t`, and the kernels ``w`` are trained too, with ``encoder_lr``).
    With z = (h - mean) / std and G = (softmax(z A^T + b) - onehot(y)) / N:
    dL/dA = G^T z, dL/db = sum_n G, dL/dh = G A / std.
    """
    S, N = y.shape
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
            z = (h - head.mean) / head.std
            logits = torch.baddbmm(b, z, A.transpose(1, 2))
            G = torch.softmax(logits, dim=-1).sub_(onehot).mul_(1.0 / N)  # [S, N, k]
            if encoder is not None:
                dh = torch.bmm(G, A).div_(head.std)
                w.sub_(conv_weight_grad(xt, D, dh, q, rho), alpha=encoder_lr)
            A.sub_(torch.bmm(G.transpose(1, 2), z), alpha=lr)
            b.sub_(G.sum(dim=1, keepdim=True), alpha=lr)
            bar.update(1)
    bar.close()


def train_mrp(data_cfg: MultiViewConfig, cfg: MRPConfig, seeds: list[int], *,
              device: str | torch.device = "auto", data: MultiViewData | None = None,
              show_progress: bool | None = None) -> MRPResult:
    """MRP-pretrain S encoders at once, then linear-probe and fine-tune them on the labelled set.

    Pretraining: full-batch GD on the reconstruction loss with fresh masks each step; the EMA
    teacher follows the student after every step. Probe: frozen encoder, linear head.
    Fine-tuning: head + encoder, starting from the pretrained encoder; the 2k feature
    correlations are logged during fine-tuning (does the captured set shrink?).
    """
    device = resolve_device(device)
    if data is None or data.pretrain is None:
        data = make_data(data_cfg, seeds, cfg.n_train, cfg.n_test, device,
                         n_pretrain=cfg.n_pretrain)
    k, d, P = data_cfg.k, data_cfg.d, data_cfg.P
    R = k * cfg.m
    w0 = gaussian_kernels((R, d), cfg.sigma_0, seeds, STREAM_INIT, device)
    model = MRPAutoEncoder(w0, cfg.q, cfg.rho, target=cfg.target, target_norm=cfg.target_norm,
                           decoder_init=cfg.decoder_init, decoder_shape=cfg.decoder_shape,
                           decoder_random=(gaussian_kernels((R, R), 1.0, seeds, STREAM_DECODER,
                                                            device)
                                           if cfg.decoder_init == "random" else None))
    mask_gens = [stream_generator(s, STREAM_MASK, device) for s in seeds]
    xp = data.pretrain.x
    xpt = patches_t(xp)
    closed_form = cfg.target == "teacher"  # the pixel variant keeps autograd
    keep_prob = 1.0 - cfg.mask_ratio
    log_at = set(_log_steps(cfg.steps, cfg.log_every))
    hist: dict[str, list] = {n: [] for n in ("steps", "feature_corr", "multi_kernels", "loss")}
    start = time.perf_counter()
    bar = progress(total=cfg.steps, desc=f"MRP x{len(seeds)} seeds", enabled=show_progress)
    for step in range(cfg.steps + 1):
        keep = _masks(seeds, mask_gens, xp.shape[1], P, keep_prob, device)
        if closed_form:
            loss, grad_w, grad_dec = model.loss_and_grads(xpt, keep, P)
        else:
            loss = model.loss(xp, keep)
        if step in log_at or step == cfg.steps:
            check_finite("MRP pretraining", step, f"lr={cfg.lr:g}, decoder_lr={cfg.decoder_lr:g}",
                         seeds, loss, model.w, model.decoder)
        if step in log_at:
            with torch.no_grad():
                corr = kernel_feature_correlations(model.w, data.features)
                hist["steps"].append(step)
                hist["feature_corr"].append(_np(corr.amax(dim=1)))
                hist["multi_kernels"].append(_np(kernel_assignment(corr, cfg.capture_threshold)
                                                 ["multi"]))
                hist["loss"].append(_np(loss))
            bar.set_postfix(loss=f"{float(loss.detach().mean()):.3g}")
        if step == cfg.steps:
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
    q, rho = cfg.q, cfg.rho
    xt_tr, xt_tm, xt_ts = (patches_t(b.x) for b in (data.train, data.test_multi,
                                                    data.test_single))

    work_eval: dict = {}

    def encode(xt: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return conv_encode_fused(xt, w, q, rho, P, work=work_eval)[0]

    # linear probe: frozen encoder
    with torch.no_grad():
        h_tr, h_tm, h_ts = encode(xt_tr, w_pre), encode(xt_tm, w_pre), encode(xt_ts, w_pre)
    probe = LinearHead(h_tr, k)
    _train_head(probe, data.train.y, cfg.probe_steps, cfg.probe_lr, h_fixed=h_tr,
                desc="linear probe", show_progress=show_progress, seeds=list(seeds))
    with torch.no_grad():
        probe_multi = accuracy(probe(h_tm), data.test_multi.y)
        probe_single = accuracy(probe(h_ts), data.test_single.y)

    # fine-tuning: head (from the probe's standardisation) + encoder
    w_ft = w_pre.clone()
    head = LinearHead(h_tr, k)
    ft_log_at = set(_log_steps(cfg.ft_steps, max(1, min(cfg.log_every, cfg.ft_steps))))
    ft_hist: dict[str, list] = {n: [] for n in ("steps", "feature_corr", "acc_multi", "acc_single")}

    def log_ft(step: int) -> None:
        with torch.no_grad():
            ft_hist["steps"].append(step)
            ft_hist["feature_corr"].append(_np(max_feature_correlations(w_ft, data.features)))
            ft_hist["acc_multi"].append(_np(accuracy(head(encode(xt_tm, w_ft)),
                                                     data.test_multi.y)))
            ft_hist["acc_single"].append(_np(accuracy(head(encode(xt_ts, w_ft)),
                                                      data.test_single.y)))

    _train_head(head, data.train.y, cfg.ft_steps, cfg.ft_lr, encoder=(xt_tr, w_ft, q, rho, P),
                encoder_lr=cfg.ft_encoder_lr, on_log=log_ft, log_at=ft_log_at, desc="fine-tune",
                show_progress=show_progress, seeds=list(seeds))
    res = MRPResult(
        seeds=list(seeds), steps=hist["steps"],
        feature_corr=np.stack(hist["feature_corr"]), multi_kernels=np.stack(hist["multi_kernels"]),
        loss=np.stack(hist["loss"]), ft_steps=ft_hist["steps"],
        ft_feature_corr=np.stack(ft_hist["feature_corr"]),
        ft_acc_multi=np.stack(ft_hist["acc_multi"]), ft_acc_single=np.stack(ft_hist["acc_single"]),
        probe_acc_multi=_np(probe_multi), probe_acc_single=_np(probe_single),
        final_corr=_np(final_corr), seconds=time.perf_counter() - start,
        w_pretrained=_np(w_pre), w_finetuned=_np(w_ft))
    res.summary = mrp_summary(res, cfg.capture_threshold)
    return res


def mrp_summary(res: MRPResult, threshold: float) -> dict:
    """Captured features, multi-capture kernels and fine-tuning retention of an MRP run."""
    corr = torch.as_tensor(res.final_corr)
    assign = kernel_assignment(corr, threshold)
    captured = assign["captured"]  # [S, 2k]
    S, F = captured.shape
    per_class = captured.view(S, F // 2, 2).sum(-1)
    pre = torch.as_tensor(res.ft_feature_corr[0]) >= threshold
    post = torch.as_tensor(res.ft_feature_corr[-1]) >= threshold
    top2 = corr.topk(2, dim=-1).indices  # [S, R, 2]
    same_class = (top2[..., 0] // 2) == (top2[..., 1] // 2)
    multi_same = ((assign["n_captured"] >= 2) & same_class).sum(dim=1)
    return {
        "frac_features_captured": captured.float().mean(dim=1).tolist(),
        # of the multi-feature kernels, those whose two strongest features are one class's views
        "multi_kernels_same_class": multi_same.tolist(),
        "captured_views_per_class": per_class.tolist(),
        "kernels_capturing_two_or_more": assign["multi"].tolist(),
        "kernels_capturing_any": (assign["n_captured"] >= 1).sum(dim=1).tolist(),
        "features_lost_in_finetune": (pre & ~post).sum(dim=1).tolist(),
        "features_captured_before_ft": pre.sum(dim=1).tolist(),
        "features_captured_after_ft": post.sum(dim=1).tolist(),
        "probe_acc_multi": res.probe_acc_multi.tolist(),
        "probe_acc_single": res.probe_acc_single.tolist(),
        "ft_acc_multi": res.ft_acc_multi[-1].tolist(),
        "ft_acc_single": res.ft_acc_single[-1].tolist(),
    }


def seed_list(n_seeds: int, base_seed: int = 0) -> list[int]:
    """Seeds ``base_seed, ..., base_seed + n_seeds - 1``."""
    n_seeds = check_int("seeds", n_seeds, 1, 100_000)
    return list(range(base_seed, base_seed + n_seeds))


__all__ = ["SLConfig", "MRPConfig", "SLResult", "MRPResult", "MultiViewData", "make_data",
           "train_sl", "train_mrp", "sl_theory_growth", "sl_summary", "mrp_summary",
           "seed_list"]
