"""Closed-form optimal linear (denoising) autoencoders (Balestriero & LeCun 2024, Sec. 3).

A rank-K linear DAE encodes a corrupted input with ``V: [D, K]`` and decodes with ``W: [K, D]``:
``x_hat = W^T V^T x~``. Its expected loss over the data set is

    L(V, W) = sum_n E || x_n - W^T V^T x~_n ||^2
            = tr(G) - 2 tr(W^T V^T M1) + tr(W^T V^T M2 V W),

with ``M1 = sum E[x~ x^T]`` and ``M2 = sum E[x~ x~^T]`` (see :mod:`mrptheory.linear.noise`).
For fixed ``V`` the best decoder is a least-squares fit, ``W* = (V^T M2 V)^{-1} V^T M1``; what
remains to maximise is ``tr((V^T M2 V)^{-1} V^T M1 M1^T V)``, solved by the top-K generalised
eigenvectors of ``(M1 M1^T) v = mu M2 v``. The minimal loss is ``tr(G) - sum_{i<=K} mu_i``.
(Derived step by step in :mod:`mrptheory.proofs.closed_form`.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mrptheory.linear.eigen import GeneralisedEigen, generalised_eigen
from mrptheory.linear.moments import DataMoments
from mrptheory.linear.noise import NoiseModel
from mrptheory.validation import check_float, check_int


@dataclass(frozen=True)
class LinearDAESolution:
    """The optimal rank-K linear DAE for one noise model.

    Attributes:
        encoder: ``[D, K]`` columns = top-K generalised eigenvectors, in order of decreasing mu.
        decoder: ``[K, D]`` the least-squares decoder ``W* = (V^T M2 V)^{-1} V^T M1``.
        loss: minimal expected loss ``tr(G) - sum_{i<=K} mu_i`` (a sum over samples).
        eigenvalues: ``[r]`` all generalised eigenvalues (r = rank of M2), non-increasing.
        basis: ``[D, r]`` all generalised eigenvectors (the encoder for every width at once).
        total_energy: ``tr(G)``, the loss of the zero map.
    """

    encoder: np.ndarray
    decoder: np.ndarray
    loss: float
    eigenvalues: np.ndarray
    basis: np.ndarray
    total_energy: float

    @property
    def width(self) -> int:
        return int(self.encoder.shape[1])

    def loss_curve(self) -> np.ndarray:
        """``[r + 1]`` minimal loss for every width K = 0..r."""
        return self.total_energy - np.concatenate([[0.0], np.cumsum(self.eigenvalues)])


def dae_moments(data: DataMoments, noise: NoiseModel) -> tuple[np.ndarray, np.ndarray]:
    """``(M1, M2)`` of ``noise`` on ``data`` after checking the noise fits the data."""
    noise.validate_for(data)
    return noise.moments(data)


def solve_from_moments(gram: np.ndarray, m1: np.ndarray, m2: np.ndarray, k: int) -> LinearDAESolution:
    """Optimal rank-``k`` linear DAE from its moments (``gram``, ``m1``, ``m2``: ``[D, D]``)."""
    d = gram.shape[0]
    k = check_int("K (bottleneck width)", k, 1, d)
    eig: GeneralisedEigen = generalised_eigen(m1, m2)
    k_eff = min(k, eig.rank)
    encoder = eig.vectors[:, :k_eff]
    decoder = np.linalg.solve(encoder.T @ m2 @ encoder, encoder.T @ m1)
    total = float(np.trace(gram))
    return LinearDAESolution(encoder, decoder, total - float(eig.values[:k_eff].sum()),
                             eig.values, eig.vectors, total)


def optimal_linear_dae(data: DataMoments, noise: NoiseModel, k: int) -> LinearDAESolution:
    """The optimal rank-``k`` linear DAE under ``noise`` (K = ``k``, at most D)."""
    m1, m2 = dae_moments(data, noise)
    return solve_from_moments(data.gram, m1, m2, k)


def expected_dae_loss(gram: np.ndarray, m1: np.ndarray, m2: np.ndarray,
                      encoder: np.ndarray, decoder: np.ndarray) -> float:
    """``L(V, W) = tr(G) - 2 tr(W^T V^T M1) + tr(W^T V^T M2 V W)`` for any ``V: [D,K], W: [K,D]``.

    The same quantity as the Monte-Carlo average of ``||x - W^T V^T x~||^2`` summed over samples.
    """
    vw = encoder @ decoder  # [D, D]: x_hat = (V W)^T x~
    return float(np.trace(gram) - 2 * np.sum(vw * m1) + np.sum(vw * (m2 @ vw)))


def unconstrained_optimum(data: DataMoments, noise: NoiseModel) -> tuple[np.ndarray, float]:
    """Best full-rank linear denoiser (no bottleneck): ``x_hat = M1^T M2^+ x~`` (Wiener filter).

    Returns the ``[D, D]`` map ``R`` with ``x_hat = R x~`` and its loss ``tr(G) - tr(M1^T M2^+ M1)``.
    """
    m1, m2 = dae_moments(data, noise)
    pinv = np.linalg.pinv((m2 + m2.T) / 2, hermitian=True)
    r = m1.T @ pinv
    return r, float(np.trace(data.gram) - np.trace(r @ m1))


@dataclass(frozen=True)
class BilinearSolution:
    """Joint supervised + reconstruction linear model (shared encoder ``V: [D, K]``).

    Attributes:
        encoder: ``[D, K]``; classifier ``[K, C]`` and reconstruction decoder ``[K, D]``.
        supervised_error: ``||Y - X V W_y||^2``; reconstruction_error: ``||X - X V W_x||^2``.
    """

    encoder: np.ndarray
    classifier: np.ndarray
    decoder: np.ndarray
    supervised_error: float
    reconstruction_error: float
    objective: float


def bilinear_solution(x: np.ndarray, y: np.ndarray, k: int, weight: float,
                      gram: np.ndarray | None = None) -> BilinearSolution:
    """Minimise ``||Y - X V W_y||^2 + weight * ||X - X V W_x||^2`` over ``V, W_y, W_x``.

    ``x: [N, D]`` centred data, ``y: [N, C]`` targets (e.g. one-hot). For fixed features
    ``F = X V`` both heads are least-squares fits, leaving ``max tr(P_F (Y Y^T + weight X X^T))``
    over K-dimensional subspaces of the data's span: in Gram form the generalised eigenproblem
    ``(X^T Y Y^T X + weight G^2) v = mu G v`` -- equivalently an SVD of
    ``[U^T Y, sqrt(weight) S]`` for ``X = U S V^T``. ``weight -> inf`` recovers PCA;
    ``weight = 0`` is reduced-rank regression. Pass ``gram = x.T @ x`` to reuse it across weights.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    d = x.shape[1]
    k = check_int("K (bottleneck width)", k, 1, d)
    weight = check_float("weight", weight, 0.0)
    gram = x.T @ x if gram is None else gram
    factor = np.concatenate([x.T @ y, np.sqrt(weight) * gram], axis=1)  # [D, C + D]
    eig = generalised_eigen(factor, gram)
    encoder = eig.vectors[:, : min(k, eig.rank)]
    feats = x @ encoder
    classifier, *_ = np.linalg.lstsq(feats, y, rcond=None)
    decoder, *_ = np.linalg.lstsq(feats, x, rcond=None)
    sup = float(np.sum((y - feats @ classifier) ** 2))
    rec = float(np.sum((x - feats @ decoder) ** 2))
    return BilinearSolution(encoder, classifier, decoder, sup, rec, sup + weight * rec)

