"""Verdict ladders of the real-data claims (claims/real_data.py), judged on literal numbers."""

from __future__ import annotations

import math

import pytest

from mrptheory.experiments.subspace import claims as rd
from mrptheory.claims.registry import Measurement, Verdict, all_claims

C, R, I = Verdict.CONFIRMED, Verdict.REFUTED, Verdict.INCONCLUSIVE
COND = "toy conditions"


def test_each_real_data_claim_is_registered_with_a_judge() -> None:
    claims = {cid: c for cid, c in all_claims().items() if cid.startswith("real-data-")}
    # projection (MLP, ResNet-9) per data set; budget, classifier lag (Fashion-MNIST, CIFAR-10);
    # the three dynamics claims on Fashion-MNIST and CIFAR-10
    assert len(claims) == 2 * len(rd.PROJECTION_DATASETS) + 2 + 2 + 3 * 2
    assert all(c.judge is not None for c in claims.values())


SUMMARY = [{"part": "top", "dims": 20, "variance_share": 0.9},
           {"part": "bottom", "dims": 600, "variance_share": 0.2}]


def _projection(top: float, bottom: float, se: float = 0.002, n_seeds: int = 3) -> Measurement:
    head = {"top90_mean": top, "bottom20_mean": bottom, "difference": bottom - top,
            "se_difference": se, "n_seeds": n_seeds}
    return Measurement({"headline": head, "chance": 0.1, "summary": SUMMARY, "config": {}}, COND)


@pytest.mark.parametrize("top, bottom, verdict", [
    (0.85, 0.86, C), (0.85, 0.847, C),      # within tol = max(2 x 0.002, 0.005)
    (0.85, 0.80, R),
    (0.11, 0.12, I),                        # neither side beats chance (10%) by 5 pt
])
def test_projection_ladder(top, bottom, verdict) -> None:
    res = rd.judge_projection(_projection(top, bottom))
    assert res.verdict == verdict, res.measured
    assert res.details["tol"] == rd.PROJECTION_TOL_FLOOR
    assert "top-90% (20 dims, 90.0% var)" in res.measured and res.conditions == COND
    assert ("not trained" in res.measured) == (verdict is I)


def test_projection_tolerance_grows_with_the_seed_spread() -> None:
    res = rd.judge_projection(_projection(0.85, 0.83, se=0.02))
    assert res.verdict == C and res.details["tol"] == pytest.approx(0.04)


def test_projection_too_few_seeds_and_missing_data() -> None:
    assert rd.judge_projection(_projection(0.85, 0.86, n_seeds=1)).verdict == I
    res = rd.judge_projection(Measurement({"headline": None}, COND))
    assert res.verdict == I and res.measured == "fewer than two seeds finished"
    res = rd.judge_projection(Measurement(conditions=COND, not_run="cifar10 not found"))
    assert res.verdict == I and res.measured == "not run: cifar10 not found"
    assert res.conditions == COND and "tol" in res.expectation


def _row(arch: str, n: int, diff: float, se: float = 0.002, top: float = 0.8) -> dict:
    return {"arch": arch, "epochs": 5, "train_size": n, "top90_mean": top,
            "bottom20_mean": top + diff, "difference": diff, "se_difference": se, "n_seeds": 2}


def _budget(rows: list[dict], archs=("mlp",)) -> Measurement:
    cross = [{"arch": a, "epochs": 5, "crossover_size": None, "winner": "top"} for a in archs]
    return Measurement({"archs": list(archs), "epochs": 5, "chance": 0.1, "summary": rows,
                        "crossovers": cross, "config": {}}, COND)


@pytest.mark.parametrize("d_small, d_large, verdict", [
    (-0.05, -0.01, C), (-0.01, -0.05, R), (-0.02, -0.019, I),
])
def test_budget_ladder(d_small, d_large, verdict) -> None:
    res = rd.judge_budget(_budget([_row("mlp", 2000, d_small), _row("mlp", 18000, d_large)]))
    assert res.verdict == verdict, res.measured
    assert "no crossover (top wins at every size)" in res.measured


def test_budget_needs_every_arch_and_trained_sizes() -> None:
    rows = [_row("mlp", 2000, -0.05), _row("mlp", 18000, -0.01), _row("resnet9", 2000, -0.05)]
    res = rd.judge_budget(_budget(rows, archs=("mlp", "resnet9")))
    assert res.verdict == I and "resnet9: fewer than two trained sizes" in res.measured
    untrained = [_row("mlp", 2000, 0.0, top=0.11), _row("mlp", 18000, 0.01)]
    assert rd.judge_budget(_budget(untrained)).verdict == I
    res = rd.judge_budget(Measurement(conditions=COND, not_run="fashion-mnist not found"))
    assert res.verdict == I and res.measured == "not run: fashion-mnist not found"


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


def test_natural_masking_judge_reports_where_masking_helps() -> None:
    ks = [32, 64, 128]
    changes = {"mask:0.5:1x1": [0.5, 2.0, 1.0], "mask:0.5:2x2": [-0.5, -3.0, -1.0],
               "mask:0.9:4x4": [0.01, 0.02, 0.01]}
    res = rd.judge_natural_masking(Measurement({"changes": changes, "ks": ks}, COND))
    assert res.verdict == C, res.measured
    assert "1x1: +2.00 % at K = 64 (mask:0.5:1x1)" in res.measured
    assert "on CIFAR-10" in res.expectation
