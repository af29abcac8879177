"""SL-versus-MRP experiments on multi-view data: one comparison, and sweeps over a knob.

:func:`run_compare` trains SL and MRP (+ linear probe + fine-tuning) for many seeds at once and
turns the histories into figure payloads (JSON-able dicts with a top-level ``"figure_kind"``):

* ``multiview_capture_curves``: SL's k x 2 view correlations and MRP's 2k feature correlations over
  training, with the theory's early-phase growth prediction for SL's winning view;
* ``multiview_captured_views``: captured views per class (0/1/2) for SL and MRP;
* ``multiview_accuracy``: accuracy on fresh multi-view / single-view test sets for SL,
  MRP + linear probe and MRP + fine-tuning, per seed;
* ``multiview_lottery``: the per-seed hit rate of the lottery prediction made at initialisation.

:func:`run_multiview_sweep` repeats the comparison over the values of one knob (``mu``,
``mask_ratio``, ``m``, ``sigma_0``, ``d``, ``q``, and the noise levels ``gamma``, ``sigma_p``),
appending each finished point to a
:class:`~mrptheory.results.JsonlStore` so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrptheory.experiments.multiview.data import MultiViewConfig
from mrptheory.device import resolve_device
from mrptheory.errors import ConfigError
from mrptheory.results import JsonlStore, to_jsonable
from mrptheory.experiments.multiview.common import make_data
from mrptheory.experiments.multiview.config import MRPConfig, SLConfig
from mrptheory.experiments.multiview.mrp import MRPResult, train_mrp
from mrptheory.experiments.multiview.sl import SLResult, sl_theory_growth, train_sl

#: knobs a sweep can vary, and which configs they belong to
SWEEP_PARAMS: dict[str, tuple[str, ...]] = {
    "mu": ("data",),
    "d": ("data",),
    "gamma": ("data",),
    "sigma_p": ("data",),
    "mask_ratio": ("mrp",),
    "m": ("sl", "mrp"),
    "sigma_0": ("sl", "mrp"),
    "q": ("sl", "mrp"),
}



@dataclasses.dataclass
class CompareResult:
    """SL and MRP runs on the same seeds and data, plus their figure payloads."""

    sl: SLResult
    mrp: MRPResult
    payloads: dict[str, dict]


def _mean_sd(a: np.ndarray) -> dict[str, float]:
    a = np.asarray(a, dtype=float)
    return {"mean": float(np.nanmean(a)), "sd": float(np.nanstd(a)), "n": int(a.size)}


def run_compare(data_cfg: MultiViewConfig, sl_cfg: SLConfig, mrp_cfg: MRPConfig,
                seeds: list[int], *, device: str | torch.device = "auto",
                show_progress: bool | None = None, run_sl: bool = True,
                run_mrp: bool = True) -> CompareResult:
    """Train SL and MRP for ``seeds`` (batched) on the same data and build the figure payloads."""
    device = resolve_device(device)
    if sl_cfg.n_train != mrp_cfg.n_train or sl_cfg.n_test != mrp_cfg.n_test:
        raise ConfigError("SL and MRP must share n_train and n_test (same labelled/test data)")
    data = make_data(data_cfg, seeds, sl_cfg.n_train, sl_cfg.n_test, device,
                     n_pretrain=mrp_cfg.n_pretrain)
    sl = train_sl(data_cfg, sl_cfg, seeds, device=device, data=data,
                  show_progress=show_progress) if run_sl else None
    mrp = train_mrp(data_cfg, mrp_cfg, seeds, device=device, data=data,
                    show_progress=show_progress) if run_mrp else None
    common = {"config": {"data": data_cfg, "sl": sl_cfg, "mrp": mrp_cfg}, "seeds": list(seeds),
              "device": str(device)}
    return CompareResult(sl=sl, mrp=mrp, payloads=build_payloads(common, data_cfg, sl_cfg,
                                                                 mrp_cfg, sl, mrp))


def build_payloads(common: dict, data_cfg: MultiViewConfig, sl_cfg: SLConfig, mrp_cfg: MRPConfig,
                   sl: SLResult | None, mrp: MRPResult | None) -> dict[str, dict]:
    """Figure payloads (see module docstring) from finished runs."""
    from mrptheory.experiments.multiview.regime import combined_report

    out: dict[str, dict] = {}
    # every output says whether its config meets the theorem's finite-k conditions
    common = to_jsonable({**common, "regime": combined_report(
        data_cfg, sl_cfg if sl is not None else None,
        mrp_cfg if mrp is not None else None).to_dict()})
    conv = run_convergence(sl, mrp)
    common = {**common, "convergence": to_jsonable(conv)}
    curves: dict[str, Any] = {"figure_kind": "multiview_capture_curves", **common,
                              "capture_threshold": sl_cfg.capture_threshold}
    counts: dict[str, Any] = {"figure_kind": "multiview_captured_views", **common,
                              "capture_threshold": sl_cfg.capture_threshold}
    acc: dict[str, dict] = {}
    if sl is not None:
        c0 = sl.view_corr[0]  # [S, k, 2]
        winner0 = np.take_along_axis(c0, sl.view_corr[-1].argmax(-1)[..., None], -1)[..., 0]
        from mrptheory.experiments.multiview.feature_capture import sl_class_convergence

        b = sl.budget["derived"]
        curves.update({
            "sl_steps": sl.steps, "sl_view_corr": sl.view_corr,  # [L, S, k, 2]
            # [L] early-phase theory for the winning view (NaN past Gamma = 2)
            "sl_theory_winner": sl_theory_growth(data_cfg, sl_cfg, float(np.median(winner0)),
                                                 sl.steps),
            # [S, k] step from which each class met the convergence rule (NaN: never)
            "sl_convergence_step": sl_class_convergence(sl.view_corr, sl.steps,
                                                        sl_cfg.capture_threshold)["step"],
            "sl_budget": sl.budget,
            # the recursion's capture step of the slowest (budget quantile) and median class
            "sl_theory_capture": {"slowest": b["capture_slowest"], "median": b["capture_median"],
                                  "quantile": b["quantile"]},
        })
        sl_counts = np.asarray(sl.summary["captured_views_per_class"])
        counts.update({"sl_hist": [int((sl_counts == c).sum()) for c in (0, 1, 2)],
                       "sl_counts": sl_counts})
        acc["SL"] = {"multi": sl.acc_multi[-1], "single": sl.acc_single[-1]}
        from mrptheory.experiments.multiview.feature_capture import lottery_resolution

        out["multiview_lottery"] = {
            "figure_kind": "multiview_lottery", **common,
            # hit rate per bin of the initial ratio of the two views' max correlations
            "resolution": lottery_resolution(torch.as_tensor(sl.view_corr[0]),
                                             torch.as_tensor(sl.view_corr[-1])),
            "hit_rate_all": sl.summary["lottery_hit_rate_all"],
            "hit_rate_one_view": sl.summary["lottery_hit_rate_one_view"],
            "frac_classes_one_view": sl.summary["frac_classes_one_view"],
            "chance": 0.5,
        }
    if mrp is not None:
        from mrptheory.experiments.multiview.feature_capture import feature_convergence

        b = mrp.budget["derived"]
        curves.update({
            "mrp_convergence_step": feature_convergence(mrp.feature_corr, mrp.steps)["step"],
            "mrp_budget": mrp.budget,
            "mrp_theory_capture": {"slowest": b["capture_slowest"], "median": b["capture_median"],
                                   "quantile": b["quantile"]},
            "mrp_steps": mrp.steps, "mrp_feature_corr": mrp.feature_corr,  # [L, S, 2k]
            "mrp_multi_kernels": mrp.multi_kernels,
            "ft_steps": mrp.ft_steps, "ft_feature_corr": mrp.ft_feature_corr,
        })
        mrp_counts = np.asarray(mrp.summary["captured_views_per_class"])
        counts.update({
            "mrp_hist": [int((mrp_counts == c).sum()) for c in (0, 1, 2)],
            "mrp_counts": mrp_counts,
            "mrp_kernels_capturing_two_or_more": mrp.summary["kernels_capturing_two_or_more"],
            "mrp_kernels_capturing_any": mrp.summary["kernels_capturing_any"],
            "num_kernels": data_cfg.k * mrp_cfg.m,
        })
        acc["MRP linear probe"] = {"multi": mrp.probe_acc_multi, "single": mrp.probe_acc_single}
        acc["MRP fine-tuned"] = {"multi": mrp.ft_acc_multi[-1], "single": mrp.ft_acc_single[-1]}
    out["multiview_capture_curves"] = curves
    out["multiview_captured_views"] = counts
    out["multiview_accuracy"] = {
        "figure_kind": "multiview_accuracy", **common, "mu": data_cfg.mu, "per_seed": acc,
        "summary": {m: {t: _mean_sd(v) for t, v in d.items()} for m, d in acc.items()},
    }
    return {k: to_jsonable(v) for k, v in out.items()}


def run_convergence(sl: SLResult | None, mrp: MRPResult | None) -> dict[str, Any]:
    """The convergence records of a comparison's runs and the verdict over all of them:
    ``converged`` is True only when SL, MRP pretraining and fine-tuning (those that ran) all
    met the rule (``experiments.multiview.feature_capture.convergence_record``)."""
    parts: dict[str, Any] = {}
    if sl is not None:
        parts["sl"] = {**sl.convergence, "budget_detail": sl.budget}
    if mrp is not None:
        parts["mrp"] = {**mrp.convergence, "budget_detail": mrp.budget}
        parts["finetune"] = mrp.ft_convergence
    return {"converged": all(p["converged"] for p in parts.values()), **parts}


def compare_summary(res: CompareResult) -> dict[str, Any]:
    """Headline numbers (mean and sd over seeds) of a comparison."""
    sl, mrp = res.sl.summary, res.mrp.summary
    return {
        "sl_frac_classes_one_view": _mean_sd(sl["frac_classes_one_view"]),
        "sl_frac_classes_two_views": _mean_sd(sl["frac_classes_two_views"]),
        "sl_frac_classes_no_view": _mean_sd(sl["frac_classes_no_view"]),
        "sl_views_per_class": _mean_sd(np.asarray(sl["captured_views_per_class"]).mean(1)),
        "lottery_hit_rate": _mean_sd(sl["lottery_hit_rate_all"]),
        "mrp_frac_features_captured": _mean_sd(mrp["frac_features_captured"]),
        "mrp_views_per_class": _mean_sd(np.asarray(mrp["captured_views_per_class"]).mean(1)),
        "mrp_kernels_capturing_two_or_more": _mean_sd(mrp["kernels_capturing_two_or_more"]),
        "mrp_features_lost_in_finetune": _mean_sd(mrp["features_lost_in_finetune"]),
        "acc": res.payloads["multiview_accuracy"]["summary"],
        "convergence": run_convergence(res.sl, res.mrp),
    }


def apply_override(data_cfg: MultiViewConfig, sl_cfg: SLConfig, mrp_cfg: MRPConfig,
                   param: str, value: float) -> tuple[MultiViewConfig, SLConfig, MRPConfig]:
    """New (validated) configs with ``param`` set to ``value`` wherever it belongs."""
    if param not in SWEEP_PARAMS:
        raise ConfigError(f"sweep parameter must be one of {', '.join(SWEEP_PARAMS)}; got {param!r}")
    where = SWEEP_PARAMS[param]
    v: Any = int(value) if param in ("m", "d", "q") and float(value).is_integer() else value
    if "data" in where:
        data_cfg = dataclasses.replace(data_cfg, **{param: v})
    if "sl" in where:
        sl_cfg = dataclasses.replace(sl_cfg, **{param: v})
    if "mrp" in where:
        mrp_cfg = dataclasses.replace(mrp_cfg, **{param: v})
    return data_cfg, sl_cfg, mrp_cfg


def parse_sweep(spec: str) -> tuple[str, list[float]]:
    """``"mu=0.05,0.1,0.2"`` -> ``("mu", [0.05, 0.1, 0.2])`` (ConfigError on a bad spec)."""
    if "=" not in spec:
        raise ConfigError(f"--sweep must look like NAME=V1,V2,... (e.g. mu=0.05,0.1); got {spec!r}")
    name, _, vals = spec.partition("=")
    name = name.strip()
    if name not in SWEEP_PARAMS:
        raise ConfigError(f"--sweep parameter must be one of {', '.join(SWEEP_PARAMS)}; "
                          f"got {name!r}")
    try:
        values = [float(v) for v in vals.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--sweep values must be numbers separated by commas; got {vals!r}") \
            from None
    if not values:
        raise ConfigError(f"--sweep {name}= needs at least one value")
    return name, values


def _key(param: str, value: float, configs: tuple, seeds: list[int]) -> str:
    blob = json.dumps(to_jsonable({"c": configs, "s": seeds}), sort_keys=True)
    return f"{param}={value:g}|{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


def _sweep_point(param: str, value: float, cfgs: tuple, seeds: list[int],
                 device: str | torch.device, show_progress: bool | None) -> dict:
    """The stored record of one sweep point (a module-level function, so that it can run as a
    job, see :mod:`mrptheory.launch`)."""
    from mrptheory.experiments.multiview.regime import combined_report

    res = run_compare(*cfgs, seeds, device=device, show_progress=show_progress)
    return to_jsonable({"param": param, "value": value, "seeds": seeds,
                        "regime": combined_report(cfgs[0], cfgs[1], cfgs[2]).to_dict(),
                        "config": {"data": cfgs[0], "sl": cfgs[1], "mrp": cfgs[2]},
                        "summary": compare_summary(res),
                        # full metric histories of this point (per seed), for redrawing
                        "payloads": res.payloads})


def run_multiview_sweep(data_cfg: MultiViewConfig, sl_cfg: SLConfig, mrp_cfg: MRPConfig,
                        param: str, values: list[float], seeds: list[int], store_path: str | Path,
                        *, device: str | torch.device = "auto",
                        show_progress: bool | None = None, launcher=None) -> dict:
    """Compare SL and MRP at each value of ``param``; resumable through a JsonlStore.

    Returns the ``multiview_sweep`` payload: per value, mean and sd over seeds of SL's
    one-view-class fraction, MRP's captured-feature fraction, lottery hit rate and accuracies.
    ``launcher``: where the points run (a :mod:`mrptheory.launch` launcher; default here).
    """
    from mrptheory.launch import Unit, run_units

    store = JsonlStore(store_path)
    units = []
    for value in values:
        cfgs = apply_override(data_cfg, sl_cfg, mrp_cfg, param, value)
        units.append(Unit(_key(param, value, cfgs, seeds), _sweep_point,
                          (param, value, cfgs, seeds, device, show_progress),
                          threads=torch.get_num_threads()))
    # claimed: concurrent runs compute a point once
    points = run_units(units, store, launcher, desc=f"sweep {param}", show_progress=show_progress)
    return to_jsonable({"figure_kind": "multiview_sweep", "param": param, "values": values,
                        "seeds": seeds, "points": points,
                        "base_config": {"data": data_cfg, "sl": sl_cfg, "mrp": mrp_cfg}})
