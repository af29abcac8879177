"""A small masked autoencoder (MAE) and its controls, all sharing one Vision-Transformer encoder.

Design after the MAE reference (He et al. 2021, arXiv 2111.06377, facebookresearch/mae):

* the **encoder** embeds each ``p x p`` patch linearly, adds a fixed 2-D sin-cos position code,
  drops a random ``mask_ratio`` share of the patches *before* the transformer (it only ever sees
  visible patches), prepends a class token and runs pre-norm transformer blocks;
* the lightweight **decoder** maps encoder tokens to a narrower width, puts a shared learned mask
  token at every removed position (un-shuffling with ``ids_restore``), adds its own position code,
  runs a few blocks and predicts every patch's pixels;
* the **loss** is the mean squared error on the *removed* patches only, optionally against
  per-patch normalised pixels (each target patch minus its mean, divided by its std).

Controls with exactly the same encoder (the ``method`` field of :class:`MAEConfig`):

* ``"ae"`` -- plain autoencoder: nothing is masked, the loss covers every patch;
* ``"dae"`` -- Gaussian denoising autoencoder: the input is ``x + noise_std * eps``, nothing is
  masked, the loss compares the prediction for every patch with the *clean* image;
* ``"supervised"`` -- encoder + linear head trained with cross-entropy on labels (no decoder).

Balestriero & LeCun (arXiv 2402.11337) predict that, for linear models, Gaussian noise never changes
the learned features while masking can; Pan et al. (arXiv 2206.03826) predict that mask-reconstruction
pretraining then fine-tuning beats supervised training from scratch. These models let the package
test both on real images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mrptheory.errors import ConfigError
from mrptheory.experiments.mae.patches import num_visible, patchify, random_masking, sincos_2d
from mrptheory.config_spec import Rule, choice, constrained, flag, integer, ints, real

METHODS = ("mae", "ae", "dae", "supervised")


def _divisors(c: "MAEConfig") -> str:
    _, h, w = c.image_shape
    return ", ".join(str(d) for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0)


def _width_rules(dim: str, heads: str) -> tuple[Rule, Rule]:
    """A block width is a multiple of 4 (the 2-D sin-cos code) and of its head count."""
    return (Rule(f"{dim}_sincos", lambda c: getattr(c, dim) % 4 == 0,
                 lambda c: f"{dim} must be a multiple of 4 (2-D sin-cos code); got "
                           f"{getattr(c, dim)}", (dim,)),
            Rule(f"{dim}_heads", lambda c: getattr(c, dim) % getattr(c, heads) == 0,
                 lambda c: f"{dim} {getattr(c, dim)} must be divisible by {heads} "
                           f"{getattr(c, heads)}", (dim, heads)))


#: cross-field conditions of :class:`MAEConfig` (each field's own range is on the field)
MAE_RULES = (
    Rule("patch_divides_image",
         lambda c: c.patch_size <= min(c.image_shape[1:]) and not (
             c.image_shape[1] % c.patch_size or c.image_shape[2] % c.patch_size),
         lambda c: f"patch_size {c.patch_size} must divide the image height {c.image_shape[1]} "
                   f"and width {c.image_shape[2]}; allowed: {_divisors(c)}",
         ("patch_size", "image_shape")),
    Rule("mask_leaves_a_patch",
         lambda c: c.method != "mae" or num_visible(c.num_patches, c.mask_ratio) >= 1,
         lambda c: f"mask_ratio {c.mask_ratio:g} leaves no visible patch out of {c.num_patches} "
                   "(needs floor(L * (1 - mask_ratio)) >= 1)", ("mask_ratio", "patch_size")),
    Rule("dae_has_noise", lambda c: c.method != "dae" or c.noise_std > 0,
         lambda c: f"noise_std must be > 0 for method 'dae'; got {c.noise_std:g}",
         ("noise_std", "method")),
    *_width_rules("embed_dim", "num_heads"),
    *_width_rules("decoder_embed_dim", "decoder_num_heads"),
)


@constrained(*MAE_RULES, normalise=False)
@dataclass(frozen=True)
class MAEConfig:
    """Architecture and corruption of one model.

    Attributes:
        image_shape: ``(C, H, W)`` of the input images.
        patch_size: side ``p`` of a square patch; must divide ``H`` and ``W``.
        embed_dim / depth / num_heads: encoder width, number of blocks, attention heads.
        decoder_embed_dim / decoder_depth / decoder_num_heads: the lightweight decoder.
        mlp_ratio: hidden width of each block's MLP relative to the block width.
        method: ``"mae"``, ``"ae"``, ``"dae"`` or ``"supervised"`` (see the module docstring).
        mask_ratio: share of patches removed (``"mae"`` only), in ``[0, 1)`` and leaving at least
            one patch visible.
        noise_std: Gaussian noise std for ``"dae"``, in units of the standardised pixels (> 0 there).
        norm_pix_loss: reconstruct per-patch normalised pixels (MAE paper: better features).
        num_classes: classes of the supervised head.
    """

    image_shape: tuple[int, int, int] = ints((1, 28, 28), 3, 1)
    patch_size: int = integer(4, 1)
    embed_dim: int = integer(64, 4)
    depth: int = integer(4, 1)
    num_heads: int = integer(4, 1)
    decoder_embed_dim: int = integer(32, 4)
    decoder_depth: int = integer(1, 1)
    decoder_num_heads: int = integer(4, 1)
    mlp_ratio: float = real(2.0, 0.0, None, low_open=True)
    method: str = choice("mae", METHODS)
    mask_ratio: float = real(0.75, 0.0, 1.0, high_open=True)
    noise_std: float = real(0.0, 0.0, None)
    norm_pix_loss: bool = flag(False)
    num_classes: int = integer(10, 2)

    @property
    def grid(self) -> tuple[int, int]:
        """(rows, columns) of the patch grid."""
        _, h, w = self.image_shape
        return h // self.patch_size, w // self.patch_size

    @property
    def num_patches(self) -> int:
        gh, gw = self.grid
        return gh * gw

    @property
    def patch_dim(self) -> int:
        return self.patch_size ** 2 * self.image_shape[0]

    @property
    def effective_mask_ratio(self) -> float:
        """The share of patches removed during training (0 for every method but ``"mae"``)."""
        return self.mask_ratio if self.method == "mae" else 0.0


class Attention(nn.Module):
    """Multi-head self-attention: softmax(Q K^T / sqrt(d_head)) V per head, then a projection."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: ``[N, T, D]`` -> ``[N, T, D]``."""
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, d // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)                      # each [N, heads, T, d_head]
        out = F.scaled_dot_product_attention(q, k, v)              # [N, heads, T, d_head]
        return self.proj(out.transpose(1, 2).reshape(n, t, d))     # [N, T, D]


