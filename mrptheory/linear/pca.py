"""Principal subspaces of the pixel covariance, and their split by share of variance.

Balestriero & LeCun's projection experiment splits the eigen-directions of the training pixel
covariance into a *top* part (the leading directions, which a reconstruction objective learns
first) and a *bottom* part (the rest), by the share of total variance they hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mrptheory.data.preprocess import preprocess
from mrptheory.validation import check_choice, check_float

#: Cumulative shares closer than this to a cut-off count as equal to it. Eigenvalues carry
#: round-off of order 1e-15 that differs between BLAS builds; without a tolerance an exact tie
#: (e.g. trailing shares 0.1 + 0.2 = 0.3 vs a cut-off of 0.3) is decided by the last bit.
SHARE_TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PCABasis:
    """Eigen-decomposition of a second-moment matrix, sorted by decreasing eigenvalue.

    Attributes:
        eigenvalues: ``[D]`` non-increasing, clipped at 0 (variance along each direction).
        eigenvectors: ``[D, D]`` orthonormal columns, column j = j-th principal direction.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @classmethod
    def from_second_moment(cls, gram: np.ndarray) -> "PCABasis":
        """Diagonalise a symmetric PSD ``gram = X^T X`` (``[D, D]``, X centred)."""
        vals, vecs = np.linalg.eigh((gram + gram.T) / 2)
        order = np.argsort(vals)[::-1]
        return cls(np.clip(vals[order], 0.0, None), vecs[:, order])

    @classmethod
    def from_data(cls, x: np.ndarray) -> "PCABasis":
        """From data ``x: [N, D]`` (centred here by subtracting the mean row)."""
        xc = x - x.mean(axis=0, keepdims=True)
        return cls.from_second_moment(xc.T @ xc)

    @property
    def explained_share(self) -> np.ndarray:
        """``[D]``: share of total variance held by each direction (sums to 1)."""
        total = self.eigenvalues.sum()
        return self.eigenvalues / total if total > 0 else np.zeros_like(self.eigenvalues)

    def top_count(self, share: float) -> int:
        """Number of leading directions whose cumulative variance share stays below ``share``.

        This is the authors' "top" subspace: leading eigenvectors holding less than ``share`` of
        the variance (at least one direction, so the subspace is never empty).
        """
        share = check_float("share", share, 0.0, 1.0, low_open=True)
        cumulative = np.cumsum(self.explained_share)
        d = len(cumulative)
        below = int(np.searchsorted(cumulative, share - SHARE_TIE_TOLERANCE, side="left"))
        # at most D - 1 when D > 1, so that the bottom subspace is never empty
        return min(max(1, below), max(d - 1, 1))

    def split(self, share: float) -> tuple[np.ndarray, np.ndarray]:
        """(top ``[D, t]``, bottom ``[D, D - t]``) bases; top holds < ``share`` of the variance."""
        t = self.top_count(share)
        return self.eigenvectors[:, :t], self.eigenvectors[:, t:]

    def bottom_for_share(self, share: float) -> np.ndarray:
        """Trailing directions: the smallest trailing set holding at least ``share``. ``[D, b]``.

        E.g. ``share=0.2``: the last 20% of the variance, or slightly more (up to one direction's
        worth). Up to ties it is the complement of the top subspace for ``1 - share``; at an exact
        tie (the trailing directions hold exactly ``share``) they alone are returned. The top part
        stays non-empty unless ``share == 1``.
        """
        share = check_float("share", share, 0.0, 1.0, low_open=True)
        d = len(self.eigenvalues)
        if share >= 1.0:
            return self.eigenvectors
        trailing = np.cumsum(self.explained_share[::-1])  # share of the last 1, 2, ... directions
        b = int(np.searchsorted(trailing, share - SHARE_TIE_TOLERANCE, side="left")) + 1
        return self.eigenvectors[:, d - min(b, max(d - 1, 1)):]


def project(x: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Orthogonal projection in pixel space, ``x -> x B B^T``: ``x: [N, D]``, ``basis: [D, r]``.

    The result keeps the image's shape (``[N, D]``), so the same classifier can be trained on it.
    """
    return (x @ basis) @ basis.T


RENORMS: tuple[str, ...] = ("image", "none")


def project_images(train: np.ndarray, test: np.ndarray, sub: np.ndarray,
                   renorm: str = "image", complement: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Project ``train: [N, D]`` and ``test: [M, D]`` onto span(``sub: [D, r]``) in pixel space.

    ``x -> S S^T x`` keeps the image size; with ``renorm="image"`` the projected images are
    re-normalised with :func:`preprocess` (own std, minus the projected train mean). With
    ``complement`` the projection is onto the orthogonal complement of span(``sub``),
    ``x -> x - S S^T x`` (``sub`` orthonormal): the same images as projecting onto the other
    columns of a complete orthonormal basis, at cost ``O(N D r)`` for the small side ``r``.
    """
    renorm = check_choice("renorm", renorm, RENORMS)
    proj = torch.as_tensor(sub, dtype=torch.float32)

    def apply(x: np.ndarray) -> np.ndarray:
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
        p = (xt @ proj) @ proj.T
        return (xt - p).numpy() if complement else p.numpy()

    p_tr, p_te = apply(train), apply(test)
    if renorm == "image":
        p_tr, p_te, _ = preprocess(p_tr, p_te)
    return p_tr, p_te  # type: ignore[return-value]
