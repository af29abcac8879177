"""Real-data claims: registered, honest about missing data, verdicts follow the stated rule."""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.experiments.subspace import claims as rd
from mrptheory.catalog import all_claims
from mrptheory.claims.registry import ClaimContext, run_claim
from mrptheory.errors import DatasetNotFoundError
from tests.shared_data import toy_image_splits as toy_splits
from mrptheory.experiments.subspace.projection import ProjectionConfig
from mrptheory.experiments.subspace.budget import BudgetConfig

IDS = [f"real-data-bottom20-vs-top90-{d}" for d in rd.PROJECTION_DATASETS] + [
    f"real-data-bottom20-vs-top90-{d}-resnet9" for d in rd.PROJECTION_DATASETS] + [
    "real-data-budget-favours-bottom-fashion-mnist", "real-data-learned-in-order", "real-data-dynamics-match-theory",
    "real-data-probe-lags-reconstruction"]


@pytest.fixture
def toy(monkeypatch):
    import mrptheory.data.registry as registry

    monkeypatch.setattr(registry, "load_dataset", lambda name, root=None: toy_splits())
    monkeypatch.setattr(rd, "_projection_config", lambda dataset, ctx, arch="mlp": ProjectionConfig(
        dataset=dataset, cuts=(0.8, 0.9), archs=(arch,), seeds=(0, 1), train_size=None, epochs=8, lr=1e-2,
        batch_size=64, examples=0, resnet_width=2))
    monkeypatch.setattr(rd, "_budget_config", lambda ctx: BudgetConfig(
        archs=("mlp", "resnet9"), train_sizes=(60, 300), epochs=(8,), seeds=(0, 1), lr=1e-2,
        batch_size=64, resnet_width=2))
    yield


def test_claims_are_registered() -> None:
    claims = all_claims()
    for claim_id in IDS:
        assert claim_id in claims
        assert claims[claim_id].statement


def test_missing_data_set_is_not_run_with_the_reason(tmp_path, monkeypatch) -> None:
    import mrptheory.data.registry as registry

    def missing(name, root=None):
        raise DatasetNotFoundError(f"{name} not found in /nowhere")

    monkeypatch.setattr(registry, "load_dataset", missing)
    record = run_claim(all_claims()["real-data-bottom20-vs-top90-svhn"],
                       ClaimContext(quick=True, out_dir=tmp_path, progress=False))
    assert record["verdict"] == "not run"
    assert "not found in /nowhere" in record["measured"]
    assert "tol" in record["expectation"]


def test_projection_verdict_follows_the_stated_rule(tmp_path, toy) -> None:
    record = run_claim(all_claims()["real-data-bottom20-vs-top90-fashion-mnist"],
                       ClaimContext(quick=True, out_dir=tmp_path, progress=False, device="cpu"))
    h, tol = record["details"]["headline"], record["details"]["tol"]
    expected = "confirmed" if h["difference"] >= -tol else "refuted"
    if max(h["top90_mean"], h["bottom20_mean"]) < 0.5 + rd.TRAINED_MARGIN:  # 2 classes: chance 0.5
        expected = "inconclusive"
        assert "not trained" in record["measured"]
    assert record["verdict"] == expected, record["measured"]
    assert tol >= rd.PROJECTION_TOL_FLOOR
    assert h["n_seeds"] == 2


def test_resnet9_projection_claim_uses_resnet9(tmp_path, toy) -> None:
    record = run_claim(all_claims()["real-data-bottom20-vs-top90-fashion-mnist-resnet9"],
                       ClaimContext(quick=True, out_dir=tmp_path, progress=False, device="cpu"))
    assert record["details"]["headline"]["arch"] == "resnet9"
    assert "ResNet-9" in record["conditions"]
    h, tol = record["details"]["headline"], record["details"]["tol"]
    expected = "confirmed" if h["difference"] >= -tol else "refuted"
    if max(h["top90_mean"], h["bottom20_mean"]) < 0.5 + rd.TRAINED_MARGIN:
        expected = "inconclusive"
    assert record["verdict"] == expected, record["measured"]


def test_budget_claim_verdict_follows_the_stated_rule(tmp_path, toy) -> None:
    record = run_claim(all_claims()["real-data-budget-favours-bottom-fashion-mnist"],
                       ClaimContext(quick=True, out_dir=tmp_path, progress=False, device="cpu"))
    rows = record["details"]["summary"]
    verdicts = []
    for arch in ("mlp", "resnet9"):
        rs = sorted((r for r in rows if r["arch"] == arch
                     and max(r["top90_mean"], r["bottom20_mean"]) >= 0.5 + rd.TRAINED_MARGIN),
                    key=lambda r: r["train_size"])
        if len(rs) < 2:
            verdicts.append("inconclusive")
            continue
        change = rs[-1]["difference"] - rs[0]["difference"]
        tol = max(2 * np.hypot(rs[0]["se_difference"], rs[-1]["se_difference"]), rd.BUDGET_TOL_FLOOR)
        verdicts.append("confirmed" if change > tol else "refuted" if change < -tol else "inconclusive")
    expected = ("refuted" if "refuted" in verdicts else
                "confirmed" if all(v == "confirmed" for v in verdicts) else "inconclusive")
    assert record["verdict"] == expected, record["measured"]
    assert "mlp:" in record["measured"] and "resnet9:" in record["measured"]
    assert rows and {r["arch"] for r in rows} == {"mlp", "resnet9"}
    assert (tmp_path / "claim_subspace_budget_fashion-mnist.png").is_file()


def test_untrained_classifiers_make_the_projection_claim_inconclusive(tmp_path, toy, monkeypatch):
    """Both sides at chance (toy data: 2 classes -> 50%) say nothing about the subspaces."""
    import mrptheory.experiments.subspace.projection as proj

    def fake_sweep(splits, config, out_dir, **kw):
        records = [{"arch": a, "part": p, "cut": c, "seed": s, "test_accuracy": 0.5 + 0.01 * s,
                    "dims": 3, "variance_share": 0.5}
                   for a, p, c, s in kw["units"]]
        return {"records": records, "summary": proj.summarise(records)}

    monkeypatch.setattr(proj, "run_projection_sweep", fake_sweep)
    record = run_claim(all_claims()["real-data-bottom20-vs-top90-fashion-mnist-resnet9"],
                       ClaimContext(quick=True, out_dir=tmp_path, progress=False, device="cpu"))
    assert record["verdict"] == "inconclusive", record["measured"]
    assert "not trained" in record["measured"]


@pytest.mark.parametrize("top,bottom,verdict", [(0.9, 0.8, "refuted"), (0.8, 0.9, "confirmed"),
                                                (0.85, 0.848, "confirmed")])
def test_projection_rule_on_trained_classifiers(tmp_path, toy, monkeypatch, top, bottom, verdict):
    import mrptheory.experiments.subspace.projection as proj

    def fake_sweep(splits, config, out_dir, **kw):
        records = [{"arch": a, "part": p, "cut": c, "seed": s, "dims": 3, "variance_share": 0.5,
                    "test_accuracy": (top if p == "top" else bottom) + 0.001 * s}
                   for a, p, c, s in kw["units"]]
        return {"records": records, "summary": proj.summarise(records)}

    monkeypatch.setattr(proj, "run_projection_sweep", fake_sweep)
    for arch in ("", "-resnet9"):
        record = run_claim(all_claims()[f"real-data-bottom20-vs-top90-fashion-mnist{arch}"],
                           ClaimContext(quick=True, out_dir=tmp_path, progress=False, device="cpu"))
        assert record["verdict"] == verdict, record["measured"]


