"""Alignment studies on image data sets: the paper's alignment and impact-of-noise figures.

For one data set, form the moments once (:class:`~mrptheory.linear.moments.DataMoments`: one
O(N D^2) pass), then for every noise setting solve the closed form and read the alignment curve
off Gram quantities (O(D^3) per setting). The "impact of noise" is the relative change of the
alignment at each width K versus the noiseless (PCA) solution:

    impact_K = 100 * (alignment_K(noise) - alignment_K(none)) / alignment_K(none)   [percent].

Gaussian noise gives identically zero (proved in ``proofs/gaussian_never_changes.py``); masking
generally does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mrptheory.data.dataset import ImageDataset
from mrptheory.errors import ConfigError
from mrptheory.linear.eigen import generalised_eigen
from mrptheory.linear.moments import DataMoments, label_cross_moment, standardise_images
from mrptheory.linear.noise import NoiseModel, NoNoise, parse_noise
from mrptheory.metrics.alignment import (CLASS_WEIGHTINGS, DEFAULT_CLASS_WEIGHTING,
                                         alignment_curve, class_weights)
from mrptheory.progress import progress
from mrptheory.validation import check_int

#: The paper's grid: 10 drop ratios from 0 to 0.99, patch sides 1, 2, 4, plus Gaussian noise.
PAPER_RATIOS: tuple[float, ...] = tuple(float(r) for r in np.round(np.linspace(0.0, 0.99, 10), 2))
PAPER_PATCH_SIDES: tuple[int, ...] = (1, 2, 4)
PAPER_GAUSSIAN_SIGMA = 1.0


def paper_noise_grid(ratios=PAPER_RATIOS, patch_sides=PAPER_PATCH_SIDES,
                     gaussian_sigma: float | None = PAPER_GAUSSIAN_SIGMA) -> list[str]:
    """Noise specs of the paper's figure: every (ratio > 0, patch side) mask, plus Gaussian."""
    specs = [f"mask:{r:g}:{s}x{s}" for s in patch_sides for r in ratios if r > 0]
    if gaussian_sigma is not None:
        specs.append(f"gaussian:{gaussian_sigma:g}")
    return specs


