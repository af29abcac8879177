"""The MAE claims' protocol: what is pretrained on what, for how long, and how it is judged.

Pan et al. (arXiv 2206.03826) and every MAE result pretrain on a large *unlabelled* set and then
fine-tune or probe with labels; Balestriero & LeCun (arXiv 2402.11337) read probes after long
pretraining. A verdict therefore belongs to a protocol, and the protocol is part of each claim:

* :class:`MAEProtocol` -- the run's protocol as plain fields (pretraining set, epochs, model size,
  mask ratio and patch, norm-pix, label budgets, probe-train and test sets, the ranking sweep's
  shorter schedule); :meth:`MAEProtocol.fields` is what a claim's row and ``claims.json`` show;
* :data:`REGISTERED` and :func:`deviations` -- the conditions the claims are registered under,
  and which of them a given protocol misses (a claim measured that way is "not at the paper's
  conditions", never confirmed or refuted);
* :func:`plateau` -- the convergence rule for a pretraining loss curve, fixed before measuring;
* :func:`data_identity` -- the content fingerprint every stored unit is keyed by.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mrptheory.data.dataset import DatasetSplits
from mrptheory.config_spec import Rule, constrained, flag, integer, real, seq, text

#: Relative improvement of the test reconstruction loss over the last fifth of the run below
#: which pretraining counts as converged. Fixed before any run: a loss still falling by more than
#: 2% over the last fifth would fall by about another 10% over a run as long again.
PLATEAU_TOL = 0.02
PLATEAU_FRACTION = 0.2


@constrained(Rule("ft_epochs_ordered", lambda c: c.min_ft_epochs <= c.max_ft_epochs,
                  lambda c: f"min_ft_epochs must be <= max_ft_epochs = {c.max_ft_epochs}, got "
                            f"{c.min_ft_epochs}", ("min_ft_epochs", "max_ft_epochs")),
             normalise=False)
@dataclass(frozen=True)
class MAEProtocol:
    """One protocol for the five MAE claims (``quick`` or ``default``).

    Attributes:
        name: used in file names and rows.
        patch_size / mask_ratio / norm_pix: the reference MAE's masking and target.
        embed_dim / depth / num_heads / decoder_dim / decoder_depth / mlp_ratio: model size.
        pretrain_samples: unlabelled pretraining images (None: the whole train split; labels unused).
        epochs / batch_size / lr / warmup_epochs: pretraining schedule (cosine after warm-up).
        probe_train_samples: labelled training-split images the probes are fitted on.
        test_samples: test-split images every test metric uses (None: the whole test split).
        val_samples: training-split images held out (never in a label budget) to choose the
            from-scratch learning rate.
        label_budgets: labelled images of the fine-tuning curve (None: every non-held-out image).
        finetune_images: images seen per fine-tuning run; epochs at budget ``b`` are
            ``clip(ceil(finetune_images / b), min_ft_epochs, max_ft_epochs)``, the same for the
            fine-tuned and the from-scratch classifier.
        finetune_batch: batch size of both classifiers.
        lrs: the grid each classifier's learning rate is chosen from, per budget, by the highest
            validation accuracy (ties: the first in the grid), on seed ``seeds[0]``.
        seeds: seeds of the label-budget curve (label subsets and initialisations).
        noise_std: the Gaussian DAE's noise (standardised pixels), pretrained like the MAE.
        sweep_ratios / sweep_patches: the ranking sweep's settings; sweep_samples / sweep_epochs:
            its shorter schedule.
    """

    name: str = text("quick", doc="a file-name part")
    patch_size: int = integer(7, 1)
    mask_ratio: float = real(0.75, 0.0, 1.0, high_open=True)
    norm_pix: bool = flag(True)
    embed_dim: int = integer(64, 4)
    depth: int = integer(2, 1)
    num_heads: int = integer(4, 1)
    decoder_dim: int = integer(32, 4)
    decoder_depth: int = integer(1, 1)
    mlp_ratio: float = real(2.0, 0.0, None, low_open=True)
    pretrain_samples: int | None = integer(None, 2, optional=True)
    epochs: int = integer(4, 1)
    batch_size: int = integer(256, 1)
    lr: float = real(2e-3, 0.0, None, low_open=True)
    warmup_epochs: float = real(1.0, 0.0, None)
    probe_train_samples: int = integer(2000, 2)
    test_samples: int | None = integer(None, 1, optional=True)
    val_samples: int = integer(2000, 1)
    label_budgets: tuple[int | None, ...] = seq((500, 1000, 5000), "int", 10, optional=True)
    finetune_images: int = integer(12000, 1)
    min_ft_epochs: int = integer(3, 1)
    max_ft_epochs: int = integer(30, 1)
    finetune_batch: int = integer(64, 1)
    lrs: tuple[float, ...] = seq((1e-3, 2e-3, 4e-3), "float", 0.0, None, low_open=True)
    seeds: tuple[int, ...] = seq((0, 1), "int", 0, 2**32 - 1)
    noise_std: float = real(0.5, 0.0, None, low_open=True)
    sweep_ratios: tuple[float, ...] = seq((0.5, 0.75, 0.9), "float", 0.0, 1.0, high_open=True,
                                          min_len=0)
    sweep_patches: tuple[int, ...] = seq((4, 7), "int", 1, min_len=0)
    sweep_samples: int | None = integer(6000, 2, optional=True)
    sweep_epochs: int = integer(3, 1)

    def finetune_epochs(self, budget: int) -> int:
        """Epochs of both classifiers at ``budget`` labelled images (see the class doc)."""
        return int(np.clip(-(-self.finetune_images // max(budget, 1)), self.min_ft_epochs,
                           self.max_ft_epochs))

    def fields(self) -> dict[str, Any]:
        """The protocol as the plain fields a claim's row and ``claims.json`` show."""
        d = asdict(self)
        d["pretraining_set"] = ("whole train split, labels unused" if self.pretrain_samples is None
                                else f"{self.pretrain_samples} train-split images, labels unused")
        d["probe_train_set"] = (f"{self.probe_train_samples} labelled train-split images")
        d["test_set"] = f"{self.test_samples or 'all'} test-split images"
        d["probe_sets_disjoint"] = True   # different splits of the data set
        d["plateau_rule"] = plateau_rule_text()
        from mrptheory.results import to_jsonable

        return to_jsonable(d)

    def summary(self) -> str:
        """One line for a row's conditions."""
        pre = "whole train split" if self.pretrain_samples is None else f"{self.pretrain_samples} imgs"
        budgets = "/".join("all" if b is None else str(b) for b in self.label_budgets)
        return (f"protocol {self.name}: MAE pretrained on the {pre} (labels unused) for "
                f"{self.epochs} epochs, ViT d={self.embed_dim} depth={self.depth} heads="
                f"{self.num_heads}, decoder d={self.decoder_dim} depth={self.decoder_depth}, mask "
                f"{self.mask_ratio:g} patch {self.patch_size}, norm-pix {'on' if self.norm_pix else 'off'}; "
                f"probes fitted on {self.probe_train_samples} train-split images, tested on "
                f"{self.test_samples or 'all'} test-split images (disjoint); label budgets "
                f"{budgets}, {len(self.seeds)} seed(s)")


