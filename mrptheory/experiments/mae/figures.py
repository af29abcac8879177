"""Figures of the masked-autoencoder experiments, drawn from their saved JSON payloads.

Kinds (``payload["figure_kind"]``):

* ``mae_probe_curves`` -- linear-probe accuracy vs epoch per method; the MAE's reconstruction
  progress beside its perception progress; fine-tuning vs from-scratch test accuracy.
* ``mae_mask_sweep`` -- probe and k-NN accuracy vs mask ratio (one line per patch size) and vs
  patch size, with the plain AE and Gaussian DAE as reference lines.
* ``mae_reconstructions`` -- masked test images and their reconstructions.
* ``mae_alignment_rank`` -- linear task alignment of each mask setting vs the MAE's probe accuracy.
* ``mae_perception`` -- the shared MAE's linear / MLP / k-NN probes at every epoch beside its test
  reconstruction loss (the plateau window shaded).
* ``mae_label_budget`` -- MAE-fine-tuned vs from-scratch test accuracy against the label budget,
  error bars over seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from mrptheory.plots.registry import register_figure
from mrptheory.plots.style import save

COLORS = {"mae": "C0", "ae": "C1", "dae": "C2", "scratch": "C3", "finetune": "C4", "raw": "k",
          "random": "C8"}


def _save(fig: plt.Figure, out_dir: Path, name: str) -> list[Path]:
    return [save(fig, Path(out_dir) / f"{name}.png")]


def _color(label: str) -> str:
    return COLORS.get(label.split(" ")[0].split("(")[0], "C7")


def _styles(labels: list[str], cycle: tuple = ("-", "--", ":", "-.")) -> dict[str, Any]:
    """A line style per label, cycling within labels of the same method (e.g. several DAE noises)."""
    seen, out = {}, {}
    for label in labels:
        key = _color(label)
        out[label] = cycle[seen.get(key, 0) % len(cycle)]
        seen[key] = seen.get(key, 0) + 1
    return out


@register_figure("mae_probe_curves")
def plot_probe_curves(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Up to three panels (only those with data): probe accuracy vs epoch; MAE reconstruction vs
    perception progress; fine-tuning bars."""
    curves: dict[str, dict[str, list]] = payload["curves"]
    prog = payload.get("progress", {})
    has_progress = bool(prog) and prog.get("test_loss") is not None
    bars = payload.get("final_accuracy", {})
    n_panels = 1 + int(has_progress) + int(bool(bars))  # no empty panels (e.g. `mae pretrain`)
    fig, axes = plt.subplots(1, n_panels, figsize=(5.7 * n_panels, 4.4), squeeze=False,
                             gridspec_kw={"wspace": 0.45})
    axes = list(axes[0])
    ax = axes.pop(0)
    styles = _styles(list(curves))
    for label, c in curves.items():
        ep, acc = np.asarray(c["epoch"]), np.asarray(c["probe_acc"], dtype=float)
        ax.plot(ep, acc, marker="o", ls=styles[label], ms=3, label=label, color=_color(label))
        if c.get("probe_acc_std") is not None and len(c["probe_acc_std"]) == len(acc):
            sd = np.asarray(c["probe_acc_std"], dtype=float)
            ax.fill_between(ep, acc - sd, acc + sd, alpha=0.15, color=_color(label))
    for name, values in payload.get("baselines", {}).items():
        ax.axhline(values["probe_acc"], color=_color(name), ls=":", lw=1.2,
                   label=f"{name} (baseline)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("linear-probe test accuracy (frozen encoder)")
    ax.set_title("perception over training")
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax.grid(alpha=0.3)

    if has_progress:
        ax = axes.pop(0)
        ep = np.asarray(prog["epoch"])
        ax.plot(ep, prog["test_loss"], "s-", ms=3, color="C0")
        ax.set_yscale("log")
        ax.set_ylabel("test reconstruction loss (masked patches)", color="C0")
        twin = ax.twinx()
        twin.plot(ep, prog["probe_acc"], "o-", ms=3, color="C3")
        twin.set_ylabel("linear-probe test accuracy", color="C3")
        if prog.get("t_recon_90") is not None:
            ax.axvline(prog["t_recon_90"], color="C0", ls=":", lw=1,
                       label="loss has made 90% of its drop")
            # below the axes: inside, the box covered the epoch-1 probe marker
            ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
        ax.set_xlabel("epoch")
        ax.set_title(f"MAE {payload.get('reference', '')}: reconstruction vs perception")
        ax.grid(alpha=0.3)

    if bars:
        ax = axes.pop(0)
        labels = list(bars)
        means = [np.mean(bars[k]) for k in labels]
        sds = [np.std(bars[k]) if len(bars[k]) > 1 else 0.0 for k in labels]
        ax.bar(range(len(labels)), means, yerr=sds, color=[_color(k) for k in labels], alpha=0.8)
        for i, m in enumerate(means):
            ax.text(i, m + 0.005, f"{m:.3f}", ha="center", fontsize=8)
        ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
        lo = min(means) - 0.08
        ax.set_ylim(max(0.0, lo), min(1.0, max(means) + 0.05))
        ax.set_ylabel("test accuracy")
        ax.set_title(f"equal fine-tuning budget ({payload.get('finetune_budget', '')})", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(f"{payload.get('dataset', '')}: masked autoencoder vs controls "
                 f"({payload.get('conditions', '')})", fontsize=10)
    return _save(fig, out_dir, payload.get("name", "mae_probe_curves"))


@register_figure("mae_mask_sweep")
def plot_mask_sweep(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Probe / k-NN accuracy vs mask ratio per patch size, and vs patch size at the reference ratio."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ratios = payload["mask_ratios"]
    for ax, metric, title in ((axes[0], "probe_acc", "linear probe"), (axes[1], "knn_acc", "k-NN")):
        for j, (patch, accs) in enumerate(payload[metric].items()):
            acc = np.array([np.nan if a is None else a for a in accs], dtype=float)
            sd = np.array([np.nan if a is None else a for a in
                           payload.get(metric + "_std", {}).get(patch, [None] * len(accs))],
                          dtype=float)
            ax.errorbar(ratios, acc, yerr=np.nan_to_num(sd), fmt="o-", ms=4, capsize=2,
                        color=f"C{j + 5}", label=f"MAE patch {patch}x{patch}")
        baselines = payload.get("baselines", {}).get(metric, {})
        # reference lines are never solid (the MAE curves are), and same-method ones differ
        styles = _styles(list(baselines), cycle=("--", ":", "-.", (0, (6, 2, 1, 2, 1, 2))))
        for label, vals in baselines.items():
            ax.axhline(vals, ls=styles[label], lw=1.2, color=_color(label), label=label)
        ax.set_xlabel("mask ratio")
        ax.set_ylabel(f"{title} test accuracy")
        ax.set_title(f"{title} accuracy vs mask ratio")
        ax.grid(alpha=0.3)
    # one legend for both panels, below them (inside, it covered the curves)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, ncol=5, loc="upper center",
               bbox_to_anchor=(0.5, 0.0), frameon=False)
    ax = axes[2]
    by_patch = payload.get("by_patch", {})
    if by_patch:
        patches = [int(p) for p in by_patch["patch_sizes"]]
        for metric, marker in (("probe_acc", "o-"), ("knn_acc", "s--")):
            ax.plot(patches, by_patch[metric], marker, label=metric.replace("_acc", ""))
        ax.set_xticks(patches, [f"{p}x{p}" for p in patches])
        ax.legend(fontsize=8)
    ax.set_xlabel("patch size")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"vs patch size at mask ratio {payload.get('reference_ratio', '')}")
    if payload.get("tolerance") is not None:
        fig.text(0.5, -0.15, f"differences below {payload['tolerance']:.3f} (2 binomial standard "
                 f"errors of a difference of two test accuracies) are within sampling noise",
                 ha="center", fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle(f"{payload.get('dataset', '')}: MAE mask-ratio and patch-size sweep "
                 f"({payload.get('conditions', '')})", fontsize=10)
    return _save(fig, out_dir, payload.get("name", "mae_mask_sweep"))


@register_figure("mae_reconstructions")
def plot_reconstructions(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Rows: originals, then (masked input, reconstruction) per setting; pixels in [0, 1]."""
    original = np.asarray(payload["original"], dtype=float)           # [n, C, H, W]
    rows = [("original", original)]
    for row in payload["rows"]:
        rows.append((f"{row['label']}\ninput", np.asarray(row["masked"], dtype=float)))
        rows.append((f"{row['label']}\nreconstruction", np.asarray(row["reconstruction"],
                                                                   dtype=float)))
    n = original.shape[0]
    gray = plt.get_cmap("gray").with_extremes(bad="tab:red")   # removed patches in red
    fig, axes = plt.subplots(len(rows), n, figsize=(1.2 * n + 1.5, 1.25 * len(rows)),
                             squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for i in range(n):
            ax = axes[r, i]
            img = imgs[i]
            img = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))
            shown = np.ma.masked_invalid(np.clip(img, 0, 1) if np.isfinite(img).any() else img)
            ax.imshow(shown, cmap=gray if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(f"{payload.get('dataset', '')}: reconstructions of masked test images "
                 f"(red = removed patches)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return _save(fig, out_dir, payload.get("name", "mae_reconstructions"))


@register_figure("mae_alignment_rank")
def plot_alignment_rank(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Scatter: closed-form linear alignment (x) vs measured MAE probe accuracy (y) per setting."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    x = np.asarray(payload["alignment"], dtype=float)
    y = np.asarray(payload["probe_acc"], dtype=float)
    ax.scatter(x, y, color="C0")
    # neighbours along x alternate above / below their point, so close settings stay readable
    rank = np.argsort(np.argsort(x))
    for xi, yi, lab, r in zip(x, y, payload["labels"], rank):
        ax.annotate(lab, (xi, yi), fontsize=7, xytext=(3, 4 if r % 2 == 0 else -10),
                    textcoords="offset points")
    ax.set_xlabel(f"linear DAE task alignment (%), k = {payload.get('k', '')}")
    ax.set_ylabel("MAE linear-probe accuracy")
    ax.set_title(f"Spearman {payload.get('spearman', float('nan')):.2f}, "
                 f"Kendall {payload.get('kendall', float('nan')):.2f}", fontsize=9)
    ax.grid(alpha=0.3)
    return _save(fig, out_dir, payload.get("name", "mae_alignment_rank"))


@register_figure("mae_perception")
def plot_perception(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Left: probe accuracies vs epoch (linear, MLP, k-NN; controls and baselines as lines).
    Right: test reconstruction loss vs epoch, the plateau rule's window shaded. Legends sit below
    the axes so no marker is covered."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 4.6), gridspec_kw={"wspace": 0.3})
    ep = np.asarray(payload["epoch"])
    for key, label, marker, color in (("probe_acc", "linear probe", "o-", "C0"),
                                      ("mlp_acc", "MLP probe", "s-", "C3"),
                                      ("knn_acc", "k-NN", "^--", "C5")):
        vals = payload.get(key) or []
        if len(vals) == len(ep) and any(v is not None for v in vals):
            ax.plot(ep, np.asarray([np.nan if v is None else v for v in vals], dtype=float),
                    marker, ms=4, color=color, label=f"MAE {label}")
    for i, (name, vals) in enumerate(payload.get("controls", {}).items()):
        if vals.get("probe_acc") is not None:
            ax.axhline(vals["probe_acc"], color=_color(name), ls="--", lw=1,
                       label=f"{name}, linear probe (end)")
    for name, vals in payload.get("baselines", {}).items():
        ax.axhline(vals["probe_acc"], color=_color(name), ls=":", lw=1.2,
                   label=f"{name}, linear probe")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("pretraining epoch")
    ax.set_ylabel("test accuracy (frozen encoder)")
    ax.set_title("perception at every checkpoint", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    loss = np.asarray([np.nan if v is None else v for v in payload["test_loss"]], dtype=float)
    bx.plot(ep, loss, "s-", ms=4, color="C0", label="test reconstruction loss")
    bx.set_yscale("log")
    conv = payload.get("convergence", {})
    if conv.get("window"):
        lo, hi = conv["window"]
        verdict = "plateaued" if conv.get("converged") else "still falling"
        bx.axvspan(lo, hi, color="C1", alpha=0.15,
                   label=f"last fifth: {conv.get('relative_improvement', 0):.1%} better ({verdict})")
    bx.xaxis.set_major_locator(MaxNLocator(integer=True))
    bx.set_xlabel("pretraining epoch")
    bx.set_ylabel("test reconstruction loss (masked patches)")
    bx.set_title(f"MAE {payload.get('reference', '')}: reconstruction", fontsize=10)
    bx.grid(alpha=0.3)
    bx.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.suptitle(f"{payload.get('dataset', '')}: perception vs reconstruction over pretraining",
                 fontsize=10)
    return _save(fig, out_dir, payload.get("name", "mae_perception"))


@register_figure("mae_label_budget")
def plot_label_budget(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Test accuracy vs label budget (log x), MAE+fine-tune vs scratch, error bars = seed std."""
    rows = payload["rows"]
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    b = np.asarray([r["budget"] for r in rows], dtype=float)
    for key, label, color, marker in (("finetune", "MAE pretrained + fine-tuned", "C4", "o-"),
                                      ("scratch", "from scratch", "C3", "s--")):
        ax.errorbar(b, [r[f"{key}_mean"] for r in rows], yerr=[r[f"{key}_std"] for r in rows],
                    fmt=marker, color=color, capsize=3, ms=5, label=label)
    if payload.get("crossover_budget") is not None:
        ax.axvline(payload["crossover_budget"], color="k", ls=":", lw=1, label="crossover")
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(b, [str(int(x)) for x in b])
    ax.xaxis.set_minor_formatter(NullFormatter())   # only the budgets are labelled
    ax.set_xlabel("labelled training images")
    ax.set_ylabel("test accuracy")
    n_seeds = max((r.get("n_seeds", 1) for r in rows), default=1)
    ax.set_title(f"label-budget curve ({n_seeds} seed{'s' if n_seeds != 1 else ''}; "
                 f"bars: std over seeds)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, ncol=2)
    fig.suptitle(f"{payload.get('dataset', '')}: MAE fine-tuning vs scratch", fontsize=10)
    return _save(fig, out_dir, payload.get("name", "mae_label_budget"))
