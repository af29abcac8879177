"""The projection experiment: classify images projected onto the top or bottom principal subspace.

Balestriero & LeCun (2024, Sec. 3, Fig. 1): reconstruction-trained models spend their capacity
on the *top* principal subspace of the pixel covariance (the directions explaining most of the
variance). If perception needs the *bottom* directions, a classifier trained on images projected
onto the bottom subspace (little variance) can match or beat one trained on the top subspace
(most of the variance).

Recipe (the authors' public code):
1. each image is divided by its own pixel std, then the train mean image is subtracted (train and
   test alike): :func:`preprocess`;
2. eigendecompose ``G = X^T X`` of the preprocessed train set (``X: [N, D]``);
3. for a cut-off share ``s``: top = the leading eigenvectors holding less than ``s`` of the
   variance, bottom = the rest (they hold ``1 - s`` or a bit more);
4. project in pixel space, ``x -> S S^T x`` (same image shape), and re-normalise with step 1;
5. train the same classifier on each projection and compare test accuracies.

A sweep runs one unit per (arch, part, cut, seed) and appends its record to a
:class:`~mrptheory.results.JsonlStore`, so an interrupted sweep resumes at the unit it was in
(which itself resumes from its per-epoch checkpoint).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.data.source import DataSource
from mrptheory.data.preprocess import preprocess  # noqa: F401  (re-exported: moved to data/)
from mrptheory.config_spec import choice, constrained, flag, integer, real, seq, text
from mrptheory.errors import ConfigError
from mrptheory.linear.pca import RENORMS, PCABasis, project_images  # noqa: F401  (re-exported)
from mrptheory.nets.classifiers import ARCHS, build_classifier
from mrptheory.results import JsonlStore, check_record, fingerprint, save_json, store_fingerprint
from mrptheory.seeding import seed_everything
from mrptheory.device import cpu_threads
from mrptheory.nets.supervised import ClassifierTrainConfig, train_classifier
from mrptheory.validation import check_choice, check_float

PARTS: tuple[str, ...] = ("top", "bottom")
#: The headline comparison: top subspace with 90% of the variance vs bottom with the last 20%.
HEADLINE_TOP_CUT: float = 0.9
HEADLINE_BOTTOM_CUT: float = 0.8


def fit_basis(train: np.ndarray) -> PCABasis:
    """Principal basis of the (already centred) train set ``[N, D]``: eigenvectors of ``X^T X``."""
    x = np.asarray(train, dtype=np.float64)
    return PCABasis.from_second_moment(x.T @ x)


def part_basis(basis: PCABasis, cut: float, part: str) -> np.ndarray:
    """Columns spanning the ``part`` ("top" or "bottom") subspace at cut-off share ``cut``: ``[D, r]``.

    Top = leading eigenvectors whose cumulative variance share stays below ``cut`` (at least one);
    bottom = all the remaining ones (they hold the last ``1 - cut`` of the variance, or a bit more).
    """
    cut = check_float("share", cut, 0.0, 1.0, low_open=True, high_open=True)
    part = check_choice("part", part, PARTS)
    top, bottom = basis.split(cut)
    return top if part == "top" else bottom


def check_cuts(basis: PCABasis, cuts: tuple[float, ...]) -> None:
    """Refuse cut-off shares too small for the top subspace to exist (ConfigError naming --cuts).

    The top subspace holds *less* than the share ``s`` of the variance; when the first
    principal direction alone holds ``s`` or more, no direction qualifies (``part_basis`` would
    keep one anyway and break its own definition). Valid shares exceed the first direction's share.
    """
    first = float(basis.explained_share[0]) if len(basis.explained_share) else 0.0
    for cut in cuts:
        if cut <= first:
            raise ConfigError(f"--cuts {cut:g}: the first principal direction alone holds "
                              f"{first:.4f} of the variance, so no top subspace holds less than "
                              f"{cut:g} of it; use shares above {first:.4f}")


def subspace_share(basis: PCABasis, columns: int, part: str) -> float:
    """Share of the total variance held by the first (top) or last (bottom) ``columns`` directions."""
    share = basis.explained_share
    return float(share[:columns].sum() if part == "top" else share[len(share) - columns:].sum())


@constrained()
@dataclass
class ProjectionConfig:
    """One projection sweep: which data, which cut-offs, parts, architectures, seeds, how to train.

    ``cuts`` are cut-off shares s in (0, 1): the top part holds < s of the variance, the bottom part
    the rest. The headline needs 0.9 (top-90%) and 0.8 (bottom-20%).
    """

    dataset: str = text("fashion-mnist", doc="a data-registry name (canonicalised by the command)")
    cuts: tuple[float, ...] = seq((0.5, 0.8, 0.9, 0.95), "float", 0.0, 1.0, low_open=True,
                                  high_open=True)
    parts: tuple[str, ...] = seq(PARTS, "str", choices=PARTS)
    archs: tuple[str, ...] = seq(("mlp",), "str", choices=ARCHS)
    seeds: tuple[int, ...] = seq((0, 1, 2), "int", 0, 2**32 - 1)
    train_size: int | None = integer(10000, 2, zero_is_none=True)
    test_size: int | None = integer(None, 1, zero_is_none=True)
    epochs: int = integer(5, 1)
    batch_size: int = integer(512, 1)
    lr: float = real(1e-3, 0.0, None, low_open=True)
    weight_decay: float = real(1e-3, 0.0, None)
    augment: bool = flag(False)
    resnet_width: int = integer(16, 1)
    mlp_max_width: int | None = integer(256, 1, optional=True)
    renorm: str = choice("image", RENORMS)
    examples: int = integer(6, 0)

    def fingerprint(self) -> str:
        """Short hash of everything that changes a unit's result (not the sweep lists)."""
        keep = {k: v for k, v in asdict(self).items() if k not in ("cuts", "parts", "archs",
                                                                     "seeds", "examples")}
        return fingerprint(keep)

    def train_config(self, seed: int) -> ClassifierTrainConfig:
        return ClassifierTrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                                     weight_decay=self.weight_decay, augment=self.augment,
                                     seed=seed)