#: The conditions every MAE claim is registered under (Pan et al.; B&L): pretraining on the whole
#: unlabelled split, the MAE recipe's mask ratio and per-patch normalised target, probe sets
#: disjoint from the test set, converged pretraining (checked separately by :func:`plateau`).
REGISTERED: dict[str, Any] = {"pretrain_samples": None, "mask_ratio": 0.75, "norm_pix": True,
                              "small_budget_max": 1000}


def deviations(protocol: MAEProtocol, n_train: int, claim: str = "") -> str:
    """Which registered conditions ``protocol`` misses ("" when none), for ``off_conditions``.

    ``n_train``: images in the data set's train split. ``claim``: ``"finetune"`` also needs a
    label budget of at most ``small_budget_max`` (the papers claim the benefit where labels are
    scarce).
    """
    out = []
    if protocol.pretrain_samples is not None and protocol.pretrain_samples < n_train:
        out.append(f"pretraining on {protocol.pretrain_samples} of the {n_train} train-split "
                   f"images (registered: the whole split)")
    if protocol.mask_ratio != REGISTERED["mask_ratio"]:
        out.append(f"mask ratio {protocol.mask_ratio:g} (registered: {REGISTERED['mask_ratio']:g})")
    if protocol.norm_pix != REGISTERED["norm_pix"]:
        out.append("plain-pixel target (registered: per-patch normalised pixels)")
    if claim == "finetune" and not any(b is not None and b <= REGISTERED["small_budget_max"]
                                       for b in protocol.label_budgets):
        out.append(f"no label budget <= {REGISTERED['small_budget_max']} images")
    return "; ".join(out)


