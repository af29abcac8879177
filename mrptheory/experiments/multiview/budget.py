"""Step budgets of the multi-view runs, derived from the slowest unit (not the median).

SL. Under the degree-q smoothed ReLU the winning view of a class grows like Gamma^(q-1) while it
is below rho, so its capture step scales like 1 / Gamma(0)^(q-2): the classes whose initial
winner is smallest, which a median ignores, need several times longer. A class's initial winner
is sigma_0 times the max of 2m standard normals (its two views, m kernels each), so the budget
is read from the recursion :func:`mrptheory.experiments.multiview.growth.sl_growth_curve` started at
the ``BUDGET_QUANTILE`` (5%) quantile of that max -- the class exceeded by 95% of classes, the
same fraction a run must converge (``experiments.multiview.feature_capture.CONVERGED_FRACTION``) -- times a
safety factor ``BUDGET_SAFETY`` = 2 (the recursion matched the simulation's capture steps within
25-40% class by class, and after capture the run still needs the last fifth of its steps to show
a plateau), rounded up to 100 steps.

MRP. Each feature's initial max correlation is sigma_0 times the max of k m normals (every
kernel competes for every feature). Its early growth along its feature is SL's recursion with
the step size scaled by sqrt(k) (1 - mask_ratio) / (1 - 1/k): with per-kernel normalised targets
a kernel's target is of order sqrt(k) on the ~1/k of samples holding its feature, seen through
the unmasked fraction of patches (the estimate :class:`~mrptheory.experiments.multiview.config.
MRPConfig` documents for its default step size). Same quantile and safety factor.

Why not the expected slowest of all classes: with k x seeds = 160 classes the expected smallest
initial winner is ~0.075 sigma_0 (quantile 1/161 of the max of 8 normals), whose capture the
recursion puts at ~40 000 steps -- one extreme draw would set the budget of every run.

Default (``steps=None``): train until converged, with the budget as the minimum and
``BUDGET_CAP`` = 5 times it as SL's cap, ``MRP_BUDGET_CAP`` = 20 times it as MRP's
(:func:`step_plan`): the convergence rule
(``experiments.multiview.feature_capture``) is checked at every log step from the budget on, and the seeds,
batched, stop together once the run meets it. Why both: the recursion predicts the capture
step of the quantile unit, not the later settling (SL classes share the softmax, so one late
capture moves its seed's other classes; MRP's kernels compete for features), and in numbers the
recursion's MRP budget (300 steps at the defaults) is far below where MRP's features settle:
4 seeds settled at step 1,180, and 16 seeds reached the former 5x cap (1,500 steps) with 0.91 of
their 320 features settled -- the more seeds, the more extreme the slowest features. So MRP's
cap is 20x its budget (6,000 steps): the cap only bounds the time, the rule decides. An
explicit ``steps`` always wins: the run takes exactly that many steps and says whether it
converged (``experiments.multiview.feature_capture.convergence_record``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

from mrptheory.experiments.multiview.data import MultiViewConfig
from mrptheory.experiments.multiview.growth import capture_step, max_normal_quantile, step_budget

BUDGET_QUANTILE = 0.05
BUDGET_SAFETY = 2.0
BUDGET_CAP = 5.0
MRP_BUDGET_CAP = 20.0
MAX_BUDGET = 200_000


@dataclass(frozen=True)
class Budget:
    """A derived step budget and the numbers behind it (saved with every run)."""

    steps: int
    quantile: float
    c0_slowest: float  # initial max correlation of the quantile unit
    c0_median: float
    capture_slowest: float  # recursion's capture step from c0_slowest
    capture_median: float
    safety: float
    lr_effective: float

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self),
                "rule": (f"{self.safety:g} x the recursion's capture step of the "
                         f"{self.quantile:g}-quantile unit, rounded up to 100 steps")}


def _growth(data_cfg: MultiViewConfig, cfg, lr: float) -> dict:
    return dict(k=data_cfg.k, mu=data_cfg.mu, lr=lr, q=cfg.q, rho=cfg.rho,
                view_weight_range=tuple(data_cfg.view_weight_range),
                patches_per_view=data_cfg.patches_per_view,
                init_noise_std=cfg.sigma_0 * data_cfg.noise_std * math.sqrt(data_cfg.d),
                n_mc=1000, seed=0)


@lru_cache(maxsize=256)
def _budget(growth_items: tuple, sigma_0: float, n_max: int, threshold: float) -> Budget:
    growth = dict(growth_items)
    c_slow = sigma_0 * max_normal_quantile(BUDGET_QUANTILE, n_max)
    c_med = sigma_0 * max_normal_quantile(0.5, n_max)
    t_slow = capture_step(c_slow, threshold, MAX_BUDGET, **growth)
    t_med = capture_step(c_med, threshold, MAX_BUDGET, **growth)
    return Budget(steps=step_budget(t_slow, BUDGET_SAFETY), quantile=BUDGET_QUANTILE,
                  c0_slowest=c_slow, c0_median=c_med, capture_slowest=t_slow,
                  capture_median=t_med, safety=BUDGET_SAFETY, lr_effective=growth["lr"])


def mrp_rate_factor(data_cfg: MultiViewConfig, mask_ratio: float) -> float:
    """MRP's early growth rate along a feature relative to SL's at equal step size."""
    k = data_cfg.k
    return math.sqrt(k) * (1.0 - mask_ratio) / (1.0 - 1.0 / k)


def sl_budget(data_cfg: MultiViewConfig, cfg) -> Budget:
    """SL's budget: the 5%-quantile class (initial winner = max of 2m normals x sigma_0)."""
    g = _growth(data_cfg, cfg, cfg.lr)
    return _budget(tuple(sorted(g.items())), cfg.sigma_0, 2 * cfg.m, cfg.capture_threshold)