class Block(nn.Module):
    """Pre-norm transformer block: x + Attn(LN(x)), then x + MLP(LN(x)) with a GELU MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        hidden = max(1, int(round(dim * mlp_ratio)))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: ``[N, T, D]`` -> ``[N, T, D]``."""
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def _init_weights(module: nn.Module) -> None:
    """Reference initialisation: Xavier-uniform linear layers with zero bias, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class ViTEncoder(nn.Module):
    """The encoder every method shares: patch embedding + fixed position code + class token + blocks.

    With a mask ratio it encodes only the visible patches (the MAE saving: cost ~ ``(1 - ratio)``).
    """

    def __init__(self, cfg: MAEConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        self.patch_embed = nn.Linear(cfg.patch_dim, d)   # = a p x p convolution with stride p
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.register_buffer("pos_embed", sincos_2d(d, *cfg.grid, cls_token=True).unsqueeze(0),
                             persistent=False)           # [1, 1 + L, D], fixed
        self.blocks = nn.ModuleList(Block(d, cfg.num_heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(d)
        self.apply(_init_weights)
        nn.init.normal_(self.cls_token, std=0.02)

    def forward(self, imgs: torch.Tensor, mask_ratio: float = 0.0,
                generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode the visible patches.

        Args:
            imgs: ``[N, C, H, W]`` (standardised pixels).
        Returns:
            ``latent [N, 1 + L_keep, D]`` (class token first), ``mask [N, L]`` (1 = removed),
            ``ids_restore [N, L]``.
        """
        x = self.patch_embed(patchify(imgs, self.cfg.patch_size))      # [N, L, D]
        x = x + self.pos_embed[:, 1:, :]
        if mask_ratio > 0:
            x, mask, ids_restore = random_masking(x, mask_ratio, generator)  # [N, L_keep, D]
        else:
            n, length, _ = x.shape
            mask = torch.zeros(n, length, device=x.device, dtype=x.dtype)
            ids_restore = torch.arange(length, device=x.device).expand(n, length)
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(x.shape[0], -1, -1)  # [N, 1, D]
        x = torch.cat([cls, x], dim=1)                                  # [N, 1 + L_keep, D]
        for block in self.blocks:
            x = block(x)
        return self.norm(x), mask, ids_restore

    def features(self, imgs: torch.Tensor) -> torch.Tensor:
        """Frozen-feature read-out for probes: mean of the patch tokens of the unmasked image.

        imgs: ``[N, C, H, W]`` -> ``[N, D]``.
        """
        latent, _, _ = self.forward(imgs, 0.0)   # [N, 1 + L, D]
        return latent[:, 1:, :].mean(dim=1)


