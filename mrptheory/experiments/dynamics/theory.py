"""Closed-form training trajectories of linear autoencoders: which direction is learned when.

Balestriero & LeCun (2024, Sec. 3.3, "features for perception are learned last"): under gradient
descent a linear autoencoder picks up the eigen-directions of the data covariance in order of
decreasing eigenvalue, so the low-variance directions -- which often carry the label information --
arrive last. Two exact results make this quantitative.

* **One layer** ``x -> W x`` trained on the (denoising) loss ``(1/N) sum_n E||x_n - W x~_n||^2``.
  With moments ``M1 = sum_n E[x~_n] x_n^T`` and ``M2 = sum_n E[x~_n x~_n^T]`` (``[D, D]``), gradient
  flow is the linear ODE ``dW/dt = (2/N) (M1^T - W M2)``, solved by a matrix exponential:
  ``W(t) = W0 E(t) + M1^T M2^{-1} (I - E(t))`` with ``E(t) = exp(-2 M2 t / N)``
  (:func:`one_layer_flow`; :meth:`OneLayerFlow.from_noise` takes the moments from a
  :class:`~mrptheory.linear.noise.NoiseModel`, the same vocabulary as the closed-form optimum
  and the samplers used for training). Plain AE: ``M1 = M2 = G = X^T X``, so from ``W0 = 0`` the gain along
  eigen-direction i is ``1 - exp(-2 lambda_i t)`` with ``lambda_i`` an eigenvalue of ``G / N``.
* **Two layers** ``x -> W2 W1 x`` from a small *balanced, decoupled* start ``W1 = eps Q^T``,
  ``W2 = eps Q`` (``Q`` orthogonal): the product stays diagonal in the eigenbasis and each mode's
  strength ``w_i = v_i^T W2 W1 v_i`` follows Saxe, McClelland & Ganguli (2014)'s logistic
  ``dw/dt = 4 lambda_i w (1 - w)``, i.e. ``w(t) = 1 / (1 + (1/w0 - 1) exp(-4 lambda_i t))``
  (:func:`saxe_mode_strength`): a sigmoid whose midpoint is at ``ln(1/w0 - 1) / (4 lambda_i)``,
  so the time to learn mode i scales as ``1 / lambda_i``.

"Time" ``t`` is gradient-flow time: ``t = learning rate x number of steps`` for gradient descent on
the per-sample-mean loss above.

The per-direction *reconstruction fraction* (:func:`direction_reconstruction`) measures how much of
the data's energy along eigen-direction ``v_i`` the reconstruction explains:
``rho_i = 1 - v_i^T (I - W) S (I - W)^T v_i / lambda_i`` with ``S = G / N``; it has an empirical
twin on data and reconstructions (:func:`direction_reconstruction_empirical`).
"""

from __future__ import annotations

import numpy as np

from mrptheory.errors import ConfigError
from mrptheory.linear.closed_form import dae_moments
from mrptheory.linear.moments import DataMoments
from mrptheory.linear.noise import NoiseModel
from mrptheory.validation import check_float

class OneLayerFlow:
    """Exact gradient flow ``dW/dt = (2/N)(M1^T - W M2)`` of a one-layer linear (D)AE.

    ``W(t) = W0 E(t) + M1^T U diag((1 - exp(-2 m t / N)) / m) U^T`` with ``M2 = U diag(m) U^T``
    and ``E(t) = U diag(exp(-2 m t / N)) U^T``; a zero eigenvalue ``m`` uses the limit ``2 t / N``.
    The eigendecomposition of ``M2`` is done once, so each time point costs two ``D^3`` products.
    """

    def __init__(self, m1: np.ndarray, m2: np.ndarray, n: int, w0: np.ndarray | None = None):
        d = m2.shape[0]
        if m1.shape != (d, d) or m2.shape != (d, d):
            raise ConfigError(f"M1 and M2 must both be [D, D]; got {m1.shape}, {m2.shape}")
        self.n = int(n)
        self.m1 = np.asarray(m1, dtype=np.float64)
        vals, self.u = np.linalg.eigh((m2 + m2.T) / 2)
        self.m = np.clip(vals, 0.0, None)
        self.w0 = np.zeros((d, d)) if w0 is None else np.asarray(w0, dtype=np.float64)

    @classmethod
    def from_noise(cls, data: DataMoments, noise: NoiseModel,
                   w0: np.ndarray | None = None) -> "OneLayerFlow":
        """The flow of the DAE loss under ``noise``: ``(M1, M2)`` = ``noise.moments(data)``."""
        m1, m2 = dae_moments(data, noise)
        return cls(m1, m2, data.n_samples, w0)

    def __call__(self, t: float) -> np.ndarray:
        """``W(t)``: ``[D, D]``."""
        rate = 2.0 * self.m / self.n
        decay = np.exp(-rate * t)
        with np.errstate(divide="ignore", invalid="ignore"):
            integral = np.where(rate > 0, (1 - decay) / np.where(rate > 0, rate, 1), t) * 2.0 / self.n
        e = (self.u * decay) @ self.u.T
        f = (self.u * integral) @ self.u.T
        return self.w0 @ e + self.m1.T @ f