def mrp_budget(data_cfg: MultiViewConfig, cfg) -> Budget:
    """MRP's budget: the 5%-quantile feature (initial max over k m kernels x sigma_0), SL's
    recursion at the step size times :func:`mrp_rate_factor`."""
    g = _growth(data_cfg, cfg, cfg.lr * mrp_rate_factor(data_cfg, cfg.mask_ratio))
    return _budget(tuple(sorted(g.items())), cfg.sigma_0, data_cfg.k * cfg.m,
                   cfg.capture_threshold)


@dataclass(frozen=True)
class StepPlan:
    """How many GD steps a run takes: exactly ``max_steps`` (explicit ``steps``), or until
    converged, checked at every log step from ``min_steps`` (the derived budget) on, stopping at
    ``max_steps`` (the cap, ``BUDGET_CAP`` x the budget for SL, ``MRP_BUDGET_CAP`` x for MRP)
    at the latest."""

    min_steps: int
    max_steps: int
    until_converged: bool
    budget: Budget
    cap_factor: float = BUDGET_CAP

    def to_dict(self, steps_run: int | None = None) -> dict:
        return {"steps_run": steps_run, "min_steps": self.min_steps, "cap": self.max_steps,
                "source": ("until converged, from the budget derived from the slowest unit up "
                           f"to {self.cap_factor:g}x it" if self.until_converged
                           else "explicit steps"),
                "derived": self.budget.to_dict()}


def step_plan(data_cfg: MultiViewConfig, cfg, learner: str) -> StepPlan:
    """The :class:`StepPlan` of an SL (``learner="sl"``) or MRP (``"mrp"``) config."""
    b = (sl_budget if learner == "sl" else mrp_budget)(data_cfg, cfg)
    if cfg.steps is not None:
        return StepPlan(int(cfg.steps), int(cfg.steps), False, b)
    factor = BUDGET_CAP if learner == "sl" else MRP_BUDGET_CAP
    return StepPlan(b.steps, int(factor * b.steps), True, b, factor)


__all__ = ["BUDGET_QUANTILE", "BUDGET_SAFETY", "BUDGET_CAP", "MRP_BUDGET_CAP", "Budget", "StepPlan",
           "sl_budget", "mrp_budget", "mrp_rate_factor", "step_plan"]
