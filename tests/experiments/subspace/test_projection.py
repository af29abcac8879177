"""Projection experiment: preprocessing, subspace split, end-to-end units, sweep resume."""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.errors import ConfigError
from mrptheory.experiments.subspace import projection as proj
from mrptheory.experiments.subspace.projection import (ProjectionConfig, example_images, fit_basis,
                                                       headline, part_basis, prepare, preprocess,
                                                       project_images, run_projection_sweep,
                                                       run_unit, summarise, unit_key)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def label_in_bottom_splits(n_train: int = 600, n_test: int = 300, seed: int = 0) -> DatasetSplits:
    """8x8 uint8 images: 8 high-variance directions carry no label; a low-variance one does.

    Pixels = 128 + U c with U a random orthonormal basis, c_0..7 ~ N(0, 25^2), c_8..63 ~ N(0, 1),
    plus +-4 on c_60 for the two classes. After the per-image std scaling the leading directions
    (brightness and c_0..7) are label-free and the bottom ones hold all the label information.
    """
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(64, 64)))

    def make(n: int, split: str) -> ImageDataset:
        y = rng.integers(0, 2, n)
        c = rng.normal(size=(n, 64))
        c[:, :8] *= 25.0
        c[:, 60] += np.where(y == 1, 4.0, -4.0)
        img = np.clip(np.round(128 + c @ u.T), 0, 255).astype(np.uint8).reshape(n, 1, 8, 8)
        return ImageDataset(img, y.astype(np.int64), ("a", "b"), "toy", split)

    return DatasetSplits(make(n_train, "train"), make(n_test, "test"))


def tiny_config(**kw) -> ProjectionConfig:
    base = dict(dataset="toy", cuts=(0.8, 0.9), seeds=(0,), train_size=None, epochs=8,
                batch_size=64, examples=2)
    base.update(kw)
    return ProjectionConfig(**base)


def test_preprocess_scales_each_image_and_centres_with_the_train_mean() -> None:
    rng = np.random.default_rng(0)
    tr, te = rng.uniform(0, 1, (50, 16)) * rng.uniform(1, 5, (50, 1)), rng.uniform(0, 1, (20, 16))
    ptr, pte, mean = preprocess(tr, te)
    np.testing.assert_allclose(ptr.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose((ptr + mean).std(1), 1, atol=1e-4)
    np.testing.assert_allclose(pte + mean, te / (1e-6 + te.std(1, keepdims=True)), atol=1e-5)


def test_top_and_bottom_split_the_space_and_the_variance() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 12)) * np.geomspace(10, 0.1, 12)
    x -= x.mean(0)
    basis = fit_basis(x)
    for cut in (0.3, 0.8, 0.9):
        top, bottom = part_basis(basis, cut, "top"), part_basis(basis, cut, "bottom")
        assert top.shape[1] + bottom.shape[1] == 12
        top_share = proj.subspace_share(basis, top.shape[1], "top")
        assert top_share < cut or top.shape[1] == 1  # at least one direction on top
        if top_share < cut:
            assert proj.subspace_share(basis, bottom.shape[1], "bottom") >= 1 - cut - 1e-12
        pt, pte = project_images(x, x[:5], top, renorm="none")
        pb, _ = project_images(x, x[:5], bottom, renorm="none")
        np.testing.assert_allclose(pt + pb, x, atol=1e-4)  # complementary projections
        np.testing.assert_allclose((pt * pb).sum(1), 0, atol=1e-3)  # orthogonal


@pytest.mark.parametrize("cut", [0.0, 1.0, 1.5, -0.2])
def test_bad_share_is_a_config_error(cut: float) -> None:
    with pytest.raises(ConfigError, match="cuts must be in"):
        ProjectionConfig(cuts=(cut,))
    with pytest.raises(ConfigError):
        ProjectionConfig(archs=("vgg",))


def test_bottom_subspace_classifies_when_the_labels_live_there() -> None:
    data = prepare(label_in_bottom_splits())
    config = tiny_config()
    top = run_unit(data, config, "mlp", "top", 0.9, 0, device="cpu", show_progress=False)
    bottom = run_unit(data, config, "mlp", "bottom", 0.8, 0, device="cpu", show_progress=False)
    # per-image std scaling adds a strong "brightness" direction, so the top may be just that one
    assert top["dims"] <= 9 and bottom["dims"] >= 55
    assert bottom["variance_share"] >= 0.2 - 1e-9 or top["dims"] == 1
    assert bottom["test_accuracy"] > 0.85
    assert top["test_accuracy"] < 0.7
    assert bottom["test_accuracy"] > top["test_accuracy"] + 0.2