def average_pool(images: np.ndarray, factor: int) -> np.ndarray:
    """Average-pool uint8 images ``[N, C, H, W]`` by ``factor`` -> float ``[N, C, H/f, W/f]``."""
    factor = check_int("pool", factor, 1)
    n, c, h, w = images.shape
    if h % factor or w % factor:
        raise ConfigError(f"pool factor {factor} does not divide the image size {h}x{w}")
    x = images.astype(np.float64).reshape(n, c, h // factor, factor, w // factor, factor)
    return x.mean(axis=(3, 5))


def dataset_moments(train: ImageDataset, max_samples: int | None = None, seed: int = 0,
                    pool: int = 1) -> DataMoments:
    """Moments of a data set's standardised training images (centred, one global std).

    ``max_samples`` subsamples the training set (None: all of it); ``pool`` average-pools the
    images first (D shrinks by ``pool^2``; useful for large images, as each setting costs O(D^3)).
    """
    data = train.subset(max_samples, seed)
    if pool > 1:
        pooled = average_pool(data.images, pool)
        image_shape = tuple(int(s) for s in pooled.shape[1:])
        x = standardise_images(pooled.reshape(len(data), -1))
        return DataMoments(gram=x.T @ x, n_samples=x.shape[0], image_shape=image_shape,
                           label_cross=label_cross_moment(x, data.labels, data.num_classes),
                           class_counts=np.bincount(data.labels, minlength=data.num_classes))
    x = standardise_images(data.flat())
    return DataMoments(gram=x.T @ x, n_samples=x.shape[0], image_shape=data.image_shape,
                       label_cross=label_cross_moment(x, data.labels, data.num_classes),
                       class_counts=np.bincount(data.labels, minlength=data.num_classes))


@dataclass
class AlignmentStudy:
    """Alignment curves of the optimal linear DAE for several noise models on one data set.

    Attributes:
        dataset: data-set name; dim: D; n_samples: N used.
        curves: noise name -> ``[D]`` alignment (percent) at K = 1..D.
        class_weighting: "count" (authors') or "none" (see :mod:`mrptheory.metrics.alignment`).
        baseline: the noiseless curve ``[D]``.
    """

    dataset: str
    dim: int
    n_samples: int
    baseline: np.ndarray
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    class_weighting: str = DEFAULT_CLASS_WEIGHTING

    def impact(self, name: str) -> np.ndarray:
        """``[D]`` relative change (percent) of alignment versus no noise, at every K."""
        base = np.where(self.baseline > 0, self.baseline, np.nan)
        return 100.0 * (self.curves[name] - self.baseline) / base

    def to_payload(self, ks: np.ndarray | None = None) -> dict:
        """JSON-ready numbers (``figure_kind = "alignment"``) at widths ``ks`` (default: all)."""
        ks = np.arange(1, self.dim + 1) if ks is None else np.asarray(ks)
        idx = ks - 1
        return {
            "figure_kind": "alignment",
            "dataset": self.dataset,
            "dim": self.dim,
            "n_samples": self.n_samples,
            "class_weighting": self.class_weighting,
            "ks": ks.tolist(),
            "baseline": self.baseline[idx].tolist(),
            "curves": {name: curve[idx].tolist() for name, curve in self.curves.items()},
            "impact": {name: np.nan_to_num(self.impact(name)[idx]).tolist() for name in self.curves},
        }


def data_class_weights(data: DataMoments, class_weighting: str = DEFAULT_CLASS_WEIGHTING) -> np.ndarray | None:
    """``[C]`` class weights of the alignment metric for ``data`` (None: unweighted).

    "count" (the authors' ``||Y Y^T Q||^2``, used for the paper's figures) weights class c by its
    sample count ``n_c`` and needs ``data.class_counts``; "none" is ``||Y^T Q||^2``.
    """
    if class_weighting not in CLASS_WEIGHTINGS:
        raise ConfigError(f"class weighting must be one of {', '.join(CLASS_WEIGHTINGS)}; "
                          f"got {class_weighting!r}")
    if class_weighting == "none":
        return None
    if data.class_counts is None:
        raise ConfigError("count class weighting needs the class counts: build DataMoments with "
                          "class_counts (DataMoments.from_data does), or use class weighting 'none'")
    return class_weights(data.class_counts, class_weighting)


def noise_alignment_curve(data: DataMoments, noise: NoiseModel,
                          class_weighting: str = DEFAULT_CLASS_WEIGHTING) -> np.ndarray:
    """``[D]`` alignment curve of the optimal linear DAE under ``noise`` (all widths at once)."""
    if data.label_cross is None:
        raise ConfigError("alignment needs labels: build DataMoments with labels")
    weights = data_class_weights(data, class_weighting)
    noise.validate_for(data)
    m1, m2 = noise.moments(data)
    basis = generalised_eigen(m1, m2).vectors
    return alignment_curve(data.gram, data.label_cross, basis, data.n_samples, weights)


def alignment_study(data: DataMoments, noises: list[NoiseModel | str], dataset: str = "",
                    show_progress: bool | None = None,
                    class_weighting: str = DEFAULT_CLASS_WEIGHTING) -> AlignmentStudy:
    """Alignment curves for every noise model, all from the same moments (no data pass).

    ``class_weighting``: "count" (authors', default) or "none"; see :mod:`mrptheory.metrics.alignment`.
    """
    models = [parse_noise(n) if isinstance(n, str) else n for n in noises]
    data_class_weights(data, class_weighting)  # fail before any heavy work
    for model in models:
        model.validate_for(data)
    study = AlignmentStudy(dataset, data.dim, data.n_samples,
                           noise_alignment_curve(data, NoNoise(), class_weighting),
                           class_weighting=class_weighting)
    for model in progress(models, desc=f"alignment {dataset}", enabled=show_progress):
        study.curves[model.name] = noise_alignment_curve(data, model, class_weighting)
    return study


def noise_alignment(train: ImageDataset, noise: str | NoiseModel, k: int,
                    max_samples: int | None = None, seed: int = 0,
                    class_weighting: str = DEFAULT_CLASS_WEIGHTING) -> float:
    """Alignment (percent) at width ``k`` of the optimal linear DAE under ``noise`` on ``train``."""
    k = check_int("k", k, 1, train.dim)
    data = dataset_moments(train, max_samples, seed)
    model = parse_noise(noise) if isinstance(noise, str) else noise
    return float(noise_alignment_curve(data, model, class_weighting)[k - 1])


#: Reporting convention for the summary table: a mean relative alignment change smaller than this
#: (percent) is called "negligible". It is a label for the table, not a statistical test: the
#: closed form has no sampling noise, and round-off is ~1e-10 percent.
NEGLIGIBLE_CHANGE = 0.5


def classify_effect(changes: np.ndarray, threshold: float = NEGLIGIBLE_CHANGE) -> str:
    """``helps`` / ``hurts`` / ``mixed`` / ``negligible`` for relative changes over a K range."""
    big_up = bool(np.any(changes > threshold))
    big_down = bool(np.any(changes < -threshold))
    if big_up and big_down:
        return "mixed"
    if big_up:
        return "helps"
    if big_down:
        return "hurts"
    return "negligible"


def impact_summary(payload: dict, k_min: int = 32) -> list[dict]:
    """One row per noise setting: mean/min/max relative change over K >= ``k_min`` and a label."""
    ks = np.asarray(payload["ks"])
    sel = ks >= min(k_min, int(ks.max()))
    rows = []
    for name, values in payload["impact"].items():
        v = np.asarray(values)[sel]
        rows.append({
            "dataset": payload["dataset"], "noise": name,
            "mean_change": float(v.mean()), "min_change": float(v.min()), "max_change": float(v.max()),
            "effect": classify_effect(v),
        })
    return rows


def summary_markdown(rows: list[dict], k_min: int) -> str:
    """The helps / hurts / nothing table across data sets."""
    lines = [
        f"Relative change (%) of the linear-DAE label alignment versus no noise, over K >= {k_min}. "
        f"'negligible': every |change| < {NEGLIGIBLE_CHANGE}%.",
        "",
        "| data set | noise | mean change (%) | min (%) | max (%) | effect |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['noise']} | {r['mean_change']:+.3f} | "
                     f"{r['min_change']:+.3f} | {r['max_change']:+.3f} | {r['effect']} |")
    return "\n".join(lines) + "\n"
