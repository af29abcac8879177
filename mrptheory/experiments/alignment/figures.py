"""Alignment and impact-of-noise figures (Balestriero & LeCun 2024, Fig. "impact of noise").

Drawn from an ``alignment`` result payload (see :meth:`AlignmentStudy.to_payload`):

File names get ``_<tag>`` appended when the payload has a ``tag`` (e.g. ``quick`` runs).

* ``alignment_<dataset>.png`` -- alignment (percent of the least-squares label energy, in root
  terms) of the optimal linear DAE's first K features, versus K, for no noise, Gaussian noise and
  a few masking settings.
* ``impact_of_noise_<dataset>.png`` -- relative change (percent) of that alignment versus the
  noiseless solution, one panel per patch shape, one line per mask ratio; Gaussian noise in
  black (identically zero).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from mrptheory.plots.registry import register_figure
from mrptheory.plots.style import save, slug


def _k_axis(ax, ks: np.ndarray) -> None:
    """Log-scaled K axis with plain power-of-two ticks (and D)."""
    ax.set_xscale("log")
    ticks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096) if ks.min() <= k < ks.max()]
    ticks.append(int(ks.max()))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks], fontsize=8)
    ax.minorticks_off()


def _masks_by_patch(names: list[str]) -> dict[str, list[tuple[float, str]]]:
    """Group ``mask:P:AxB`` names by patch shape: ``{"2x2": [(P, name), ...]}`` sorted by P."""
    groups: dict[str, list[tuple[float, str]]] = {}
    for name in names:
        parts = name.split(":")
        if parts[0] in ("mask", "dropout") and len(parts) == 3:
            groups.setdefault(parts[2], []).append((float(parts[1]), name))
    return {k: sorted(v) for k, v in sorted(groups.items(), key=lambda kv: int(kv[0].split("x")[0]))}


#: Below this (percentage points) a curve counts as identical to another (round-off of the
#: closed forms is ~1e-12).
SAME_TOL = 1e-6

#: Line styles and markers that keep overlapping Gaussian curves distinguishable.
_GAUSS_STYLES = [("--", "o"), (":", "s"), ("-.", "^"), ((0, (5, 1, 1, 1)), "D"), ((0, (1, 3)), "v")]


def _sigma_label(name: str) -> str:
    """``gaussian:0.1`` -> ``Gaussian sigma=0.1``."""
    return f"Gaussian sigma={name.split(':', 1)[1]}" if ":" in name else name


@register_figure("alignment")
def plot_alignment(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Draw the alignment curves and the impact-of-noise panels of one data set.

    Gaussian noise provably leaves the learned subspace (hence the alignment) unchanged, so its
    curves lie on the PCA curve and on zero: each gets its own line style and markers (placed at
    staggered K so coinciding curves stay visible), and the legend says when they coincide.
    """
    dataset = payload["dataset"]
    stem = slug(dataset + (f"_{payload['tag']}" if payload.get("tag") else ""))
    ks = np.asarray(payload["ks"])
    k_min = int(payload.get("k_min", 1))
    shown = ks >= k_min
    baseline = np.asarray(payload["baseline"])
    curves = {name: np.asarray(c) for name, c in payload["curves"].items()}
    impact = {name: np.asarray(c) for name, c in payload["impact"].items()}
    groups = _masks_by_patch(list(curves))
    gaussian = [n for n in curves if n.startswith("gaussian")]
    n_shown = int(shown.sum())
    written = []

    def gaussian_style(i: int) -> dict[str, Any]:
        ls, marker = _GAUSS_STYLES[i % len(_GAUSS_STYLES)]
        every = max(n_shown // 6, 1)
        return dict(ls=ls, marker=marker, markevery=(i * every // max(len(gaussian), 1), every),
                    ms=5, mfc="none", lw=1.3, color=plt.cm.Greys(0.45 + 0.4 * i / max(len(gaussian), 1)))

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(ks[shown], baseline[shown], color="black", lw=2, label="no noise (PCA)")
    for i, name in enumerate(gaussian):
        same = np.max(np.abs(curves[name][shown] - baseline[shown])) < SAME_TOL
        ax.plot(ks[shown], curves[name][shown], **gaussian_style(i),
                label=_sigma_label(name) + (" (= PCA)" if same else ""))
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(len(groups), 1)))
    for colour, (patch, members) in zip(colours, groups.items()):
        ratio, name = members[-1]  # the strongest masking of each patch shape
        ax.plot(ks[shown], curves[name][shown], color=colour, label=f"mask p={ratio:g}, patch {patch}")
    _k_axis(ax, ks[shown])
    ax.set_xlabel("K (bottleneck width)")
    ax.set_ylabel("alignment with labels (%)")
    ax.set_title(f"{dataset}: label alignment of the optimal linear (D)AE")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    written.append(save(fig, Path(out_dir) / f"alignment_{stem}.png"))

    n_panels = max(len(groups), 1)
    fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels + 1.6, 3.8), sharey=True,
                             squeeze=False, layout="constrained")
    all_zero = bool(gaussian) and all(np.max(np.abs(impact[n][shown])) < SAME_TOL for n in gaussian)
    for ax, (patch, members) in zip(axes[0], groups.items()):
        cmap = plt.cm.plasma(np.linspace(0, 0.85, len(members)))
        for colour, (ratio, name) in zip(cmap, members):
            ax.plot(ks[shown], impact[name][shown], color=colour, lw=1.2, label=f"mask p={ratio:g}")
        if all_zero:  # one line for all of them: they are the same line
            ax.plot(ks[shown], impact[gaussian[0]][shown], color="black", lw=1.5, ls="--",
                    label=f"Gaussian, all {len(gaussian)} sigmas: identically 0"
                    if len(gaussian) > 1 else f"{_sigma_label(gaussian[0])}: identically 0")
        else:
            for i, name in enumerate(gaussian):
                ax.plot(ks[shown], impact[name][shown], **gaussian_style(i), label=_sigma_label(name))
        ax.axhline(0, color="black", lw=0.5)
        _k_axis(ax, ks[shown])
        ax.set_title(f"patch {patch}")
        ax.set_xlabel("K")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("alignment change vs no noise (%)")
    handles, labels = axes[0][-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right lower", fontsize=8)  # beside the curves, below the suptitle
    fig.suptitle(f"{dataset}: impact of masking and Gaussian noise on label alignment")
    written.append(save(fig, Path(out_dir) / f"impact_of_noise_{stem}.png"))
    return written
