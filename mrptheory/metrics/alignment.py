"""Task alignment of reconstruction-optimal features (Balestriero & LeCun 2024, alignment curves).

Take the encoder's feature directions in their learned order (decreasing generalised
eigenvalue), orthonormalise the features ``F = X V`` in that order (``F = Q R``) and measure how
much of the one-hot label matrix ``Y`` the first j orthonormal features explain:

    e_j = || Y^T Q[:, :j] ||_F^2        (label energy captured by the first j features).

``e_j`` is the label energy a least-squares read-out of the first j features recovers, and
``e_D`` is all the label energy any linear read-out of the pixels can recover. The alignment at
width K is ``100 * sqrt(e_K / e_D)`` percent (proof: ``proofs/alignment_energy.py``).

Two functions with the same meaning:

* :func:`alignment_curve` -- from Gram quantities only (``G = X^T X``, ``Y^T X``): O(D^3), no
  pass over the N samples. Gram-Schmidt in feature order is a Cholesky factorisation of
  ``V^T G V``; dependent feature directions (rank-deficient data) add no energy.
* :func:`alignment_curve_from_features` -- its empirical twin: a QR of the actual feature matrix.

Class weighting (``class_weighting``). The authors' code measures the label energy as
``||Y Y^T Q||_F^2`` rather than ``||Y^T Q||_F^2``. For one-hot ``Y`` (``[N, C]``),
``Y^T Y = diag(n_1, ..., n_C)`` (the class counts), so

    ||Y Y^T Q||_F^2 = tr(Q^T Y (Y^T Y) Y^T Q) = sum_c n_c ||(Y^T Q)_c||^2,

i.e. row c of ``Y^T Q`` is scaled by ``sqrt(n_c)``: each class is weighted by its sample count
(``"count"``, the authors' convention and the one behind the paper's figures). ``"none"`` is the
plain ``||Y^T Q||_F^2`` (every sample counts once). On balanced labels (all ``n_c`` equal) the
weight is a constant factor that cancels in the ratio ``e_K / e_D``: both give the same curve.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cholesky, solve_triangular

from mrptheory.errors import ConfigError

#: A feature direction whose residual energy after Gram-Schmidt is below this share of its own
#: energy is treated as linearly dependent on the earlier ones.
DEPENDENCE_TOL = 1e-9
#: ... or below this share of the largest feature energy: directions in the data's null space
#: (e.g. constant pixels) have "energy" at round-off level (~1e-16 of the largest) and must add 0.
NULL_TOL = 1e-12
#: Total label energy below this share of N (one-hot labels) is round-off: no label signal.
NO_SIGNAL = 1e-12
#: Accepted values of ``class_weighting``; "count" is the authors' (and the default).
CLASS_WEIGHTINGS: tuple[str, ...] = ("count", "none")
DEFAULT_CLASS_WEIGHTING = "count"


def class_weights(class_counts: np.ndarray, class_weighting: str = DEFAULT_CLASS_WEIGHTING) -> np.ndarray:
    """``[C]`` weight ``w_c`` of each class's label energy: ``n_c`` ("count") or 1 ("none").

    The label energy is then ``sum_c w_c ||(Y^T Q)_c||^2`` (see the module docstring).
    """
    if class_weighting not in CLASS_WEIGHTINGS:
        raise ConfigError(f"class_weighting must be one of {', '.join(CLASS_WEIGHTINGS)}; "
                          f"got {class_weighting!r}")
    counts = np.asarray(class_counts, dtype=np.float64)
    return counts.copy() if class_weighting == "count" else np.ones_like(counts)


def label_energy_profile(gram: np.ndarray, label_cross: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``[r]`` label energy added by each feature direction, in order.

    Args:
        gram: ``[D, D]`` ``G = X^T X``.
        label_cross: ``[C, D]`` ``Y^T X``.
        basis: ``[D, r]`` encoder directions in their learned order.

    Gram-Schmidt of ``F = X V`` in column order is ``Q = F L^{-T}`` with ``L L^T = V^T G V``
    (Cholesky), so ``Y^T Q = (Y^T X V) L^{-T}`` is a triangular solve. A column whose Cholesky
    pivot vanishes is dependent on the previous ones and contributes 0.
    """
    h = basis.T @ gram @ basis  # [r, r] feature Gram matrix
    h = (h + h.T) / 2
    p = label_cross @ basis  # [C, r] label-feature cross moment
    floor = NULL_TOL * max(float(np.max(np.diag(h), initial=0.0)), 0.0)
    try:  # fast path: every feature direction independent (the usual case)
        lower = cholesky(h, lower=True, check_finite=False)
        pivots = np.diag(lower) ** 2
        if np.all(pivots > np.maximum(DEPENDENCE_TOL * np.diag(h), floor)):
            projections = solve_triangular(lower, p.T, lower=True, check_finite=False)  # [r, C]
            return np.sum(projections**2, axis=1)
    except LinAlgError:
        pass
    return _label_energy_with_dependence(h, p, floor)