def unit_key(arch: str, part: str, cut: float, seed: int) -> str:
    """Key of one sweep unit in the JsonlStore."""
    return f"{arch}|{part}|{cut:.4f}|{seed}"


@dataclass
class ProjectionData:
    """Preprocessed flat data and its principal basis (shared by all units of a sweep)."""

    train: np.ndarray          # [N, D] float32
    test: np.ndarray           # [M, D] float32
    train_labels: np.ndarray   # [N]
    test_labels: np.ndarray    # [M]
    image_shape: tuple[int, int, int]
    num_classes: int
    basis: PCABasis = field(repr=False)
    #: the last two (cut, part, renorm) projections (:func:`project_part`), shared by seeds
    projections: dict = field(default_factory=dict, repr=False, compare=False)


def project_part(data: ProjectionData, cut: float, part: str,
                 renorm: str = "image") -> tuple[np.ndarray, np.ndarray]:
    """``project_images`` of ``data`` onto the ``part`` subspace at ``cut``, through the smaller
    side: the basis is complete and orthonormal, so projecting onto the bottom ``D - t``
    directions equals removing the top ``t`` ones (on CIFAR-10, 3055 vs 63 columns: 50x fewer
    operations). The last two results are kept on ``data`` (the seeds of a unit share them;
    a budget sweep alternates top and bottom)."""
    key = (round(float(cut), 6), part, renorm)
    if key not in data.projections:
        sub = part_basis(data.basis, cut, part)
        top = data.basis.split(cut)[0]
        complete = top.shape[1] + sub.shape[1] == data.basis.eigenvectors.shape[1]
        if part == "bottom" and complete and top.shape[1] < sub.shape[1]:
            result = project_images(data.train, data.test, top, renorm, complement=True)
        else:
            result = project_images(data.train, data.test, sub, renorm)
        while len(data.projections) >= 2:
            data.projections.pop(next(iter(data.projections)))
        data.projections[key] = result
    return data.projections[key]


def prepare(splits: DatasetSplits, train_size: int | None = None, test_size: int | None = None,
            subset_seed: int = 0) -> ProjectionData:
    """Subsample, flatten, :func:`preprocess`, and fit the principal basis of the train set."""
    train: ImageDataset = splits.train.subset(train_size, seed=subset_seed)
    test: ImageDataset = splits.test.subset(test_size, seed=subset_seed)
    xtr, xte, _ = preprocess(train.flat(np.float32), test.flat(np.float32))
    return ProjectionData(xtr, xte, np.asarray(train.labels), np.asarray(test.labels),
                          train.image_shape, max(train.num_classes, int(train.labels.max()) + 1),
                          fit_basis(xtr))


