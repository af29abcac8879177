"""Verdict ladders of the linear-DAE claims (experiments/alignment/claims.py), judged on literal numbers."""

from __future__ import annotations

import pytest

from mrptheory.experiments.alignment import claims as lin
from mrptheory.catalog import all_claims
from mrptheory.claims.registry import Measurement, Verdict

C, R, I = Verdict.CONFIRMED, Verdict.REFUTED, Verdict.INCONCLUSIVE
COND = "toy conditions"


def test_each_linear_claim_is_registered_with_its_judge() -> None:
    claims = all_claims()
    for cid, judge in [("bl-gaussian-never-changes-subspace", lin.judge_gaussian_never_changes),
                       ("bl-masking-changes-subspace", lin.judge_masking_changes),
                       ("bl-masking-effect-varies", lin.judge_masking_effect_varies),
                       ("bl-same-reconstruction-different-perception",
                        lin.judge_same_reconstruction)]:
        assert claims[cid].judge is judge


@pytest.mark.parametrize("proved, worst, verdict", [
    (True, 1e-11, C),     # proof and round-off-level change
    (True, 1e-3, R),      # a real change on data
    (False, 1e-11, R),    # the proof failed
])
def test_gaussian_ladder(proved, worst, verdict) -> None:
    m = Measurement({"proved": proved, "max_change": {"0.1": 1e-12, "1.0": worst, "10.0": 1e-12},
                     "dim": 784}, COND)
    res = lin.judge_gaussian_never_changes(m)
    assert res.verdict == verdict
    assert "sigma=1: " in res.measured and res.conditions == COND
    assert res.details["proved"] is proved


@pytest.mark.parametrize("proved, verdict", [(True, I), (False, R)])
def test_gaussian_without_data(proved, verdict) -> None:
    res = lin.judge_gaussian_never_changes(Measurement({"proved": proved}, not_run="no data here"))
    assert res.verdict == verdict
    assert "real data: not run (no data here)" in res.measured


@pytest.mark.parametrize("found, largest, verdict", [
    ([True, True], 2.0, C), ([True, True], 0.05, R), ([True, False], 2.0, R),
])
def test_masking_changes_ladder(found, largest, verdict) -> None:
    res = lin.judge_masking_changes(Measurement(
        {"counterexamples": found, "largest": largest, "setting": "mask:0.99:4x4"}, COND))
    assert res.verdict == verdict
    assert res.details["largest_change"] == largest and "mask:0.99:4x4" in res.measured


@pytest.mark.parametrize("found, verdict", [([True, True], I), ([False, True], R)])
def test_masking_changes_without_data(found, verdict) -> None:
    res = lin.judge_masking_changes(Measurement({"counterexamples": found}, not_run="gone"))
    assert res.verdict == verdict and "not run (gone)" in res.measured


@pytest.mark.parametrize("changes, verdict", [
    ({"mask:0.5:1x1": [0.5, 0.2], "mask:0.5:2x2": [-1.0, -2.0]}, C),   # both signs, factor 4
    ({"mask:0.5:1x1": [0.5, 0.5], "mask:0.5:2x2": [0.6, 0.6]}, R),     # one sign, factor 1.2
    ({"mask:0.5:1x1": [0.5, 0.5], "mask:0.5:2x2": [-0.6, -0.6]}, I),   # both signs, factor 1.2
    ({"mask:0.5:1x1": [0.05, 0.05], "mask:0.5:2x2": [0.6, 0.6]}, I),   # one sign, factor 12
])
def test_masking_effect_varies_ladder(changes, verdict) -> None:
    res = lin.judge_masking_effect_varies(Measurement({"changes": changes}, COND))
    assert res.verdict == verdict, res.measured
    assert res.conditions == COND + " (data-set dependence not tested here)"
    assert "mean change by patch: 1x1:" in res.measured


def test_masking_effect_varies_without_data() -> None:
    res = lin.judge_masking_effect_varies(Measurement(not_run="no fashion-mnist"))
    assert res.verdict == I and res.measured == "not run (no fashion-mnist)"


def _bilinear(joint_error: float) -> Measurement:
    return Measurement({"in_band": True, "weight": 0.017, "reconstruction_ratio": 1.01,
                        "supervised_error": {"pca": 100.0, "joint": joint_error},
                        "probe": {"pca": 0.76, "joint": 0.80}}, COND)


@pytest.mark.parametrize("joint_error, verdict", [(80.0, C), (95.0, R)])
def test_same_reconstruction_ladder(joint_error, verdict) -> None:
    res = lin.judge_same_reconstruction(_bilinear(joint_error))
    assert res.verdict == verdict
    assert res.details["gain"] == pytest.approx(1 - joint_error / 100)
    assert f"{1 - joint_error / 100:.1%} lower" in res.measured


def test_same_reconstruction_inconclusive_and_missing() -> None:
    res = lin.judge_same_reconstruction(Measurement({"in_band": False}))
    assert res.verdict == I and "no weight" in res.measured and res.conditions == ""
    res = lin.judge_same_reconstruction(Measurement(not_run="absent"))
    assert res.verdict == I and res.measured == "not run (absent)"
