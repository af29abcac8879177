"""Real-data claims: registered, honest about missing data, verdicts follow the stated rule."""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.experiments.subspace import claims as rd
from mrptheory.claims.registry import ClaimContext, Verdict, all_claims, run_claim
from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.errors import DatasetNotFoundError
from mrptheory.experiments.dynamics.experiment import DynamicsConfig
from mrptheory.experiments.subspace.projection import ProjectionConfig
from mrptheory.experiments.subspace.budget import BudgetConfig

IDS = [f"real-data-bottom20-vs-top90-{d}" for d in rd.PROJECTION_DATASETS] + [
    f"real-data-bottom20-vs-top90-{d}-resnet9" for d in rd.PROJECTION_DATASETS] + [
    "real-data-budget-favours-bottom-fashion-mnist", "real-data-learned-in-order", "real-data-dynamics-match-theory",
    "real-data-probe-lags-reconstruction"]


def toy_splits() -> DatasetSplits:
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.normal(size=(16, 16)))

    def make(n: int, split: str) -> ImageDataset:
        y = rng.integers(0, 2, n)
        c = rng.normal(size=(n, 16)) * np.geomspace(20, 2, 16)
        c[:, 14] += 4.0 * (2 * y - 1)
        img = np.clip(np.round(120 + c @ u.T), 0, 255).astype(np.uint8).reshape(n, 1, 4, 4)
        return ImageDataset(img, y.astype(np.int64), ("a", "b"), "fashion-mnist", split)

    return DatasetSplits(make(300, "train"), make(100, "test"))


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
    monkeypatch.setattr(rd, "_dynamics_config", lambda ctx, dataset="fashion-mnist": DynamicsConfig(
        dataset=dataset, train_size=300, probe_train_size=200, probe_test_size=100,
        downsample=1, batch_size=300, lr_scale=0.5, t_max=0.3, deep_t_max=0.6, n_eval=6))
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


NATURAL_IDS = ["real-data-bottom20-vs-top90-cifar10", "real-data-bottom20-vs-top90-cifar10-resnet9",
               "real-data-budget-favours-bottom-cifar10", "real-data-learned-in-order-cifar10",
               "real-data-dynamics-match-theory-cifar10", "real-data-probe-lags-reconstruction-cifar10",
               "real-data-classifier-lags-reconstruction-cifar10", "bl-masking-effect-varies-cifar10"]


def test_natural_image_rows_are_not_run_without_cifar10(tmp_path, monkeypatch) -> None:
    """No pickles and no image folder: every CIFAR-10 row is 'not run', saying where to put it,
    at no cost."""
    for var in ("MRP_CIFAR10_DIR", "MRP_CIFAR10_JPEG_DIR"):
        monkeypatch.delenv(var, raising=False)
    ctx = ClaimContext(quick=True, out_dir=tmp_path, progress=False, device="cpu")
    for cid in NATURAL_IDS:
        record = run_claim(all_claims()[cid], ctx)
        assert record["verdict"] == "not run", (cid, record["measured"])
        assert "--image-folder" in record["measured"] and "MRP_CIFAR10_DIR" in record["measured"]
    assert not list(tmp_path.iterdir())


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