class PreparedData:
    """:func:`prepare` of a sweep's splits, kept for one (train size, test size) at a time (the
    basis and projections of a 60k train set are large).

    In this process it holds the loaded ``splits``; a job gets one holding only a
    :class:`~mrptheory.data.source.DataSource` (pickled without any array), which reads and
    checks the splits on its node on first use, so the principal basis is computed there.
    """

    def __init__(self, splits: DatasetSplits | None = None, source: DataSource | None = None):
        if (splits is None) == (source is None):
            raise ValueError("PreparedData needs the splits or a DataSource, not both")
        self.splits, self.source = splits, source
        self._prepared: dict[tuple[int | None, int | None], ProjectionData] = {}

    def get(self, train_size: int | None, test_size: int | None) -> ProjectionData:
        """``prepare(splits, train_size, test_size)``, computed once while the sizes stay."""
        sizes = (train_size, test_size)
        if sizes not in self._prepared:
            self._prepared.clear()
            if self.splits is None:
                self.splits = self.source.load()
            self._prepared[sizes] = prepare(self.splits, train_size, test_size)
        return self._prepared[sizes]

    def __getstate__(self) -> dict:
        if self.source is None:
            raise TypeError("PreparedData of in-memory splits is not sent to a job; give it a "
                            "DataSource")
        return {"splits": None, "source": self.source, "_prepared": {}}


def projection_unit(data: PreparedData, config: ProjectionConfig, arch: str, part: str,
                    cut: float, seed: int, *, device: str, checkpoint_path: str,
                    show_progress: bool | None, threads: int | None,
                    extra: dict[str, Any]) -> dict[str, Any]:
    """One sweep unit (here or as a job): :func:`run_unit` on the prepared data of
    ``config``'s sizes, its record completed with ``extra`` (data set, fingerprint...); the
    unit's per-epoch checkpoint is removed once its record is computed."""
    ckpt = Path(checkpoint_path)
    record = run_unit(data.get(config.train_size, config.test_size), config, arch, part, cut,
                      seed, device=device, checkpoint_path=ckpt, show_progress=show_progress,
                      threads=threads)
    record.update(extra)
    ckpt.unlink(missing_ok=True)
    return record


def run_unit(data: ProjectionData, config: ProjectionConfig, arch: str, part: str, cut: float,
             seed: int, *, device: str = "auto", checkpoint_path: Path | None = None,
             show_progress: bool | None = None, stop_after: int | None = None,
             threads: int | None = None) -> dict[str, Any]:
    """Train one classifier on one projection; return its record (accuracy, dims, share...).

    ``threads`` sets the torch CPU thread count for the projection and the training.
    """
    with cpu_threads(threads):
        return _run_unit(data, config, arch, part, cut, seed, device=device,
                         checkpoint_path=checkpoint_path, show_progress=show_progress,
                         stop_after=stop_after)


def _run_unit(data: ProjectionData, config: ProjectionConfig, arch: str, part: str, cut: float,
              seed: int, *, device: str, checkpoint_path: Path | None,
              show_progress: bool | None, stop_after: int | None) -> dict[str, Any]:
    sub = part_basis(data.basis, cut, part)
    ptr, pte = project_part(data, cut, part, config.renorm)
    shape = (-1, *data.image_shape)
    seed_everything(seed)  # the model's initial weights
    model = build_classifier(arch, data.image_shape, data.num_classes, width=config.resnet_width,
                             max_width=config.mlp_max_width)
    result = train_classifier(model, ptr.reshape(shape), data.train_labels, pte.reshape(shape),
                              data.test_labels, config.train_config(seed), device=device,
                              checkpoint_path=checkpoint_path, stop_after=stop_after,
                              show_progress=show_progress, desc=f"{arch} {part} {cut:g} s{seed}")
    return {
        "key": unit_key(arch, part, cut, seed),
        "arch": arch, "part": part, "cut": cut, "seed": seed,
        "dims": int(sub.shape[1]),
        "variance_share": subspace_share(data.basis, sub.shape[1], part),
        "test_accuracy": result.test_accuracy,
        "final_train_accuracy": result.history[-1]["train_accuracy"] if result.history else None,
        "images_per_s": float(np.mean([h["images_per_s"] for h in result.history]))
        if result.history else None,
        "history": result.history,
        "finished": result.finished,
    }


