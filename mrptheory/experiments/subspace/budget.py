"""Budget curve of the projection experiment: top-90% vs bottom-20% as the training budget grows.

Balestriero & LeCun (2024) report that a classifier on the *bottom* subspace holding the last 20%
of the pixel variance beats one on the *top* subspace holding 90% (TinyImageNet, ResNet-9, 50
epochs). On small budgets the top subspace (coarse shape and brightness, 10-ish dimensions on
Fashion-MNIST) is easier to fit; the bottom subspace keeps hundreds of low-variance dimensions of
fine detail that a classifier can only exploit with enough data and capacity. This module measures
the two accuracies as a function of the budget -- train-set size ``n`` and epochs ``E`` -- per
architecture, and locates the crossover, the budget where ``bottom - top`` changes sign.

For each train-set size the principal basis is fitted on that subset (as the paper fits it on its
train set), with the authors' preprocessing (:mod:`mrptheory.experiments.subspace.projection`). One unit is
``(arch, n, E, part, seed)``; finished units are appended to a :class:`~mrptheory.results.JsonlStore`
so an interrupted sweep resumes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrptheory.data.dataset import DatasetSplits
from mrptheory.data.source import DataSource
from mrptheory.config_spec import Rule, constrained, flag, integer, real, seq, text
from mrptheory.nets.classifiers import ARCHS
from mrptheory.results import JsonlStore, check_record, save_json, store_fingerprint
from mrptheory.experiments.subspace.projection import (HEADLINE_BOTTOM_CUT, HEADLINE_TOP_CUT, UNIT_RECORD_FIELDS,
                                        PreparedData, ProjectionConfig, job_source,
                                        projection_unit)

#: (part, cut) of the two sides of the headline: top-90% and bottom-20%.
SIDES: tuple[tuple[str, float], ...] = (("top", HEADLINE_TOP_CUT), ("bottom", HEADLINE_BOTTOM_CUT))


@constrained(Rule("train_sizes_fit", lambda c: not any(0 < n < 2 for n in c.train_sizes),
                  lambda c: f"train_sizes must be 0 (all) or at least 2, got {c.train_sizes}",
                  ("train_sizes",)), prefix="budget")
@dataclass
class BudgetConfig:
    """A budget sweep: architectures x train-set sizes x epoch counts x seeds, both sides each.

    ``train_sizes``: images per training set (``0`` = the whole train split).
    """

    dataset: str = text("fashion-mnist", doc="a data-registry name (canonicalised by the command)")
    archs: tuple[str, ...] = seq(("mlp",), "str", choices=ARCHS)
    train_sizes: tuple[int, ...] = seq((2000, 10000, 60000), "int", 0, prefixed=True)
    epochs: tuple[int, ...] = seq((5,), "int", 1, prefixed=True)
    seeds: tuple[int, ...] = seq((0, 1), "int", 0, 2**32 - 1)
    test_size: int | None = integer(None, 1, zero_is_none=True)
    batch_size: int = integer(512, 1)
    lr: float = real(1e-3, 0.0, None, low_open=True)
    weight_decay: float = real(1e-3, 0.0, None)
    augment: bool = flag(False)
    resnet_width: int = integer(16, 1)
    mlp_max_width: int | None = integer(256, 1, optional=True)

    def unit_config(self, train_size: int, epochs: int) -> ProjectionConfig:
        """The :class:`ProjectionConfig` of one (train size, epochs) cell."""
        return ProjectionConfig(dataset=self.dataset, cuts=(HEADLINE_BOTTOM_CUT, HEADLINE_TOP_CUT),
                                archs=self.archs, seeds=self.seeds, train_size=train_size or None,
                                test_size=self.test_size, epochs=epochs, batch_size=self.batch_size,
                                lr=self.lr, weight_decay=self.weight_decay, augment=self.augment,
                                resnet_width=self.resnet_width, mlp_max_width=self.mlp_max_width,
                                examples=0)

    def fingerprint(self) -> str:
        """Hash of what changes a unit's result (not the swept lists)."""
        keep = {k: v for k, v in asdict(self).items()
                if k not in ("archs", "train_sizes", "epochs", "seeds")}
        return hashlib.sha1(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:10]


def _validate_budget_record(record: dict) -> str | None:
    """A stored budget unit: a projection unit record plus its train size and epochs."""
    return check_record(record, {**UNIT_RECORD_FIELDS, "train_size": (int, 1, None),
                                 "epochs": (int, 1, None)})


def budget_key(arch: str, train_size: int, epochs: int, part: str, seed: int) -> str:
    """Key of one unit in the JsonlStore."""
    return f"{arch}|n{train_size}|e{epochs}|{part}|{seed}"


def summarise_budget(records: list[dict]) -> list[dict]:
    """One row per (arch, n, E): mean top-90 and bottom-20 accuracy over seeds, their difference
    ``bottom - top`` and its standard error (from the two seed samples; 0 with one seed each)."""
    cells: dict[tuple[str, int, int], dict[str, list[float]]] = {}
    for r in records:
        cell = cells.setdefault((r["arch"], int(r["train_size"]), int(r["epochs"])),
                                {"top": [], "bottom": []})
        cell[r["part"]].append(float(r["test_accuracy"]))
    rows = []
    for (arch, n, e), acc in sorted(cells.items()):
        t, b = np.array(acc["top"]), np.array(acc["bottom"])
        if not len(t) or not len(b):
            continue
        se = float(np.sqrt((t.var(ddof=1) / len(t) if len(t) > 1 else 0.0)
                           + (b.var(ddof=1) / len(b) if len(b) > 1 else 0.0)))
        rows.append({"arch": arch, "train_size": n, "epochs": e,
                     "top90_mean": float(t.mean()), "bottom20_mean": float(b.mean()),
                     "top90": t.tolist(), "bottom20": b.tolist(),
                     "difference": float(b.mean() - t.mean()), "se_difference": se,
                     "n_seeds": int(min(len(t), len(b)))})
    return rows


