"""Benchmark: MAE pretraining throughput of the package's model vs a torch-built reference.

    python benchmarks/bench_mae_throughput.py                  # CPU, one thread, quick protocol
    python benchmarks/bench_mae_throughput.py --device cuda    # bf16 autocast + fused AdamW
    python benchmarks/bench_mae_throughput.py --out benchmarks/bench_mae_throughput.json

Images per second of a full training step (forward + backward + AdamW step) of

* ``package``: :class:`mrptheory.experiments.mae.model.MaskedAutoencoder` at the quick protocol's size, and
* ``reference``: the same-size MAE whose blocks are torch's own ``nn.TransformerEncoderLayer``
  (pre-norm, GELU, batch first; its ``nn.MultiheadAttention`` computes the attention with
  ``F.scaled_dot_product_attention`` when no weights are returned, as here) -- the same patching,
  masking, decoder and loss;
* ``reference_direct``: the same, with the layer's self-attention block replaced by a direct
  ``F.scaled_dot_product_attention`` call on the layer's own projection weights (the leanest
  torch-built equivalent: what is left of the gap is the package's own overhead),

measured in the same process, alternating the two models over ``--repeats`` rounds (the median
is reported), so machine load affects both alike. The ratio ``package / reference`` is printed.
On CUDA the step runs under bf16 autocast with a fused AdamW when this torch offers one
(:func:`mrptheory.experiments.mae.training.adamw_options`); on CPU in float32 with the for-each AdamW.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mrptheory.device import resolve_device, set_cpu_threads
from mrptheory.experiments.mae.model import MAEConfig, MaskedAutoencoder
from mrptheory.experiments.mae.patches import patchify, random_masking, sincos_2d
from mrptheory.experiments.mae.training import adamw_options
from mrptheory.experiments.mae.evaluation import autocast


class TorchLayer(nn.TransformerEncoderLayer):
    """``nn.TransformerEncoderLayer``: pre-norm, GELU, batch first, no dropout."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__(dim, heads, int(round(dim * mlp_ratio)), dropout=0.0, activation="gelu",
                         batch_first=True, norm_first=True)
        self.heads = heads


class SDPALayer(TorchLayer):
    """:class:`TorchLayer` whose self-attention block calls ``F.scaled_dot_product_attention``
    directly with the layer's own in/out projections."""

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):  # noqa: ARG002
        """x: ``[N, T, D]`` -> ``[N, T, D]``."""
        n, t, d = x.shape
        mha = self.self_attn
        qkv = F.linear(x, mha.in_proj_weight, mha.in_proj_bias)
        q, k, v = qkv.reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, t, d)
        return mha.out_proj(out)


