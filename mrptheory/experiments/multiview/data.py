"""Multi-view patch data (Allen-Zhu & Li 2020, Def. 3.1; used by Pan, Zhou & Yan 2022, Sec. 3).

The model: k classes, each owning two orthonormal "views" (features) v_{i,1}, v_{i,2} in R^d.
A sample is P patches X = (x_1, ..., x_P), x_p in R^d, with label y uniform over the k classes.

* Multi-view sample (probability 1 - mu): both views of class y appear, each in its own set of
  ``patches_per_view`` patches, with positive patch weights whose per-view total is drawn from
  ``view_weight_range`` (order 1; Allen-Zhu & Li ask for a total in [1, O(1)]).
* Single-view sample (probability mu): one view (chosen uniformly) appears with an order-1 total
  weight; the other view of class y appears only weakly, with total ``single_view_weak_weight``
  (Allen-Zhu & Li's rho for single-view data).
* Feature noise (Allen-Zhu & Li's off-target features): ``num_noise_features`` features of other
  classes each appear in ``noise_feature_patches`` patches with a total weight uniform in
  ``[feature_noise_min, feature_noise_max]`` (clearly below the true class's weight; Def. 3.1 uses <= 0.4), plus a
  small per-patch feature noise: every patch carries gamma_{p,j} v_j for every feature j with
  gamma_{p,j} uniform in ``[0, gamma]`` (Def. 3.1's gamma, polynomially small in k).
* Gaussian noise xi_p ~ N(0, sigma_p^2 I_d) on every patch (Def. 3.1 uses sigma_p = 1/sqrt(d), so
  each patch's noise has norm about 1); the patches not listed above carry only noise (+ gamma).

Single-view *test* data follow the theory's single-view distribution more closely than the
training data need to (``test_*`` fields; :meth:`MultiViewConfig.single_view_test_config`): the weak
view's weight (0.05) is well below the weights of the off-target features (uniform in [0.2, 0.4]),
and there are several of them (4). The theory's "SL gets about 50% on single-view data" rests on
exactly this: when the strong view of a test sample is the view SL did *not* learn, the true
class's logit only sees the weak view (~Gamma * 0.05), while an off-target feature that is the
*learned* view of its class gives that class ~Gamma * (0.2 to 0.4); with 4 off-target features the
chance that none of them is a learned view is 2^-4, so such samples are misclassified and the
accuracy is about 1/2 + 1/2 * 2^-4 / k. With the training-set values (weak 0.1, two off-target
features uniform in [0, 0.4]) the weak view often outweighs the off-target ones and a one-view SL
still answers single-view samples correctly (the "noisy" preset keeps that contrast visible).

The feature matrix ``V: [2k, d]`` has rows v_{i,l} at index ``2 i + l`` (l in {0, 1}); it is a
random orthonormal set (QR of a Gaussian matrix) drawn per seed.

Every batch comes with its ground truth (:class:`MultiViewBatch`): label, multi/single-view flag,
which view is the strong one, and the total weight of each of the 2k features in each sample,
so that every metric can be computed exactly.

Seeds: each seed has its own torch generator on the target device, derived from ``(seed, stream)``
(features, training set, test sets and initialisations use different streams), so a seed's data do
not depend on which other seeds are generated alongside it. Batches carry a leading seed dimension
``S`` so that many seeds are trained at once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from mrptheory.device import resolve_device
from mrptheory.errors import ConfigError
from mrptheory.config_spec import Rule, constrained, integer, pair, real
from mrptheory.validation import check_float, check_int

#: generator streams (a seed's features, training data, test data, ... never share random numbers)
STREAM_FEATURES = 0
STREAM_TRAIN = 1
STREAM_PRETRAIN = 2
STREAM_TEST_MULTI = 3
STREAM_TEST_SINGLE = 4
STREAM_INIT = 5
STREAM_MASK = 6
STREAM_DECODER = 7


def stream_generator(seed: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch Generator on ``device`` for one (seed, stream) pair (independent of other seeds)."""
    gen = torch.Generator(device=device)
    gen.manual_seed((int(seed) * 1_000_003 + int(stream) * 7_919 + 12_345) % (2**63 - 1))
    return gen


def _below_view_weight(name: str) -> Rule:
    """``name`` (a weight, or a range's upper end) at most the smallest view weight
    ``view_weight_range[0]``: off-target and weak weights stay below a present view's."""
    def value(c):
        v = getattr(c, name.split("[")[0])
        return v[1] if "[" in name else v

    return Rule(f"{name}_below_view_weight",
                lambda c: getattr(c, name.split("[")[0]) is None or value(c) <= c.view_weight_range[0],
                lambda c: f"{name} must be in [0, {c.view_weight_range[0]:g}] (at most "
                          f"view_weight_range[0]), got {value(c):g}",
                (name.split("[")[0], "view_weight_range"))


