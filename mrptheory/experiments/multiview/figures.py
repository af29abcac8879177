"""Figures of the multi-view SL-versus-MRP simulator, drawn from saved payloads.

Each function takes a payload written by :mod:`mrptheory.experiments.multiview.experiment` (its
``"figure_kind"`` names the function) and an output folder, and returns the written PNG paths;
``mrp plot RESULTS.json`` redraws any of them without re-running an experiment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from mrptheory.plots.registry import register_figure
from mrptheory.plots.style import error_bar, save, slug, wilson_interval
from mrptheory.text import plural


def _save(fig, out_dir: Path, name: str, payload: dict | None = None) -> list[Path]:
    """Write ``fig`` as ``payload["figure_name"]`` (when given) or ``name`` into ``out_dir``."""
    _regime_note(fig, payload)
    _convergence_note(fig, payload)
    if payload is not None and payload.get("figure_name"):
        name = slug(payload["figure_name"]) + ".png"
    return [save(fig, Path(out_dir) / name, dpi=120)]


def _regime_note(fig, payload: dict | None) -> None:
    """Label a figure whose config is outside the theorem's finite-k regime (bottom annotation
    with the failing inequalities; nothing inside the regime)."""
    import textwrap

    label = ((payload or {}).get("regime") or {}).get("label", "")
    if label:
        fig.text(0.5, -0.02, "\n".join(textwrap.wrap(label, 130)), ha="center", va="top",
                 fontsize=7, color="C3")


def convergence_caption(conv: dict | None) -> str:
    """One line per run: converged or NOT, the fraction of units converged, steps run and the
    step by which the rule was met (from a payload's ``convergence``); "" without one."""
    if not conv:
        return ""
    parts = []
    for name, label in (("sl", "SL"), ("mrp", "MRP"), ("finetune", "fine-tune")):
        c = conv.get(name)
        if not c:
            continue
        state = "converged" if c["converged"] else "NOT CONVERGED"
        reached = (f", rule met at step {c['step_reached']}" if c.get("step_reached") is not None
                   else "")
        parts.append(f"{label}: {state} ({c['fraction_converged']:.2f} of {c['units']}, "
                     f"{c['budget']} steps{reached})")
    return "; ".join(parts)


def _convergence_note(fig, payload: dict | None) -> None:
    """Caption every figure with its runs' convergence (red when a run did not converge)."""
    conv = (payload or {}).get("convergence")
    text = convergence_caption(conv)
    if text:
        fig.text(0.5, 1.0, text, ha="center", va="bottom", fontsize=7,
                 color="C7" if conv.get("converged") else "C3")


def _band(ax, x, curves: np.ndarray, color: str, label: str) -> None:
    """Median and 10-90% band over the trailing axis of ``curves [L, n]``."""
    med = np.nanmedian(curves, axis=1)
    lo, hi = np.nanpercentile(curves, [10, 90], axis=1)
    ax.plot(x, med, color=color, label=label)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2)


def _mark_convergence(ax, payload: dict, run: str) -> None:
    """Each unit's convergence step (rug of ticks at the bottom), the budget (solid grey) and the
    steps run, and the recursion's predicted capture step of the slowest (budget quantile) and
    median unit (dotted / dash-dot)."""
    steps = payload.get(f"{run}_convergence_step")
    if steps is not None:
        st = np.asarray(steps, dtype=float).ravel()
        ok = st[np.isfinite(st)]
        if ok.size:
            ax.plot(ok, np.zeros_like(ok), "|", transform=ax.get_xaxis_transform(), ms=10,
                    color="C4", alpha=0.6,
                    label=f"convergence step per {'class' if run == 'sl' else 'feature'} "
                          f"({ok.size} of {st.size} converged)")
    budget = payload.get(f"{run}_budget") or {}
    if budget.get("min_steps") is not None:
        ax.axvline(budget["min_steps"], color="k", lw=1.0, alpha=0.6,
                   label=f"derived budget {budget['min_steps']} (cap {budget['cap']})")
    th = payload.get(f"{run}_theory_capture") or {}
    for key, ls in (("slowest", ":"), ("median", "-.")):
        if th.get(key) is not None and np.isfinite(th[key]):
            what = (f"{th['quantile']:g}-quantile" if key == "slowest" else "median")
            ax.axvline(th[key], color="C3", ls=ls, lw=1.0,
                       label=f"theory: capture step of the {what} unit ({th[key]:.0f})")


