"""``mrp multiview regime --dry-run``: the regime map's cost at its settings (see
:mod:`mrptheory.planning`), one job per map cell.

One GD step of a learner costs about ``S k m P n d`` multiply-adds: the fused kernels hold
``[S, R, P, n]`` buffers (S seeds, R = k m kernels, P patches, n samples), each entry a d-long
inner product. The time per step is measured at one seed, ``k' = min(k, 200)`` classes (the
planned k unless that would not be small enough to time on any machine), ``d = max(2k', 20)``
and ``n = 50``, and scaled by that product for each cell; the steps run from the derived budget
(the lowest a run can stop at) to the cap (5x the budget for SL, 20x for MRP; a run stops when it
has converged).
"""

from __future__ import annotations

import torch

from mrptheory.errors import ConfigError
from mrptheory.planning import Plan, timed_steps


def step_work(data, cfg, n: int, seeds: int) -> float:
    """Multiply-adds of one GD step: ``S k m P n d`` (see the module doc)."""
    return float(seeds) * data.k * cfg.m * data.patches * n * data.d


def plan_regime(label: str, kw: dict, maps: str, n_seeds: int, quick: bool,
                device: torch.device) -> Plan:
    """The :class:`~mrptheory.planning.Plan` of ``mrp multiview regime`` with options ``kw``
    (after the presets), the map(s) ``maps``, ``n_seeds`` seeds per cell and the grid of
    ``quick`` (:data:`~mrptheory.experiments.multiview.regime_map.GRIDS`)."""
    from mrptheory.experiments.multiview import make_data, train_mrp, train_sl
    from mrptheory.experiments.multiview.budget import step_plan
    from mrptheory.experiments.multiview.config import build_configs
    from mrptheory.experiments.multiview.memory import estimate_run_bytes
    from mrptheory.experiments.multiview.regime_map import GRIDS, cell_configs, cell_seed_list

    base = build_configs(kw)
    cells = [(m, x, y) for m in (("leak_gap", "mu_d") if maps == "all" else (maps,))
             for y in GRIDS[quick][m][1] for x in GRIDS[quick][m][0]]
    seeds = list(range(n_seeds))
    planned = []  # per cell: configs, seeds, step plans (the theory's budgets: checked first)
    for m, x, y in cells:
        data, sl, mrp = cell_configs(m, x, y, base, quick)
        try:
            plans = step_plan(data, sl, "sl"), step_plan(data, mrp, "mrp")
        except ValueError as exc:  # the theory's budget does not exist at these sizes
            raise ConfigError(f"regime map {m}, cell ({x:g}, {y:g}): no step budget ({exc}); "
                              f"a run of these sizes could not stop by the convergence rule")
        planned.append(((data, sl, mrp), len(cell_seed_list((data, sl, mrp), seeds)), plans))
    k_small = min(base[0].k, 200)
    reduced = {**kw, "k": k_small, "d": max(2 * k_small, 20), "n_train": 50, "n_test": 20,
               "n_pretrain": 50, "steps": 20, "mrp_steps": 20, "log_every": 20, "probe_steps": 1,
               "ft_steps": 1}
    small = build_configs(reduced)
    data_s = make_data(small[0], [0], 50, 20, device, n_pretrain=50)
    t_sl = timed_steps(lambda: train_sl(small[0], small[1], [0], device=device, data=data_s,
                                        show_progress=False), n=1) / 20
    t_mrp = timed_steps(lambda: train_mrp(small[0], small[2], [0], device=device, data=data_s,
                                          show_progress=False), n=1) / 20
    sl_small = step_work(small[0], small[1], 50, 1)
    mrp_small = step_work(small[0], small[2], 50, 1)
    memory, low, high, hours_low, hours_high, per_step = 0.0, [], [], 0.0, 0.0, []
    for (data, sl, mrp), s, (p_sl, p_mrp) in planned:
        memory = max(memory, estimate_run_bytes(data, s, sl, mrp))
        t1 = t_sl * step_work(data, sl, sl.n_train, s) / sl_small
        t2 = t_mrp * step_work(data, mrp, max(mrp.n_pretrain, mrp.n_train), s) / mrp_small
        low.append(p_sl.min_steps + p_mrp.min_steps)
        high.append(p_sl.max_steps + p_mrp.max_steps)
        hours_low += (p_sl.min_steps * t1 + p_mrp.min_steps * t2) / 3600
        hours_high += (p_sl.max_steps * t1 + p_mrp.max_steps * t2) / 3600
        per_step.append((t1 + t2) / 2)
    data = base[0]
    grid = " (quick grid)" if quick else ""
    return Plan(label, f"multi-view regime map(s) {maps}{grid} at k={data.k}, d={data.d}, "
                       f"P={data.patches}, {n_seeds} seeds per cell (4 or more inside the regime)",
                memory, len(cells), (min(low), max(high)), sum(per_step) / len(per_step),
                (hours_low, hours_high),
                f"measured: {t_sl * 1e3:.2f} ms per SL and {t_mrp * 1e3:.2f} ms per MRP GD step "
                f"at 1 seed, k={small[0].k}, d={small[0].d}, n=50 on {device}, scaled by "
                f"S k m P n d; mean over cells",
                ["steps per job: SL + MRP pretraining, from the derived budget (low) to its cap "
                 "(high: 5x for SL, 20x for MRP); probe and fine-tuning steps not counted"])


__all__ = ["plan_regime", "step_work"]