#: cross-field conditions of :class:`MultiViewConfig`, checked after each field's own range
MULTIVIEW_RULES = (
    Rule("features_fit", lambda c: 2 * c.k <= c.d,
         lambda c: f"d must be >= 2k = {2 * c.k} to hold 2k orthonormal features "
                   f"(got k={c.k}, d={c.d})", ("k", "d")),
    Rule("noise_features_exist", lambda c: c.num_noise_features <= 2 * (c.k - 1),
         lambda c: f"num_noise_features must be <= 2(k-1) = {2 * (c.k - 1)} (features of other "
                   f"classes), got {c.num_noise_features}", ("num_noise_features", "k")),
    Rule("patches_fit", lambda c: c.patches_needed <= c.patches,
         lambda c: f"patches must be >= 2*patches_per_view + num_noise_features*"
                   f"noise_feature_patches = {c.patches_needed}, got {c.patches}",
         ("patches", "patches_per_view", "num_noise_features", "noise_feature_patches")),
    _below_view_weight("single_view_weak_weight"),
    _below_view_weight("feature_noise_max"),
    Rule("feature_noise_ordered", lambda c: c.feature_noise_min <= c.feature_noise_max,
         lambda c: f"feature_noise_min must be in [0, {c.feature_noise_max:g}] (at most "
                   f"feature_noise_max), got {c.feature_noise_min:g}",
         ("feature_noise_min", "feature_noise_max")),
    _below_view_weight("test_weak_weight"),
    _below_view_weight("test_feature_noise_range[1]"),
)


