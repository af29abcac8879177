"""Patches, random masking and fixed position embeddings: the plumbing of a masked autoencoder.

Follows the design of the MAE reference (He et al. 2021, arXiv 2111.06377):

* an image ``[N, C, H, W]`` is cut into ``L = (H/p) * (W/p)`` non-overlapping ``p x p`` patches,
  each flattened to ``p*p*C`` numbers in (row-in-patch, column-in-patch, channel) order;
* masking is a per-sample random shuffle: draw uniform noise per patch, sort it, keep the patches
  with the ``L_keep`` smallest noise values. The sort order (``ids_shuffle``) and its inverse
  (``ids_restore``) let the decoder put every token back at its place;
* position embeddings are fixed 2-D sine-cosine codes (half of the channels encode the row, half the
  column; each half is a 1-D code ``[sin(pos * w_i), cos(pos * w_i)]`` with geometric frequencies
  ``w_i = 10000^(-i / (D/4))``), so no position information is learned.
"""

from __future__ import annotations

import torch

from mrptheory.errors import ConfigError


def patchify(imgs: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Cut images into flattened patches.

    Args:
        imgs: ``[N, C, H, W]``.
        patch_size: side ``p`` of a square patch; must divide ``H`` and ``W``.
    Returns:
        ``[N, L, p*p*C]`` with ``L = (H/p)(W/p)``, patches in row-major order of the patch grid.
    """
    n, c, h, w = imgs.shape
    p = int(patch_size)
    if p <= 0 or h % p or w % p:
        raise ConfigError(f"patch_size {p} must divide the image height {h} and width {w}")
    gh, gw = h // p, w // p
    x = imgs.reshape(n, c, gh, p, gw, p)          # [N, C, gh, p, gw, p]
    x = x.permute(0, 2, 4, 3, 5, 1)               # [N, gh, gw, p, p, C]
    return x.reshape(n, gh * gw, p * p * c)       # [N, L, p*p*C]


def unpatchify(x: torch.Tensor, patch_size: int, image_shape: tuple[int, int, int]) -> torch.Tensor:
    """Inverse of :func:`patchify`.

    Args:
        x: ``[N, L, p*p*C]``.
        image_shape: ``(C, H, W)`` of the images the patches came from.
    Returns:
        ``[N, C, H, W]``.
    """
    c, h, w = image_shape
    p = int(patch_size)
    gh, gw = h // p, w // p
    n, length, dim = x.shape
    if length != gh * gw or dim != p * p * c:
        raise ConfigError(
            f"patches of shape [{length}, {dim}] do not tile an image {image_shape} with patch {p}"
        )
    x = x.reshape(n, gh, gw, p, p, c)             # [N, gh, gw, p, p, C]
    x = x.permute(0, 5, 1, 3, 2, 4)               # [N, C, gh, p, gw, p]
    return x.reshape(n, c, h, w)                  # [N, C, H, W]


def num_visible(num_patches: int, mask_ratio: float) -> int:
    """Number of patches kept visible: ``floor(L * (1 - mask_ratio))`` (as in the MAE reference)."""
    return int(num_patches * (1.0 - mask_ratio))


def random_masking(x: torch.Tensor, mask_ratio: float,
                   generator: torch.Generator | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample random masking by sorting uniform noise.

    Each sample gets its own random permutation of its ``L`` tokens (argsort of i.i.d. uniform
    noise); the first ``L_keep = floor(L (1 - mask_ratio))`` tokens of the permutation stay visible.

    Args:
        x: ``[N, L, D]`` token sequence.
        mask_ratio: share of tokens removed, in ``[0, 1)`` keeping at least one token (checked
            for users by :class:`~mrptheory.experiments.mae.model.MAEConfig`).
        generator: torch Generator on ``x``'s device (for reproducible masks), or None.
    Returns:
        ``x_visible [N, L_keep, D]`` (visible tokens in shuffled order),
        ``mask [N, L]`` (0 = kept, 1 = removed, in the original token order),
        ``ids_restore [N, L]`` (the inverse permutation: ``take(shuffled, ids_restore)`` restores
        the original order).
    """
    n, length, dim = x.shape
    keep = num_visible(length, mask_ratio)
    if not 1 <= keep <= length:  # a precondition: user values are validated once, by MAEConfig's table
        raise ValueError(f"random_masking: mask_ratio {mask_ratio} keeps none of {length} tokens")
    noise = torch.rand(n, length, device=x.device, generator=generator)   # [N, L]
    ids_shuffle = torch.argsort(noise, dim=1)                              # [N, L] small = keep
    ids_restore = torch.argsort(ids_shuffle, dim=1)                        # [N, L]
    ids_keep = ids_shuffle[:, :keep]                                       # [N, L_keep]
    x_visible = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, dim))  # [N, L_keep, D]
    mask = torch.ones(n, length, device=x.device, dtype=x.dtype)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, ids_restore)                              # [N, L] original order
    return x_visible, mask, ids_restore


def sincos_1d(embed_dim: int, positions: torch.Tensor) -> torch.Tensor:
    """1-D sine-cosine code of positions.

    Args:
        embed_dim: even output width ``D``.
        positions: ``[M]`` positions (floats).
    Returns:
        ``[M, D]``: ``[sin(pos * w_0..w_{D/2-1}), cos(pos * w_0..w_{D/2-1})]`` with
        ``w_i = 10000^(-2i/D)``.
    """
    if embed_dim % 2:
        raise ConfigError(f"sin-cos embedding width must be even, got {embed_dim}")
    half = embed_dim // 2
    freqs = 1.0 / 10000 ** (torch.arange(half, dtype=torch.float64) / half)    # [D/2]
    angles = positions.to(torch.float64)[:, None] * freqs[None, :]             # [M, D/2]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)            # [M, D]


def sincos_2d(embed_dim: int, grid_h: int, grid_w: int, cls_token: bool = False) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embedding of a ``grid_h x grid_w`` patch grid.

    The first ``D/2`` channels encode the patch's row, the last ``D/2`` its column (each with
    :func:`sincos_1d`). With ``cls_token`` a zero row is prepended for the class token.

    Returns:
        ``[L, D]`` (or ``[1 + L, D]``) float32, rows in the same order as :func:`patchify`'s patches.
    """
    if embed_dim % 4:
        raise ConfigError(f"2-D sin-cos embedding width must be a multiple of 4, got {embed_dim}")
    rows = torch.arange(grid_h).repeat_interleave(grid_w)   # [L] row index of each patch
    cols = torch.arange(grid_w).repeat(grid_h)              # [L] column index of each patch
    emb = torch.cat([sincos_1d(embed_dim // 2, rows), sincos_1d(embed_dim // 2, cols)], dim=1)
    if cls_token:
        emb = torch.cat([torch.zeros(1, embed_dim, dtype=emb.dtype), emb], dim=0)
    return emb.float()


def mask_to_pixels(mask: torch.Tensor, patch_size: int,
                   image_shape: tuple[int, int, int]) -> torch.Tensor:
    """Spread a patch mask ``[N, L]`` (1 = removed) to pixels ``[N, C, H, W]`` (for pictures)."""
    c = image_shape[0]
    p = int(patch_size)
    patches = mask.unsqueeze(-1).expand(-1, -1, p * p * c)   # [N, L, p*p*C]
    return unpatchify(patches, p, image_shape)
