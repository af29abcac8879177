"""Summaries of a learned-last run: when each direction is learned, and when the label information.

Numbers the ``real-data-*`` dynamics claims and ``mrp dynamics`` report from a ``dynamics``
payload (:func:`dynamics_summary`) or one model's record (:func:`summarise_model`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mrptheory.experiments.dynamics.theory import time_to_fraction


def half_times(record: dict[str, Any], level: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(measured, theory) time for each direction to reach ``level`` reconstruction (inf: never)."""
    times = np.asarray(record["times"])[1:]  # t = 0 has no log
    meas = time_to_fraction(times, np.asarray(record["rho"])[1:], level)
    theo = time_to_fraction(times, np.asarray(record["theory_rho"])[1:], level)
    return meas, theo


def gap_closure(curve: np.ndarray) -> np.ndarray:
    """Share of the run's total change achieved so far: ``(c[t] - c[0]) / (c[-1] - c[0])`` per point."""
    c = np.asarray(curve, dtype=np.float64)
    span = c[-1] - c[0]
    return (c - c[0]) / span if span != 0 else np.ones_like(c)


def summarise_model(record: dict[str, Any], eigenvalues: np.ndarray,
                    level: float = 0.5) -> dict[str, Any]:
    """Numbers the claims and the CLI report for one model's record.

    * ``spearman``: rank correlation between eigenvalue and measured time to ``level`` (unreached
      directions rank last), over the ``n_compared`` directions the closed form says reach
      ``level`` within the run (chosen from theory, before looking at the measurement);
    * ``median_log_ratio``: median ``|ln(t_measured / t_theory)|`` over those directions;
    * ``median_abs_diff`` / ``p90_abs_diff``: of ``|rho - rho_theory|`` over every evaluation time
      after 0 and every direction with eigenvalue above ``1e-4 lambda_max``;
    * ``probe_closure_at_t90``: share of the run's gain in probe-on-learned-directions accuracy
      achieved at the first evaluation where the reconstruction loss has closed 90% of its gap.
    """
    from scipy.stats import spearmanr

    ev = np.asarray(eigenvalues)
    meas, theo = half_times(record, level)
    compared = np.isfinite(theo)
    m = np.where(np.isfinite(meas), meas, 1e300)[compared]
    rho_s = float(spearmanr(ev[compared], m)[0]) if compared.sum() >= 3 else float("nan")
    both = compared & np.isfinite(meas)
    ratio = float(np.median(np.abs(np.log(meas[both] / theo[both])))) if both.any() else float("nan")
    keep = ev > ev[0] * 1e-4
    diff = np.abs(np.asarray(record["rho"])[1:, keep] - np.asarray(record["theory_rho"])[1:, keep])
    loss_closed = gap_closure(-np.asarray(record["loss"]))
    i90 = int(np.argmax(loss_closed >= 0.9))
    probe_closed = gap_closure(np.asarray(record["probe_learned"]))
    return {
        "n_compared": int(compared.sum()), "n_reached": int(both.sum()),
        "spearman": rho_s, "median_log_ratio": ratio,
        "median_abs_diff": float(np.median(diff)), "p90_abs_diff": float(np.percentile(diff, 90)),
        "t90_reconstruction": float(record["times"][i90]),
        "probe_closure_at_t90": float(probe_closed[i90]),
        "probe_learned_at_t90": float(record["probe_learned"][i90]),
        "probe_learned_final": float(record["probe_learned"][-1]),
        "probe_learned_start": float(record["probe_learned"][0]),
    }


def dynamics_summary(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """:func:`summarise_model` for every model of a ``dynamics`` payload."""
    ev = np.asarray(payload["eigenvalues"])
    return {name: summarise_model(r, ev) for name, r in payload["models"].items()}
