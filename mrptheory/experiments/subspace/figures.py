"""Figures of the subspace experiment (projection and label-budget studies).

Registered kinds (each drawn from the saved JSON payload, so ``mrp plot RESULTS.json`` redraws):

* ``subspace_accuracy`` -- test accuracy vs share of variance held by the top / bottom subspace
  (mean over seeds, bars = min..max), one panel per architecture.
* ``subspace_images``   -- a few test images: preprocessed original, top-90%, bottom-10%,
  top-80% and bottom-20% projections.
* ``subspace_budget``   -- top-90% vs bottom-20% accuracy against train-set size, one panel
  per architecture, one colour per epoch count; the crossover (if any) marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from mrptheory.plots.registry import register_figure
from mrptheory.plots.style import error_bar, save, slug  # also selects the Agg backend
from mrptheory.text import plural

PART_COLOURS = {"top": "tab:blue", "bottom": "tab:red"}


@register_figure("subspace_accuracy")
def plot_subspace_accuracy(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Accuracy vs share of variance of the subspace the classifier sees (top and bottom parts)."""
    rows = payload["summary"]
    archs = sorted({r["arch"] for r in rows})
    fig, axes = plt.subplots(1, max(len(archs), 1), figsize=(5.2 * max(len(archs), 1), 4),
                             squeeze=False)
    for ax, arch in zip(axes[0], archs):
        for part in ("top", "bottom"):
            rs = sorted((r for r in rows if r["arch"] == arch and r["part"] == part),
                        key=lambda r: r["variance_share"])
            if not rs:
                continue
            x = np.array([100 * r["variance_share"] for r in rs])
            m = np.array([100 * r["mean"] for r in rs])
            lo = np.array([100 * r["min"] for r in rs])
            hi = np.array([100 * r["max"] for r in rs])
            ax.errorbar(x, m, yerr=error_bar(m, lo, hi), marker="o", capsize=3,
                        color=PART_COLOURS[part],
                        label=f"{part} subspace")
        ax.set_xlabel("share of pixel variance in the subspace (%)")
        ax.set_ylabel("test accuracy (%)")
        seeds = max((r["n_seeds"] for r in rows if r["arch"] == arch), default=0)
        ax.set_title(f"{payload.get('dataset', '')}, {arch} ({plural(seeds, 'seed')}, bars: min-max)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    tag = slug(payload.get("tag") or f"subspace_{payload.get('dataset', 'data')}")
    return [save(fig, Path(out_dir) / f"{tag}_accuracy.png", tight=False)]


@register_figure("subspace_budget")
def plot_subspace_budget(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Top-90% (solid) and bottom-20% (dashed) accuracy vs train-set size, per architecture."""
    rows = payload["summary"]
    archs = sorted({r["arch"] for r in rows})
    epochs = sorted({r["epochs"] for r in rows})
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.8, max(len(epochs), 1)))
    fig, axes = plt.subplots(1, max(len(archs), 1), figsize=(5.4 * max(len(archs), 1), 4.2),
                             squeeze=False)
    for ax, arch in zip(axes[0], archs):
        for colour, e in zip(colours, epochs):
            rs = sorted((r for r in rows if r["arch"] == arch and r["epochs"] == e),
                        key=lambda r: r["train_size"])
            if not rs:
                continue
            n = [r["train_size"] for r in rs]
            for side, style, label in (("top90", "-", "top 90%"), ("bottom20", "--", "bottom 20%")):
                m = np.array([100 * r[f"{side}_mean"] for r in rs])
                lo = np.array([100 * min(r[side]) for r in rs])
                hi = np.array([100 * max(r[side]) for r in rs])
                ax.errorbar(n, m, yerr=error_bar(m, lo, hi), color=colour, ls=style, marker="o",
                            capsize=3,
                            label=f"{label}, {e} ep")
        for c in payload.get("crossovers", []):
            if c["arch"] == arch and c["crossover_size"]:
                ax.axvline(c["crossover_size"], color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        sizes = sorted({r["train_size"] for r in rows if r["arch"] == arch})
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("train images (log scale)")
        ax.set_ylabel("test accuracy (%)")
        seeds = max((r["n_seeds"] for r in rows if r["arch"] == arch), default=0)
        note = payload.get("arch_notes", {}).get(arch, "")
        ax.set_title(f"{arch}{' ' + note if note else ''}: solid top-90%, dashed bottom-20%\n"
                     f"({plural(seeds, 'seed')}, bars min-max, dotted: crossover)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.suptitle(f"{payload.get('dataset', '')}: projection experiment vs training budget")
    fig.tight_layout()
    tag = slug(payload.get("tag") or f"subspace_budget_{payload.get('dataset', 'data')}")
    return [save(fig, Path(out_dir) / f"{tag}.png", tight=False)]


@register_figure("subspace_images")
def plot_subspace_images(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Rows: test images; columns: original and its top / bottom projections (own colour scale)."""
    shape = tuple(payload["image_shape"])
    columns = [("original (preprocessed)", np.asarray(payload["original"]))]
    for p in payload["projections"]:
        columns.append((f"{p['part']} {100 * p['variance_share']:.0f}% var\n({p['dims']} dims)",
                        np.asarray(p["images"])))
    k = len(columns[0][1])
    fig, axes = plt.subplots(k, len(columns), figsize=(1.7 * len(columns), 1.7 * k + 0.5),
                             squeeze=False)
    for j, (title, imgs) in enumerate(columns):
        for i in range(k):
            img = imgs[i].reshape(shape).transpose(1, 2, 0)
            ax = axes[i][j]
            if shape[0] == 1:
                ax.imshow(img[:, :, 0], cmap="gray")
            else:
                lo, hi = img.min(), img.max()
                ax.imshow((img - lo) / (hi - lo + 1e-12))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=8)
    fig.suptitle(f"{payload.get('dataset', '')}: images projected on principal subspaces",
                 fontsize=9)
    fig.tight_layout()
    tag = slug(payload.get("tag") or f"subspace_{payload.get('dataset', 'data')}")
    return [save(fig, Path(out_dir) / f"{tag}_images.png", tight=False)]