def one_layer_flow(m1: np.ndarray, m2: np.ndarray, n: int, t: float,
                   w0: np.ndarray | None = None) -> np.ndarray:
    """``W(t)`` (``[D, D]``) of the exact one-layer gradient flow; see :class:`OneLayerFlow`."""
    return OneLayerFlow(m1, m2, n, w0)(t)


def one_layer_trajectory(gram: np.ndarray, n: int, noise: NoiseModel, times: np.ndarray,
                         image_shape: tuple[int, int, int] | None = None,
                         w0: np.ndarray | None = None) -> list[np.ndarray]:
    """``W(t)`` (``[D, D]``) of the one-layer (D)AE at each of ``times`` ``[T]`` (exact flow).

    ``gram = X^T X`` (``[D, D]``) of ``n`` samples, ``noise`` the corruption (``NoNoise()`` for
    the plain AE), ``image_shape`` needed by patch masks, ``w0`` the start (default 0).
    """
    flow = OneLayerFlow.from_noise(DataMoments(gram, int(n), image_shape), noise, w0)
    return [flow(t) for t in np.asarray(times, dtype=np.float64)]


def two_layer_trajectory(eigenvalues: np.ndarray, eigenvectors: np.ndarray, init_scale: float,
                         times: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(W2 W1, W1)`` of the two-layer AE at each of ``times`` ``[T]`` (Saxe et al. sigmoids).

    From the balanced start ``W1 = eps Q^T``, ``W2 = eps Q`` (``eps = init_scale``) each mode's
    strength follows :func:`saxe_mode_strength` with ``w0 = eps^2``; ``eigenvalues: [D]`` and
    ``eigenvectors: [D, D]`` (columns ``V``) of ``X^T X / N``. The end-to-end map is
    ``V diag(w) V^T`` and the first layer, up to a rotation of the hidden units that changes no
    feature's information, ``diag(sqrt w) V^T``.
    """
    w0 = init_scale**2
    v = eigenvectors
    out = []
    for t in times:
        w = saxe_mode_strength(eigenvalues, w0, t)                  # [D]
        out.append(((v * w) @ v.T, (v * np.sqrt(w)).T))
    return out


def saxe_mode_strength(lam: np.ndarray | float, w0: float, t: np.ndarray | float) -> np.ndarray:
    """Saxe et al. (2014) sigmoid for the two-layer linear AE: strength of mode(s) at time(s) ``t``.

    ``w(t) = 1 / (1 + (1/w0 - 1) exp(-4 lambda t))`` solves ``dw/dt = 4 lambda w (1 - w)`` with
    ``lambda`` an eigenvalue of ``X^T X / N`` and ``w0`` the initial strength (``eps^2``).
    Broadcasts ``lam`` against ``t``.
    """
    w0 = check_float("w0", w0, 0.0, 1.0, low_open=True, high_open=True)
    lam, t = np.asarray(lam, dtype=np.float64), np.asarray(t, dtype=np.float64)
    return 1.0 / (1.0 + (1.0 / w0 - 1.0) * np.exp(-4.0 * lam * t))


def one_layer_mode_gain(lam: np.ndarray | float, t: np.ndarray | float,
                        r0: float = 0.0) -> np.ndarray:
    """Gain ``v_i^T W(t) v_i = 1 - (1 - r0) exp(-2 lambda t)`` of the plain one-layer AE."""
    lam, t = np.asarray(lam, dtype=np.float64), np.asarray(t, dtype=np.float64)
    return 1.0 - (1.0 - r0) * np.exp(-2.0 * lam * t)


def fraction_from_gain(gain: np.ndarray) -> np.ndarray:
    """Reconstruction fraction of a direction reproduced with gain ``g`` (and no leakage): ``1 - (1 - g)^2``."""
    gain = np.asarray(gain, dtype=np.float64)
    return 1.0 - (1.0 - gain) ** 2


def direction_reconstruction(w: np.ndarray, cov: np.ndarray, directions: np.ndarray,
                             variances: np.ndarray) -> np.ndarray:
    """Fraction of each direction's energy that ``x -> W x`` reconstructs, from the covariance.

    ``rho_i = 1 - v_i^T (I - W) S (I - W)^T v_i / lambda_i``: ``w: [D, D]``, ``cov = S: [D, D]``,
    ``directions = V: [D, K]`` (eigenvectors of S), ``variances: [K]`` (their eigenvalues).
    Returns ``[K]``; 1 = the direction is fully reconstructed, 0 = not at all (negative = worse
    than outputting 0 along it).
    """
    resid = directions.T - directions.T @ w          # [K, D]: v_i^T (I - W)
    err = np.einsum("kd,de,ke->k", resid, cov, resid)
    return 1.0 - err / np.maximum(variances, 1e-300)


def direction_reconstruction_empirical(x: np.ndarray, x_hat: np.ndarray,
                                       directions: np.ndarray) -> np.ndarray:
    """Empirical twin of :func:`direction_reconstruction` on data ``x`` and reconstructions ``x_hat``.

    ``rho_i = 1 - ||(X - X_hat) v_i||^2 / ||X v_i||^2``; ``x, x_hat: [N, D]``, ``directions: [D, K]``
    -> ``[K]``. Works for any (also nonlinear) autoencoder.
    """
    num = ((x - x_hat) @ directions) ** 2
    den = (x @ directions) ** 2
    return 1.0 - num.sum(0) / np.maximum(den.sum(0), 1e-300)


def time_to_fraction(times: np.ndarray, curves: np.ndarray, level: float = 0.5) -> np.ndarray:
    """First time each curve reaches ``level`` (log-linear interpolation between samples).

    ``times: [T]`` increasing and positive, ``curves: [T, K]`` -> ``[K]``; ``inf`` when a curve
    never reaches ``level``, ``times[0]`` when it starts above it.
    """
    times = np.asarray(times, dtype=np.float64)
    curves = np.asarray(curves, dtype=np.float64)
    out = np.full(curves.shape[1], np.inf)
    logt = np.log(times)
    for k in range(curves.shape[1]):
        above = np.nonzero(curves[:, k] >= level)[0]
        if len(above) == 0:
            continue
        j = above[0]
        if j == 0:
            out[k] = times[0]
            continue
        c0, c1 = curves[j - 1, k], curves[j, k]
        frac = (level - c0) / (c1 - c0) if c1 != c0 else 1.0
        out[k] = float(np.exp(logt[j - 1] + frac * (logt[j] - logt[j - 1])))
    return out


def one_layer_half_time(lam: np.ndarray | float, level: float = 0.5) -> np.ndarray:
    """Time for the plain one-layer AE (from 0) to reconstruct ``level`` of direction i's energy.

    ``1 - exp(-4 lambda t) = level``  =>  ``t = -ln(1 - level) / (4 lambda)``.
    """
    lam = np.asarray(lam, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return -np.log1p(-level) / (4.0 * lam)


def saxe_half_time(lam: np.ndarray | float, w0: float, level: float = 0.5) -> np.ndarray:
    """Time for the two-layer AE to reconstruct ``level`` of a direction: strength ``1 - sqrt(1 - level)``.

    Inverts :func:`saxe_mode_strength`: ``t = ln(w (1 - w0) / ((1 - w) w0)) / (4 lambda)``.
    """
    lam = np.asarray(lam, dtype=np.float64)
    w = 1.0 - np.sqrt(1.0 - level)
    with np.errstate(divide="ignore"):
        return np.log(w * (1 - w0) / ((1 - w) * w0)) / (4.0 * lam)
