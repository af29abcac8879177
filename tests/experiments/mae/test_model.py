"""The MAE model family: config validation, shapes, masked loss, encoder sees visible patches only."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mrptheory.errors import ConfigError
from mrptheory.experiments.mae.model import (MAEConfig, MaskedAutoencoder, ViTClassifier, build_model)
from mrptheory.experiments.mae.patches import patchify

TINY = MAEConfig(image_shape=(1, 8, 8), patch_size=2, embed_dim=16, depth=1, num_heads=2,
                 decoder_embed_dim=8, decoder_num_heads=2, num_classes=3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("changes, field", [
    ({"patch_size": 5, "image_shape": (1, 28, 28)}, "patch_size"),
    ({"mask_ratio": 1.0}, "mask_ratio"),
    ({"mask_ratio": -0.1}, "mask_ratio"),
    ({"mask_ratio": 0.95, "patch_size": 4}, "mask_ratio"),     # L = 4 -> no visible patch
    ({"method": "dae", "noise_std": 0.0}, "noise_std"),
    ({"method": "vae"}, "method"),
    ({"embed_dim": 18, "num_heads": 4}, "embed_dim"),
])
def test_config_rejects_impossible_settings(changes: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        dataclasses.replace(TINY, **changes)


def test_forward_shapes_and_visible_token_count() -> None:
    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY, mask_ratio=0.75)
    model = MaskedAutoencoder(cfg)
    x = torch.randn(3, 1, 8, 8)
    latent, mask, ids = model.forward_encoder(x, torch.Generator().manual_seed(0))
    assert latent.shape == (3, 1 + 4, 16)          # 16 patches, 4 visible, plus the class token
    assert mask.shape == (3, 16) and ids.shape == (3, 16)
    pred = model.forward_decoder(latent, ids)
    assert pred.shape == (3, 16, 4)
    assert model.encoder.features(x).shape == (3, 16)


def test_encoder_ignores_pixels_of_masked_patches() -> None:
    torch.manual_seed(0)
    model = MaskedAutoencoder(dataclasses.replace(TINY, mask_ratio=0.5)).eval()
    x = torch.randn(2, 1, 8, 8)
    latent, mask, _ = model.forward_encoder(x, torch.Generator().manual_seed(3))
    patches = patchify(x, 2)
    patches[mask.bool()] += 100.0                     # scribble over every removed patch
    x2 = patches.reshape(2, 4, 4, 2, 2, 1).permute(0, 5, 1, 3, 2, 4).reshape(2, 1, 8, 8)
    latent2, mask2, _ = model.forward_encoder(x2, torch.Generator().manual_seed(3))
    assert torch.equal(mask, mask2)
    assert torch.allclose(latent, latent2)
    # ...whereas a change in a visible patch changes the encoding
    patches[~mask.bool()] += 1.0
    x3 = patches.reshape(2, 4, 4, 2, 2, 1).permute(0, 5, 1, 3, 2, 4).reshape(2, 1, 8, 8)
    latent3, _, _ = model.forward_encoder(x3, torch.Generator().manual_seed(3))
    assert not torch.allclose(latent, latent3)


def test_mae_loss_counts_masked_patches_only() -> None:
    model = MaskedAutoencoder(TINY)
    x = torch.randn(2, 1, 8, 8)
    target = model.target(x)
    mask = torch.zeros(2, 16)
    mask[:, :5] = 1
    pred = target.clone()
    pred[mask == 0] += 10.0                            # wrong only on visible patches
    assert float(model.forward_loss(x, pred, mask)) == pytest.approx(0.0, abs=1e-10)
    pred = target.clone()
    pred[mask == 1] += 1.0                             # wrong by 1 on every removed pixel
    assert float(model.forward_loss(x, pred, mask)) == pytest.approx(1.0)


def test_ae_and_dae_losses_cover_every_patch_against_clean_pixels() -> None:
    x = torch.randn(2, 1, 8, 8)
    for method, extra in (("ae", {}), ("dae", {"noise_std": 0.5})):
        model = MaskedAutoencoder(dataclasses.replace(TINY, method=method, **extra))
        target = model.target(x)
        mask = torch.zeros(2, 16)
        pred = target.clone()
        pred[:, 0] += 2.0                              # one wrong patch out of 16
        assert float(model.forward_loss(x, pred, mask)) == pytest.approx(4.0 / 16)
    dae = MaskedAutoencoder(dataclasses.replace(TINY, method="dae", noise_std=0.5))
    noisy = dae.corrupt(x, torch.Generator().manual_seed(0))
    assert 0.3 < float((noisy - x).std()) < 0.7
    assert torch.equal(MaskedAutoencoder(dataclasses.replace(TINY, method="ae")).corrupt(x), x)


def test_norm_pix_target_is_standardised_per_patch() -> None:
    model = MaskedAutoencoder(dataclasses.replace(TINY, norm_pix_loss=True, patch_size=4))
    t = model.target(torch.rand(3, 1, 8, 8) * 5 + 2)
    assert torch.allclose(t.mean(-1), torch.zeros(3, 4), atol=1e-5)
    assert torch.allclose(t.var(-1), torch.ones(3, 4), atol=1e-3)


def test_build_model_and_classifier() -> None:
    assert isinstance(build_model(TINY), MaskedAutoencoder)
    clf = build_model(dataclasses.replace(TINY, method="supervised"))
    assert isinstance(clf, ViTClassifier)
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 0])
    assert clf(x).shape == (4, 3)
    assert clf.training_loss(x, y).ndim == 0
    with pytest.raises(ConfigError):
        MaskedAutoencoder(dataclasses.replace(TINY, method="supervised"))


def test_mae_learns_to_reconstruct_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = MaskedAutoencoder(dataclasses.replace(TINY, mask_ratio=0.5))
    x = torch.randn(8, 1, 8, 8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    first = float(model.training_loss(x, None, gen).detach())
    for _ in range(25):
        gen.manual_seed(0)                             # same masks: a fitting problem
        loss = model.training_loss(x, None, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.6 * first