@constrained(*MULTIVIEW_RULES)
@dataclass
class MultiViewConfig:
    """Knobs of the multi-view data model; every field is validated at construction.

    Attributes:
        k: number of classes (Allen-Zhu & Li's k; the theory is asymptotic in k).
        d: ambient dimension of a patch; needs 2k <= d for 2k orthonormal features
            (the theory takes d = poly(k)).
        patches: number of patches per sample P (Allen-Zhu & Li take P = k^2; we use a smaller constant).
        mu: probability that a sample is single-view (theory: mu = 1/poly(k)), in [0, 1].
        patches_per_view: patches carrying each present view (Def. 3.1's C_p, a constant).
        view_weight_range: (low, high) range of the total weight of a present view, summed over its
            patches (Def. 3.1: sum of z_p in [1, O(1)]).
        single_view_weak_weight: total weight of the weak view in a single-view sample (the rho
            of Def. 3.1's single-view distribution: small).
        num_noise_features: how many off-target features (of other classes) appear per sample.
        noise_feature_patches: patches per off-target feature.
        feature_noise_min, feature_noise_max: an off-target feature's total weight is uniform in
            [min, max] (Def. 3.1: clearly below the true class's weight; [0, 0.4] by default).
        gamma: per-patch feature noise: every patch holds gamma_{p,j} v_j, gamma_{p,j} ~ U[0, gamma]
            for all 2k features (Def. 3.1's gamma; default k^-1.5-sized).
        sigma_p: standard deviation of the Gaussian patch noise; ``None`` means 1/sqrt(d)
            (Def. 3.1), so a patch's noise has norm about 1.
        test_weak_weight: weak view's total weight in single-view *test* samples (None: as in
            training). Theory default 0.05, well below the off-target weights (see module doc).
        test_num_noise_features: off-target features per single-view test sample (None: as in
            training); default 4, reduced to min(4, 2(k-1), what P has room for) for small
            configs (the regime check reports the value used).
        test_feature_noise_range: (min, max) total weight of each off-target feature in
            single-view test samples (None: as in training); default (0.2, 0.4).

    Defaults: the theory-regime values (gamma = sigma_p = 1e-4, mu = 0: no single-view training
    samples, whose noise cannot be memorised at d = 100; theory-like single-view test data), derived from the finite-k conditions in :mod:`mrptheory.experiments.multiview.regime`;
    ``mrptheory.experiments.multiview.regime.PRESETS["noisy"]`` restores the first release's values
    (gamma 0.03, sigma_p 1/sqrt(d), mu 0.1, test data = training distribution).
    """

    k: int = integer(10, 2, 100_000)
    d: int = integer(100, 2, 1_000_000)
    patches: int = integer(12, 1, 100_000)
    mu: float = real(0.0, 0.0, 1.0)
    patches_per_view: int = integer(2, 1, 100_000)
    view_weight_range: tuple[float, float] = pair((1.0, 2.0), 0.0, None, low_open=True)
    single_view_weak_weight: float = real(0.1, 0.0, None)
    num_noise_features: int = integer(2, 0, 100_000)
    noise_feature_patches: int = integer(1, 1, 100_000)
    feature_noise_max: float = real(0.4, 0.0, None)
    gamma: float = real(1e-4, 0.0, 1.0)
    sigma_p: float | None = real(1e-4, 0.0, None, optional=True)
    feature_noise_min: float = real(0.0, 0.0, None)
    test_weak_weight: float | None = real(0.05, 0.0, None, optional=True)
    test_num_noise_features: int | None = integer(4, 0, 100_000, optional=True)
    test_feature_noise_range: tuple[float, float] | None = pair((0.2, 0.4), 0.0, None,
                                                                optional=True)

    def single_view_test_config(self) -> "MultiViewConfig":
        """The data model of the single-view test set: this config with the ``test_*`` fields
        applied (the number of off-target features capped at 2(k-1) and at the free patches)."""
        from dataclasses import replace

        changes: dict = {"test_weak_weight": None, "test_num_noise_features": None,
                         "test_feature_noise_range": None}
        if self.test_weak_weight is not None:
            changes["single_view_weak_weight"] = self.test_weak_weight
        if self.test_num_noise_features is not None:
            room = (self.patches - 2 * self.patches_per_view) // self.noise_feature_patches
            changes["num_noise_features"] = min(self.test_num_noise_features, 2 * (self.k - 1),
                                                room)
        if self.test_feature_noise_range is not None:
            changes["feature_noise_min"], changes["feature_noise_max"] = \
                self.test_feature_noise_range
        return replace(self, **changes)

    @property
    def patches_needed(self) -> int:
        """Patches that carry a view or an off-target feature (the rest carry noise only)."""
        return 2 * self.patches_per_view + self.num_noise_features * self.noise_feature_patches

    @property
    def noise_std(self) -> float:
        """The Gaussian patch-noise standard deviation actually used (1/sqrt(d) by default)."""
        return 1.0 / math.sqrt(self.d) if self.sigma_p is None else float(self.sigma_p)

    @property
    def num_features(self) -> int:
        return 2 * self.k

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class MultiViewBatch:
    """A batch of multi-view samples with its ground truth; leading dimension S = seeds.

    Attributes:
        x: patches, ``[S, N, P, d]``.
        y: labels, ``[S, N]`` (int64).
        multi_view: ``[S, N]`` bool, True for multi-view samples.
        strong_view: ``[S, N]`` int64: for single-view samples the view (0/1) present with order-1
            weight, -1 for multi-view samples.
        view_weights: ``[S, N, 2]`` total weight of v_{y,1}, v_{y,2} in each sample (over patches,
            without the small gamma noise).
        feature_weights: ``[S, N, 2k]`` total weight of every feature in each sample (views,
            off-target features and gamma noise, summed over patches).
    """

    x: torch.Tensor
    y: torch.Tensor
    multi_view: torch.Tensor
    strong_view: torch.Tensor
    view_weights: torch.Tensor
    feature_weights: torch.Tensor

    @property
    def num_seeds(self) -> int:
        return int(self.x.shape[0])

    def seed_slice(self, s: int) -> "MultiViewBatch":
        """The batch of seed index ``s`` only (keeps a leading dimension of 1)."""
        return MultiViewBatch(*(t[s:s + 1] for t in (self.x, self.y, self.multi_view,
                                                     self.strong_view, self.view_weights,
                                                     self.feature_weights)))


def make_features(cfg: MultiViewConfig, seeds: list[int], device: torch.device | str = "auto"
                  ) -> torch.Tensor:
    """Random orthonormal features per seed: ``[S, 2k, d]``, row ``2i + l`` is v_{i,l}.

    Rows of the Q factor of a Gaussian ``d x 2k`` matrix (a uniformly random orthonormal 2k-frame).
    """
    device = resolve_device(device)
    out = []
    for seed in seeds:
        gen = stream_generator(seed, STREAM_FEATURES, device)
        g = torch.randn(cfg.d, 2 * cfg.k, generator=gen, device=device)
        q, r = torch.linalg.qr(g)
        q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # unique frame (Haar distributed)
        out.append(q.T.contiguous())
    return torch.stack(out)


def _uniform(shape, lo: float, hi: float, gen: torch.Generator, device) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=gen, device=device)


def _split_total(total: torch.Tensor, parts: int, gen: torch.Generator, device) -> torch.Tensor:
    """Split ``total: [N]`` into ``parts`` positive patch weights ``[N, parts]`` summing to it."""
    u = _uniform((total.shape[0], parts), 0.5, 1.5, gen, device)
    return total.unsqueeze(1) * u / u.sum(dim=1, keepdim=True)


