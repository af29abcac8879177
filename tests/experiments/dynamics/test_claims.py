"""The dynamics claims on a toy data set: one shared learned-last run, the classifier lag."""

from __future__ import annotations

import pytest

from mrptheory.catalog import all_claims
from mrptheory.claims.registry import ClaimContext, Verdict, run_claim
from mrptheory.experiments.dynamics import claims as rd
from mrptheory.experiments.dynamics.experiment import DynamicsConfig
from tests.shared_data import toy_image_splits as toy_splits


@pytest.fixture
def toy(monkeypatch):
    import mrptheory.data.registry as registry

    monkeypatch.setattr(registry, "load_dataset", lambda name, root=None: toy_splits())
    monkeypatch.setattr(rd, "_dynamics_config", lambda ctx, dataset="fashion-mnist": DynamicsConfig(
        dataset=dataset, train_size=300, probe_train_size=200, probe_test_size=100,
        downsample=1, batch_size=300, lr_scale=0.5, t_max=0.3, deep_t_max=0.6, n_eval=6))
    yield


def test_dynamics_claims_share_one_run_and_report_numbers(tmp_path, toy, monkeypatch) -> None:
    ctx = ClaimContext(quick=True, out_dir=tmp_path, progress=False, device="cpu")
    first = run_claim(all_claims()["real-data-learned-in-order"], ctx)
    assert first["verdict"] in {v.value for v in Verdict}, first["measured"]
    assert "Spearman" in first["measured"]

    import mrptheory.experiments.dynamics.experiment as ld

    monkeypatch.setattr(ld, "run_dynamics", lambda *a, **k: pytest.fail("not cached"))
    match = run_claim(all_claims()["real-data-dynamics-match-theory"], ctx)
    lag = run_claim(all_claims()["real-data-probe-lags-reconstruction"], ctx)
    assert "median" in match["measured"] and "gap closed" in lag["measured"]
    summary = match["details"]["summary"]
    meds = [s["median_abs_diff"] for s in summary.values()]
    if all(m <= rd.MATCH_MEDIAN_TOL for m in meds) and all(
            s["p90_abs_diff"] <= rd.MATCH_P90_TOL for s in summary.values()):
        assert match["verdict"] == "confirmed"
    c = lag["details"]["summary"]["linear"]["probe_closure_at_t90"]
    assert (lag["verdict"] == "confirmed") == (c < rd.PROBE_LAG_CONFIRM)
    assert (lag["verdict"] == "refuted") == (c > rd.PROBE_LAG_REFUTE)


def test_classifier_lag_claim_trains_on_learned_directions(tmp_path, toy, monkeypatch) -> None:
    from mrptheory.experiments.dynamics.classifier_lag import ClassifierLagConfig

    monkeypatch.setattr(rd, "_classifier_lag_config", lambda ctx: ClassifierLagConfig(
        archs=("mlp",), epochs=3, batch_size=64, lr=1e-2))
    ctx = ClaimContext(quick=True, out_dir=tmp_path, progress=False, device="cpu")
    record = run_claim(all_claims()["real-data-classifier-lags-reconstruction"], ctx)
    s = record["details"]["summary"]["mlp"]
    r, c = s["reconstruction_closed_at_t90"], s["accuracy_closed_at_t90"]
    band = max(2 * s["se_accuracy_closed"], rd.LAG_BAND_FLOOR)
    expected = ("inconclusive" if s["accuracy_gap"] < rd.TRAINED_MARGIN else
                "confirmed" if r - c > band else "refuted" if r - c < -band else "inconclusive")
    assert record["verdict"] == expected, record["measured"]
    assert r >= 0.9 and "MLP" in record["conditions"]
    assert (tmp_path / "claim_classifier_lag_fashion-mnist.png").is_file()
    # the stored units are reused: a second run trains nothing
    import mrptheory.experiments.dynamics.classifier_lag as dc

    monkeypatch.setattr(dc, "classifier_accuracy", lambda *a, **k: pytest.fail("retrained"))
    again = run_claim(all_claims()["real-data-classifier-lags-reconstruction"],
                      ClaimContext(quick=True, out_dir=tmp_path, progress=False, device="cpu"))
    assert again["details"]["summary"] == record["details"]["summary"]
