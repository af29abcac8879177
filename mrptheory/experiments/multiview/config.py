"""Configurations of the multi-view learners: the shared conv part, SL, and MRP + probe + fine-tune.

The conv learner's fields (kernels per class m, smoothed-ReLU power q and threshold rho, init
std sigma_0) and the labelled-data / logging fields (n_train, n_test, log_every,
capture_threshold) are common to :class:`SLConfig` and :class:`MRPConfig`. Each field declares
its constraint once (:mod:`mrptheory.config_spec`; the shared ones through the small field
factories below), and the conv part is available as one object, ``cfg.conv``.

Why the fields stay flat rather than nested (``SLConfig(conv=ConvConfig(...))``): the configs
are serialised field by field into every saved JSON (``results.to_jsonable``), built from CLI
options by keyword (``SLConfig(m=..., sigma_0=...)``), swept by field name
(``dataclasses.replace(cfg, sigma_0=...)``, ``--sweep sigma_0=...``) and compared by
fingerprint for resuming. A nested field would change all four (the saved JSON would gain a
``conv`` sub-dict and every stored fingerprint would go stale); a flat dataclass with the shared
declarations in one place and a ``conv`` view removes the duplication and keeps every saved
number, key and option exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from mrptheory.config_spec import choice, constrained, integer, real


def _m() -> int:
    return integer(4, 1, 10_000)


def _q() -> int:  # Allen-Zhu & Li: a constant q >= 3
    return integer(4, 3, 32)


def _rho() -> float:
    return real(0.2, 0.0, None, low_open=True)


def _sigma_0() -> float:
    return real(0.005, 0.0, None, low_open=True)


def _size(default: int) -> int:  # labelled-set sizes and the logging interval
    return integer(default, 1, 10_000_000)


def _capture_threshold() -> float:
    return real(0.5, 0.0, None, low_open=True)


@constrained()
@dataclass(frozen=True)
class ConvConfig:
    """The two-layer conv learner shared by SL and MRP (validated on construction).

    Attributes:
        m: kernels per class (SL: m per class; MRP: k*m kernels not tied to classes).
        q: power of the smoothed ReLU (theory: a constant q >= 3).
        rho: threshold of the smoothed ReLU (theory: 1/polylog(k), above the init scale).
        sigma_0: init std of every kernel coordinate (theory: 1/poly(k), well below rho).
    """

    m: int = _m()
    q: int = _q()
    rho: float = _rho()
    sigma_0: float = _sigma_0()


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


@constrained()
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

    m: int = _m()
    q: int = _q()
    rho: float = _rho()
    sigma_0: float = _sigma_0()
    lr: float = real(8.0, 0.0, None, low_open=True)
    steps: int | None = integer(None, 1, 10_000_000, optional=True)
    n_train: int = _size(400)
    n_test: int = _size(500)
    log_every: int = _size(20)
    capture_threshold: float = _capture_threshold()


@constrained(prefix="mrp")
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

    m: int = _m()
    q: int = _q()
    rho: float = _rho()
    sigma_0: float = _sigma_0()
    mask_ratio: float = real(0.5, 0.0, 1.0, low_open=True, high_open=True)
    target: str = choice("teacher", ("teacher", "pixel"))
    ema: float = real(0.99, 0.0, 1.0, high_open=True)
    target_norm: str = choice("batch", ("batch", "layer", "none"))
    decoder_init: str = choice("identity", ("identity", "random"))
    decoder_shape: str = choice("full", ("full", "diagonal"))
    lr: float = real(4.0, 0.0, None, low_open=True, prefixed=True)
    decoder_lr: float = real(1.0, 0.0, None)
    steps: int | None = integer(None, 1, 10_000_000, optional=True, prefixed=True)
    n_pretrain: int = _size(400)
    probe_steps: int = integer(200, 0, 10_000_000)
    probe_lr: float = real(1.0, 0.0, None, low_open=True)
    ft_steps: int = integer(100, 0, 10_000_000)
    ft_lr: float = real(1.0, 0.0, None, low_open=True)
    ft_encoder_lr: float = real(0.1, 0.0, None)
    n_train: int = _size(400)
    n_test: int = _size(500)
    log_every: int = _size(20)
    capture_threshold: float = _capture_threshold()


def build_configs(kw: dict):
    """(MultiViewConfig, SLConfig, MRPConfig) from CLI keyword arguments (after
    :func:`~mrptheory.cli_support.options.with_presets`): each option sets the field of its name in
    every config that has it, a ``--mrp-`` option MRP's prefixed field (None = not given: the
    field keeps its default)."""
    from mrptheory.config_spec import build
    from mrptheory.experiments.multiview.data import MultiViewConfig

    return build(MultiViewConfig, kw), build(SLConfig, kw), build(MRPConfig, kw)


__all__ = ["ConvConfig", "SLConfig", "MRPConfig", "build_configs"]
