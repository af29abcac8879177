"""Verdict ladders of the MAE claims (experiments/mae/claims.py), judged on literal numbers."""

from __future__ import annotations

import math

import pytest

from mrptheory.experiments.mae import claims as mae
from mrptheory.catalog import all_claims
from mrptheory.claims.registry import Measurement, Verdict
from mrptheory.experiments.mae.baselines import RANDOM, RAW

C, R, I = Verdict.CONFIRMED, Verdict.REFUTED, Verdict.INCONCLUSIVE
COND = "toy conditions"
N = 2000                               # test images: 2 SE of a difference near 0.85 ~ 0.0226
JUDGES = {"mae-finetune-beats-scratch": mae.judge_finetune_beats_scratch,
          "mae-perception-arrives-late": mae.judge_perception_late,
          "mae-masking-beats-gaussian": mae.judge_masking_vs_gaussian,
          "mae-alignment-predicts-ranking": mae.judge_alignment_ranking,
          "mae-beats-trivial-baselines": mae.judge_beats_baselines}


def test_each_mae_claim_is_registered_with_its_judge() -> None:
    claims = all_claims()
    for cid, judge in JUDGES.items():
        assert claims[cid].judge is judge


@pytest.mark.parametrize("judge", list(JUDGES.values()))
def test_a_sweep_that_could_not_run_is_not_measured(judge) -> None:
    res = judge(Measurement(not_run="fashion-mnist not found"))
    assert res.verdict == I and res.measured == "not measured: fashion-mnist not found"


def _row(budget, ft, sc, se=None, n=N) -> dict:
    return {"budget": budget, "finetune_mean": ft, "scratch_mean": sc, "difference": ft - sc,
            "difference_se": se, "n_test": n, "scratch_lr": 1e-3, "epochs": 10, "n_seeds": 2}


def _budget(*rows, cross=None) -> Measurement:
    return Measurement({"rows": list(rows), "small_budget_max": 1000, "crossover_budget": cross},
                       COND)


@pytest.mark.parametrize("rows, verdict", [
    ([_row(500, 0.80, 0.70), _row(1000, 0.84, 0.78), _row(5000, 0.86, 0.87)], C),
    ([_row(500, 0.80, 0.70), _row(1000, 0.78, 0.84)], R),           # scratch wins at 1000
    ([_row(500, 0.80, 0.70), _row(1000, 0.80, 0.795)], I),          # 1000 within noise
    ([_row(500, 0.80, 0.75, se=0.04)], I),                          # seeds disagree: tol 0.08
    ([_row(5000, 0.90, 0.80)], I),                                  # no small budget measured
])
def test_finetune_ladder(rows, verdict) -> None:
    res = mae.judge_finetune_beats_scratch(_budget(*rows))
    assert res.verdict == verdict, res.measured
    assert "crossover budget: none" in res.measured and res.conditions == COND
    for r in rows:
        if r["budget"] <= 1000:
            binom = 2 * math.sqrt(2) * math.sqrt(
                (r["finetune_mean"] + r["scratch_mean"]) / 2
                * (1 - (r["finetune_mean"] + r["scratch_mean"]) / 2) / N)
            tol = max(binom, 2 * (r["difference_se"] or 0))
            assert res.details["tolerances"][r["budget"]] == pytest.approx(tol)


def test_finetune_reports_the_crossover() -> None:
    res = mae.judge_finetune_beats_scratch(_budget(_row(500, 0.8, 0.7), _row(5000, 0.85, 0.86),
                                                   cross=5000))
    assert "crossover budget: 5000" in res.measured and res.details["crossover_budget"] == 5000


def _progress(t_recon, late_gain, net, end=0.8, last=10) -> dict:
    return {"epoch": list(range(last + 1)), "t_recon_90": t_recon, "t_probe_90": 8,
            "late_gain": late_gain, "probe_gain": net, "probe_at_init": end - net,
            "probe_at_end": end}


@pytest.mark.parametrize("prog, verdict, why", [
    (_progress(2, 0.10, 0.3), C, "kept rising"),
    (_progress(2, -0.01, 0.3), R, "no probe gain"),
    (_progress(2, 0.005, 0.3), I, "within the noise band"),        # tol = 2 SE(0.8) ~ 0.018
    (_progress(2, 0.10, 0.001), I, "did not raise the probe"),
    (_progress(10, 0.0, 0.3), I, "had not converged"),
    (_progress(None, None, 0.3), I, "had not converged"),
])
def test_perception_late_ladder(prog, verdict, why) -> None:
    res = mae.judge_perception_late(Measurement(
        {"progress": prog, "n_test": N, "ref": (0.75, 4), "controls": {}}, COND))
    assert res.verdict == verdict, res.measured
    assert why in res.measured and "MAE r=0.75 p=4" in res.measured