@register_figure("multiview_capture_curves")
def plot_capture_curves(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Feature-capture curves: SL's winning/losing view per class, MRP's 2k features (+ fine-tune).

    SL panel: per class, the view with the larger final correlation ("winner") and the other
    ("loser"), median and 10-90% band over classes x seeds, with the theory's early-phase growth
    prediction for the winner (dashed). MRP panel: max kernel correlation of each of the 2k
    features during pretraining, then during fine-tuning. Both panels mark each unit's
    convergence step (ticks), the derived budget, and the recursion's predicted capture step of
    the slowest (budget quantile) and the median unit; the caption says whether each run
    converged.
    """
    thr = payload.get("capture_threshold", 0.5)
    panels = [p for p in ("sl", "mrp") if f"{p}_steps" in payload]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, p in zip(axes[0], panels):
        if p == "sl":
            steps = np.asarray(payload["sl_steps"])
            vc = np.asarray(payload["sl_view_corr"], dtype=float)  # [L, S, k, 2]
            win = vc[-1].argmax(-1)  # [S, k]
            w = np.take_along_axis(vc, win[None, ..., None], -1)[..., 0]
            lo = np.take_along_axis(vc, (1 - win)[None, ..., None], -1)[..., 0]
            L = len(steps)
            _band(ax, steps, w.reshape(L, -1), "C0", "winning view")
            _band(ax, steps, lo.reshape(L, -1), "C1", "other view")
            th = np.asarray(payload.get("sl_theory_winner", []), dtype=float)
            if th.size == L:
                ax.plot(steps, th, "k--", lw=1.2, label="theory recursion from the median "
                                                        "initial winner (cut past 2)")
            _mark_convergence(ax, payload, "sl")
            # log scale: the early, polynomial phase (where the theory applies) spans decades
            ax.set_yscale("log")
            ax.set_ylim(max(1e-4, 0.3 * float(np.nanmin(np.abs(w[0])) or 1e-3)), None)
            ax.set_title("SL: max_r <w_{i,r}, v_{i,l}> per class (log scale)")
        else:
            steps = np.asarray(payload["mrp_steps"])
            fc = np.asarray(payload["mrp_feature_corr"], dtype=float)  # [L, S, 2k]
            _band(ax, steps, fc.reshape(len(steps), -1), "C2", "pretraining (2k features)")
            if "ft_steps" in payload and len(payload["ft_steps"]) > 1:
                fs = steps[-1] + np.asarray(payload["ft_steps"])
                ff = np.asarray(payload["ft_feature_corr"], dtype=float)
                _band(ax, fs, ff.reshape(len(fs), -1), "C3", "fine-tuning")
                ax.axvline(steps[-1], color="grey", lw=0.8, ls=":")
            _mark_convergence(ax, payload, "mrp")
            ax.set_title("MRP: max_r <w_r, v_f> per feature")
        ax.axhline(thr, color="grey", lw=0.8, ls="--", label=f"capture threshold {thr:g}")
        ax.set_xlabel("GD step")
        ax.set_ylabel("correlation")
        ax.legend(fontsize=7, loc="center right" if p == "sl" else "lower right")
    n = len(payload.get("seeds", []))
    fig.suptitle(f"Feature capture over training ({plural(n, 'seed')}; median, 10-90% band)")
    return _save(fig, out_dir, "multiview_capture_curves.png", payload)


@register_figure("multiview_captured_views")
def plot_captured_views(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Histogram of captured views per class (0, 1, 2) for SL and MRP, over classes x seeds."""
    fig, ax = plt.subplots(figsize=(5, 3.8))
    x = np.arange(3)
    series = [(k, lab) for k, lab in (("sl_hist", "SL"), ("mrp_hist", "MRP encoder"))
              if k in payload]
    width = 0.8 / max(1, len(series))
    for j, (key, lab) in enumerate(series):
        h = np.asarray(payload[key], dtype=float)
        ax.bar(x + (j - (len(series) - 1) / 2) * width, h / max(h.sum(), 1), width, label=lab)
    ax.set_xticks(x, ["0 views", "1 view", "2 views"])
    ax.set_ylabel("fraction of classes (all seeds)")
    ttl = f"Captured views per class (threshold {payload.get('capture_threshold', 0.5):g})"
    if "mrp_kernels_capturing_two_or_more" in payload:
        multi = np.mean(payload["mrp_kernels_capturing_two_or_more"])
        ttl += f"\nMRP kernels capturing >= 2 features: {multi:.1f} of {payload['num_kernels']}"
    ax.set_title(ttl, fontsize=9)
    ax.legend()
    return _save(fig, out_dir, "multiview_captured_views.png", payload)


@register_figure("multiview_accuracy")
def plot_accuracy(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Accuracy bars (mean, error bar = sd over seeds, dots = seeds) on multi-/single-view tests."""
    per_seed = payload["per_seed"]
    methods = list(per_seed)
    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.arange(len(methods))
    for j, (test, color) in enumerate((("multi", "C0"), ("single", "C1"))):
        vals = [np.asarray(per_seed[m][test], dtype=float) for m in methods]
        pos = x + (j - 0.5) * 0.38
        ax.bar(pos, [v.mean() for v in vals], 0.36, yerr=[v.std() for v in vals], color=color,
               alpha=0.8, capsize=3, label=f"{test}-view test")
        for p, v in zip(pos, vals):
            ax.scatter(np.full(v.size, p), v, s=6, color="k", zorder=3)
    ax.axhline(0.5, color="grey", ls=":", lw=0.8, label="theory: SL single-view ~0.5")
    ax.set_xticks(x, methods)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Accuracy ({plural(len(payload.get('seeds', [])), 'seed')}; bars: mean +- sd)")
    # below the axes: inside, it covered the last bars
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, fontsize=8, frameon=False)
    return _save(fig, out_dir, "multiview_accuracy.png", payload)


@register_figure("multiview_lottery")
def plot_lottery(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Left: per-seed hit rate of the lottery prediction (winning view = larger initial
    correlation). Right (when present): hit rate against the initial ratio of a class's two max
    correlations (larger / smaller), all seeds pooled, with 95% Wilson intervals and counts."""
    hits = np.asarray(payload["hit_rate_all"], dtype=float)
    res = payload.get("resolution")
    fig, axes = plt.subplots(1, 2 if res else 1, figsize=(10 if res else 5, 3.6), squeeze=False)
    ax = axes[0][0]
    ax.bar(np.arange(hits.size), hits, color="C0")
    ax.axhline(payload.get("chance", 0.5), color="grey", ls="--", lw=0.8, label="chance")
    ax.axhline(np.nanmean(hits), color="C3", lw=1, label=f"mean {np.nanmean(hits):.2f}")
    ax.set_xticks(np.arange(hits.size), [str(s) for s in payload.get("seeds", range(hits.size))])
    ax.set_xlabel("seed")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction of classes")
    ax.set_title("SL lottery: winning view predicted at initialisation", fontsize=9)
    ax.legend(fontsize=8)
    if res:
        ax = axes[0][1]
        edges, h, n = res["edges"], np.asarray(res["hits"]), np.asarray(res["counts"])
        labels = [f"[{a:g}, {b:g})" if np.isfinite(b) else f">= {a:g}"
                  for a, b in zip(edges[:-1], edges[1:])]
        x = np.arange(len(n))
        rate, lo, hi = wilson_interval(h, n)
        ax.errorbar(x, rate, yerr=error_bar(rate, lo, hi),
                    marker="o", capsize=3, ls="none", color="C0", label="hit rate (95% CI)")
        for xi, ni in zip(x, n):
            ax.text(xi, 0.03, f"n={ni}", ha="center", fontsize=7)
        ax.axhline(0.9, color="C3", ls=":", lw=0.8, label="claim: >= 0.9 for ratio >= 1.25")
        ax.axhline(0.5, color="grey", ls="--", lw=0.8, label="chance")
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_xlabel("initial ratio larger / smaller max correlation of a class's two views")
        ax.set_ylim(0, 1.05)
        ax.set_title("lottery resolution (theory: exact except near ratio 1)", fontsize=9)
        ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    return _save(fig, out_dir, "multiview_lottery.png", payload)


@register_figure("multiview_sweep")
def plot_sweep(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Headline metrics (mean +- sd over seeds) against the swept knob."""
    param, pts = payload["param"], payload["points"]
    xs = np.asarray([p["value"] for p in pts], dtype=float)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))

    def line(ax, key_fn, label):
        m = np.asarray([key_fn(p["summary"])["mean"] for p in pts])
        s = np.asarray([key_fn(p["summary"])["sd"] for p in pts])
        ax.errorbar(xs, m, yerr=s, marker="o", capsize=3, label=label)

    ax = axes[0]
    line(ax, lambda s: s["sl_frac_classes_one_view"], "SL: classes with exactly one view")
    line(ax, lambda s: s["mrp_frac_features_captured"], "MRP: features captured")
    line(ax, lambda s: s["lottery_hit_rate"], "SL lottery hit rate")
    ax.set_xlabel(param)
    ax.set_ylabel("fraction (mean over seeds)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("feature capture")
    ax = axes[1]
    for m in ("SL", "MRP linear probe", "MRP fine-tuned"):
        for t in ("multi", "single"):
            line(ax, lambda s, m=m, t=t: s["acc"][m][t], f"{m} / {t}")
    ax.set_xlabel(param)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    ax.set_title("test accuracy")
    base = dict(payload.get("base_config", {}).get("data", {}))
    if "sigma_p" in base and base["sigma_p"] is None:  # the config's "None" means 1/sqrt(d)
        base["sigma_p"] = "1/sqrt(d)"
    fig.suptitle(f"sweep over {param} ({plural(len(payload.get('seeds', [])), 'seed')}, mean +- sd); base: "
                 + ", ".join(f"{k}={base[k]}" for k in ("k", "d", "mu", "gamma", "sigma_p")
                             if k in base and k != param), fontsize=10)
    outside = [f"{param}={p['value']:g}" for p in pts
               if not (p.get("regime") or {}).get("in_regime", True)]
    if outside:
        fig.text(0.5, -0.02, f"outside the theorem's regime at {', '.join(outside)} (failing "
                 "inequalities in the JSON)", ha="center", va="top", fontsize=8, color="C3")
    elif not any(p.get("regime") for p in pts):
        fig.text(0.5, -0.02, "regime not recorded (a sweep run before the regime checks existed): "
                 "rerun it to have every point labelled", ha="center", va="top", fontsize=8,
                 color="C7")
    unconv = [f"{param}={p['value']:g}" for p in pts
              if not ((p.get("summary") or {}).get("convergence") or {}).get("converged", False)]
    fig.text(0.5, 1.0, (f"NOT CONVERGED at {', '.join(unconv)} (values there are not "
                        "end-of-training)") if unconv else "every point converged",
             ha="center", va="bottom", fontsize=8, color="C3" if unconv else "C7")
    return _save(fig, out_dir, f"multiview_sweep_{slug(param)}.png")


def _log_pos(values: list[float], v: float | None) -> float | None:
    """Position of ``v`` on an index axis whose ticks are ``values`` (log-interpolated when all
    positive); None when ``v`` is None or outside the grid by more than half a cell."""
    if v is None:
        return None
    vals = np.asarray(values, dtype=float)
    exact = np.nonzero(np.isclose(vals, v))[0]
    if exact.size:  # the regime is "<= boundary": draw the line just past that grid value
        return float(exact[0]) + 0.5
    f = np.log if np.all(vals > 0) and v > 0 else (lambda a: a)
    pos = float(np.interp(f(v), f(vals), np.arange(vals.size), left=np.nan, right=np.nan))
    if np.isnan(pos):
        lo, hi = f(vals[0]), f(vals[-1])
        step = (f(vals[1]) - f(vals[0])) if vals.size > 1 else 1.0
        pos = (f(v) - lo) / step if f(v) < lo else vals.size - 1 + (f(v) - hi) / step
        if pos < -0.5 or pos > vals.size - 0.5:
            return None
    return pos


@register_figure("multiview_regime")
def plot_regime(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Regime map: one heat-map panel per prediction (colour = its statistic, cell text = value,
    verdict and the SL / MRP steps run), the contour where the prediction stops holding (black;
    drawn only when every cell converged), the theory's finite-k regime boundary (dashed red;
    the regime is its lower-left side); cells that did not converge are hatched."""
    xs, ys, cells = payload["xs"], payload["ys"], payload["cells"]
    preds = payload["predictions"]
    fig, axes = plt.subplots(1, len(preds), figsize=(3.4 * len(preds), 3.6), squeeze=False)
    index = {(c["x"], c["y"]): c for c in cells}
    for ax, (p, (title, stat, _thr)) in zip(axes[0], preds.items()):
        val = np.full((len(ys), len(xs)), np.nan)
        holds = np.zeros_like(val)
        for i, y in enumerate(ys):
            for j, x in enumerate(xs):
                c = index.get((x, y))
                if c is None:
                    continue
                val[i, j] = c["verdicts"][p]["value"]
                holds[i, j] = float(c["verdicts"][p]["holds"])
        lo, hi = (-1.0, 1.0) if p == "P4" else (0.0, 1.0)
        ax.imshow(val, origin="lower", cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
        for i in range(len(ys)):
            for j in range(len(xs)):
                if np.isfinite(val[i, j]):
                    extra = ""
                    if p == "P3":
                        mk = index[(xs[j], ys[i])]["verdicts"][p]["multi_kernel_fraction"]
                        extra = f"\nmulti {mk:.2f}"
                    light = (val[i, j] - lo) / (hi - lo) > 0.55  # viridis is light up there
                    cell = index[(xs[j], ys[i])]
                    state = ('holds' if holds[i, j] else 'FAILS') if cell.get("converged") \
                        else "not conv."
                    b = cell.get("budget") or {}
                    steps_run = "/".join(str((b.get(n) or {}).get("steps_run", "?"))
                                         for n in ("sl", "mrp"))
                    ax.text(j, i, f"{val[i, j]:.2f}{extra}\n{state}\n{steps_run} st.",
                            ha="center", va="center", fontsize=7, color="k" if light else "w")
        conv = np.zeros_like(val, dtype=bool)
        for i, y in enumerate(ys):
            for j, x in enumerate(xs):
                conv[i, j] = bool((index.get((x, y)) or {}).get("converged", False))
        if len(xs) > 1 and len(ys) > 1 and 0 < holds.sum() < holds.size and conv.all():
            ax.contour(np.arange(len(xs)), np.arange(len(ys)), holds, levels=[0.5],
                       colors="k", linewidths=1.5)
        for i, y in enumerate(ys):  # cells that did not converge: hatched, never counted
            for j, x in enumerate(xs):
                c = index.get((x, y))
                if c is not None and not c.get("converged", False):
                    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1.0, 1.0, fill=False,
                                               hatch="///", ec="w", lw=0.0, alpha=0.8))
        for i, y in enumerate(ys):  # cells meeting every condition of the regime check
            for j, x in enumerate(xs):
                c = index.get((x, y))
                if c is not None and (c.get("regime") or {}).get("in_regime"):
                    ax.add_patch(plt.Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False,
                                               ec="C3", lw=2.0))
        bx = _log_pos(xs, payload["axes"].get("x_boundary"))
        by = _log_pos(ys, payload["axes"].get("y_boundary"))
        if bx is not None:
            ax.axvline(bx, color="C3", ls="--", lw=1.2)
        if by is not None:
            ax.axhline(by, color="C3", ls="--", lw=1.2)
        ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs], fontsize=7)
        ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys], fontsize=7)
        note = "; multi = multi-feature kernels" if p == "P3" else ""
        ax.set_title(f"{p}: {title}\n({stat}{note})", fontsize=8)
        ax.set_xlabel(payload["axes"]["x"], fontsize=7)
        if ax is axes[0][0]:
            ax.set_ylabel(payload["axes"]["y"], fontsize=8)
    counts = sorted({len(c.get("seeds", payload.get("seeds", []))) for c in cells})
    n_text = ("-".join(str(c) for c in counts) + " seeds" if len(counts) > 1
              else plural(counts[0] if counts else len(payload.get("seeds", [])), "seed"))
    fig.suptitle(f"Regime map '{payload['map']}' ({n_text} per cell"
                 f"{', quick grid' if payload.get('quick') else ''}): black = where the "
                 "prediction stops holding; red dashed = the theory's boundary on these axes "
                 f"({payload['axes']['inside']}); red box = cell meeting every regime condition "
                 "(incl. memorisation); hatched = did not converge (never counted); cell text: "
                 "value, verdict, SL/MRP steps run", fontsize=9)
    fig.tight_layout()
    return _save(fig, out_dir, f"multiview_regime_{slug(payload['map'])}.png", payload)
