"""Regime maps: where each of Pan et al.'s predictions holds at finite k (2-D sweeps).

Two maps, each a grid of cells; a cell is one SL-versus-MRP comparison
(:func:`~mrptheory.experiments.multiview.experiment.run_compare`, all its seeds batched):

* ``leak_gap``: x = leak ratio max(gamma, sigma_p) * Gamma_final / (sigma_0 c_m) (the noise leak
  in units of the losing view's initial signal; gamma = sigma_p set from it), y = sigma_0 / rho
  (sigma_0 set from it). Theory boundary: x = 0.1 and y = 0.025
  (:mod:`mrptheory.experiments.multiview.regime`).
* ``mu_d``: x = d, y = mu (the rest at the regime defaults). Theory boundary: mu N = 0
  (memorisation: the mu = 0 row is inside; d >= 10 N P lies beyond the grid).

Per cell and prediction we record the statistic, and a verdict with the same thresholds as the
registered claims (:mod:`mrptheory.experiments.multiview.claims`), fixed before any map was run:
P1 SL one-view fraction >= 0.8; P2 lottery hit rate >= 0.8; P3 MRP features captured >= 0.95
and multi-feature kernels <= 5%; P4 SL single-view accuracy within 0.5 +- 0.15 and MRP-FT
single-view >= 0.9; P5 features lost in fine-tuning <= 5% of 2k.

A cell whose MRP pretraining diverges at the configured step size is rerun with the MRP step size
halved (up to 4 times; recorded in the cell as ``mrp_lr_diverged`` / ``mrp_lr_used``): the map
asks where the predictions hold as a function of the data, not of one step size.

Each cell trains with the default step plan (until converged, from the budget derived from its
own slowest class / feature; :mod:`mrptheory.experiments.multiview.budget`) and records its budget and
whether it converged; a cell that did not converge is drawn hatched and never counts towards a
boundary claim. Cells inside the regime run with at least ``MIN_SEEDS_IN_REGIME`` seeds.

Each finished cell is appended to a :class:`~mrptheory.results.JsonlStore` keyed by the cell's
configs and seeds, so an interrupted map resumes. ``quick`` uses a 3 x 2 grid per map and 2 seeds
(4 inside the regime), with the defaults' sizes, step sizes and step plans (quick cuts cells and
seeds, never the run itself).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import torch

from mrptheory.results import JsonlStore, to_jsonable
from mrptheory.experiments.multiview.common import DivergenceError
from mrptheory.experiments.multiview.regime import (LEAK_MARGIN, MAX_SIGMA0_OVER_RHO,
                                                    combined_report, expected_max_normal,
                                                    gamma_final_estimate)

PREDICTIONS = {
    "P1": ("SL one view per class", "fraction of classes with one view", 0.8),
    "P2": ("lottery", "hit rate", 0.8),
    "P3": ("MRP captures all views", "features captured", 0.95),
    "P4": ("single-view accuracy", "MRP-FT single - SL single", 0.25),
    "P5": ("fine-tuning keeps features", "fraction of features kept", 0.95),
}

#: grids (x values, y values) per map; full: 4 seeds per cell by default, quick: 2 seeds
GRIDS = {
    False: {"leak_gap": ([0.03, 0.3, 3.0, 30.0], [0.0125, 0.025, 0.1]),
            "mu_d": ([60, 100, 200], [0.0, 0.02, 0.1, 0.2])},
    True: {"leak_gap": ([0.03, 1.0, 30.0], [0.025, 0.1]),
           "mu_d": ([60, 160], [0.0, 0.02, 0.2])},
}
#: the slice `mrp reproduce --quick` measures for the regime-boundary claims, at the default
#: sigma_0 / rho = 0.025: the inside cell the claims judge, at the defaults' own leak ratio (so it
#: is the main quick comparison, reused, not rerun: see :func:`claim_slice`), and one cell far
#: outside (leak 30: both views learned); 2 cells to keep the quick run's time now that every
#: cell trains until converged (leak 1.0 was cut, not the steps)
CLAIM_SLICE_OUTSIDE = 30.0


def default_leak_ratio(base: tuple) -> float:
    """The leak ratio max(gamma, sigma_p) Gamma_final / (sigma_0 c_m) of the base configs."""
    data, sl, _ = base
    return (max(data.gamma, data.noise_std) * gamma_final_estimate(data)
            / (sl.sigma_0 * expected_max_normal(sl.m)))


def claim_slice(base: tuple) -> tuple[list[float], list[float]]:
    """The quick claim slice (x values, y values): the base's own leak ratio (0.069 at the
    defaults) and CLAIM_SLICE_OUTSIDE, at the base's sigma_0 / rho."""
    _, sl, _ = base
    return [default_leak_ratio(base), CLAIM_SLICE_OUTSIDE], [sl.sigma_0 / sl.rho]