@pytest.mark.parametrize("linear, deep, verdict", [
    (_progress(2, 0.10, 0.3), _progress(2, 0.08, 0.3), C),
    (_progress(2, -0.01, 0.3), _progress(2, -0.02, 0.3), R),
    (_progress(2, 0.10, 0.3), _progress(2, -0.01, 0.3), I),        # the probes disagree
])
def test_perception_late_needs_both_probes(linear, deep, verdict) -> None:
    res = mae.judge_perception_late(Measurement(
        {"progress": linear, "progress_mlp": deep, "n_test": N, "ref": (0.75, 4),
         "controls": {}}, COND))
    assert res.verdict == verdict, res.measured
    assert "linear probe" in res.measured and "MLP probe" in res.measured
    assert set(res.details["per_probe"]) == {"linear", "MLP"}


def _gauss(mae_acc, ae, dae) -> Measurement:
    return Measurement({"mae": mae_acc, "ae": ae, "dae": {"0.5": dae},
                        "mae_grid": {"r=0.75,p=4": mae_acc, "r=0.5,p=4": mae_acc - 0.05},
                        "n_test": N, "ref": (0.75, 4)}, COND)


@pytest.mark.parametrize("mae_acc, ae, dae, verdict", [
    (0.85, 0.70, 0.70, C), (0.85, 0.70, 0.80, R), (0.70, 0.85, 0.85, R), (0.71, 0.70, 0.70, I),
])
def test_masking_vs_gaussian_ladder(mae_acc, ae, dae, verdict) -> None:
    res = mae.judge_masking_vs_gaussian(_gauss(mae_acc, ae, dae))
    assert res.verdict == verdict, res.measured
    assert res.details["depends_on_setting"] is True and "best r=0.75,p=4" in res.measured


def _ranking(acc: list[float], rho: float, tau: float, **extra) -> Measurement:
    labels = [f"r={0.1 * (i + 1):g},p=4" for i in range(len(acc))]
    return Measurement({"settings": labels, "alignment": [float(i) for i in range(len(acc))],
                        "probe_acc": acc, "spearman": rho, "kendall": tau, "k": 64, "n_test": N,
                        **extra}, COND)


SPREAD = [0.70, 0.74, 0.78, 0.82, 0.86]


@pytest.mark.parametrize("acc, rho, tau, verdict", [
    (SPREAD, 0.9, 0.8, C), (SPREAD, -0.5, -0.4, R), (SPREAD, 0.3, 0.2, I),
    (SPREAD[:4], 0.9, 0.8, I),                                  # fewer than 5 settings
    ([0.80, 0.801, 0.802, 0.803, 0.804], 1.0, 1.0, I),          # spread within noise
])
def test_alignment_ranking_ladder(acc, rho, tau, verdict) -> None:
    res = mae.judge_alignment_ranking(_ranking(acc, rho, tau))
    assert res.verdict == verdict, res.measured
    assert "figure_error" not in res.details


def test_alignment_ranking_reports_a_figure_failure() -> None:
    res = mae.judge_alignment_ranking(_ranking(SPREAD, 0.9, 0.8, figure_error="OSError: disk"))
    assert res.verdict == C and res.details["figure_error"] == "OSError: disk"
    assert res.measured.endswith("; figure not drawn (OSError: disk)")


def _baselines(mae_acc, raw, rand) -> Measurement:
    base = {RAW: {"probe_acc": raw, "knn_acc": raw}, RANDOM: {"probe_acc": rand, "knn_acc": rand}}
    return Measurement({"baselines": base, "n_test": N, "ref": (0.75, 4), "mae_probe": mae_acc,
                        "mae_knn": mae_acc}, COND)


@pytest.mark.parametrize("mae_acc, raw, rand, verdict", [
    (0.86, 0.80, 0.75, C), (0.78, 0.84, 0.72, R), (0.80, 0.795, 0.70, I), (0.80, 0.70, 0.86, R),
])
def test_beats_baselines_ladder(mae_acc, raw, rand, verdict) -> None:
    res = mae.judge_beats_baselines(_baselines(mae_acc, raw, rand))
    assert res.verdict == verdict, res.measured
    assert "raw pixels" in res.measured and "random encoder" in res.measured


def test_beats_baselines_without_the_reference_run() -> None:
    res = mae.judge_beats_baselines(_baselines(None, 0.8, 0.7))
    assert res.verdict == I and "reference MAE run" in res.measured
