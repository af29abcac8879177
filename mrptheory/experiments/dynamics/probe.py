"""What the learned-last experiment measures at each evaluation point of a linear AE's training."""

from __future__ import annotations

from typing import Any

import numpy as np

from mrptheory.experiments.dynamics.theory import direction_reconstruction
from mrptheory.metrics.probe import ridge_probe_accuracy
from mrptheory.experiments.dynamics.config import LEARNED_LEVEL
from mrptheory.experiments.dynamics.data import DynamicsData


def probe_accuracy(features_train: np.ndarray, features_test: np.ndarray,
                   data: DynamicsData) -> float:
    """Ridge-probe test accuracy on ``[Np, F]`` / ``[Mp, F]`` features; with no (or all-zero)
    features, the accuracy of predicting the majority training class."""
    if features_train.shape[1] == 0 or not np.any(features_train):
        return float(np.mean(data.probe_test_labels == np.bincount(data.probe_train_labels).argmax()))
    return ridge_probe_accuracy(features_train, data.probe_train_labels, features_test,
                                data.probe_test_labels)


def measure_weights(w: np.ndarray, w1: np.ndarray | None, data: DynamicsData) -> dict[str, Any]:
    """Per-direction reconstruction, clean reconstruction loss and two probe accuracies.

    ``w: [D, D]`` the end-to-end map; ``w1: [H, D]`` the first layer (features) for ``deep``.

    * ``rho: [D]``: fraction of each eigen-direction's energy reconstructed;
    * ``loss``: ``tr((I - W) S (I - W)^T)``, ``S = X^T X / N``;
    * ``probe``: ridge probe on the model's features (``W x``, or ``W1 x`` for ``deep``). A linear
      probe can undo any invertible linear map, so it sees the training only through the ridge
      penalty (directions whose feature energy is far below the mean are suppressed); for ``deep``
      the balanced start is isotropic, so this probe is at the raw-pixel level from step 0.
    * ``probe_learned``: ridge probe on the data projected onto the eigen-directions the model has
      learned so far (reconstruction fraction >= 0.5) -- the label information of what is learned;
      ``n_learned`` counts them.
    """
    n = len(data.train)
    cov = data.gram / n
    rho = direction_reconstruction(w, cov, data.eigenvectors, data.eigenvalues)
    resid = np.eye(len(w)) - w
    loss = float(np.trace(resid @ cov @ resid.T))
    enc = w if w1 is None else w1
    acc = probe_accuracy(data.probe_train @ enc.T, data.probe_test @ enc.T, data)
    learned = data.eigenvectors[:, rho >= LEARNED_LEVEL]
    acc_learned = probe_accuracy(data.probe_train @ learned, data.probe_test @ learned, data)
    return {"rho": rho, "loss": loss, "probe": acc, "probe_learned": acc_learned,
            "n_learned": int(learned.shape[1])}
