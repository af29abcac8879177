"""MAE claims: verdict logic on fixed numbers, and one end-to-end run on a tiny generated set."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mrptheory.claims import mae as claims
from mrptheory.claims.registry import ClaimContext, Verdict, all_claims, run_claim
from mrptheory.models.mae import MAEConfig
from mrptheory.train.mae import MAETrainConfig, small_dataset
from mrptheory.train.mae_finetune import FinetuneConfig
from mrptheory.train.mae_sweep import SweepConfig

IDS = ("mae-finetune-beats-scratch", "mae-perception-arrives-late", "mae-masking-beats-gaussian",
       "mae-alignment-predicts-ranking", "mae-beats-trivial-baselines")


class _Data:
    """Stands in for DatasetSplits where only sizes are read."""

    class _Split:
        def __len__(self) -> int:
            return 2000

    train = test = _Split()


def _cfg() -> SweepConfig:
    base = MAETrainConfig(model=MAEConfig(), epochs=4, test_samples=2000)
    return SweepConfig(name="fake", base=base, mask_ratios=(0.5, 0.75), patch_sizes=(4,),
                       noise_stds=(0.5,))


def _rec(method, ratio=0.0, patch=4, noise=0.0, **final) -> dict:
    hist = final.pop("history", None) or {"eval_epoch": [0, 4], "probe_acc": [0.5, 0.6],
                                          "knn_acc": [0.5, 0.6], "test_loss": [1.0, 0.5]}
    return {"key": f"{method}{ratio}{patch}{noise}", "method": method, "mask_ratio": ratio,
            "patch_size": patch, "noise_std": noise, "seed": 0, "final": final, "history": hist}


def _fake(monkeypatch, records) -> None:
    monkeypatch.setattr(claims, "_sweep", lambda ctx: (records, _cfg(), _Data()))


def _check(claim_id: str):
    """Measure (on the faked sweep) and judge one claim."""
    return all_claims()[claim_id].check(ClaimContext())


@pytest.mark.parametrize("ft, scratch, verdict", [
    (0.90, 0.80, Verdict.CONFIRMED), (0.80, 0.90, Verdict.REFUTED), (0.85, 0.845, Verdict.INCONCLUSIVE),
])
def test_finetune_verdicts(monkeypatch, ft, scratch, verdict) -> None:
    _fake(monkeypatch, [_rec("finetune", 0.75, test_acc=ft), _rec("scratch", test_acc=scratch)])
    res = _check("mae-finetune-beats-scratch")
    assert res.verdict == verdict
    assert "2 standard errors" in res.expectation


def _curve(loss, acc) -> dict:
    return {"eval_epoch": list(range(len(loss))), "test_loss": loss, "probe_acc": acc,
            "knn_acc": acc}


@pytest.mark.parametrize("acc, verdict", [
    ([0.50, 0.55, 0.60, 0.70, 0.80], Verdict.CONFIRMED),    # probe rises after loss converged
    ([0.50, 0.80, 0.80, 0.80, 0.79], Verdict.REFUTED),      # probe done when loss is
])
def test_perception_late_verdicts(monkeypatch, acc, verdict) -> None:
    loss = [2.0, 1.05, 1.01, 1.0, 1.0]                       # 90% of its drop by epoch 1
    _fake(monkeypatch, [_rec("mae", 0.75, history=_curve(loss, acc), probe_acc=acc[-1])])
    assert _check("mae-perception-arrives-late").verdict == verdict


def test_perception_late_inconclusive_without_net_gain(monkeypatch) -> None:
    # the probe dips and recovers: a "late gain" but none over the random-init encoder
    loss = [2.0, 1.05, 1.01, 1.0, 1.0]
    acc = [0.70, 0.60, 0.62, 0.66, 0.705]
    _fake(monkeypatch, [_rec("mae", 0.75, history=_curve(loss, acc), probe_acc=acc[-1])])
    assert _check("mae-perception-arrives-late").verdict == Verdict.INCONCLUSIVE


def test_perception_late_inconclusive_when_reconstruction_unconverged(monkeypatch) -> None:
    loss = [2.0, 1.8, 1.6, 1.4, 1.0]
    _fake(monkeypatch, [_rec("mae", 0.75, history=_curve(loss, [0.5, 0.6, 0.7, 0.8, 0.9]))])
    assert _check("mae-perception-arrives-late").verdict == Verdict.INCONCLUSIVE


@pytest.mark.parametrize("mae, ae, dae, verdict", [
    (0.85, 0.70, 0.70, Verdict.CONFIRMED),
    (0.85, 0.70, 0.80, Verdict.REFUTED),        # Gaussian noise helps too
    (0.70, 0.85, 0.85, Verdict.REFUTED),        # masking hurts
    (0.71, 0.70, 0.70, Verdict.INCONCLUSIVE),
])
def test_masking_vs_gaussian_verdicts(monkeypatch, mae, ae, dae, verdict) -> None:
    _fake(monkeypatch, [_rec("mae", 0.75, probe_acc=mae), _rec("mae", 0.5, probe_acc=mae - 0.05),
                        _rec("ae", probe_acc=ae), _rec("dae", noise=0.5, probe_acc=dae)])
    res = _check("mae-masking-beats-gaussian")
    assert res.verdict == verdict, res.measured


@pytest.mark.parametrize("mae, raw, rand, verdict", [
    (0.86, 0.80, 0.75, Verdict.CONFIRMED), (0.78, 0.84, 0.72, Verdict.REFUTED),
    (0.80, 0.795, 0.70, Verdict.INCONCLUSIVE), (0.80, 0.70, 0.86, Verdict.REFUTED),
])
def test_beats_baselines_verdicts(monkeypatch, mae, raw, rand, verdict) -> None:
    import mrptheory.train.mae_baselines as mb

    _fake(monkeypatch, [_rec("mae", 0.75, probe_acc=mae, knn_acc=mae)])
    monkeypatch.setattr(mb, "sweep_baselines", lambda records, cfg, data: {
        mb.RAW: {"probe_acc": raw, "knn_acc": raw}, mb.RANDOM: {"probe_acc": rand, "knn_acc": rand}})
    res = _check("mae-beats-trivial-baselines")
    assert res.verdict == verdict, res.measured
    assert "raw pixels" in res.measured and "random encoder" in res.measured


def test_spearman_kendall() -> None:
    assert claims.spearman_kendall([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx((1.0, 1.0))
    assert claims.spearman_kendall([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx((-1.0, -1.0))


def test_claims_end_to_end_on_tiny_data(monkeypatch, tmp_path) -> None:
    """All four claims share one sweep (run once), produce verdicts and write the figures."""
    import mrptheory.data.registry as registry

    data = small_dataset(48, 40)
    monkeypatch.setattr(registry, "load_dataset", lambda name, root=None: data)
    model = MAEConfig(image_shape=(1, 8, 8), patch_size=2, embed_dim=16, depth=1, num_heads=2,
                      decoder_embed_dim=8, decoder_num_heads=2, num_classes=3)
    base = MAETrainConfig(model=model, epochs=2, batch_size=16, train_samples=None,
                          test_samples=None, probe_train_samples=48, knn_k=5, device="cpu")
    cfg = SweepConfig(name="quick", base=base, mask_ratios=(0.5,), patch_sizes=(2,),
                      grid=False, noise_stds=(0.5,),
                      finetune=FinetuneConfig(epochs=1, batch_size=16, train_samples=None))
    calls = []
    monkeypatch.setattr(claims, "sweep_config", lambda ctx, d: calls.append(1) or cfg)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        registered = all_claims()
        ctx = ClaimContext(quick=True, out_dir=tmp_path, progress=False)
        results = {cid: run_claim(registered[cid], ctx) for cid in IDS}
    finally:
        torch.set_num_threads(old)
    assert len(calls) == 1                                   # one shared sweep
    for cid, r in results.items():
        assert r["verdict"] in {"confirmed", "refuted", "inconclusive"}
        assert "check failed" not in r["measured"], r["details"].get("traceback")
        assert r["expectation"]
    assert "Spearman" in results["mae-alignment-predicts-ranking"]["measured"]
    assert (tmp_path / "mae_probe_curves_quick.png").exists()
    assert (tmp_path / "mae_alignment_rank_quick.png").exists()