#: What a stored unit record must hold (see :func:`~mrptheory.results.check_record`).
UNIT_RECORD_FIELDS: dict[str, Any] = {
    "arch": str, "part": str, "cut": ((int, float), 0.0, 1.0), "seed": int,
    "dims": (int, 1, None), "variance_share": ((int, float), 0.0, 1.0 + 1e-9),
    "test_accuracy": ((int, float), 0.0, 1.0), "history": list, "finished": bool,
}


def validate_unit_record(record: dict) -> str | None:
    """Why a stored unit record is unusable (a missing key, an accuracy outside [0, 1]...), or None."""
    return check_record(record, UNIT_RECORD_FIELDS)


def summarise(records: list[dict]) -> list[dict]:
    """Mean and spread over seeds per (arch, part, cut), sorted: ``[{arch, part, cut, mean, std, ...}]``."""
    groups: dict[tuple[str, str, float], list[dict]] = {}
    for r in records:
        groups.setdefault((r["arch"], r["part"], round(float(r["cut"]), 4)), []).append(r)
    rows = []
    for (arch, part, cut), rs in sorted(groups.items()):
        acc = np.array([r["test_accuracy"] for r in rs])
        rows.append({
            "arch": arch, "part": part, "cut": cut, "dims": rs[0]["dims"],
            "variance_share": rs[0]["variance_share"], "n_seeds": len(rs),
            "mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(rs) > 1 else 0.0,
            "min": float(acc.min()), "max": float(acc.max()),
            "seeds": [r["seed"] for r in rs], "accuracies": acc.tolist(),
        })
    return rows


def headline(records: list[dict], arch: str) -> dict[str, Any] | None:
    """Top-90% vs bottom-20% accuracies of ``arch`` over seeds (None when a side is missing)."""
    def accs(part: str, cut: float) -> dict[int, float]:
        return {int(r["seed"]): float(r["test_accuracy"]) for r in records
                if r["arch"] == arch and r["part"] == part and abs(float(r["cut"]) - cut) < 1e-6}

    top, bottom = accs("top", HEADLINE_TOP_CUT), accs("bottom", HEADLINE_BOTTOM_CUT)
    if not top or not bottom:
        return None
    t, b = np.array(list(top.values())), np.array(list(bottom.values()))
    # standard error of the difference of the two seed means (0 with a single seed each)
    se = float(np.sqrt((t.var(ddof=1) / len(t) if len(t) > 1 else 0.0)
                       + (b.var(ddof=1) / len(b) if len(b) > 1 else 0.0)))
    return {"arch": arch, "top90": top, "bottom20": bottom,
            "top90_mean": float(t.mean()), "bottom20_mean": float(b.mean()),
            "difference": float(b.mean() - t.mean()), "se_difference": se,
            "n_seeds": int(min(len(t), len(b)))}


def example_images(data: ProjectionData, cuts: tuple[float, ...], count: int,
                   seed: int = 0) -> dict[str, Any]:
    """A few test images: preprocessed original and its top / bottom projections for each cut.

    Returns ``{"indices", "image_shape", "labels", "original": [k, D], "projections":
    [{cut, part, dims, variance_share, images: [k, D]}]}`` (re-normalised like the classifier input).
    """
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(data.test), size=min(count, len(data.test)), replace=False))
    out: dict[str, Any] = {"indices": idx.tolist(), "image_shape": list(data.image_shape),
                           "labels": data.test_labels[idx].tolist(),
                           "original": data.test[idx].tolist(), "projections": []}
    for cut in cuts:
        for part in PARTS:
            sub = part_basis(data.basis, cut, part)
            _, pte = project_images(data.train[:2], data.test[idx], sub, "none")
            out["projections"].append({"cut": cut, "part": part, "dims": int(sub.shape[1]),
                                       "variance_share": subspace_share(data.basis, sub.shape[1],
                                                                        part),
                                       "images": pte.tolist()})
    return out


