"""Verdict ladders of the dynamics claims (experiments/dynamics/claims.py), judged on literal numbers."""

from __future__ import annotations

import math

import pytest

from mrptheory.claims.registry import Measurement, Verdict
from mrptheory.experiments.dynamics import claims as rd

C, R, I = Verdict.CONFIRMED, Verdict.REFUTED, Verdict.INCONCLUSIVE
COND = "toy conditions"


def _dyn(**per_model: dict) -> Measurement:
    return Measurement({"summary": per_model}, COND)


def _order(rho: float) -> dict:
    return {"spearman": rho, "n_compared": 50, "median_log_ratio": 0.1}


@pytest.mark.parametrize("lin, deep, verdict", [
    (-0.99, -0.95, C), (-0.99, -0.3, R), (-0.99, -0.7, I), (-0.99, math.nan, I),
])
def test_learned_in_order_ladder(lin, deep, verdict) -> None:
    res = rd.judge_learned_in_order(_dyn(linear=_order(lin), deep=_order(deep)))
    assert res.verdict == verdict, res.measured
    assert "linear: Spearman -0.9900 over 50 directions" in res.measured


def test_learned_in_order_with_a_model_missing() -> None:
    assert rd.judge_learned_in_order(_dyn(linear=_order(-0.99))).verdict == I


def _match(med: float, p90: float = 0.1) -> dict:
    return {"median_abs_diff": med, "p90_abs_diff": p90}


@pytest.mark.parametrize("meds, verdict", [
    ((0.01, 0.02, 0.03, 0.04), C), ((0.01, 0.02, 0.03, 0.2), R), ((0.01, 0.02, 0.03, 0.07), I),
])
def test_dynamics_match_ladder(meds, verdict) -> None:
    models = dict(zip(("linear", "deep", "gaussian", "mask"), (_match(m) for m in meds)))
    res = rd.judge_dynamics_match(_dyn(**models))
    assert res.verdict == verdict, res.measured
    assert res.measured.startswith("linear: median 0.0100, p90 0.1000")


def test_dynamics_match_needs_four_models() -> None:
    assert rd.judge_dynamics_match(_dyn(linear=_match(0.01), deep=_match(0.01))).verdict == I
    # a p90 beyond its tolerance blocks confirmation without refuting
    models = {k: _match(0.01, 0.3) for k in ("linear", "deep", "gaussian", "mask")}
    assert rd.judge_dynamics_match(_dyn(**models)).verdict == I


def _lag(c: float) -> dict:
    return {"probe_closure_at_t90": c, "t90_reconstruction": 0.5, "probe_learned_at_t90": 0.6,
            "probe_learned_start": 0.1, "probe_learned_final": 0.8}


@pytest.mark.parametrize("c, verdict", [(0.5, C), (0.95, R), (0.9, I)])
def test_probe_lags_ladder(c, verdict) -> None:
    res = rd.judge_probe_lags(_dyn(linear=_lag(c), deep=_lag(0.7)))
    assert res.verdict == verdict, res.measured
    assert f"{100 * c:.1f}% of its gap closed (other models: deep: 70.0%)" in res.measured


def test_probe_lags_without_the_one_layer_model() -> None:
    res = rd.judge_probe_lags(_dyn(deep=_lag(0.5)))
    assert res.verdict == I and res.measured == "one-layer model not run"
    assert res.conditions == COND


def _classifier(r: float, c: float, se: float = 0.01, gap: float = 0.3) -> dict:
    return {"t90": 0.5, "index": 4, "reconstruction_closed_at_t90": r,
            "accuracy_closed_at_t90": c, "se_accuracy_closed": se, "accuracy_start": 0.1,
            "accuracy_at_t90": 0.1 + c * gap, "accuracy_final": 0.1 + gap, "accuracy_gap": gap,
            "n_learned_at_t90": 12, "n_learned_final": 80}


@pytest.mark.parametrize("rows, verdict", [
    ({"mlp": _classifier(0.93, 0.80)}, C),                  # lag 13 pt > band 2 pt
    ({"mlp": _classifier(0.93, 0.99)}, R),                  # accuracy ahead by 6 pt
    ({"mlp": _classifier(0.93, 0.92)}, I),                  # within the 2-pt floor
    ({"mlp": _classifier(0.93, 0.85, se=0.05)}, I),         # 8 pt lag inside 2 SE = 10 pt
    ({"mlp": _classifier(0.93, 0.80, gap=0.02)}, I),        # nothing to close
    ({"mlp": _classifier(0.93, 0.80), "resnet9": _classifier(0.93, 0.99)}, R),
    ({"mlp": _classifier(0.93, 0.80), "resnet9": _classifier(0.93, 0.92)}, I),
])
def test_classifier_lag_ladder(rows, verdict) -> None:
    res = rd.judge_classifier_lag(Measurement({"summary": rows}, COND))
    assert res.verdict == verdict, res.measured
    assert "lag" in res.measured and res.conditions == COND
