"""MAE claims: protocol fields, gating (off-conditions / not converged) and verdicts on a faked
study, and one end-to-end run of all five claims on a tiny generated set."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mrptheory.experiments.mae import claims
from mrptheory.catalog import all_claims
from mrptheory.claims.registry import ClaimContext, Verdict, run_claim
from mrptheory.experiments.mae.training import small_dataset
from mrptheory.experiments.mae.baselines import RANDOM, RAW
from mrptheory.experiments.mae.protocol import MAEProtocol, plateau

IDS = ("mae-finetune-beats-scratch", "mae-perception-arrives-late", "mae-masking-beats-gaussian",
       "mae-alignment-predicts-ranking", "mae-beats-trivial-baselines")


class _Data:
    """Stands in for DatasetSplits where only sizes are read (a 60k / 10k split)."""

    class _Split:
        def __init__(self, n: int) -> None:
            self.n = n

        def __len__(self) -> int:
            return self.n

        def subset(self, n, seed=0):
            return self

    train, test = _Split(60000), _Split(10000)


LOSS = [2.0, 1.05, 1.01, 1.0, 1.0, 0.999]           # plateaued; 90% of its drop by epoch 1


def _rec(method, probe=0.8, loss=LOSS, acc=None, ratio=0.75, patch=7) -> dict:
    acc = acc or [0.5, 0.6, 0.7, 0.75, 0.78, probe]
    h = {"eval_epoch": list(range(len(loss))), "test_loss": loss, "probe_acc": acc,
         "knn_acc": acc, "mlp_acc": acc}
    return {"key": f"{method}-{ratio}-{patch}", "method": method, "mask_ratio": ratio,
            "patch_size": patch, "noise_std": 0.5 if method == "dae" else 0.0, "history": h,
            "final": {"probe_acc": probe, "knn_acc": probe, "mlp_acc": probe},
            "convergence": plateau(h["eval_epoch"], loss)}


@pytest.fixture(autouse=True)
def _out_in_tmp(monkeypatch, tmp_path):
    """Every ClaimContext of this module writes below tmp_path (never into paper_figs/)."""
    monkeypatch.setattr(ClaimContext, "__init__", _ctx_init(tmp_path))


def _ctx_init(out):
    real = ClaimContext.__init__

    def init(self, *a, **k):
        real(self, *a, **{**k, "out_dir": k.get("out_dir", out)})
    return init


def _fake(monkeypatch, protocol=None, mae=None, ae=None, dae=None, budget_rows=None,
          raw=0.78) -> None:
    # alignment ordered like the sweep's probe accuracies below (the closed form needs pixels)
    order = {"mask:0.5:4x4": 1.0, "mask:0.75:4x4": 2.0, "mask:0.9:4x4": 3.0, "mask:0.5:7x7": 4.0,
             "mask:0.75:7x7": 5.0, "mask:0.9:7x7": 6.0}
    monkeypatch.setattr(claims, "_alignments", lambda train, noises, k: [order[n] for n in noises])
    p = protocol or MAEProtocol()
    study = {"protocol": p, "data": _Data(), "data_id": "arrays:fake", "source": None,
             "mae": mae or _rec("mae", 0.85), "ae": ae or _rec("ae", 0.70),
             "dae": dae or _rec("dae", 0.70),
             "sweep": [_rec("mae", 0.80 + 0.01 * i, ratio=r, patch=q)
                       for i, (r, q) in enumerate([(0.5, 4), (0.75, 4), (0.9, 4), (0.5, 7),
                                                   (0.75, 7), (0.9, 7)])],
             "baselines": {RAW: {"probe_acc": raw, "knn_acc": raw},
                           RANDOM: {"probe_acc": 0.6, "knn_acc": 0.6}}}
    monkeypatch.setattr(claims, "_study", lambda ctx: study)
    rows = budget_rows or [
        {"budget": b, "finetune_mean": ft, "scratch_mean": sc, "difference": ft - sc,
         "difference_se": None, "n_test": 2000, "scratch_lr": 1e-3, "epochs": 10, "n_seeds": 2}
        for b, ft, sc in ((500, 0.80, 0.70), (1000, 0.83, 0.77), (5000, 0.86, 0.86))]
    monkeypatch.setattr(claims, "_budget_curve", lambda ctx, s: {
        "rows": rows, "crossover_budget": 5000, "lr_rule": "fixed rule"})


def _run(claim_id: str) -> dict:
    return run_claim(all_claims()[claim_id], ClaimContext(progress=False))


def test_every_row_carries_the_protocol(monkeypatch) -> None:
    _fake(monkeypatch)
    for cid in IDS:
        rec = _run(cid)
        assert "check failed" not in rec["measured"], rec["details"].get("traceback")
        proto = rec["details"]["protocol"]
        for field in ("pretraining_set", "epochs", "embed_dim", "depth", "mask_ratio",
                      "patch_size", "norm_pix", "label_budgets", "probe_train_set", "test_set"):
            assert field in proto, (cid, field)
        assert proto["pretraining_set"] == "whole train split, labels unused"
        assert proto["probe_sets_disjoint"] is True
        assert rec["measurement"]["values"]["protocol"] == proto     # in claims.jsonl too
        assert "whole train split" in rec["conditions"] and "norm-pix on" in rec["conditions"]
        assert rec["verdict"] in {"confirmed", "refuted", "inconclusive"}, (cid, rec["measured"])


def test_registered_protocol_verdicts(monkeypatch) -> None:
    _fake(monkeypatch)
    assert _run("mae-finetune-beats-scratch")["verdict"] == "confirmed"
    assert _run("mae-perception-arrives-late")["verdict"] == "confirmed"
    assert _run("mae-masking-beats-gaussian")["verdict"] == "confirmed"
    assert _run("mae-beats-trivial-baselines")["verdict"] == "confirmed"
    rank = _run("mae-alignment-predicts-ranking")
    assert "shorter schedule" in rank["conditions"] and rank["verdict"] == "confirmed"


@pytest.mark.parametrize("change, text", [
    ({"pretrain_samples": 4000}, "pretraining on 4000 of the 60000"),
    ({"mask_ratio": 0.5}, "mask ratio 0.5"),
    ({"norm_pix": False}, "plain-pixel target"),
])
def test_another_protocol_is_not_at_the_papers_conditions(monkeypatch, change, text) -> None:
    _fake(monkeypatch, protocol=dataclasses.replace(MAEProtocol(), **change))
    for cid in IDS:
        rec = _run(cid)
        assert rec["verdict"] == Verdict.OFF_CONDITIONS.value, (cid, rec["measured"])
        assert text in rec["measured"] and "numbers:" in rec["measured"]


def test_finetune_without_a_small_budget_is_off_conditions(monkeypatch) -> None:
    _fake(monkeypatch, protocol=dataclasses.replace(MAEProtocol(), label_budgets=(5000, None)))
    rec = _run("mae-finetune-beats-scratch")
    assert rec["verdict"] == Verdict.OFF_CONDITIONS.value and "label budget <= 1000" in rec["measured"]
    assert _run("mae-beats-trivial-baselines")["verdict"] == "confirmed"   # probes need no budget


def test_unconverged_pretraining_is_not_judged(monkeypatch) -> None:
    falling = [2.0, 1.6, 1.3, 1.1, 0.9, 0.8]                 # still 11% better in the last fifth
    _fake(monkeypatch, mae=_rec("mae", 0.85, loss=falling))
    for cid in ("mae-finetune-beats-scratch", "mae-perception-arrives-late",
                "mae-masking-beats-gaussian", "mae-beats-trivial-baselines"):
        rec = _run(cid)
        assert rec["verdict"] == Verdict.NOT_CONVERGED.value, cid
        assert "not converged" in rec["measured"]
    # the ranking sweep's schedule is stated, not plateau-checked
    assert _run("mae-alignment-predicts-ranking")["verdict"] != Verdict.NOT_CONVERGED.value


def test_an_unconverged_control_gates_masking_vs_gaussian(monkeypatch) -> None:
    _fake(monkeypatch, dae=_rec("dae", 0.7, loss=[2.0, 1.6, 1.3, 1.1, 0.9, 0.8]))
    rec = _run("mae-masking-beats-gaussian")
    assert rec["verdict"] == Verdict.NOT_CONVERGED.value and "2/3" in rec["measured"]


def test_raw_pixels_above_the_mae_refute_the_baselines_claim(monkeypatch) -> None:
    _fake(monkeypatch, raw=0.90)
    assert _run("mae-beats-trivial-baselines")["verdict"] == "refuted"


def test_spearman_kendall() -> None:
    assert claims.spearman_kendall([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx((1.0, 1.0))
    assert claims.spearman_kendall([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx((-1.0, -1.0))


TINY = MAEProtocol(name="tiny", patch_size=2, embed_dim=16, depth=1, num_heads=2, decoder_dim=8,
                   epochs=2, batch_size=16, probe_train_samples=40, test_samples=None,
                   val_samples=16, label_budgets=(10, 40), finetune_images=40, min_ft_epochs=1,
                   max_ft_epochs=2, seeds=(0, 1), lrs=(1e-3,),
                   sweep_ratios=(0.5, 0.75), sweep_patches=(2,), sweep_samples=None,
                   sweep_epochs=1)


def test_claims_end_to_end_on_tiny_data(monkeypatch, tmp_path) -> None:
    """All five claims share one pretraining (stored once), give verdicts and write figures;
    a second reproduce run (new context) trains nothing."""
    import mrptheory.data.registry as registry
    import mrptheory.experiments.mae.pretrained as pre

    data = small_dataset(96, 40)
    monkeypatch.setattr(registry, "load_dataset", lambda name, root=None: data)
    monkeypatch.setattr(registry, "resolve_root", lambda name, root=None: (_ for _ in ()).throw(
        claims.MrpError("in memory")))
    monkeypatch.setattr(claims, "protocol_for", lambda ctx: TINY)
    monkeypatch.setattr(claims, "_workers", lambda: 1)
    trained = []
    real_train = pre.train
    monkeypatch.setattr(pre, "train", lambda cfg, *a, **k: trained.append(cfg) or real_train(
        cfg, *a, **k))
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        registered = all_claims()
        results = {}
        for _ in range(2):
            ctx = ClaimContext(quick=True, out_dir=tmp_path, progress=False)
            results = {cid: run_claim(registered[cid], ctx) for cid in IDS}
    finally:
        torch.set_num_threads(old)
    assert len(trained) == 3 + 2                 # MAE + AE + DAE, 2 sweep settings: once each
    assert [c.model.method for c in trained[:3]] == ["mae", "ae", "dae"]
    for cid, r in results.items():
        assert r["verdict"] in {v.value for v in Verdict} - {"not run"}, r["measured"]
        assert "check failed" not in r["measured"], r["details"].get("traceback")
        assert r["expectation"]
    assert "Spearman" in results["mae-alignment-predicts-ranking"]["measured"]
    for name in ("mae_perception_tiny", "mae_label_budget_tiny", "mae_alignment_rank_tiny"):
        assert (tmp_path / f"{name}.png").exists() and (tmp_path / f"{name}.json").exists()
