"""Configurations of the multi-view learners: the shared conv part, SL, and MRP + probe + fine-tune.

The conv learner's fields (kernels per class m, smoothed-ReLU power q and threshold rho, init
std sigma_0) and the labelled-data / logging fields (n_train, n_test, log_every,
capture_threshold) are common to :class:`SLConfig` and :class:`MRPConfig`. They are validated
once, by :func:`check_shared_fields` (the conv part through :class:`ConvConfig`), and the conv
part is available as one object, ``cfg.conv``.

Why the fields stay flat rather than nested (``SLConfig(conv=ConvConfig(...))``): the configs
are serialised field by field into every saved JSON (``results.to_jsonable``), built from CLI
options by keyword (``SLConfig(m=..., sigma_0=...)``), swept by field name
(``dataclasses.replace(cfg, sigma_0=...)``, ``--sweep sigma_0=...``) and compared by
fingerprint for resuming. A nested field would change all four (the saved JSON would gain a
``conv`` sub-dict and every stored fingerprint would go stale); a flat dataclass with the shared
validation in one helper and a ``conv`` view removes the duplication and keeps every saved
number, key and option exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mrptheory.experiments.multiview.smooth_relu import check_activation
from mrptheory.validation import check_choice, check_float, check_int


@dataclass(frozen=True)
class ConvConfig:
    """The two-layer conv learner shared by SL and MRP (validated on construction).

    Attributes:
        m: kernels per class (SL: m per class; MRP: k*m kernels not tied to classes).
        q: power of the smoothed ReLU (theory: a constant q >= 3).
        rho: threshold of the smoothed ReLU (theory: 1/polylog(k), above the init scale).
        sigma_0: init std of every kernel coordinate (theory: 1/poly(k), well below rho).
    """

    m: int = 4
    q: int = 4
    rho: float = 0.2
    sigma_0: float = 0.005

    def __post_init__(self) -> None:
        object.__setattr__(self, "m", check_int("m", self.m, 1, 10_000))
        q, rho = check_activation(self.q, self.rho)
        object.__setattr__(self, "q", q)
        object.__setattr__(self, "rho", rho)
        object.__setattr__(self, "sigma_0", check_float("sigma_0", self.sigma_0, 0.0, None,
                                                        low_open=True))


def check_shared_fields(cfg: Any) -> None:
    """Validate (and normalise in place) the fields SL and MRP configs share.

    The conv part (m, q, rho, sigma_0) through :class:`ConvConfig`; then the labelled-set sizes,
    the logging interval and the capture threshold.
    """
    conv = ConvConfig(cfg.m, cfg.q, cfg.rho, cfg.sigma_0)
    cfg.m, cfg.q, cfg.rho, cfg.sigma_0 = conv.m, conv.q, conv.rho, conv.sigma_0
    for name in ("n_train", "n_test", "log_every"):
        setattr(cfg, name, check_int(name, getattr(cfg, name), 1, 10_000_000))
    cfg.capture_threshold = check_float("capture_threshold", cfg.capture_threshold, 0.0, None,
                                        low_open=True)


class _HasConv:
    """Mixin of :class:`SLConfig` and :class:`MRPConfig` (no dataclass fields of its own, so the
    configs' fields, their order and their serialised form are unchanged)."""

    m: int
    q: int
    rho: float
    sigma_0: float

    @property
    def conv(self) -> ConvConfig:
        """The conv learner's kernels per class, activation and initialisation."""
        return ConvConfig(self.m, self.q, self.rho, self.sigma_0)


@dataclass
class SLConfig(_HasConv):
    """Supervised learner (Allen-Zhu & Li, Sec. 4.1) and its GD run.

    Attributes:
        m: kernels per class (theory: m = polylog(k)).
        q: power of the smoothed ReLU (theory: a constant q >= 3).
        rho: threshold of the smoothed ReLU (theory: 1/polylog(k), above the init scale).
        sigma_0: init std of every kernel coordinate, so <w, v> ~ N(0, sigma_0^2) at init
            (theory: sigma_0 = 1/poly(k), well below rho).
        lr: GD step size (theory: eta = 1/poly(k)).
        steps: GD steps; None (default) = train until converged, at least the budget derived
            from the slowest class and at most ``BUDGET_CAP`` times it
            (:mod:`mrptheory.experiments.multiview.budget`); an explicit number runs exactly that
            many steps and the run says whether it converged.
        n_train: labelled training samples per seed (theory: N = poly(k); the single-view ones,
            about mu N, are memorised through their noise rather than learned through features).
        n_test: samples per seed in each fresh test set (multi-view only and single-view only).
        log_every: record metrics every this many steps.
        capture_threshold: a view counts as captured when its max kernel correlation reaches this
            (order 1: the theory separates Omega(1) from O~(sigma_0)).

    Defaults are the theory-regime values of :mod:`mrptheory.experiments.multiview.regime`:
    sigma_0 = 0.005 so that sigma_0 / rho = 0.025 (lottery gap); lr = 8, with the step budget
    derived from the recursion at the slowest (5%-quantile) class (2000 steps at these values,
    see :mod:`mrptheory.experiments.multiview.budget`); N = 400 with the data's mu = 0 (no single-view
    training samples: at d < 10 N P their noise cannot be memorised; memorisation condition). The ``noisy`` preset restores sigma_0 = 0.02, lr = 1, 300
    steps.
    """

    m: int = 4
    q: int = 4
    rho: float = 0.2
    sigma_0: float = 0.005
    lr: float = 8.0
    steps: int | None = None
    n_train: int = 400
    n_test: int = 500
    log_every: int = 20
    capture_threshold: float = 0.5

    def __post_init__(self) -> None:
        check_shared_fields(self)
        self.lr = check_float("lr", self.lr, 0.0, None, low_open=True)
        if self.steps is not None:
            self.steps = check_int("steps", self.steps, 1, 10_000_000)


@dataclass
class MRPConfig(_HasConv):
    """MRP pretraining (Pan et al., Sec. 3-4) then linear probe and fine-tuning.

    Attributes:
        m: the encoder has k*m kernels (Pan et al.: km kernels, not tied to classes).
        q, rho, sigma_0: activation and init, as for SL.
        mask_ratio: probability a patch is masked (eps_p ~ Bernoulli(1 - mask_ratio));
            Pan et al.'s analysis holds for a constant ratio; MAE's default is 0.75, 0.5 here.
        target: ``"teacher"`` (the paper's analysed teacher-student target) or ``"pixel"`` (MAE).
        ema: teacher EMA coefficient tau (data2vec-style mean teacher; 0 = current student).
        target_norm: ``"batch"`` (per-kernel unit RMS over the batch; default), ``"layer"`` or
            ``"none"`` (see :mod:`mrptheory.experiments.multiview.mrp_autoencoder`).
        decoder_init, decoder_shape: the one-layer decoder's initialisation (``"identity"``,
            default, or ``"random"`` N(0, 1/R)) and shape (``"full"`` R x R, default, or
            ``"diagonal"``: one scale per kernel); the paper does not pin either.
        lr: encoder GD step size in pretraining.
        decoder_lr: decoder GD step size (the one-layer linear decoder is trained with the
            encoder, as in an auto-encoder; 0 keeps the identity-initialised decoder fixed).
        steps: pretraining GD steps; None (default) = until converged, between the budget
            derived from the slowest feature and ``MRP_BUDGET_CAP`` (20) times it.
        n_pretrain: unlabelled pretraining samples per seed (same distribution, own stream).
        probe_steps, probe_lr: linear probe (frozen encoder) GD on the labelled set.
        ft_steps, ft_lr, ft_encoder_lr: fine-tuning (head + encoder) GD.
        n_train, n_test, log_every, capture_threshold: as for SL (labelled set = SL's).

    Defaults: sigma_0 = 0.005 as for SL (lottery gap and leak conditions of
    :mod:`mrptheory.experiments.multiview.regime`); lr = 4 so that MRP's early growth runs on SL's
    time scale: with per-kernel normalised targets, a kernel's target is of order sqrt(k) on the
    ~1/k of samples holding its feature, so its growth per step along that feature is about
    sqrt(k) (1 - mask_ratio) / (1 - 1/k) ~ 1.8 times SL's at equal step size, and
    8 / 1.8 ~ 4 (lr 1, 2 and 4 were also run: capture 0.79 / 0.89 / 0.94 of features in 500
    steps, 4 seeds); the step budget is derived and the run goes on until converged (see
    ``steps``; at the defaults it settled after ~1200 steps). The ``noisy`` preset restores
    sigma_0 = 0.02, lr = 1, 300 steps.
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
    steps: int | None = None
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
        check_shared_fields(self)
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
        if self.steps is not None:
            self.steps = check_int("steps", self.steps, 1, 10_000_000)
        self.n_pretrain = check_int("n_pretrain", self.n_pretrain, 1, 10_000_000)
        self.probe_steps = check_int("probe_steps", self.probe_steps, 0, 10_000_000)
        self.ft_steps = check_int("ft_steps", self.ft_steps, 0, 10_000_000)


__all__ = ["ConvConfig", "SLConfig", "MRPConfig", "check_shared_fields"]
