"""From sweep records to figure payloads (JSON, drawn by :mod:`mrptheory.experiments.mae.figures`) and summaries.

Every function here is pure bookkeeping over the records
:func:`mrptheory.experiments.mae.sweep.run_mae_sweep` returns, except
:func:`reconstructions_payload`, which reloads trained MAE checkpoints to draw reconstructions of
a few test images.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrptheory.data.dataset import DatasetSplits
from mrptheory.results import to_jsonable
from mrptheory.experiments.mae import figures  # noqa: F401  (its figure kinds)
from mrptheory.plots.registry import write
from mrptheory.experiments.mae.sweep import SweepConfig, run_dir_for


def label_of(record: dict[str, Any]) -> str:
    """Legend label of a record: method plus its distinguishing setting."""
    m = record["method"]
    if m == "mae":
        return f"mae (r={record['mask_ratio']:g}, p={record['patch_size']})"
    if m == "dae":
        return f"dae (sigma={record['noise_std']:g})"
    return m


def mean_over_seeds(records: list[dict[str, Any]], metric: str = "probe_acc"
                    ) -> dict[tuple, tuple[float, float, int]]:
    """(method, ratio, patch, noise) -> (mean, std, n) of a final metric over seeds."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    for r in records:
        v = r["final"].get(metric)
        if v is not None:
            groups[(r["method"], r["mask_ratio"], r["patch_size"], r["noise_std"])].append(float(v))
    return {k: (float(np.mean(v)), float(np.std(v)), len(v)) for k, v in groups.items()}


def progress_curves(history: dict[str, list], metric: str = "probe_acc") -> dict[str, Any]:
    """Reconstruction and perception progress of one run, each scaled to 0 at init and 1 at the end.

    ``metric``: the probe read (``probe_acc`` linear, ``mlp_acc`` deep, ``knn_acc``); the output
    keys keep the ``probe_*`` names whichever probe it is.

    reconstruction(t) = (L_0 - L_t) / (L_0 - L_end) for the test reconstruction loss L;
    perception(t) = (A_t - A_0) / (A_end - A_0) for the linear-probe accuracy A.
    ``t_recon_90`` / ``t_probe_90``: first evaluated epoch where each reaches 0.9.
    ``late_gain``: A_end - A(t_recon_90), the accuracy gained after reconstruction was 90% done.
    """
    ep = list(history["eval_epoch"])
    loss = np.asarray([np.nan if v is None else v for v in history["test_loss"]], dtype=float)
    acc = np.asarray([np.nan if v is None else v for v in history[metric]], dtype=float)
    dl, da = loss[0] - loss[-1], acc[-1] - acc[0]
    rec = (loss[0] - loss) / dl if dl != 0 else np.full_like(loss, np.nan)
    per = (acc - acc[0]) / da if da != 0 else np.full_like(acc, np.nan)

    def first(x: np.ndarray) -> int | None:
        hit = np.nonzero(x >= 0.9)[0]
        return int(ep[hit[0]]) if len(hit) else None

    t_r, t_p = first(rec), first(per)
    late = float(acc[-1] - acc[ep.index(t_r)]) if t_r is not None else None
    return {"epoch": ep, "reconstruction": rec.tolist(), "perception": per.tolist(),
            "test_loss": loss.tolist(), "probe_acc": acc.tolist(),
            "t_recon_90": t_r, "t_probe_90": t_p, "late_gain": late,
            "loss_drop": float(dl), "probe_gain": float(da),
            "probe_at_init": float(acc[0]), "probe_at_end": float(acc[-1])}


def _conditions(cfg: SweepConfig, data: DatasetSplits | None = None) -> str:
    b = cfg.base
    m = b.model
    n = b.train_samples if b.train_samples is not None else (len(data.train) if data else "all")
    return (f"ViT d={m.embed_dim} depth={m.depth}, {n} train imgs, {b.epochs} epochs, "
            f"{len(cfg.seeds)} seed(s)")