def test_sweep_resumes_from_store_and_from_an_interrupted_unit(tmp_path, monkeypatch) -> None:
    splits = label_in_bottom_splits(200, 100)
    config = tiny_config(epochs=3, cuts=(0.9,), parts=("top",))
    ref = run_projection_sweep(splits, config, tmp_path / "ref", device="cpu",
                               show_progress=False)
    assert len(ref["records"]) == 1

    # Interrupt the unit after one epoch: the per-epoch checkpoint is where
    # run_projection_sweep looks.
    out = tmp_path / "resumed"
    data = prepare(splits)
    key = unit_key("mlp", "top", 0.9, 0)
    from mrptheory.data.registry import splits_fingerprint
    from mrptheory.results import store_fingerprint

    store_fp = store_fingerprint(config.fingerprint(), splits_fingerprint(splits))
    ckpt = out / "checkpoints" / f"subspace_toy_{store_fp}" / (key.replace("|", "_") + ".pt")
    part = run_unit(data, config, "mlp", "top", 0.9, 0, device="cpu", checkpoint_path=ckpt,
                    stop_after=1, show_progress=False)
    assert not part["finished"] and ckpt.exists()
    resumed = run_projection_sweep(splits, config, out, device="cpu", show_progress=False)
    a, b = ref["records"][0], resumed["records"][0]
    assert b["finished"] and b["test_accuracy"] == a["test_accuracy"]
    assert [h["train_loss"] for h in b["history"]] == [h["train_loss"] for h in a["history"]]
    assert not ckpt.exists()

    # A finished sweep trains nothing when rerun.
    def boom(*args, **kwargs):
        raise AssertionError("a finished unit was retrained")

    monkeypatch.setattr(proj, "run_unit", boom)
    again = run_projection_sweep(splits, config, out, device="cpu", show_progress=False)
    assert again["records"][0]["test_accuracy"] == b["test_accuracy"]


def test_summary_and_headline() -> None:
    recs = [{"arch": "mlp", "part": p, "cut": c, "seed": s, "dims": 3, "variance_share": 0.5,
             "test_accuracy": acc}
            for p, c, s, acc in [("top", 0.9, 0, 0.80), ("top", 0.9, 1, 0.82),
                                 ("bottom", 0.8, 0, 0.85), ("bottom", 0.8, 1, 0.87)]]
    rows = summarise(recs)
    assert {(r["part"], r["cut"]) for r in rows} == {("top", 0.9), ("bottom", 0.8)}
    top = next(r for r in rows if r["part"] == "top")
    assert top["mean"] == pytest.approx(0.81) and top["std"] == pytest.approx(np.std([.8, .82], ddof=1))
    h = headline(recs, "mlp")
    assert h["difference"] == pytest.approx(0.05)
    assert h["se_difference"] == pytest.approx(np.sqrt(2 * np.var([.8, .82], ddof=1) / 2))
    assert headline(recs, "resnet9") is None


def test_example_images_payload_shapes() -> None:
    data = prepare(label_in_bottom_splits(100, 50))
    ex = example_images(data, (0.9,), 3)
    assert np.asarray(ex["original"]).shape == (3, 64)
    assert len(ex["projections"]) == 2
    assert all(np.asarray(p["images"]).shape == (3, 64) for p in ex["projections"])


def test_fashion_mnist_spectrum_is_sane(fashion_mnist) -> None:
    data = prepare(fashion_mnist, train_size=1500, test_size=50)
    top = part_basis(data.basis, 0.9, "top")
    assert 40 < top.shape[1] < 250  # about 125 directions hold 90% of the variance on all 60k
    assert data.train.shape == (1500, 784)


@pytest.mark.parametrize("cut", [0.5, 0.8, 0.9])
def test_bottom_projection_through_the_top_complement_matches_the_direct_one(cut) -> None:
    data = prepare(label_in_bottom_splits(200, 50))
    for part in ("top", "bottom"):
        fast = proj.project_part(data, cut, part)
        direct = project_images(data.train, data.test, part_basis(data.basis, cut, part))
        np.testing.assert_allclose(fast[0], direct[0], atol=2e-4)
        np.testing.assert_allclose(fast[1], direct[1], atol=2e-4)
    assert len(data.projections) == 2  # the last two kept for the seeds of a unit
    assert proj.project_part(data, cut, "bottom") is data.projections[(round(cut, 6), "bottom", "image")]
