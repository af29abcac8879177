"""Data moments: everything a linear (denoising) autoencoder's closed form needs from the data.

For centred data ``X: [N, D]`` the optimal linear DAE, its loss and the alignment of its features
with the labels depend on the data only through

* the Gram (second-moment) matrix ``G = X^T X = sum_n x_n x_n^T``  -- ``[D, D]``,
* the number of samples ``N`` (additive noise adds ``N * Sigma`` to the input moment), and
* the label cross-moment ``Y^T X`` -- ``[C, D]`` -- for the alignment metric (one-hot ``Y``).

Forming these once (O(N D^2)) and deriving every noise setting from them (O(D^3) each) is what
makes the paper's full alignment figure cheap; see ``benchmarks/bench_alignment.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mrptheory.errors import ConfigError


@dataclass(frozen=True)
class DataMoments:
    """Sufficient statistics of centred data ``X: [N, D]`` (rows are samples).

    Attributes:
        gram: ``[D, D]`` ``G = X^T X`` (a sum over samples, not a mean).
        n_samples: ``N``.
        image_shape: ``(C, H, W)`` with ``C*H*W = D`` when the rows are flattened images (patch
            masks need it), else ``None``.
        label_cross: ``[C, D]`` ``Y^T X`` for one-hot labels ``Y: [N, C]``, or ``None``.
        class_counts: ``[C]`` samples per class (``diag(Y^T Y)``), or ``None``; the authors'
            count-weighted alignment needs them.
    """

    gram: np.ndarray
    n_samples: int
    image_shape: tuple[int, int, int] | None = None
    label_cross: np.ndarray | None = None
    class_counts: np.ndarray | None = None

    def __post_init__(self) -> None:
        d = self.gram.shape[0]
        if self.gram.shape != (d, d):
            raise ConfigError(f"gram must be square [D, D]; got {self.gram.shape}")
        if self.image_shape is not None and int(np.prod(self.image_shape)) != d:
            raise ConfigError(f"image_shape {self.image_shape} does not have D = {d} pixels")
        if self.label_cross is not None and self.label_cross.shape[1] != d:
            raise ConfigError(f"label_cross must be [C, {d}]; got {self.label_cross.shape}")
        if self.class_counts is not None and (self.label_cross is None
                                              or len(self.class_counts) != self.label_cross.shape[0]):
            raise ConfigError("class_counts needs label_cross with one row per class")

    @property
    def dim(self) -> int:
        """D, the input dimension."""
        return int(self.gram.shape[0])

    @classmethod
    def from_data(cls, x: np.ndarray, labels: np.ndarray | None = None,
                  num_classes: int | None = None,
                  image_shape: tuple[int, int, int] | None = None,
                  centre: bool = True) -> "DataMoments":
        """Moments of ``x: [N, D]`` (centred here unless ``centre=False``), labels ``[N]`` ints."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ConfigError(f"data must be [N, D]; got shape {x.shape}")
        if centre:
            x = x - x.mean(axis=0, keepdims=True)
        label_cross = counts = None
        if labels is not None:
            labels = np.asarray(labels)
            c = int(num_classes or labels.max() + 1)
            label_cross = label_cross_moment(x, labels, c)
            counts = np.bincount(labels, minlength=c)
        return cls(x.T @ x, x.shape[0], image_shape, label_cross, counts)


def label_cross_moment(x: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``Y^T X`` for one-hot ``Y`` without forming ``Y``: row c is the sum of the class-c rows."""
    out = np.zeros((num_classes, x.shape[1]))
    np.add.at(out, labels, x)
    return out


def standardise_images(x: np.ndarray) -> np.ndarray:
    """The authors' recipe for the closed-form study: centre each pixel, divide by one global std.

    ``x: [N, D]`` -> ``[N, D]`` float64 with zero column means and unit overall standard deviation.
    A single global scale leaves every subspace unchanged; it only fixes the units of the noise.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    std = x.std()
    return x / std if std > 0 else x