def plateau_rule_text() -> str:
    return (f"test reconstruction loss improved by < {PLATEAU_TOL:.0%} (relative) over the last "
            f"{PLATEAU_FRACTION:.0%} of the run's epochs")


def plateau(epochs: list[int], losses: list[float], tol: float = PLATEAU_TOL,
            fraction: float = PLATEAU_FRACTION) -> dict[str, Any]:
    """Whether a loss curve has plateaued: relative improvement over the last ``fraction`` of the run.

    ``epochs``/``losses``: evaluated epochs (0 = before training) and the test loss there. With
    ``E`` the last epoch and ``s`` the last evaluated epoch at or before ``E - max(1, fraction E)``,
    the improvement is ``(L_s - L_E) / L_s``; converged when it is below ``tol``. Returns the
    fields of ``Measurement.convergence``.
    """
    pts = [(int(e), float(v)) for e, v in zip(epochs, losses) if v is not None and np.isfinite(v)]
    if len(pts) < 2:
        return {"converged": False, "relative_improvement": None, "epochs": pts[-1][0] if pts else 0,
                "rule": plateau_rule_text()}
    last_e, last_v = pts[-1]
    start = last_e - max(1.0, fraction * last_e)
    s_e, s_v = max((p for p in pts if p[0] <= start), key=lambda p: p[0], default=pts[0])
    rel = (s_v - last_v) / abs(s_v) if s_v else 0.0
    return {"converged": bool(rel < tol), "relative_improvement": round(float(rel), 5),
            "window": [s_e, last_e], "epochs": last_e, "tolerance": tol,
            "rule": plateau_rule_text()}


def data_identity(data: DatasetSplits, folder: str | Path | None = None) -> str:
    """Content fingerprint of the data a unit reads.

    With ``folder`` (the files the data set was loaded from):
    :func:`mrptheory.data.fingerprint.content_fingerprint` of it; else a SHA-256 of the arrays
    themselves (generated or in-memory data). Replacing the files (or the arrays) changes it.
    """
    if folder is not None:
        from mrptheory.data.fingerprint import content_fingerprint

        return "files:" + content_fingerprint(folder)
    digest = hashlib.sha256()
    for split in (data.train, data.test):
        digest.update(str(split.images.shape).encode())
        digest.update(np.ascontiguousarray(split.images).data)
        digest.update(np.ascontiguousarray(split.labels).data)
    return "arrays:" + digest.hexdigest()[:16]


def quick_protocol() -> MAEProtocol:
    """About 3 minutes on 2 idle CPU cores: the whole 60k split, 4 epochs, a d=64 / 2-block ViT on
    7x7 patches (16 patches, 4 visible at mask ratio 0.75)."""
    return MAEProtocol()


def default_protocol() -> MAEProtocol:
    """The full run: longer schedules, a deeper encoder, the whole-split label budget, 3 seeds."""
    return MAEProtocol(name="default", depth=4, epochs=20, label_budgets=(500, 1000, 5000, None),
                       finetune_images=60000, max_ft_epochs=60, seeds=(0, 1, 2),
                       lrs=(1e-3, 2e-3, 4e-3, 8e-3), sweep_samples=20000, sweep_epochs=10,
                       probe_train_samples=5000, val_samples=5000)


PROTOCOLS = {"quick": quick_protocol, "default": default_protocol}
