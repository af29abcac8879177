"""Patchify / unpatchify, random masking and the fixed sin-cos position code."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mrptheory.errors import ConfigError
from mrptheory.experiments.mae.patches import (mask_to_pixels, num_visible, patchify,
                                               random_masking, sincos_2d, unpatchify)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), gh=st.integers(1, 4), gw=st.integers(1, 4),
       p=st.integers(1, 4))
def test_unpatchify_inverts_patchify(n: int, c: int, gh: int, gw: int, p: int) -> None:
    imgs = torch.randn(n, c, gh * p, gw * p)
    patches = patchify(imgs, p)
    assert patches.shape == (n, gh * gw, p * p * c)
    assert torch.equal(unpatchify(patches, p, (c, gh * p, gw * p)), imgs)


def test_patch_order_is_row_major_with_channels_last() -> None:
    imgs = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    patches = patchify(imgs, 2)                          # grid 2 x 3
    # patch 1 = rows 0-1, columns 2-3; entries ordered (row, column, channel)
    expected = torch.stack([imgs[0, :, r, c] for r in (0, 1) for c in (2, 3)]).flatten()
    assert torch.equal(patches[0, 1], expected)
    # patch 3 starts the second row of the grid
    assert torch.equal(patches[0, 3, :2], imgs[0, :, 2, 0])


def test_patchify_rejects_non_dividing_patch() -> None:
    with pytest.raises(ConfigError, match="patch_size 3"):
        patchify(torch.zeros(1, 1, 28, 28), 3)


def test_random_masking_keeps_and_restores() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 16, 3)
    visible, mask, ids_restore = random_masking(x, 0.75, gen)
    keep = num_visible(16, 0.75)
    assert keep == 4 and visible.shape == (5, 4, 3)
    assert torch.equal(mask.sum(1), torch.full((5,), 12.0))
    # put visible tokens back with zeros for the removed ones: the visible places equal x
    padded = torch.cat([visible, torch.zeros(5, 12, 3)], dim=1)
    restored = torch.gather(padded, 1, ids_restore.unsqueeze(-1).expand(-1, -1, 3))
    kept = mask == 0
    assert torch.equal(restored[kept], x[kept])
    assert torch.all(restored[~kept] == 0)
    # per-sample masks: not all samples share one mask
    assert not all(torch.equal(mask[0], mask[i]) for i in range(1, 5))


def test_random_masking_reproducible_with_generator() -> None:
    x = torch.randn(3, 10, 2)
    a = random_masking(x, 0.5, torch.Generator().manual_seed(7))
    b = random_masking(x, 0.5, torch.Generator().manual_seed(7))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("ratio", [1.0, -0.1, 0.95])
def test_random_masking_rejects_impossible_ratio(ratio: float) -> None:
    """A precondition (ValueError), not a second user-facing check: MAEConfig validates once."""
    with pytest.raises(ValueError, match="mask_ratio"):
        random_masking(torch.zeros(1, 16, 2), ratio)   # 0.95 leaves floor(0.8) = 0 patches


def test_sincos_2d_structure() -> None:
    emb = sincos_2d(8, 3, 4, cls_token=True)
    assert emb.shape == (13, 8)
    assert torch.all(emb[0] == 0)
    grid = emb[1:].reshape(3, 4, 8)
    # first half depends only on the row, second half only on the column
    assert torch.allclose(grid[:, 0, :4], grid[:, 3, :4])
    assert torch.allclose(grid[0, :, 4:], grid[2, :, 4:])
    assert not torch.allclose(grid[0, 0, :4], grid[1, 0, :4])
    assert len({tuple(r.tolist()) for r in emb[1:]}) == 12       # every position distinct
    assert emb.abs().max() <= 1.0
    with pytest.raises(ConfigError):
        sincos_2d(6, 2, 2)


def test_mask_to_pixels_marks_whole_patches() -> None:
    mask = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    pix = mask_to_pixels(mask, 2, (1, 4, 4))
    assert pix.shape == (1, 1, 4, 4)
    assert torch.all(pix[0, 0, :2, :2] == 1) and torch.all(pix[0, 0, :2, 2:] == 0)
    assert torch.all(pix[0, 0, 2:, 2:] == 1)