def _label_energy_with_dependence(h: np.ndarray, p: np.ndarray, floor: float) -> np.ndarray:
    """Column-by-column Cholesky that skips dependent columns (rank-deficient features)."""
    r = h.shape[0]
    lower = np.zeros((r, r))
    projections = np.zeros((p.shape[0], r))  # column j = Y^T q_j
    energy = np.zeros(r)
    for j in range(r):
        resid = h[j:, j] - lower[j:, :j] @ lower[j, :j]
        if resid[0] <= max(DEPENDENCE_TOL * h[j, j], floor, 0.0):
            continue  # dependent column: L[:, j] stays 0, so later columns ignore it
        pivot = np.sqrt(resid[0])
        lower[j:, j] = resid / pivot
        projections[:, j] = (p[:, j] - projections[:, :j] @ lower[j, :j]) / pivot
        energy[j] = float(projections[:, j] @ projections[:, j])
    return energy


def alignment_from_energy(energy: np.ndarray, dim: int | None = None,
                          label_scale: float | None = None) -> np.ndarray:
    """Alignment ``100 sqrt(e_K / e_D)`` for K = 1..len(energy) (padded with the last value to
    ``dim`` entries when given).

    ``label_scale`` is the label energy available at all (e.g. N for one-hot labels); when the
    total ``e_D`` is below round-off of it (``NO_SIGNAL`` times it), the labels carry no linearly
    explainable signal (one class only, say) and the alignment is 0, not a ratio of round-off.
    """
    cumulative = np.cumsum(energy)
    total = cumulative[-1] if cumulative.size else 0.0
    threshold = NO_SIGNAL * label_scale if label_scale is not None else 0.0
    if total > threshold and total > 0:
        curve = 100.0 * np.sqrt(cumulative / total)
    else:
        curve = np.zeros_like(cumulative)
    if dim is not None and curve.size < dim:
        curve = np.concatenate([curve, np.full(dim - curve.size, curve[-1] if curve.size else 0.0)])
    return curve


def alignment_curve(gram: np.ndarray, label_cross: np.ndarray, basis: np.ndarray,
                    n_samples: int | None = None, weights: np.ndarray | None = None) -> np.ndarray:
    """``[D]`` alignment (percent) at every width K = 1..D of an encoder basis ``[D, r]``.

    ``n_samples`` (N) bounds the one-hot label energy; with it, label-free data give 0.
    ``weights``: ``[C]`` per-class weights ``w_c`` of the label energy (:func:`class_weights`;
    ``None``: all 1, the unweighted ``||Y^T Q||^2``). Weighting class c by ``w_c`` is scaling row c
    of ``Y^T X`` by ``sqrt(w_c)``.
    """
    scale = None
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        label_cross = label_cross * np.sqrt(weights)[:, None]
        if n_samples is not None:  # the weighted energy is at most sum_c w_c n_c <= N max(w)
            scale = float(n_samples * max(float(weights.max(initial=0.0)), 0.0))
    elif n_samples is not None:
        scale = float(n_samples)
    energy = label_energy_profile(gram, label_cross, basis)
    return alignment_from_energy(energy, gram.shape[0], scale)


def alignment_curve_from_features(features: np.ndarray, labels: np.ndarray,
                                  num_classes: int | None = None,
                                  class_weighting: str = DEFAULT_CLASS_WEIGHTING) -> np.ndarray:
    """Empirical twin: ``features: [N, r]`` (centred, in learned order), ``labels: [N]`` ints.

    QR-orthonormalises the features in order, then ``e_j = ||W^(1/2) Y^T Q[:, :j]||_F^2``
    directly, ``W = diag(w_c)`` the class weights of ``class_weighting`` ("count": the authors'
    ``||Y Y^T Q||^2``; "none": ``||Y^T Q||^2``).
    A column that depends on earlier ones adds no energy; Householder QR fills its Q column with
    an arbitrary direction, so the QR is redone without it (the first flagged column is always
    truly dependent, later flags may be artefacts of that arbitrary direction). Returns ``[r]``.
    """
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    c = int(num_classes or labels.max() + 1)
    weights = class_weights(np.bincount(labels, minlength=c), class_weighting)
    y = np.eye(c)[labels] * np.sqrt(weights)[None, :]
    energies = np.sum(features**2, axis=0)
    floor = NULL_TOL * energies.max(initial=0.0)
    kept = list(range(features.shape[1]))
    while True:
        q, r = np.linalg.qr(features[:, kept])
        pivots = np.zeros(len(kept))  # residual energy of each column after Gram-Schmidt;
        pivots[: min(r.shape)] = np.diag(r) ** 2  # columns beyond N (more features than samples) depend
        dependent = pivots <= np.maximum(DEPENDENCE_TOL * energies[kept], floor)
        if not dependent.any():
            break
        del kept[int(np.argmax(dependent))]
    energy = np.zeros(features.shape[1])
    energy[kept] = np.sum((y.T @ q) ** 2, axis=0)
    return alignment_from_energy(energy, label_scale=float(len(labels)) * float(weights.max(initial=0.0)))


def subspace_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of the column spans of ``a: [D, k1]`` and ``b: [D, k2]`` in [0, 1].

    The mean squared cosine of the principal angles, ``||Q_a^T Q_b||_F^2 / min(k1, k2)``:
    1 when one span contains the other, 0 when they are orthogonal.
    """
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    k = min(qa.shape[1], qb.shape[1])
    if k == 0:
        return 1.0
    return float(np.sum((qa.T @ qb) ** 2) / k)
