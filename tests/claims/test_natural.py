"""The natural-image rows of every experiment (claims/natural.py): "not run" without CIFAR-10."""

from __future__ import annotations

from mrptheory.catalog import all_claims
from mrptheory.claims.registry import ClaimContext, run_claim


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
