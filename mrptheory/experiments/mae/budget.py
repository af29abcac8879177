"""The label-budget curve: MAE-pretrained-then-fine-tuned vs from-scratch at several label budgets.

The standard semi-supervised plot (Pan et al. claim the benefit of mask-reconstruction pretraining
where labels are scarce). At every budget ``b`` both classifiers have the same architecture (the
pretrained encoder's, with a linear head), the same ``b`` labelled images, epochs, batch size,
schedule and augmentation, and the same pixel standardisation; only the encoder's starting point
and the learning rate differ. Each classifier gets its own learning rate, chosen per budget from
the grid ``lrs`` by the rule fixed here: the highest accuracy on the validation split
(``val_samples`` train-split images that are never in a label budget; ties: the first, smallest,
in the grid), measured on the first seed; the other seeds reuse that choice. (The same rule for
both: a fixed fine-tuning lr against a tuned scratch lr would handicap pretraining.)

Splits (deterministic): a fixed permutation of the train split gives the validation images first
and the label pool after them; seed ``s`` draws its budgets as nested prefixes of its own
permutation of the pool. Test accuracy is measured on the protocol's test images (test split).
Each unit's record is appended to ``<out_dir>/mae_budget_<protocol>.jsonl``, keyed by its config,
the pretrained encoder's key and the data identity.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.results import JsonlStore, fingerprint
from mrptheory.experiments.mae.training import MAETrainConfig, train
from mrptheory.experiments.mae.evaluation import classifier_accuracy
from mrptheory.experiments.mae.finetune import FinetuneConfig, finetune_config
from mrptheory.experiments.mae.pretrained import DataSource, resolve_data, run_dir_of, run_jobs
from mrptheory.experiments.mae.protocol import MAEProtocol

SPLIT_SEED = 20240


def split_indices(n_train: int, val_samples: int, budget: int | None, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(validation indices, labelled indices of ``budget``) into the train split; disjoint."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(n_train)
    val, pool = perm[:val_samples], perm[val_samples:]
    order = np.random.default_rng(1000 + seed).permutation(len(pool))
    take = len(pool) if budget is None else min(budget, len(pool))
    return np.sort(val), np.sort(pool[order[:take]])


def _take(split: ImageDataset, idx: np.ndarray) -> ImageDataset:
    return ImageDataset(np.array(split.images[idx]), np.array(split.labels[idx]),
                        split.class_names, split.name, split.split)


def unit_config(p: MAEProtocol, pre_cfg: MAETrainConfig, budget: int, lr: float, seed: int
                ) -> MAETrainConfig:
    """The classifier run at ``budget`` labelled images (shared by fine-tuning and scratch)."""
    ft = FinetuneConfig(epochs=p.finetune_epochs(budget), batch_size=p.finetune_batch, lr=lr,
                        warmup_epochs=1.0, train_samples=None)
    cfg = finetune_config(dataclasses.replace(pre_cfg, seed=seed, mlp_probe=False), ft,
                          eval_every=0)
    return dataclasses.replace(cfg, test_samples=None,
                               probe_train_samples=max(2, min(budget, 500)))


def _unit_key(p: MAEProtocol, pre_cfg: MAETrainConfig, pre_key: str, method: str, b: int,
              lr: float, seed: int, data_id: str) -> tuple[str, MAETrainConfig]:
    cfg = unit_config(p, pre_cfg, b, lr, seed)
    key = f"{method}-b{b}-lr{lr:g}-seed{seed}-" + fingerprint(
        {"config": cfg.fingerprint(), "pretrained": pre_key, "data": data_id, "val": p.val_samples,
         "test": p.test_samples, "split_seed": SPLIT_SEED})
    return key, cfg


def _protocol(p_dict: dict[str, Any]) -> MAEProtocol:
    return MAEProtocol(**{k: tuple(v) if isinstance(v, list) else v for k, v in p_dict.items()})


def _budget_unit(p_dict: dict[str, Any], pre_cfg_dict: dict[str, Any], pre_key: str,
                 method: str, budget: int | None, lr: float, seed: int, source: DataSource,
                 data_id: str, out_dir: str) -> dict[str, Any]:
    """Train one classifier (worker entry point) and store its record."""
    from mrptheory.experiments.mae.finetune import load_pretrained

    p = _protocol(p_dict)
    pre_cfg = MAETrainConfig.from_dict(pre_cfg_dict)
    data = resolve_data(source)
    val_idx, lab_idx = split_indices(len(data.train), p.val_samples, budget, seed)
    b = len(lab_idx)
    key, cfg = _unit_key(p, pre_cfg, pre_key, method, b, lr, seed, data_id)
    store = JsonlStore(Path(out_dir) / f"mae_budget_{p.name}.jsonl")

    def compute() -> dict[str, Any]:
        start, cpu = time.perf_counter(), time.process_time()
        _, encoder, norm = load_pretrained(run_dir_of(out_dir, pre_key))
        splits = DatasetSplits(_take(data.train, lab_idx), _take(data.train, val_idx))
        result = train(cfg, splits, None, init_encoder=encoder if method == "finetune" else None,
                       norm=norm, show_progress=False)
        test = data.test.subset(p.test_samples, seed=pre_cfg.seed + 1)
        mean = torch.tensor(norm[0]).view(1, -1, 1, 1)
        std = torch.tensor(norm[1]).view(1, -1, 1, 1)
        x = (torch.from_numpy(np.array(test.images)).float() / 255.0 - mean) / std
        test_acc = classifier_accuracy(result.model.cpu(), x, torch.from_numpy(np.array(test.labels)))
        return {"method": method, "budget": b, "requested_budget": budget, "lr": lr, "seed": seed,
                "epochs": cfg.epochs, "val_acc": result.final["test_acc"], "test_acc": test_acc,
                "n_val": len(val_idx), "n_test": len(test), "pretrained": pre_key,
                "data_id": data_id, "seconds": round(time.perf_counter() - start, 2),
                "cpu_s": round(time.process_time() - cpu, 2)}

    return store.get_or_run(key, compute)


def _run_units(jobs: list[tuple], workers: int, show_progress: bool | None) -> list[dict]:
    """Records of the budget units ``jobs`` (arguments of :func:`_budget_unit`): stored ones read
    here, the others trained ``workers`` at a time."""
    found: dict[int, dict[str, Any]] = {}
    for i, job in enumerate(jobs):
        p_dict, pre_cfg, pre_key, method, budget, lr, seed, source, data_id, out_dir = job
        p = _protocol(p_dict)
        n_train = len(resolve_data(source).train)
        b = len(split_indices(n_train, p.val_samples, budget, seed)[1])
        key, _ = _unit_key(p, MAETrainConfig.from_dict(pre_cfg), pre_key, method, b, lr, seed,
                           data_id)
        rec = JsonlStore(Path(out_dir) / f"mae_budget_{p.name}.jsonl").get(key)
        if rec is not None:
            found[i] = rec
    todo = [i for i in range(len(jobs)) if i not in found]
    done = run_jobs(_budget_unit, [jobs[i] for i in todo], workers, show_progress,
                    "label-budget units")
    found.update(zip(todo, done))
    return [found[i] for i in range(len(jobs))]


def run_budget_curve(p: MAEProtocol, pre_record: dict[str, Any], source: DataSource,
                     data_id: str, out_dir: str | Path, workers: int = 1,
                     show_progress: bool | None = None) -> dict[str, Any]:
    """Every unit of the curve (stored ones reused) and its summary (:func:`summarise`)."""
    pre_cfg = pre_record["config"]
    common = (dataclasses.asdict(p), pre_cfg, pre_record["key"])
    tail = (source, data_id, str(out_dir))
    first = p.seeds[0]
    jobs = [(*common, method, b, lr, first, *tail) for b in p.label_budgets
            for method in ("finetune", "scratch") for lr in p.lrs]
    records = _run_units(jobs, workers, show_progress)
    chosen = {m: choose_lr(records, p.lrs, m) for m in ("finetune", "scratch")}
    jobs = []
    for b in p.label_budgets:
        budget_n = next(r["budget"] for r in records if r["requested_budget"] == b)
        for s in p.seeds[1:]:
            jobs += [(*common, m, b, chosen[m][budget_n], s, *tail) for m in ("finetune", "scratch")]
    records += _run_units(jobs, workers, show_progress)
    return summarise(records, chosen)


def choose_lr(records: list[dict[str, Any]], grid: tuple[float, ...], method: str
              ) -> dict[int, float]:
    """Per budget: the grid lr with the highest validation accuracy of ``method`` on the first
    seed (ties: the first in the grid)."""
    out = {}
    seed0 = min(r["seed"] for r in records)
    for b in sorted({r["budget"] for r in records}):
        by_lr = {r["lr"]: r["val_acc"] for r in records
                 if r["method"] == method and r["budget"] == b and r["seed"] == seed0}
        out[b] = max((lr for lr in grid if lr in by_lr), key=lambda lr: (by_lr[lr], -grid.index(lr)))
    return out


def summarise(records: list[dict[str, Any]], chosen: dict[str, dict[int, float]]
              ) -> dict[str, Any]:
    """Per budget: mean / std / per-seed test accuracy of both classifiers (each at its chosen
    lr) and their paired difference; the crossover budget (the smallest budget from which scratch
    is no worse on average, after a smaller budget where fine-tuning was ahead), None when there
    is none."""
    budgets = sorted({r["budget"] for r in records})
    rows = []
    for b in budgets:
        picked = {m: sorted((r for r in records if r["method"] == m and r["budget"] == b
                             and r["lr"] == chosen[m][b]), key=lambda r: r["seed"])
                  for m in ("finetune", "scratch")}
        f = [r["test_acc"] for r in picked["finetune"]]
        s = [r["test_acc"] for r in picked["scratch"]]
        paired = [a - c for a, c in zip(f, s)]
        ft = picked["finetune"]
        rows.append({"budget": b, "epochs": ft[0]["epochs"] if ft else None,
                     "finetune": f, "scratch": s, "finetune_mean": float(np.mean(f)),
                     "scratch_mean": float(np.mean(s)),
                     "finetune_std": float(np.std(f, ddof=1)) if len(f) > 1 else 0.0,
                     "scratch_std": float(np.std(s, ddof=1)) if len(s) > 1 else 0.0,
                     "difference": float(np.mean(paired)),
                     "difference_se": (float(np.std(paired, ddof=1) / math.sqrt(len(paired)))
                                       if len(paired) > 1 else None),
                     "finetune_lr": chosen["finetune"][b], "scratch_lr": chosen["scratch"][b],
                     "n_test": ft[0]["n_test"] if ft else None, "n_seeds": len(paired)})
    crossover = None
    for i, row in enumerate(rows):
        if row["difference"] <= 0 and any(r["difference"] > 0 for r in rows[:i]):
            crossover = row["budget"]
            break
    return {"rows": rows, "crossover_budget": crossover,
            "lr_chosen": {m: {str(b): lr for b, lr in c.items()} for m, c in chosen.items()},
            "records": records}


def budget_payload(summary: dict[str, Any], protocol: MAEProtocol, dataset: str) -> dict[str, Any]:
    """Payload of the ``mae_label_budget`` figure (numbers first; drawn by experiments.mae.figures)."""
    return {"figure_kind": "mae_label_budget", "name": f"mae_label_budget_{protocol.name}",
            "dataset": dataset, "rows": summary["rows"],
            "crossover_budget": summary["crossover_budget"], "protocol": protocol.fields(),
            "conditions": protocol.summary(),
            "lr_rule": "each classifier's lr: highest validation accuracy over "
                       f"{list(protocol.lrs)} at each budget (first seed; ties: the smaller)"}