class ReferenceMAE(nn.Module):
    """The package MAE's computation with torch's transformer layers (for timing only)."""

    def __init__(self, cfg: MAEConfig, layer: type = TorchLayer):
        super().__init__()
        self.cfg = cfg
        d, dd = cfg.embed_dim, cfg.decoder_embed_dim
        self.patch_embed = nn.Linear(cfg.patch_dim, d)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.register_buffer("pos", sincos_2d(d, *cfg.grid, cls_token=True).unsqueeze(0))
        self.enc = nn.ModuleList(layer(d, cfg.num_heads, cfg.mlp_ratio)
                                 for _ in range(cfg.depth))
        self.enc_norm = nn.LayerNorm(d)
        self.dec_embed = nn.Linear(d, dd)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dd))
        self.register_buffer("dpos", sincos_2d(dd, *cfg.grid, cls_token=True).unsqueeze(0))
        self.dec = nn.ModuleList(layer(dd, cfg.decoder_num_heads, cfg.mlp_ratio)
                                 for _ in range(cfg.decoder_depth))
        self.dec_norm = nn.LayerNorm(dd)
        self.pred = nn.Linear(dd, cfg.patch_dim)

    def training_loss(self, imgs: torch.Tensor, labels: torch.Tensor,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """imgs ``[N, C, H, W]`` -> scalar masked-patch MSE (norm-pix target if configured)."""
        x = self.patch_embed(patchify(imgs, self.cfg.patch_size)) + self.pos[:, 1:]
        x, mask, ids = random_masking(x, self.cfg.mask_ratio, generator)
        x = torch.cat([(self.cls + self.pos[:, :1]).expand(x.shape[0], -1, -1), x], 1)
        for layer in self.enc:
            x = layer(x)
        x = self.dec_embed(self.enc_norm(x))
        n, length = ids.shape
        tokens = torch.cat([x[:, 1:], self.mask_token.expand(n, length + 1 - x.shape[1], -1)], 1)
        tokens = torch.gather(tokens, 1, ids.unsqueeze(-1).expand(-1, -1, x.shape[2]))
        x = torch.cat([x[:, :1], tokens], 1) + self.dpos
        for layer in self.dec:
            x = layer(x)
        pred = self.pred(self.dec_norm(x))[:, 1:].float()
        target = patchify(imgs, self.cfg.patch_size)
        if self.cfg.norm_pix_loss:
            target = (target - target.mean(-1, keepdim=True)) / (
                target.var(-1, keepdim=True) + 1e-6).sqrt()
        loss = ((pred - target) ** 2).mean(-1)
        return (loss * mask).sum() / mask.sum()


def protocol_model(patch_size: int | None = None) -> MAEConfig:
    """The quick protocol's reference MAE (experiments.mae.protocol.quick_protocol), optionally with
    another patch size."""
    from mrptheory.experiments.mae.protocol import quick_protocol

    p = quick_protocol()
    return MAEConfig(patch_size=patch_size or p.patch_size, embed_dim=p.embed_dim, depth=p.depth,
                     num_heads=p.num_heads, decoder_embed_dim=p.decoder_dim,
                     decoder_depth=p.decoder_depth, decoder_num_heads=4, mlp_ratio=p.mlp_ratio,
                     mask_ratio=p.mask_ratio, norm_pix_loss=p.norm_pix)


def make_step(model: nn.Module, device: torch.device, batch: int):
    """A closure running one training step on a fixed random batch; returns it and its optimizer."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95),
                            **adamw_options(device))
    x = torch.randn(batch, *model.cfg.image_shape, device=device)
    y = torch.zeros(batch, dtype=torch.long, device=device)
    gen = torch.Generator(device=device)
    gen.manual_seed(0)

    def step() -> None:
        with autocast(device):
            loss = model.training_loss(x, y, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def images_per_s(step, batch: int, steps: int, device: torch.device) -> float:
    for _ in range(2):                      # warm-up
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def bench(device: str = "cpu", batch: int = 256, steps: int = 10, repeats: int = 5,
          seed: int = 0, patch_size: int | None = None) -> dict:
    dev = resolve_device(device)
    cfg = protocol_model(patch_size)
    torch.manual_seed(seed)
    models = {"package": MaskedAutoencoder(cfg).to(dev), "reference": ReferenceMAE(cfg).to(dev),
              "reference_direct": ReferenceMAE(cfg, SDPALayer).to(dev)}
    steps_fn = {k: make_step(m, dev, batch) for k, m in models.items()}
    rates: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(repeats):               # alternate, so load drifts hit both alike
        for k in models:
            rates[k].append(images_per_s(steps_fn[k], batch, steps, dev))
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {"device": str(dev), "threads": torch.get_num_threads(), "batch": batch,
            "steps": steps, "repeats": repeats, "model": f"ViT d={cfg.embed_dim} depth={cfg.depth} "
            f"patch {cfg.patch_size} mask {cfg.mask_ratio:g}", "images_per_s": med,
            "all_rates": rates, "ratio_package_over_reference": med["package"] / med["reference"],
            "ratio_package_over_reference_direct": med["package"] / med["reference_direct"],
            "optimizer": adamw_options(dev) or {"fused": False},
            "autocast": "bf16" if dev.type == "cuda" else "off (float32)",
            "platform": platform.platform(), "torch": torch.__version__}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu, cuda[:N] or auto")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--patch-size", type=int, default=None, help="default: the quick protocol's (7)")
    ap.add_argument("--out", default=None, help="write the result as JSON here")
    args = ap.parse_args()
    set_cpu_threads(args.threads)
    row = bench(args.device, args.batch_size, args.steps, args.repeats,
                patch_size=args.patch_size)
    print(f"{row['model']}, {row['device']}, {row['threads']} thread(s), batch {row['batch']}:")
    for k, v in row["images_per_s"].items():
        print(f"  {k:16s} {v:8.0f} images/s (fwd+bwd+AdamW)")
    print(f"  ratio package / reference (nn.TransformerEncoderLayer): "
          f"{row['ratio_package_over_reference']:.2f}x")
    print(f"  ratio package / reference_direct (same layer, direct SDPA): "
          f"{row['ratio_package_over_reference_direct']:.2f}x")
    if args.out:
        Path(args.out).write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