def _sample_one_seed(cfg: MultiViewConfig, n: int, features: torch.Tensor, gen: torch.Generator,
                     mu: float) -> tuple[torch.Tensor, ...]:
    """Samples of one seed. Returns x [N,P,d], y, multi, strong, view_w [N,2], feat_w [N,2k]."""
    device = features.device
    k, P, d, C = cfg.k, cfg.patches, cfg.d, cfg.patches_per_view
    F = 2 * k
    y = torch.randint(0, k, (n,), generator=gen, device=device)
    multi = torch.rand(n, generator=gen, device=device) >= mu
    strong = torch.randint(0, 2, (n,), generator=gen, device=device)
    strong = torch.where(multi, torch.full_like(strong, -1), strong)

    lo, hi = cfg.view_weight_range
    totals = _uniform((n, 2), lo, hi, gen, device)  # total weight of view 0 / view 1
    weak = torch.full((n,), cfg.single_view_weak_weight, device=device)
    for view in (0, 1):  # in single-view samples the non-strong view is weak
        is_weak = (~multi) & (strong != view)
        totals[:, view] = torch.where(is_weak, weak, totals[:, view])

    # slots: (patch index, feature index, weight); patches are a random permutation per sample
    perm = torch.argsort(torch.rand(n, P, generator=gen, device=device), dim=1)
    slot_feat, slot_w = [], []
    for view in (0, 1):
        slot_feat.append((2 * y + view).unsqueeze(1).expand(n, C))
        slot_w.append(_split_total(totals[:, view], C, gen, device))
    if cfg.num_noise_features > 0:
        # off-target features: distinct features of classes != y (rank uniform noise, skip own 2)
        scores = torch.rand(n, F, generator=gen, device=device)
        own = torch.zeros(n, F, dtype=torch.bool, device=device)
        own.scatter_(1, torch.stack([2 * y, 2 * y + 1], dim=1), True)
        scores = scores.masked_fill(own, -1.0)
        chosen = torch.topk(scores, cfg.num_noise_features, dim=1).indices  # [N, nf]
        L = cfg.noise_feature_patches
        noise_totals = _uniform((n, cfg.num_noise_features), cfg.feature_noise_min,
                                cfg.feature_noise_max, gen, device)
        for j in range(cfg.num_noise_features):
            slot_feat.append(chosen[:, j:j + 1].expand(n, L))
            slot_w.append(_split_total(noise_totals[:, j], L, gen, device))
    feat = torch.cat(slot_feat, dim=1)  # [N, slots]
    w = torch.cat(slot_w, dim=1)
    patch = perm[:, : feat.shape[1]]
    coef = torch.zeros(n, P * F, device=device)
    coef.scatter_add_(1, patch * F + feat, w)
    coef = coef.view(n, P, F)
    clean_feature_weights = coef.sum(dim=1)
    if cfg.gamma > 0:
        coef = coef + _uniform((n, P, F), 0.0, cfg.gamma, gen, device)
    x = coef @ features  # [N, P, d]
    x = x + cfg.noise_std * torch.randn(n, P, d, generator=gen, device=device)
    view_w = torch.gather(clean_feature_weights, 1, torch.stack([2 * y, 2 * y + 1], dim=1))
    return x, y, multi, strong, view_w, coef.sum(dim=1)


def sample_multiview(cfg: MultiViewConfig, n: int, seeds: list[int], *, stream: int = STREAM_TRAIN,
                     features: torch.Tensor | None = None, mu: float | None = None,
                     device: torch.device | str = "auto") -> MultiViewBatch:
    """Draw ``n`` samples per seed from the multi-view distribution, directly on ``device``.

    Args:
        cfg: the data model.
        n: samples per seed.
        seeds: one integer per seed; the leading dimension S of every returned tensor.
        stream: which random stream of each seed to use (train / test / ... see ``STREAM_*``).
        features: ``[S, 2k, d]``; default ``make_features(cfg, seeds)``.
        mu: override of ``cfg.mu`` (0 gives a multi-view-only test set, 1 a single-view-only one).
        device: where to generate (``"auto"``: CUDA when present).

    Returns:
        :class:`MultiViewBatch` with ``x: [S, n, P, d]`` and the ground truth.
    """
    n = check_int("n", n, 1, None)
    device = resolve_device(device)
    if features is None:
        features = make_features(cfg, seeds, device)
    features = features.to(device)
    if features.shape != (len(seeds), 2 * cfg.k, cfg.d):
        raise ConfigError(f"features must have shape [S={len(seeds)}, 2k={2 * cfg.k}, d={cfg.d}], "
                          f"got {tuple(features.shape)}")
    mu = cfg.mu if mu is None else check_float("mu", mu, 0.0, 1.0)
    parts = [_sample_one_seed(cfg, n, features[i], stream_generator(s, stream, device), mu)
             for i, s in enumerate(seeds)]
    return MultiViewBatch(*(torch.stack(t) for t in zip(*parts)))
