"""Figures of the dynamics experiment (learned-last dynamics on real data).

Registered kinds (each drawn from the saved JSON payload, so ``mrp plot RESULTS.json`` redraws):

* ``dynamics``          -- (a) per-direction reconstruction over training, measured vs closed
  form, for each model; (b) time to reconstruct half of a direction vs its eigenvalue;
  (c) reconstruction loss and linear-probe accuracies over training.
* ``classifier_lag``    -- the reconstruction gap closed beside the accuracy gap closed by
  classifiers trained on the directions a linear AE has learned so far, and their accuracy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from mrptheory.experiments.dynamics.theory import time_to_fraction
from mrptheory.plots.registry import register_figure
from mrptheory.plots.style import save, slug  # also selects the Agg backend


MODEL_TITLES = {"linear": "one-layer AE (theory: matrix exponential)",
                "deep": "two-layer AE (theory: Saxe et al. sigmoids)",
                "gaussian": "Gaussian DAE (theory: expected-loss flow)",
                "mask": "masked DAE (theory: expected-loss flow)"}


def _shown_directions(eigenvalues: np.ndarray, count: int = 7) -> list[int]:
    """Indices spread evenly in log-eigenvalue over the non-negligible spectrum."""
    ev = np.asarray(eigenvalues)
    positive = np.nonzero(ev > ev[0] * 1e-4)[0]
    last = int(positive[-1]) if len(positive) else len(ev) - 1
    targets = np.geomspace(ev[0], ev[last], count)
    return sorted({int(np.argmin(np.abs(np.log(ev[:last + 1]) - np.log(t)))) for t in targets})


@register_figure("dynamics")
def plot_dynamics(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Three figures: per-direction curves, half-times vs eigenvalue, loss and probes over time."""
    ev = np.asarray(payload["eigenvalues"])
    models = payload["models"]
    names = list(models)
    shown = _shown_directions(ev)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(shown)))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ds = payload.get("dataset", "data")
    tag = slug(payload.get("tag") or f"dynamics_{ds}")
    paths = []

    # (a) per-direction reconstruction fraction vs time
    fig, axes = plt.subplots(1, len(names), figsize=(4.0 * len(names) + 1.8, 3.8), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, name in zip(axes[0], names):
        r = models[name]
        t = np.asarray(r["times"])[1:]
        rho, trho = np.asarray(r["rho"])[1:], np.asarray(r["theory_rho"])[1:]
        for c, i in zip(colours, shown):
            ax.plot(t, trho[:, i], color=c, lw=1.5, label=f"#{i}, λ={ev[i]:.2g}")
            ax.plot(t, rho[:, i], "o", color=c, ms=3)
        ax.set_xscale("log")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("gradient-flow time t = lr × steps")
        ax.set_title(MODEL_TITLES.get(name, name), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction of the direction's energy reconstructed")
    # beside the panels (inside one, it covered the fast curves), at the bottom: at the top it ran
    # into the suptitle when there are few panels
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right lower", fontsize=7,
               title="eigen-direction\n(line: theory,\ndots: measured)", title_fontsize=7)
    fig.suptitle(f"{ds}: when each eigen-direction is learned", fontsize=10)
    p = out / f"{tag}_directions.png"
    save(fig, p)
    paths.append(p)

    # (b) time to reconstruct half of each direction vs eigenvalue
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    markers = {"linear": "o", "deep": "s", "gaussian": "^", "mask": "D"}
    for name in names:
        r = models[name]
        t = np.asarray(r["times"])[1:]
        meas = time_to_fraction(t, np.asarray(r["rho"])[1:], 0.5)
        theo = time_to_fraction(t, np.asarray(r["theory_rho"])[1:], 0.5)
        ok = np.isfinite(meas)
        line = ax.plot(ev[np.isfinite(theo)], theo[np.isfinite(theo)], "-", lw=1.2,
                       label=f"{name}: theory")[0]
        ax.plot(ev[ok], meas[ok], markers.get(name, "o"), ms=3, mfc="none",
                color=line.get_color(), label=f"{name}: measured")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue λ of the data covariance")
    ax.set_ylabel("time to reconstruct 50% of the direction")
    ax.set_title(f"{ds}: learned in order of decreasing eigenvalue (t ∝ 1/λ)", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    p = out / f"{tag}_half_times.png"
    save(fig, p)
    paths.append(p)

    # (c) reconstruction progress and probe accuracy over time
    fig, axes = plt.subplots(1, len(names), figsize=(4.0 * len(names) + 2.2, 3.8), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, name in zip(axes[0], names):
        r = models[name]
        t = np.asarray(r["times"])[1:]
        loss = np.asarray(r["loss"])
        closed = (loss[0] - loss[1:]) / max(loss[0] - loss[-1], 1e-12)
        ax.plot(t, 100 * closed, "k-", lw=1.5, label="reconstruction gap closed (%)")
        ax.plot(t, 100 * np.asarray(r["probe_learned"])[1:], "C3o-", ms=3,
                label="probe on learned directions (%)")
        ax.plot(t, 100 * np.asarray(r["theory_probe_learned"])[1:], "C3--", lw=1,
                label="  same, theory")
        ax.plot(t, 100 * np.asarray(r["probe"])[1:], "C0s-", ms=3, label="probe on features (%)")
        ax.plot(t, 100 * np.asarray(r["theory_probe"])[1:], "C0--", lw=1, label="  same, theory")
        ax.set_xscale("log")
        ax.set_ylim(0, 102)
        ax.set_xlabel("gradient-flow time t = lr × steps")
        ax.set_title(MODEL_TITLES.get(name, name), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("percent (gap closed / probe test accuracy)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right lower", fontsize=7)
    fig.suptitle(f"{ds}: reconstruction progress and linear-probe accuracy over training",
                 fontsize=10)
    p = out / f"{tag}_probe.png"
    save(fig, p)
    paths.append(p)
    return paths


@register_figure("classifier_lag")
def plot_classifier_lag(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Reconstruction gap closed vs each classifier's accuracy gap closed over the AE's training
    (left), and the classifiers' test accuracy with the number of learned directions (right)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = np.asarray(payload["times"])[1:]
    recon = np.asarray(payload["reconstruction_closed"])[1:]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.5, 3.9))
    ax.plot(t, 100 * recon, "k-", lw=1.8, label="reconstruction gap closed")
    ax2b = ax2.twinx()
    ax2b.step(t, np.asarray(payload["n_learned"])[1:], "-", color="0.6", where="post", lw=1,
              label="directions learned")
    for i, (arch, v) in enumerate(payload["archs"].items()):
        name = "MLP" if arch == "mlp" else "ResNet-9" if arch == "resnet9" else arch
        ax.plot(t, 100 * np.asarray(v["closed"])[1:], f"C{i + 3}o-", ms=3,
                label=f"{name}: accuracy gap closed")
        ax2.plot(t, 100 * np.asarray(v["accuracy"])[1:], f"C{i + 3}o-", ms=3,
                 label=f"{name} test accuracy")
    ax.axhline(90, color="0.5", lw=0.8, ls=":")
    for a in (ax, ax2):
        a.set_xscale("log")
        a.set_xlabel("gradient-flow time t of the one-layer AE")
        a.grid(alpha=0.3)
    ax.set_ylabel("percent of the run's gap closed")
    ax2.set_ylabel("test accuracy (%)")
    ax2b.set_ylabel("eigen-directions learned (rho >= 0.5)")
    ax.legend(fontsize=7, loc="upper left")
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax2b.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    ds = payload.get("dataset", "data")
    fig.suptitle(f"{ds}: classifiers trained on the directions learned so far "
                 f"({payload['n_train']} train / {payload['n_test']} test images)", fontsize=10)
    fig.tight_layout()
    p = out / f"{payload.get('tag') or 'classifier_lag_' + ds}.png"
    save(fig, p)
    return [p]