def crossovers(rows: list[dict]) -> list[dict]:
    """Per (arch, epochs): where ``bottom - top`` changes sign along the train-set size.

    The crossover size is interpolated linearly in ``log n`` between the two sizes that bracket
    the sign change; ``None`` when the sign never changes (``sign`` says which side wins
    throughout: "top" or "bottom").
    """
    out = []
    for arch, e in sorted({(r["arch"], r["epochs"]) for r in rows}):
        rs = sorted((r for r in rows if r["arch"] == arch and r["epochs"] == e),
                    key=lambda r: r["train_size"])
        n = np.array([r["train_size"] for r in rs], dtype=float)
        d = np.array([r["difference"] for r in rs])
        found = None
        for i in range(len(rs) - 1):
            if np.sign(d[i]) != np.sign(d[i + 1]) and d[i] != d[i + 1]:
                frac = d[i] / (d[i] - d[i + 1])
                found = float(np.exp(np.log(n[i]) + frac * (np.log(n[i + 1]) - np.log(n[i]))))
                break
        winner = "bottom" if np.all(d >= 0) else "top" if np.all(d < 0) else "mixed"
        out.append({"arch": arch, "epochs": e, "sizes": n.astype(int).tolist(),
                    "differences": d.tolist(), "crossover_size": found, "winner": winner})
    return out


def run_budget(splits: DatasetSplits, config: BudgetConfig, out_dir: str | Path, *,
               device: str = "auto", show_progress: bool | None = None,
               threads: int | None = None, tag: str | None = None,
               data_fingerprint: str | None = None, launcher=None,
               source: DataSource | None = None) -> dict[str, Any]:
    """Run (or resume) the budget sweep; save and return the ``subspace_budget`` payload.

    Units are keyed by the data's content fingerprint too (``data_fingerprint``, else one of the
    loaded arrays; see :func:`~mrptheory.experiments.subspace.projection.run_projection_sweep`).

    Files in ``out_dir`` (``tag`` defaults to ``subspace_budget_<data>``):
    ``<tag>_runs_<fingerprint>.jsonl`` (one record per finished unit), ``checkpoints/`` (the unit
    in progress) and ``<tag>.json`` (figure_kind ``subspace_budget``).

    ``launcher`` (default: here, one unit after the other, each train size prepared once): where
    the units run; as jobs, each reads the splits from ``source`` (checked on load) and prepares
    its own train size there (see ``run_projection_sweep``).
    """
    from mrptheory.data.registry import splits_fingerprint
    from mrptheory.launch import LocalLauncher, Unit, run_units

    launcher = launcher or LocalLauncher()
    out = Path(out_dir)
    tag = tag or f"subspace_budget_{config.dataset}"
    data_fp = data_fingerprint or splits_fingerprint(splits)
    store_fp = store_fingerprint(config.fingerprint(), data_fp)
    store = JsonlStore(out / f"{tag}_runs_{store_fp}.jsonl", validate=_validate_budget_record)
    full = len(splits.train)
    units = [(a, n, e, part, cut, s) for n in config.train_sizes for a in config.archs
             for e in config.epochs for s in config.seeds for part, cut in SIDES]
    # here: one train size prepared at a time, shared by its units (they come in size order)
    prepared = (PreparedData(splits) if launcher.name == "local"
                else PreparedData(source=job_source(source)))
    work = []
    for arch, n, e, part, cut, seed in units:
        size = min(n or full, full)
        key = budget_key(arch, size, e, part, seed)
        ckpt = out / "checkpoints" / f"{tag}_{store_fp}" / (key.replace("|", "_") + ".pt")
        work.append(Unit(key, projection_unit,
                         (prepared, config.unit_config(size, e), arch, part, cut, seed),
                         {"device": device, "show_progress": show_progress, "threads": threads,
                          "checkpoint_path": str(ckpt),
                          "extra": {"dataset": config.dataset, "train_size": size, "epochs": e,
                                    "data_fingerprint": data_fp}},
                         threads=threads or torch.get_num_threads()))
    run_units(work, store, launcher, desc=f"subspace budget ({config.dataset})",
              show_progress=show_progress)
    for unit in work:  # a checkpoint left by a unit stored before it could remove it
        Path(unit.kwargs["checkpoint_path"]).unlink(missing_ok=True)
    wanted = {budget_key(a, min(n or full, full), e, part, s) for a, n, e, part, _, s in units}
    unique = {r["key"]: r for r in store.records() if r.get("key") in wanted}  # one per unit
    records = list(unique.values())
    for r in records:
        r.pop("history", None)  # keep the payload small; the store keeps the full histories
    rows = summarise_budget(records)
    payload = {"figure_kind": "subspace_budget", "dataset": config.dataset, "tag": tag,
               "config": asdict(config), "device": str(device), "data_fingerprint": data_fp,
               "records": records,
               "summary": rows, "crossovers": crossovers(rows)}
    save_json(out / f"{tag}.json", payload)
    return payload
