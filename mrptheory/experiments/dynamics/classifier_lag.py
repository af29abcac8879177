"""Learned-last judged by a trained classifier: perception of what a linear AE has learned so far.

The paper's "perception" is a deep network's test accuracy, not a linear probe's. At each
evaluation time ``t`` of a learned-last run (:mod:`mrptheory.experiments.dynamics.experiment`), take the
eigen-directions the autoencoder has learned by then (reconstruction fraction
``rho_i(t) >= LEARNED_LEVEL``), project the images onto their span in pixel space
(``x -> S S^T x``, ``S: [D, r]``, re-normalised as in the projection experiment:
:func:`mrptheory.linear.pca.project_images`), train a classifier (MLP or ResNet-9, the
projection experiment's recipe: AdamW, one-cycle) on the projected training images and record its
test accuracy ``a(t)``. Beside it, the reconstruction gap closed ``r(t) = (L(0) - L(t)) / (L(0) -
L(T))``. "Perception is learned last" means the accuracy gap closed, ``c(t) = (a(t) - a(0)) /
(a(T) - a(0))``, trails ``r(t)``.

Evaluation times that share the same set of learned directions share one trained classifier (the
inputs are identical), so a run trains one classifier per distinct set. Each trained set is a unit
of a :class:`~mrptheory.results.JsonlStore` (resumable). With no learned direction the classifier
sees constant input; its accuracy is then that of predicting the majority training class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mrptheory.nets.classifiers import ARCHS, build_classifier
from mrptheory.progress import progress
from mrptheory.results import JsonlStore, check_record, fingerprint, save_json
from mrptheory.seeding import seed_everything
from mrptheory.experiments.dynamics.config import LEARNED_LEVEL, MODELS
from mrptheory.experiments.dynamics.data import DynamicsData
from mrptheory.experiments.dynamics.summary import gap_closure
from mrptheory.nets.supervised import ClassifierTrainConfig, train_classifier
from mrptheory.config_spec import choice, constrained, integer, real, seq


@constrained()
@dataclass
class ClassifierLagConfig:
    """Which classifiers judge the learned directions of which autoencoder, and how they train."""

    archs: tuple[str, ...] = seq(("mlp",), "str", choices=ARCHS, min_len=0)
    model: str = choice("linear", MODELS)
    epochs: int = integer(10, 1)
    batch_size: int = integer(128, 1)
    lr: float = real(1e-3, 0.0, None, low_open=True)
    weight_decay: float = real(1e-3, 0.0, None)
    resnet_width: int = integer(8, 1)
    mlp_max_width: int = integer(256, 1)
    seed: int = integer(0, 0, 2**32 - 1)
    train_images: int = integer(5000, 2)
    test_images: int = integer(5000, 1)

    def train_config(self) -> ClassifierTrainConfig:
        return ClassifierTrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                                     weight_decay=self.weight_decay, seed=self.seed)


def learned_sets(rho: np.ndarray) -> list[tuple[int, ...]]:
    """Per evaluation time, the indices of the learned directions: ``rho: [T, D]`` -> T tuples."""
    return [tuple(np.nonzero(np.asarray(r) >= LEARNED_LEVEL)[0].tolist()) for r in rho]


def _majority_accuracy(data: DynamicsData) -> float:
    majority = np.bincount(data.probe_train_labels).argmax()
    return float(np.mean(data.probe_test_labels == majority))


def classifier_accuracy(data: DynamicsData, directions: tuple[int, ...], arch: str,
                        config: ClassifierLagConfig, device: str = "auto",
                        show_progress: bool | None = None) -> float:
    """Test accuracy of ``arch`` trained on the probe images projected onto ``directions``."""
    from mrptheory.linear.pca import project_images

    if not directions:
        return _majority_accuracy(data)
    sub = data.eigenvectors[:, list(directions)]
    ptr, pte = project_images(data.probe_train, data.probe_test, sub, "image")
    shape = (-1, *data.image_shape)
    seed_everything(config.seed)
    num_classes = int(max(data.probe_train_labels.max(), data.probe_test_labels.max())) + 1
    model = build_classifier(arch, data.image_shape, num_classes, width=config.resnet_width,
                             max_width=config.mlp_max_width)
    result = train_classifier(model, ptr.reshape(shape), data.probe_train_labels,
                              pte.reshape(shape), data.probe_test_labels, config.train_config(),
                              device=device, show_progress=show_progress,
                              desc=f"{arch} on {len(directions)} learned directions")
    return result.test_accuracy


def _valid_classifier_record(record: dict) -> str | None:
    """Why a stored classifier unit cannot be reused (a missing key, an accuracy outside [0, 1])."""
    return check_record(record, {"arch": str, "n_directions": (int, 0, None),
                                 "test_accuracy": ((int, float), 0.0, 1.0)})


def run_classifier_lag(payload: dict[str, Any], data: DynamicsData, config: ClassifierLagConfig,
                       out_dir: str | Path, tag: str, *, device: str = "auto",
                       show_progress: bool | None = None,
                       threads: int | None = None) -> dict[str, Any]:
    """Train the classifiers along ``config.model``'s run in ``payload``; save and return the
    ``classifier_lag`` payload: ``times``, ``reconstruction_closed: [T]``, ``n_learned: [T]``,
    ``n_test`` and per arch ``{"accuracy": [T], "closed": [T]}``. ``threads``: torch CPU threads
    (:func:`~mrptheory.device.cpu_threads`; one is fastest for these small models on a shared
    CPU: two threads under contention ran the MLP 20x slower)."""
    from mrptheory.device import cpu_threads

    with cpu_threads(threads):
        return _run_classifier_lag(payload, data, config, out_dir, tag, device=device,
                                   show_progress=show_progress)


def _run_classifier_lag(payload: dict[str, Any], data: DynamicsData, config: ClassifierLagConfig,
                        out_dir: str | Path, tag: str, *, device: str,
                        show_progress: bool | None) -> dict[str, Any]:
    record = payload["models"][config.model]
    sets = learned_sets(record["rho"])
    key_base = fingerprint({"config": asdict(config), "data": payload["config"],
                            "n_train": len(data.probe_train), "n_test": len(data.probe_test)})
    store = JsonlStore(Path(out_dir) / f"{tag}_runs_{key_base}.jsonl",
                       validate=_valid_classifier_record)
    distinct = sorted(set(sets), key=sets.index)
    todo = [(a, s) for a in config.archs for s in distinct]
    accuracy: dict[tuple[str, tuple[int, ...]], float] = {}
    for arch, directions in progress(todo, desc=f"classifiers on learned directions ({tag})",
                                     enabled=show_progress):
        key = f"{arch}|{','.join(map(str, directions))}"

        def train_one(arch=arch, directions=directions) -> dict[str, Any]:
            acc = classifier_accuracy(data, directions, arch, config, device, show_progress)
            return {"arch": arch, "n_directions": len(directions), "test_accuracy": acc}

        unit = store.get_or_run(key, train_one)  # claim-then-compute: once across processes
        accuracy[(arch, directions)] = float(unit["test_accuracy"])
    archs = {}
    for arch in config.archs:
        acc = [accuracy[(arch, s)] for s in sets]
        archs[arch] = {"accuracy": acc, "closed": gap_closure(np.asarray(acc)).tolist()}
    out = {
        "figure_kind": "classifier_lag", "dataset": payload["dataset"], "tag": tag,
        "model": config.model, "config": asdict(config), "dynamics_config": payload["config"],
        "image_shape": list(data.image_shape), "n_train": int(len(data.probe_train)),
        "n_test": int(len(data.probe_test)), "times": record["times"],
        "reconstruction_closed": gap_closure(-np.asarray(record["loss"])).tolist(),
        "n_learned": [len(s) for s in sets], "archs": archs,
    }
    save_json(Path(out_dir) / f"{tag}.json", out)
    return out


def lag_summary(lag: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per arch, at ``i90`` (the first time the reconstruction has closed 90% of its gap): the
    reconstruction and accuracy gaps closed, the accuracies at the start, at ``i90`` and at the
    end, the learned directions, and the binomial standard error of the accuracy closure."""
    recon = np.asarray(lag["reconstruction_closed"])
    i90 = int(np.argmax(recon >= 0.9))
    n = max(int(lag["n_test"]), 1)
    out = {}
    for arch, v in lag["archs"].items():
        acc = np.asarray(v["accuracy"])
        gap = float(acc[-1] - acc[0])
        se_acc = np.sqrt(acc * (1 - acc) / n)
        se_closed = float(np.hypot(se_acc[i90], se_acc[-1]) / abs(gap)) if gap else float("inf")
        out[arch] = {
            "t90": float(lag["times"][i90]), "index": i90,
            "reconstruction_closed_at_t90": float(recon[i90]),
            "accuracy_closed_at_t90": float(v["closed"][i90]),
            "se_accuracy_closed": se_closed,
            "accuracy_start": float(acc[0]), "accuracy_at_t90": float(acc[i90]),
            "accuracy_final": float(acc[-1]), "accuracy_gap": gap,
            "n_learned_at_t90": int(lag["n_learned"][i90]),
            "n_learned_final": int(lag["n_learned"][-1]),
        }
    return out