#: seeds of a cell inside the regime (the cells the boundary claims judge): 4 seeds = 40 classes
#: and 80 features, the size of the quick main run, so that an inside cell's one-view fraction
#: and lottery hit rate (thresholds 0.8) rest on 40 classes (binomial sd 0.06 at 0.8) rather
#: than the 20 of a 2-seed cell (sd 0.09)
MIN_SEEDS_IN_REGIME = 4


def cell_configs(map_name: str, x: float, y: float, base: tuple, quick: bool = False):
    """The (data, SL, MRP) configs of one cell: the base configs with the map's two knobs set
    (the sizes are the base's in quick mode too: quick cuts cells and seeds, not the run; at
    200 samples per set the SL dynamics of the inside cell did not settle within 5x the budget,
    0.875 of 40 classes at 10 000 steps, where 400 samples settle by ~2000)."""
    data, sl, mrp = base
    if map_name == "leak_gap":
        sigma_0 = y * sl.rho
        noise = x * sigma_0 * expected_max_normal(sl.m) / gamma_final_estimate(data)
        # a cell at the base's own noise and sigma_0 (up to rounding) keeps the base configs
        # exactly, so it is the same run as the base comparison (and can reuse it)
        if not (math.isclose(noise, data.gamma, rel_tol=1e-9)
                and math.isclose(noise, data.noise_std, rel_tol=1e-9)):
            data = dataclasses.replace(data, gamma=min(noise, 1.0), sigma_p=noise)
        if not math.isclose(sigma_0, sl.sigma_0, rel_tol=1e-9):
            sl = dataclasses.replace(sl, sigma_0=sigma_0)
            mrp = dataclasses.replace(mrp, sigma_0=sigma_0)
    elif map_name == "mu_d":
        data = dataclasses.replace(data, d=int(x), mu=float(y))
    else:
        raise ValueError(map_name)
    return data, sl, mrp


def verdicts(summary: dict, num_features: int) -> dict[str, dict]:
    """Statistic and verdict (True = the prediction holds) per prediction, from compare_summary."""
    acc = summary["acc"]
    one = summary["sl_frac_classes_one_view"]["mean"]
    hit = summary["lottery_hit_rate"]["mean"]
    cap = summary["mrp_frac_features_captured"]["mean"]
    multi = summary["mrp_kernels_capturing_two_or_more"]["mean"] / summary["num_kernels"]
    sls, fts = acc["SL"]["single"]["mean"], acc["MRP fine-tuned"]["single"]["mean"]
    kept = 1.0 - summary["mrp_features_lost_in_finetune"]["mean"] / num_features
    return {
        "P1": {"value": one, "holds": one >= 0.8},
        "P2": {"value": hit, "holds": hit >= 0.8},
        "P3": {"value": cap, "multi_kernel_fraction": multi, "holds": cap >= 0.95 and multi <= 0.05},
        "P4": {"value": fts - sls, "sl_single": sls, "mrp_ft_single": fts,
               "holds": abs(sls - 0.5) <= 0.15 and fts >= 0.9},
        "P5": {"value": kept, "holds": kept >= 0.95},
    }


def _key(map_name: str, cfgs: tuple, seeds: list[int]) -> str:
    blob = json.dumps(to_jsonable({"m": map_name, "c": cfgs, "s": seeds}), sort_keys=True)
    return f"{map_name}|{hashlib.sha1(blob.encode()).hexdigest()[:12]}"


def _cell_record(map_name: str, cfgs: tuple, x: float, y: float, cell_seeds: list[int],
                 device: str | torch.device, reuse: tuple | None) -> dict:
    """The stored record of one cell (one unit of the map: a module-level function, so that it
    can run as a job, see :mod:`mrptheory.launch`)."""
    from mrptheory.experiments.multiview.experiment import compare_summary, run_compare

    # step-size control: the map is about the data regime, so a cell whose MRP
    # pretraining diverges at the default step size (the high-noise cells) is rerun with
    # the MRP step size halved, up to 4 times; the step sizes that diverged are recorded
    diverged, run_cfgs = [], cfgs
    res = None
    if (reuse is not None and tuple(cfgs) == tuple(reuse[0])
            and list(cell_seeds) == list(reuse[1])):
        res = reuse[2]  # the same configs and seeds: the same run
    while res is None:
        try:
            res = run_compare(*run_cfgs, cell_seeds, device=device,
                              show_progress=False)
        except DivergenceError:
            if len(diverged) >= 4:
                raise
            diverged.append(run_cfgs[2].lr)
            run_cfgs = (run_cfgs[0], run_cfgs[1],
                        dataclasses.replace(run_cfgs[2], lr=run_cfgs[2].lr / 2))
    summary = compare_summary(res)
    summary["num_kernels"] = cfgs[0].k * cfgs[2].m
    conv = summary["convergence"]
    return to_jsonable({"map": map_name, "x": x, "y": y, "seeds": cell_seeds,
                        # the cell's budget; did every run of it meet the rule
                        "converged": bool(conv["converged"]),
                        "budget": {"sl": res.sl.budget, "mrp": res.mrp.budget},
                        "convergence_fraction": {n: conv[n]["fraction_converged"]
                                                 for n in ("sl", "mrp", "finetune")},
                        "config": {"data": cfgs[0], "sl": cfgs[1], "mrp": cfgs[2]},
                        "regime": combined_report(*cfgs).to_dict(), "summary": summary,
                        "verdicts": verdicts(summary, 2 * cfgs[0].k),
                        "mrp_lr_used": run_cfgs[2].lr, "mrp_lr_diverged": diverged,
                        "seconds": res.sl.seconds + res.mrp.seconds})


