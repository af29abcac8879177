"""The CIFAR-10 alignment row's judge (experiments/alignment/natural_claims.py) on literal numbers."""

from __future__ import annotations

from mrptheory.claims.registry import Measurement, Verdict
from mrptheory.experiments.alignment import natural_claims as rd

C, R, I = Verdict.CONFIRMED, Verdict.REFUTED, Verdict.INCONCLUSIVE
COND = "toy conditions"


def test_natural_masking_judge_reports_where_masking_helps() -> None:
    ks = [32, 64, 128]
    changes = {"mask:0.5:1x1": [0.5, 2.0, 1.0], "mask:0.5:2x2": [-0.5, -3.0, -1.0],
               "mask:0.9:4x4": [0.01, 0.02, 0.01]}
    res = rd.judge_natural_masking(Measurement({"changes": changes, "ks": ks}, COND))
    assert res.verdict == C, res.measured
    assert "1x1: +2.00 % at K = 64 (mask:0.5:1x1)" in res.measured
    assert "on CIFAR-10" in res.expectation
