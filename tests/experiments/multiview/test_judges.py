"""Verdict ladders of the multi-view claims (experiments/multiview/claims.py), judged on literal numbers.

The multi-view data are simulated, so no claim has a missing-data branch; each ladder's
"nothing to judge" branch (no inside cell, too few classes, nothing captured) is tested instead.
"""

from __future__ import annotations

import math

import pytest

from mrptheory.experiments.multiview import claims as mv
from mrptheory.catalog import all_claims
from mrptheory.claims.registry import Measurement, Verdict

C, R, I = Verdict.CONFIRMED, Verdict.REFUTED, Verdict.INCONCLUSIVE
COND = "toy conditions"


def test_each_multiview_claim_is_registered_with_a_judge() -> None:
    claims = {cid: c for cid, c in all_claims().items() if cid.startswith("multiview.")}
    assert len(claims) == 11
    assert all(c.judge is not None for c in claims.values())
    assert claims["multiview.lottery"].judge is mv.judge_lottery


def _mean(x: float) -> dict:
    return {"mean": x}


@pytest.mark.parametrize("one, verdict", [(0.9, C), (0.4, R), (0.6, I)])
def test_sl_one_view_ladder(one, verdict) -> None:
    summary = {"sl_frac_classes_one_view": _mean(one), "sl_frac_classes_two_views": _mean(1 - one),
               "sl_frac_classes_no_view": _mean(0.0)}
    noisy = {"frac_classes_one_view": 0.3, "frac_classes_two_views": 0.7, "acc_single": 0.9}
    res = mv.judge_sl_one_view(Measurement(
        {"summary": summary, "final_view_corr": [[[1.0, 0.03]]], "weaker_median": 0.03,
         "initial_median": 0.02, "noisy": noisy}, COND))
    assert res.verdict == verdict
    assert f"exactly one captured view: {one:.2f}" in res.measured
    assert "not used for the verdict" in res.measured and res.conditions == COND


@pytest.mark.parametrize("hits, n, verdict", [
    ([0.9, 0.8], 20, C),         # p = 0.85
    ([0.5, 0.5], 40, R),         # Wilson interval entirely below 0.8
    ([0.75, 0.75], 8, I),        # below 0.8 but too few classes to rule it out
])
def test_lottery_ladder(hits, n, verdict) -> None:
    res = mv.judge_lottery(Measurement({"hit_rate_per_seed": hits, "hit_rate_one_view": hits,
                                        "n_classes": n}, COND))
    assert res.verdict == verdict, res.measured
    assert f"of {n} classes" in res.measured and "on classes with exactly one view" in res.measured


def test_lottery_without_one_view_classes() -> None:
    res = mv.judge_lottery(Measurement({"hit_rate_per_seed": [0.9], "n_classes": 10,
                                        "hit_rate_one_view": [math.nan]}))
    assert "no class kept exactly one view" in res.measured


@pytest.mark.parametrize("frac, multi, verdict", [
    (1.0, 0.0, C), (0.7, 0.0, R), (1.0, 8.0, R), (0.9, 0.0, I), (1.0, 3.0, I),
])
def test_mrp_all_views_ladder(frac, multi, verdict) -> None:
    summary = {"mrp_frac_features_captured": _mean(frac),
               "mrp_kernels_capturing_two_or_more": _mean(multi)}
    res = mv.judge_mrp_all_views(Measurement({"summary": summary, "n_kernels": 40,
                                              "same_class": 0.0, "final_corr_seed0": []}, COND))
    assert res.verdict == verdict, res.measured
    assert "of 40 kernels" in res.measured


def _acc(slm, sls, ftm, fts) -> dict:
    def pair(a, b):
        return {"multi": _mean(a), "single": _mean(b)}
    return {"SL": pair(slm, sls), "MRP fine-tuned": pair(ftm, fts),
            "MRP linear probe": pair(0.9, 0.8)}


@pytest.mark.parametrize("acc, verdict", [
    (_acc(0.99, 0.5, 0.99, 0.95), C),
    (_acc(0.99, 0.9, 0.99, 0.95), R),      # SL generalises to single-view data
    (_acc(0.99, 0.5, 0.99, 0.45), R),      # MRP-FT no better than SL
    (_acc(0.99, 0.5, 0.99, 0.7), I),       # MRP-FT better, but short of 0.9
])
def test_accuracy_ladder(acc, verdict) -> None:
    res = mv.judge_accuracy(Measurement({"acc": acc}, COND))
    assert res.verdict == verdict, res.measured
    assert res.details == {"acc": acc}


