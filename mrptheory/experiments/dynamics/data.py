"""Data for the learned-last experiment: subsample, downsample, preprocess, diagonalise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mrptheory.data.dataset import DatasetSplits
from mrptheory.data.preprocess import downsample_images, preprocess
from mrptheory.experiments.dynamics.config import DynamicsConfig


@dataclass
class DynamicsData:
    """Preprocessed data shared by every model of a run (all float64 numpy)."""

    train: np.ndarray          # [N, D] training images for gradient descent
    probe_train: np.ndarray    # [Np, D]
    probe_train_labels: np.ndarray
    probe_test: np.ndarray     # [Mp, D]
    probe_test_labels: np.ndarray
    image_shape: tuple[int, int, int]
    gram: np.ndarray           # [D, D] X^T X of ``train``
    eigenvalues: np.ndarray    # [D] of X^T X / N, decreasing
    eigenvectors: np.ndarray   # [D, D] columns

    @classmethod
    def from_arrays(cls, train: np.ndarray, probe_train: np.ndarray,
                    probe_train_labels: np.ndarray, probe_test: np.ndarray,
                    probe_test_labels: np.ndarray,
                    image_shape: tuple[int, int, int]) -> "DynamicsData":
        """From already preprocessed (centred) flat arrays ``[N, D]``; diagonalises ``X^T X / N``."""
        train = np.asarray(train, dtype=np.float64)
        gram = train.T @ train
        vals, vecs = np.linalg.eigh(gram / len(train))
        order = np.argsort(vals)[::-1]
        return cls(train, np.asarray(probe_train, dtype=np.float64),
                   np.asarray(probe_train_labels), np.asarray(probe_test, dtype=np.float64),
                   np.asarray(probe_test_labels), tuple(image_shape), gram,
                   np.clip(vals[order], 0, None), vecs[:, order])


def prepare_dynamics_data(splits: DatasetSplits, config: DynamicsConfig) -> DynamicsData:
    """Subsample, downsample, preprocess (projection-experiment recipe) and diagonalise."""
    tr = splits.train.subset(config.train_size, seed=config.seed)
    te = splits.test.subset(config.probe_test_size, seed=config.seed)
    xtr = downsample_images(tr.images, config.downsample)
    xte = downsample_images(te.images, config.downsample)
    shape = tuple(int(s) for s in xtr.shape[1:])
    ptr, pte, _ = preprocess(xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1))
    n_probe = min(config.probe_train_size, len(ptr))
    return DynamicsData.from_arrays(ptr, ptr[:n_probe], tr.labels[:n_probe], pte, te.labels,
                                    shape)