def run_projection_sweep(splits: DatasetSplits, config: ProjectionConfig, out_dir: str | Path,
                         *, device: str = "auto", show_progress: bool | None = None,
                         threads: int | None = None,
                         units: list[tuple[str, str, float, int]] | None = None,
                         tag: str | None = None, strict_cuts: bool = False,
                         data_fingerprint: str | None = None, launcher=None,
                         source: DataSource | None = None) -> dict[str, Any]:
    """Run (or resume) the sweep; save and return the ``subspace_accuracy`` payload.

    Every stored unit is keyed by the data's content fingerprint as well as the config:
    ``data_fingerprint`` (the files', :func:`~mrptheory.data.registry.dataset_fingerprint`) or,
    when None, one of the loaded arrays (:func:`~mrptheory.data.registry.splits_fingerprint`);
    swapped data files re-run every unit. It is shown in the payload (``data_fingerprint``).

    ``strict_cuts``: refuse, before any unit trains, a cut-off share at or below the first
    principal direction's share (:func:`check_cuts`; ``mrp subspace`` sets it). Off, such a cut
    keeps one direction in the top part, which then holds more than the share.

    ``units`` (default: every arch x cut x part x seed of ``config``) lists the
    ``(arch, part, cut, seed)`` units to run. Files in ``out_dir``, with ``tag`` defaulting to
    ``subspace_<data>``: ``<tag>_runs_<fingerprint>.jsonl`` (one record per finished unit),
    ``checkpoints/`` (per-epoch state of the unit in progress), ``<tag>.json``
    (figure_kind ``subspace_accuracy``) and ``<tag>_images.json`` (``subspace_images``); the
    fingerprint covers the config and the data.

    ``launcher`` (a :mod:`mrptheory.launch` launcher; default: here, one unit after the other)
    says where the units run. As jobs (one per missing unit) each reads the splits from
    ``source`` (required then: name, folder and fingerprint, checked on load) and computes the
    principal basis itself; ``out_dir`` (the store, the checkpoints) must be shared by the nodes.
    """
    from mrptheory.data.registry import splits_fingerprint
    from mrptheory.launch import LocalLauncher, Unit, run_units

    launcher = launcher or LocalLauncher()
    out = Path(out_dir)
    name = config.dataset
    tag = tag or f"subspace_{name}"
    data_fp = data_fingerprint or splits_fingerprint(splits)
    store_fp = store_fingerprint(config.fingerprint(), data_fp)
    store = JsonlStore(out / f"{tag}_runs_{store_fp}.jsonl", validate=validate_unit_record)
    prepared = PreparedData(splits)
    data = prepared.get(config.train_size, config.test_size)
    if strict_cuts:
        check_cuts(data.basis, config.cuts)
    if units is None:
        units = [(a, p, c, s) for a in config.archs for c in config.cuts for p in config.parts
                 for s in config.seeds]
    ckpt_dir = out / "checkpoints" / f"{tag}_{store_fp}"
    shared = prepared if launcher.name == "local" else PreparedData(source=job_source(source))
    work = [Unit(unit_key(*u), projection_unit, (shared, config, *u),
                 {"device": device, "show_progress": show_progress, "threads": threads,
                  "checkpoint_path": str(ckpt_dir / (unit_key(*u).replace("|", "_") + ".pt")),
                  "extra": {"dataset": name, "data_fingerprint": data_fp}},
                 threads=threads or torch.get_num_threads())
            for u in units]
    run_units(work, store, launcher, desc=f"subspace sweep ({name})", show_progress=show_progress)
    for unit in work:  # a checkpoint left by a unit stored before it could remove it
        Path(unit.kwargs["checkpoint_path"]).unlink(missing_ok=True)
    if ckpt_dir.is_dir() and not any(ckpt_dir.iterdir()):
        ckpt_dir.rmdir()
    wanted = {unit_key(*u) for u in units}
    records = [r for r in store.records() if r.get("key") in wanted]
    payload = {
        "figure_kind": "subspace_accuracy",
        "dataset": name,
        "tag": tag,
        "config": asdict(config),
        "device": str(device),
        "data_fingerprint": data_fp,
        "spectrum_share": data.basis.explained_share.tolist(),
        "records": records,
        "summary": summarise(records),
        "headline": {a: headline(records, a) for a in sorted({u[0] for u in units})},
    }
    save_json(out / f"{tag}.json", payload)
    if config.examples:
        images = {"figure_kind": "subspace_images", "dataset": name, "tag": tag,
                  "config": asdict(config),
                  **example_images(data, (HEADLINE_TOP_CUT, HEADLINE_BOTTOM_CUT), config.examples)}
        save_json(out / f"{tag}_images.json", images)
    return payload


def job_source(source: DataSource | None) -> DataSource:
    """The DataSource jobs read the splits from (a sweep run as jobs must have one)."""
    if source is None:
        raise ValueError("units run as jobs read the data from a DataSource; pass source=")
    return source