def curves_payload(records: list[dict[str, Any]], cfg: SweepConfig, dataset: str = "",
                   baselines: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    """Payload of the ``mae_probe_curves`` figure (per-method curves averaged over seeds).

    ``baselines``: ``{"raw pixels": {"probe_acc", "knn_acc"}, "random encoder": {...}}``
    (:func:`mrptheory.experiments.mae.baselines.sweep_baselines`), drawn as reference lines.
    """
    ref_ratio, ref_patch = cfg.ref
    curve_records: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        is_ref_mae = r["method"] == "mae" and (r["mask_ratio"], r["patch_size"]) == (ref_ratio,
                                                                                     ref_patch)
        if r["method"] in ("ae", "dae", "scratch", "finetune") or is_ref_mae:
            curve_records[label_of(r)].append(r)
    curves = {}
    for label, recs in curve_records.items():
        n_eval = min(len(r["history"]["eval_epoch"]) for r in recs)
        accs = np.array([r["history"]["probe_acc"][:n_eval] for r in recs], dtype=float)
        knn = np.array([r["history"]["knn_acc"][:n_eval] for r in recs], dtype=float)
        curves[label] = {"epoch": recs[0]["history"]["eval_epoch"][:n_eval],
                         "probe_acc": accs.mean(0).tolist(), "probe_acc_std": accs.std(0).tolist(),
                         "knn_acc": knn.mean(0).tolist(), "n_seeds": len(recs)}
    ref = [r for r in records if r["method"] == "mae"
           and (r["mask_ratio"], r["patch_size"]) == (ref_ratio, ref_patch)]
    progress = progress_curves(ref[0]["history"]) if ref else {}
    final: dict[str, list[float]] = {}
    for r in records:
        if r["method"] in ("scratch", "finetune"):
            final.setdefault(f"{r['method']} (head)", []).append(r["final"]["test_acc"])
    for r in ref:
        final.setdefault("mae linear probe", []).append(r["final"]["probe_acc"])
    ft = cfg.finetune
    return {
        "figure_kind": "mae_probe_curves", "name": f"mae_probe_curves_{cfg.name}",
        "dataset": dataset, "reference": f"r={ref_ratio:g} p={ref_patch}",
        "conditions": _conditions(cfg), "curves": curves, "progress": progress,
        "final_accuracy": final, "baselines": baselines or {},
        "finetune_budget": f"{ft.train_samples or 'all'} labelled imgs x {ft.epochs} epochs",
        "config": to_jsonable(cfg),
    }


def sweep_payload(records: list[dict[str, Any]], cfg: SweepConfig, dataset: str = "",
                  baselines: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    """Payload of the ``mae_mask_sweep`` figure (raw-pixel / random-encoder ``baselines`` as
    reference lines beside the AE and DAEs)."""
    ratios = sorted({r for r, _ in cfg.mae_settings()})
    patches = sorted({p for _, p in cfg.mae_settings()})
    n_test = cfg.base.test_samples or 10000
    acc_ref = mean_over_seeds(records, "probe_acc").get(("mae", *cfg.ref, 0.0), (0.8,))[0]
    payload: dict[str, Any] = {"figure_kind": "mae_mask_sweep", "name": f"mae_mask_sweep_{cfg.name}",
                               "dataset": dataset, "conditions": _conditions(cfg),
                               # 2 binomial standard errors of a difference of two accuracies
                               "tolerance": 2 * math.sqrt(2 * acc_ref * (1 - acc_ref) / n_test),
                               "mask_ratios": ratios, "reference_ratio": cfg.ref[0],
                               "baselines": {}, "config": to_jsonable(cfg)}
    for metric in ("probe_acc", "knn_acc"):
        stats = mean_over_seeds(records, metric)
        payload[metric] = {str(p): [stats.get(("mae", r, p, 0.0), (None,))[0] for r in ratios]
                           for p in patches}
        payload[metric + "_std"] = {str(p): [stats.get(("mae", r, p, 0.0), (None, None))[1]
                                             for r in ratios] for p in patches}
        base = {}
        for (method, _, _, noise), (mean, _, _) in stats.items():
            if method == "ae":
                base["ae (no corruption)"] = mean
            elif method == "dae":
                base[f"dae (sigma={noise:g})"] = mean
        for name, values in (baselines or {}).items():
            base[name] = values[metric]
        payload["baselines"][metric] = base
    stats_p, stats_k = mean_over_seeds(records, "probe_acc"), mean_over_seeds(records, "knn_acc")
    payload["by_patch"] = {
        "patch_sizes": patches,
        "probe_acc": [stats_p.get(("mae", cfg.ref[0], p, 0.0), (None,))[0] for p in patches],
        "knn_acc": [stats_k.get(("mae", cfg.ref[0], p, 0.0), (None,))[0] for p in patches],
    }
    return payload


@torch.no_grad()
def reconstructions_payload(records: list[dict[str, Any]], cfg: SweepConfig, data: DatasetSplits,
                            out_dir: Path, n_images: int = 8, dataset: str = "") -> dict[str, Any]:
    """Payload of ``mae_reconstructions``: seed-0 MAEs at the reference patch size, plus AE/DAE."""
    from mrptheory.experiments.mae.training import load_run
    from mrptheory.experiments.mae.evaluation import reconstruct_examples

    seed = cfg.seeds[0]
    chosen = [r for r in records if r["seed"] == seed and (
        (r["method"] == "mae" and r["patch_size"] == cfg.ref[1]) or r["method"] in ("dae",))]
    chosen.sort(key=lambda r: (r["method"] != "mae", r["mask_ratio"], r["noise_std"]))
    # also the reference ratio at the other patch sizes
    chosen += [r for r in records if r["seed"] == seed and r["method"] == "mae"
               and r["mask_ratio"] == cfg.ref[0] and r["patch_size"] != cfg.ref[1]]
    idx = np.random.default_rng(0).choice(len(data.test), size=min(n_images, len(data.test)),
                                          replace=False)
    payload: dict[str, Any] = {"figure_kind": "mae_reconstructions",
                               "name": f"mae_reconstructions_{cfg.name}", "dataset": dataset,
                               "test_indices": idx.tolist(), "rows": []}
    for r in chosen:
        run_cfg, model, ckpt = load_run(run_dir_for(out_dir, cfg, r["key"]))
        mean = torch.tensor(ckpt["norm"][0]).view(1, -1, 1, 1)
        std = torch.tensor(ckpt["norm"][1]).view(1, -1, 1, 1)
        imgs = (torch.as_tensor(data.test.images[idx]).float() / 255.0 - mean) / std
        ex = reconstruct_examples(model, imgs, seed=123)

        def unstd(a: np.ndarray) -> list:
            return np.round(a * std.numpy() + mean.numpy(), 3).tolist()

        if "original" not in payload:
            payload["original"] = unstd(ex["original"])
        payload["rows"].append({"label": label_of(r), "masked": unstd(ex["masked"]),
                                "reconstruction": unstd(ex["reconstruction"])})
    return payload


def write_sweep_outputs(records: list[dict[str, Any]], cfg: SweepConfig, data: DatasetSplits,
                        out_dir: str | Path, dataset: str = "") -> list[Path]:
    """Save every payload as ``<name>.json`` in ``out_dir`` and draw its figure beside it."""
    out_dir = Path(out_dir)
    from mrptheory.experiments.mae.baselines import sweep_baselines

    baselines = sweep_baselines(records, cfg, data)
    payloads = [curves_payload(records, cfg, dataset, baselines),
                sweep_payload(records, cfg, dataset, baselines)]
    if any(r["method"] in ("mae", "dae") for r in records):
        payloads.append(reconstructions_payload(records, cfg, data, out_dir, dataset=dataset))
    return write({p["name"]: p for p in payloads}, out_dir)


def summary_table(records: list[dict[str, Any]],
                  baselines: dict[str, dict[str, float]] | None = None) -> str:
    """Markdown table of final metrics per point (mean over seeds), trivial baselines first."""
    lines = ["| run | probe acc | k-NN acc | test recon loss | head test acc | img/s |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, values in (baselines or {}).items():
        lines.append(f"| {name} (baseline) | {values['probe_acc']:.4f} | {values['knn_acc']:.4f} "
                     "| - | - | - |")
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[label_of(r)].append(r)

    def fmt(vals: list) -> str:
        vals = [v for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v))]
        return f"{np.mean(vals):.4f}" if vals else "-"

    for label, recs in groups.items():
        lines.append(f"| {label} | {fmt([r['final'].get('probe_acc') for r in recs])} | "
                     f"{fmt([r['final'].get('knn_acc') for r in recs])} | "
                     f"{fmt([r['final'].get('test_loss') for r in recs])} | "
                     f"{fmt([r['final'].get('test_acc') for r in recs])} | "
                     f"{np.mean([r['timing']['images_per_s'] for r in recs]):.0f} |")
    return "\n".join(lines) + "\n"


def perception_payload(study: dict[str, Any], dataset: str = "") -> dict[str, Any]:
    """Payload of the ``mae_perception`` figure: the shared MAE's probes (linear, MLP, k-NN) at
    every epoch's checkpoint beside its test reconstruction loss and the plateau window; the AE /
    DAE controls' final probes and the trivial baselines as reference lines."""
    p = study["protocol"]
    h = study["mae"]["history"]
    controls = {label_of(study[m]): {"probe_acc": study[m]["final"].get("probe_acc"),
                                     "mlp_acc": study[m]["final"].get("mlp_acc")}
                for m in ("ae", "dae")}
    return {"figure_kind": "mae_perception", "name": f"mae_perception_{p.name}",
            "dataset": dataset, "reference": f"r={p.mask_ratio:g} p={p.patch_size}",
            "epoch": h["eval_epoch"], "test_loss": h["test_loss"], "probe_acc": h["probe_acc"],
            "mlp_acc": h.get("mlp_acc", []), "knn_acc": h["knn_acc"],
            "convergence": study["mae"]["convergence"], "controls": controls,
            "baselines": study.get("baselines", {}), "conditions": p.summary(),
            "protocol": p.fields(), "data_id": study["data_id"]}