@pytest.mark.parametrize("before, lost, verdict", [
    ([20, 20], [0, 1], C), ([20, 20], [6, 6], R), ([20, 20], [2, 2], I),
    ([0, 0], [0, 0], I),                   # nothing captured, nothing to keep
])
def test_finetune_keeps_ladder(before, lost, verdict) -> None:
    res = mv.judge_finetune_keeps(Measurement({"before": before, "lost": lost, "after": before,
                                               "n_features": 20}, COND))
    assert res.verdict == verdict, res.measured
    assert res.details["lost_per_seed"] == lost


@pytest.mark.parametrize("far_hits, far_n, verdict", [
    (20, 20, C), (10, 20, R), (17, 20, I),
    (5, 5, I),                             # fewer than 10 classes away from ties
])
def test_lottery_resolution_ladder(far_hits, far_n, verdict) -> None:
    r = {"edges": [1.0, 1.25, 2.0, 100.0], "hits": [3, far_hits, 0], "counts": [6, far_n, 0]}
    res = mv.judge_lottery_resolution(Measurement({"resolution": r}, COND))
    assert res.verdict == verdict, res.measured
    assert f"on {far_n} classes with initial ratio >= 1.25" in res.measured
    assert "near ties (< 1.25): 3/6" in res.measured


def _cells(inside: list[bool], outside: list[bool], converged: bool = True) -> list[dict]:
    return ([{"x": 1.0, "y": 0.025, "in_regime": True, "value": 0.9 if h else 0.3, "holds": h,
              "converged": converged} for h in inside]
            + [{"x": 9.0, "y": 0.025, "in_regime": False, "value": 0.9 if h else 0.3, "holds": h,
                "converged": True} for h in outside])


@pytest.mark.parametrize("inside, verdict", [
    ([True, True], C), ([False, False, True], R), ([True, False], I), ([], I),
])
def test_boundary_ladder(inside, verdict) -> None:
    res = mv.judge_boundary("P1", Measurement({"cells": _cells(inside, [False])}, COND))
    assert res.verdict == verdict, res.measured
    assert "SL one view per class holds" in res.expectation
    assert "outside (9, 0.025): 0.30 fails" in res.measured


def test_unconverged_regime_cells_never_count_towards_a_boundary_claim() -> None:
    # two failing inside cells would refute P1, but they did not converge: not counted
    cells = _cells([True], []) + _cells([False, False], [], converged=False)
    res = mv.judge_boundary("P1", Measurement({"cells": cells}, COND))
    assert res.verdict == C, res.measured
    assert "not converged (not counted): (1, 0.025): 0.30 fails" in res.measured
    assert "inside the regime (1, 0.025): 0.90 holds; outside" in res.measured


def test_boundary_claim_with_no_converged_inside_cell_reads_not_converged() -> None:
    from mrptheory.catalog import all_claims

    claim = all_claims()["multiview.regime_boundary.P1"]
    m = Measurement({"cells": _cells([False, False], [True], converged=False)}, COND,
                    converged=False, convergence={"inside cells converged": "0 of 2"})
    res = claim.judge_measurement(m)
    assert res.verdict == Verdict.NOT_CONVERGED
    assert "inside cells converged 0 of 2" in res.measured


def test_a_deliberately_short_run_is_labelled_not_converged_and_never_judged() -> None:
    """A real (tiny) SL + MRP run cut to 10 steps: every main claim's measurement says it did
    not converge and the registry's gate keeps the judge's ladder from confirming or refuting."""
    from mrptheory.experiments.multiview.data import MultiViewConfig
    from mrptheory.experiments.multiview import MRPConfig, SLConfig
    from mrptheory.experiments.multiview.experiment import run_compare

    data = MultiViewConfig(k=3, d=20, patches=8)
    small = dict(n_train=30, n_test=30, log_every=5)
    res = run_compare(data, SLConfig(steps=10, **small),
                      MRPConfig(steps=10, n_pretrain=30, probe_steps=5, ft_steps=3, **small),
                      [0, 1], device="cpu", show_progress=False)
    assert not res.sl.convergence["converged"] and res.sl.budget["source"] == "explicit steps"
    m = mv._measurement({"hit_rate_per_seed": [1.0, 1.0], "hit_rate_one_view": [1.0, 1.0],
                         "n_classes": 6}, res, ("sl",))
    assert m.converged is False and "of 6 classes converged" in m.convergence["sl"]
    claim = all_claims()["multiview.lottery"]
    out = claim.judge_measurement(m)
    assert out.verdict == Verdict.NOT_CONVERGED  # the judge alone would say confirmed
    assert mv.judge_lottery(m).verdict == C
    assert out.measured.startswith("not converged (sl ") and "after 10 steps" in out.measured