class MAEDecoder(nn.Module):
    """Lightweight decoder: encoder tokens + mask tokens at removed places -> pixels of every patch."""

    def __init__(self, cfg: MAEConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.decoder_embed_dim
        self.embed = nn.Linear(cfg.embed_dim, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.register_buffer("pos_embed", sincos_2d(d, *cfg.grid, cls_token=True).unsqueeze(0),
                             persistent=False)           # [1, 1 + L, Dd], fixed
        self.blocks = nn.ModuleList(
            Block(d, cfg.decoder_num_heads, cfg.mlp_ratio) for _ in range(cfg.decoder_depth)
        )
        self.norm = nn.LayerNorm(d)
        self.pred = nn.Linear(d, cfg.patch_dim)
        self.apply(_init_weights)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """Predict all patches.

        Args:
            latent: ``[N, 1 + L_keep, D]`` encoder output (class token first).
            ids_restore: ``[N, L]`` inverse shuffle from :func:`random_masking`.
        Returns:
            ``[N, L, p*p*C]`` predicted pixels of every patch, in the original patch order.
        """
        x = self.embed(latent)                                          # [N, 1 + L_keep, Dd]
        n, length = ids_restore.shape
        n_mask = length + 1 - x.shape[1]
        tokens = torch.cat([x[:, 1:, :], self.mask_token.expand(n, n_mask, -1)], dim=1)  # [N, L, Dd]
        index = ids_restore.unsqueeze(-1).expand(-1, -1, x.shape[2])
        tokens = torch.gather(tokens, 1, index)                         # [N, L, Dd] unshuffled
        x = torch.cat([x[:, :1, :], tokens], dim=1) + self.pos_embed    # [N, 1 + L, Dd]
        for block in self.blocks:
            x = block(x)
        return self.pred(self.norm(x))[:, 1:, :]                        # [N, L, p*p*C]


class MaskedAutoencoder(nn.Module):
    """MAE (``method="mae"``), plain AE (``"ae"``) or Gaussian DAE (``"dae"``) with one encoder."""

    def __init__(self, cfg: MAEConfig):
        super().__init__()
        if cfg.method == "supervised":
            raise ConfigError("method 'supervised' has no decoder; use ViTClassifier / build_model")
        self.cfg = cfg
        self.encoder = ViTEncoder(cfg)
        self.decoder = MAEDecoder(cfg)

    def corrupt(self, imgs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Pixel-space corruption before encoding: ``x + noise_std * eps`` for the DAE, else ``x``.

        imgs: ``[N, C, H, W]`` -> ``[N, C, H, W]``.
        """
        if self.cfg.method != "dae":
            return imgs
        eps = torch.randn(imgs.shape, device=imgs.device, dtype=imgs.dtype, generator=generator)
        return imgs + self.cfg.noise_std * eps

    def forward_encoder(self, imgs: torch.Tensor, generator: torch.Generator | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """imgs ``[N, C, H, W]`` -> latent ``[N, 1 + L_keep, D]``, mask ``[N, L]``, ids ``[N, L]``."""
        return self.encoder(self.corrupt(imgs, generator), self.cfg.effective_mask_ratio, generator)

    def forward_decoder(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """latent ``[N, 1 + L_keep, D]`` -> predicted patches ``[N, L, p*p*C]``."""
        return self.decoder(latent, ids_restore)

    def target(self, imgs: torch.Tensor) -> torch.Tensor:
        """Reconstruction target: clean patches ``[N, L, p*p*C]``, per-patch normalised if asked."""
        target = patchify(imgs, self.cfg.patch_size)
        if self.cfg.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1e-6).sqrt()
        return target

    def forward_loss(self, imgs: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean squared error per patch, averaged over removed patches (all patches if none removed).

        Args:
            imgs: ``[N, C, H, W]`` clean images; pred: ``[N, L, p*p*C]``; mask: ``[N, L]`` (1 = removed).
        Returns:
            scalar loss.
        """
        per_patch = (pred.float() - self.target(imgs).float()).pow(2).mean(dim=-1)   # [N, L]
        mask = mask.float()  # a bfloat16 mask would make the count below inexact beyond 256
        weights = mask if self.cfg.method == "mae" else torch.ones_like(mask)
        return (per_patch * weights).sum() / weights.sum().clamp_min(1.0)

    def forward(self, imgs: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """imgs ``[N, C, H, W]`` -> (loss, pred ``[N, L, p*p*C]``, mask ``[N, L]``)."""
        latent, mask, ids_restore = self.forward_encoder(imgs, generator)
        pred = self.forward_decoder(latent, ids_restore)
        return self.forward_loss(imgs, pred, mask), pred, mask

    def training_loss(self, imgs: torch.Tensor, labels: torch.Tensor,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """The engine's uniform entry point (labels are ignored: self-supervised)."""
        return self.forward(imgs, generator)[0]


class ViTClassifier(nn.Module):
    """Encoder + linear head on mean-pooled patch tokens, trained with cross-entropy.

    Used both for supervised training from scratch and for fine-tuning a pretrained encoder.
    """

    def __init__(self, cfg: MAEConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = ViTEncoder(cfg)
        self.head = nn.Linear(cfg.embed_dim, cfg.num_classes)
        nn.init.normal_(self.head.weight, std=0.01)   # small head init, as in MAE fine-tuning
        nn.init.zeros_(self.head.bias)

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        """imgs ``[N, C, H, W]`` -> logits ``[N, num_classes]``."""
        return self.head(self.encoder.features(imgs))

    def training_loss(self, imgs: torch.Tensor, labels: torch.Tensor,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean cross-entropy of the logits against ``labels [N]``."""
        return F.cross_entropy(self.forward(imgs).float(), labels)


def build_model(cfg: MAEConfig) -> MaskedAutoencoder | ViTClassifier:
    """The model of ``cfg.method``: a classifier for ``"supervised"``, else a masked autoencoder."""
    return ViTClassifier(cfg) if cfg.method == "supervised" else MaskedAutoencoder(cfg)


__all__ = [
    "METHODS", "MAEConfig", "ViTEncoder", "MAEDecoder", "MaskedAutoencoder", "ViTClassifier",
    "build_model",
]
