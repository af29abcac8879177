"""Verdict ladders of the subspace claims (experiments/subspace/claims.py), judged on literal numbers."""

from __future__ import annotations

import pytest

from mrptheory.catalog import all_claims
from mrptheory.claims.registry import Measurement, Verdict
from mrptheory.experiments.subspace import claims as rd

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