def run_regime_map(map_name: str, base: tuple, seeds: list[int], store_path: str | Path, *,
                   quick: bool = False, device: str | torch.device = "cpu",
                   show_progress: bool | None = None,
                   grid: tuple[list, list] | None = None,
                   reuse: tuple | None = None, launcher=None) -> dict:
    """Run (or resume) one map; returns its ``multiview_regime`` payload.

    ``grid``: (x values, y values) instead of :data:`GRIDS`. ``reuse``: ``(configs, seeds,
    CompareResult)`` of a comparison already run: a cell with exactly those configs and seeds
    takes its result instead of training again. ``launcher``: where the cells run (a
    :mod:`mrptheory.launch` launcher; default in this process, one after the other)."""
    from mrptheory.launch import Unit, run_units

    xs, ys = grid if grid is not None else GRIDS[quick][map_name]
    store = JsonlStore(store_path)
    units = []
    for x, y in [(x, y) for y in ys for x in xs]:
        cfgs = cell_configs(map_name, x, y, base, quick)
        cell_seeds = cell_seed_list(cfgs, seeds)
        units.append(Unit(_key(map_name, cfgs, cell_seeds), _cell_record,
                          (map_name, cfgs, x, y, cell_seeds, device, reuse),
                          threads=torch.get_num_threads()))
    # claimed: concurrent runs compute a cell once
    cells = run_units(units, store, launcher, desc=f"regime map {map_name}",
                      show_progress=show_progress)
    data, sl, _ = base
    if map_name == "leak_gap":
        axes = {"x": "leak ratio max(gamma, sigma_p) Gamma_final / (sigma_0 c_m)",
                "y": "sigma_0 / rho", "x_boundary": LEAK_MARGIN, "y_boundary": MAX_SIGMA0_OVER_RHO,
                "inside": "x <= x_boundary and y <= y_boundary"}
    else:
        axes = {"x": "d", "y": "mu", "x_boundary": None, "y_boundary": 0.0,
                "inside": "y == 0 (mu N = 0: no single-view training samples)"}
    return to_jsonable({"figure_kind": "multiview_regime", "map": map_name, "quick": quick,
                        "xs": xs, "ys": ys, "seeds": seeds, "axes": axes, "cells": cells,
                        "predictions": PREDICTIONS,
                        "base_config": {"data": base[0], "sl": base[1], "mrp": base[2]}})


def cell_seed_list(cfgs: tuple, seeds: list[int]) -> list[int]:
    """The seeds of one cell: ``seeds``, extended to MIN_SEEDS_IN_REGIME for a cell inside the
    regime (the only cells the boundary claims judge)."""
    if combined_report(*cfgs).in_regime and len(seeds) < MIN_SEEDS_IN_REGIME:
        return list(range(seeds[0], seeds[0] + MIN_SEEDS_IN_REGIME))
    return list(seeds)


def cell_converged(cell: dict) -> bool:
    """Whether a stored cell's runs met the convergence rule (cells stored before the rule
    existed carry no flag and count as not converged)."""
    return bool(cell.get("converged", False))


def boundary_summary(payload: dict) -> dict[str, str]:
    """Per prediction, a one-line description of where it holds on the map (converged cells;
    cells that did not converge are listed apart and count for nothing)."""
    out = {}
    conv = [c for c in payload["cells"] if cell_converged(c)]
    unconv = [(c["x"], c["y"]) for c in payload["cells"] if not cell_converged(c)]
    for p in PREDICTIONS:
        held = [(c["x"], c["y"]) for c in conv if c["verdicts"][p]["holds"]]
        failed = [(c["x"], c["y"]) for c in conv if not c["verdicts"][p]["holds"]]
        out[p] = (f"holds in {len(held)} of {len(held) + len(failed)} converged cells "
                  f"(x, y) = {held}; fails at {failed}"
                  + (f"; not converged (not counted): {unconv}" if unconv else ""))
    return out


__all__ = ["GRIDS", "CLAIM_SLICE_OUTSIDE", "claim_slice", "default_leak_ratio",
           "MIN_SEEDS_IN_REGIME", "PREDICTIONS", "run_regime_map",
           "cell_configs", "cell_seed_list", "cell_converged", "verdicts", "boundary_summary"]
