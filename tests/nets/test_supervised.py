"""Supervised training: it learns, augmentation is a crop+flip, and resume is exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mrptheory.errors import ConfigError
from mrptheory.nets.classifiers import build_classifier
from mrptheory.nets.supervised import ClassifierTrainConfig, augment_batch, train_classifier


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def blobs(n: int, seed: int = 0, shape=(1, 8, 8)) -> tuple[np.ndarray, np.ndarray]:
    """Two classes whose mean images differ (a bright left vs right half) plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, *shape)).astype(np.float32)
    half = shape[2] // 2
    x[y == 0, :, :, :half] += 1.5
    x[y == 1, :, :, half:] += 1.5
    return x, y


def test_training_beats_chance_on_separable_data() -> None:
    xtr, ytr = blobs(512, 0)
    xte, yte = blobs(256, 1)
    torch.manual_seed(0)
    model = build_classifier("mlp", (1, 8, 8), 2)
    result = train_classifier(model, xtr, ytr, xte, yte,
                              ClassifierTrainConfig(epochs=3, batch_size=64), device="cpu",
                              show_progress=False)
    assert result.finished and len(result.history) == 3
    assert result.test_accuracy > 0.9
    assert all(h["images_per_s"] > 0 for h in result.history)


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("arch", ["mlp", "resnet9"])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, arch: str) -> None:
    xtr, ytr = blobs(192, 0)
    xte, yte = blobs(64, 1)
    config = ClassifierTrainConfig(epochs=3, batch_size=64, augment=True, seed=3)

    def fresh() -> torch.nn.Module:
        torch.manual_seed(0)
        return build_classifier(arch, (1, 8, 8), 2, width=4)

    full = fresh()
    ref = train_classifier(full, xtr, ytr, xte, yte, config, device="cpu", show_progress=False)

    ckpt = tmp_path / "run.pt"
    first = train_classifier(fresh(), xtr, ytr, xte, yte, config, device="cpu",
                             checkpoint_path=ckpt, stop_after=1, show_progress=False)
    assert not first.finished and len(first.history) == 1 and ckpt.exists()
    torch.manual_seed(12345)  # resuming must not depend on the global RNG or the initial weights
    resumed_model = build_classifier(arch, (1, 8, 8), 2, width=4)
    resumed = train_classifier(resumed_model, xtr, ytr, xte, yte, config, device="cpu",
                               checkpoint_path=ckpt, show_progress=False)
    assert resumed.finished
    assert resumed.test_accuracy == ref.test_accuracy
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in ref.history]
    a, b = _state(full), _state(resumed_model)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_augment_is_a_reflect_padded_crop_and_flip() -> None:
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6)
    gen = torch.Generator().manual_seed(0)
    out = augment_batch(x, padding=0, generator=gen)
    for i in range(2):  # without padding only flips remain
        assert torch.equal(out[i], x[i]) or torch.equal(out[i], x[i].flip(-1))
    gen = torch.Generator().manual_seed(1)
    out = augment_batch(x, padding=2, generator=gen, flip=False)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), mode="reflect")
    for i in range(2):  # each output is some 6x6 window of the padded image
        windows = padded[i, 0].unfold(0, 6, 1).unfold(1, 6, 1).reshape(-1, 6, 6)
        assert any(torch.equal(out[i, 0], w) for w in windows)
    again = augment_batch(x, padding=2, generator=torch.Generator().manual_seed(1), flip=False)
    assert torch.equal(out, again)


@pytest.mark.parametrize("field,value", [("epochs", 0), ("lr", 0.0), ("batch_size", -1),
                                         ("weight_decay", -1.0)])
def test_config_validation(field: str, value) -> None:
    with pytest.raises(ConfigError, match=field):
        ClassifierTrainConfig(**{field: value})
