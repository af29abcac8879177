"""The "never beneficial" checker: can a noise model change the subspace a linear DAE learns?

Principle (Balestriero & LeCun 2024, generalised): if both moments are *matrix functions* of the
data moment ``S = G`` -- ``M1 = f(S)``, ``M2 = g(S)`` -- they share S's eigenvectors, and along the
eigen-direction with eigenvalue ``l`` the generalised eigenvalue of ``(M1 M1^T, M2)`` is

    h(l) = f(l)^2 / g(l).

If ``h`` is strictly increasing for ``l > 0``, the top-K generalised eigenvectors are the top-K
principal components for *every* covariance: the noise can never change what is learned, so it
cannot make the features more useful for perception (isotropic Gaussian noise:
``h(l) = l^2 / (l + N s^2)``).

:func:`check_never_beneficial` first tries that symbolic argument (when the noise model offers
:meth:`~mrptheory.linear.noise.NoiseModel.sympy_moments`), then searches numerically for a
covariance whose learned top-K subspace differs from PCA's. A found counterexample is decisive;
not finding one is evidence, not proof, and is reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from mrptheory.errors import ConfigError
from mrptheory.linear.eigen import generalised_eigen
from mrptheory.linear.moments import DataMoments
from mrptheory.linear.noise import MaskNoise, NoiseModel
from mrptheory.metrics.alignment import subspace_overlap
from mrptheory.validation import check_int


class NotSpectral(Exception):
    """The moment expression is not a scalar function of S (e.g. it has a Hadamard product)."""


def spectral_function(expr: sp.Basic, s: sp.MatrixSymbol, lam: sp.Symbol) -> sp.Expr:
    """The scalar function ``f`` with ``expr = f(S)``, read off a sympy matrix expression.

    Sums, products, powers, inverses of ``S`` and the identity map to the same operations on the
    eigenvalue ``lam``; anything else (another matrix, a Hadamard product, a diagonal part) is
    not a function of S and raises :class:`NotSpectral`.
    """
    if expr == s or expr == s.T:
        return lam
    if isinstance(expr, sp.Identity):
        return sp.Integer(1)
    if isinstance(expr, sp.ZeroMatrix):
        return sp.Integer(0)
    if not isinstance(expr, sp.MatrixExpr):
        if any(isinstance(a, sp.MatrixExpr) for a in sp.preorder_traversal(expr)):
            raise NotSpectral(f"cannot read {expr} as a function of S")
        return sp.sympify(expr)
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*(spectral_function(a, s, lam) for a in expr.args))
    if isinstance(expr, sp.MatMul):
        return sp.Mul(*(spectral_function(a, s, lam) for a in expr.args))
    if isinstance(expr, sp.MatPow):
        return spectral_function(expr.base, s, lam) ** expr.exp
    if isinstance(expr, sp.Inverse):
        return 1 / spectral_function(expr.arg, s, lam)
    raise NotSpectral(f"{type(expr).__name__} {expr} is not a matrix function of S")


@dataclass(frozen=True)
class SymbolicArgument:
    """The symbolic half of a verdict.

    Attributes:
        proved: True when ``h'(l) > 0`` was shown for ``l > 0`` (all parameters positive).
        steps: the derivation in words and sympy expressions.
    """

    proved: bool
    steps: list[str]


def symbolic_argument(noise: NoiseModel) -> SymbolicArgument | None:
    """Try to prove that ``noise`` never changes the learned subspace; None if no sympy moments."""
    dim = sp.Symbol("D", integer=True, positive=True)
    s = sp.MatrixSymbol("S", dim, dim)
    n = sp.Symbol("N", positive=True)
    moments = noise.sympy_moments(s, n)
    if moments is None:
        return None
    m1, m2 = moments
    steps = [f"M1 = {m1}", f"M2 = {m2}"]
    lam = sp.Symbol("lambda", positive=True)
    try:
        f = spectral_function(m1, s, lam)
        g = spectral_function(m2, s, lam)
    except NotSpectral as exc:
        steps.append(f"not a matrix function of S ({exc}); the eigenvector argument does not apply")
        return SymbolicArgument(False, steps)
    # every other parameter is a positive quantity (noise level, keep probability, N).
    positive = {sym: sp.Symbol(sym.name, positive=True) for sym in (f.free_symbols | g.free_symbols) - {lam}}
    f, g = f.subs(positive), g.subs(positive)
    h = sp.simplify(f**2 / g)
    dh = sp.factor(sp.simplify(sp.diff(h, lam)))
    steps += [
        f"both are matrix functions of S: M1 = f(S), M2 = g(S) with f(l) = {f}, g(l) = {g}",
        f"along an eigen-direction of S with eigenvalue l: h(l) = f(l)^2 / g(l) = {h}",
        f"h'(l) = {dh}",
    ]
    increasing = bool(dh.is_positive) and bool(g.is_positive)
    if increasing:
        steps.append("h'(l) > 0 for every l > 0 and positive parameters: h preserves the order of the "
                     "eigenvalues, so the top-K generalised eigenvectors are the top-K principal "
                     "components for every covariance")
    else:
        steps.append("sympy could not show h'(l) > 0 for all l > 0; falling back to numerical search")
    return SymbolicArgument(increasing, steps)


@dataclass(frozen=True)
class Counterexample:
    """A covariance where the noise changes the learned top-K subspace.

    Attributes:
        covariance: ``[D, D]`` data second moment per sample (``G / N``).
        image_shape: the (C, H, W) the pixels are arranged in (patch masks).
        k: the width at which the subspaces differ.
        overlap: subspace overlap (1 = identical) of the noisy and the PCA top-K subspaces.
        pca_top: ``[D]`` top principal direction; noise_top: ``[D]`` top learned direction.
    """

    covariance: np.ndarray
    image_shape: tuple[int, int, int]
    k: int
    overlap: float
    pca_top: np.ndarray
    noise_top: np.ndarray


@dataclass(frozen=True)
class NeverBeneficialVerdict:
    """Verdict on one noise model.

    ``changes_subspace``: False = proved never to change the learned subspace; True = a
    counterexample covariance was found; None = no proof and no counterexample (evidence only).
    """

    noise: str
    changes_subspace: bool | None
    symbolic: SymbolicArgument | None
    counterexample: Counterexample | None
    trials: int
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.changes_subspace is False:
            return f"{self.noise}: NEVER changes the learned subspace (symbolic proof)"
        if self.changes_subspace is True:
            c = self.counterexample
            return (f"{self.noise}: CAN change the learned subspace (counterexample: D = "
                    f"{c.covariance.shape[0]}, K = {c.k}, overlap with PCA {c.overlap:.4f})")
        return (f"{self.noise}: no counterexample in {self.trials} random covariances "
                "(numerical evidence, not a proof)")


def candidate_image_shapes(noise: NoiseModel) -> list[tuple[int, int, int]]:
    """Small image shapes on which ``noise`` applies, smallest first (smallest counterexample).

    Patch masks need at least two patches: ``(1, a, 2b)`` then ``(1, 2a, 2b)``; other noise models
    get 2, 3 and 6 pixels.
    """
    if isinstance(noise, MaskNoise) and not noise.is_pixel:
        a, b = noise.patch
        return [(1, a, 2 * b), (1, 2 * a, 2 * b)]
    return [(1, 1, 2), (1, 1, 3), (1, 2, 3)]


def default_image_shape(noise: NoiseModel) -> tuple[int, int, int]:
    """The largest of :func:`candidate_image_shapes` (the one the symbolic check runs on)."""
    return candidate_image_shapes(noise)[-1]


#: Peak number of ``[D, D]`` float64 matrices alive in ``mrp noise-check`` (the counterexample
#: search: random covariance, its QR, the moments, the whitened factor and its SVD; then the
#: Monte-Carlo check's sums and squares). Measured from the peak resident memory at D = 1024 and
#: 1536 (``mask:0.5:2x2``): about 12; 16 leaves a margin for temporaries.
DENSE_MATRICES = 16


def estimated_bytes(image_shape: tuple[int, int, int]) -> int:
    """Estimated peak bytes of a never-beneficial check on images of ``image_shape`` (D = C H W)."""
    d = int(np.prod(image_shape))
    return DENSE_MATRICES * d * d * 8


def _fits(noise: NoiseModel, shape: tuple[int, int, int]) -> bool:
    try:
        noise.validate_for(DataMoments(np.eye(int(np.prod(shape))), 1, shape))
    except ConfigError:
        return False
    return True


def _random_covariance(rng: np.random.Generator, d: int, family: int) -> np.ndarray:
    """Random PSD covariances of three kinds: spread spectrum, near-diagonal, Wishart."""
    if family == 0:
        q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        spectrum = np.exp(rng.uniform(-3, 3, size=d))
        return (q * spectrum) @ q.T
    if family == 1:
        q, _ = np.linalg.qr(np.eye(d) + 0.3 * rng.normal(size=(d, d)))
        spectrum = np.exp(rng.uniform(-2, 2, size=d))
        return (q * spectrum) @ q.T
    a = rng.normal(size=(d, d + 2))
    return a @ a.T / (d + 2)


def find_counterexample(noise: NoiseModel, image_shape: tuple[int, int, int],
                        trials: int = 200, seed: int = 0, n_samples: int = 100,
                        overlap_tol: float = 1e-6) -> Counterexample | None:
    """Search random covariances for one where the noise's top-K subspace differs from PCA's.

    Only widths K with a clear eigengap in both problems count (relative gap > 1e-6), so that
    both top-K subspaces are well defined and a difference is not an artefact of ties.
    """
    d = int(np.prod(image_shape))
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        cov = _random_covariance(rng, d, trial % 3)
        data = DataMoments(n_samples * cov, n_samples, image_shape)
        m1, m2 = noise.moments(data)
        learned = generalised_eigen(m1, m2)
        pca_vals, pca_vecs = np.linalg.eigh(cov)
        pca_vals, pca_vecs = pca_vals[::-1], pca_vecs[:, ::-1]
        mu = learned.values
        for k in range(1, min(d, learned.rank)):
            gap_pca = (pca_vals[k - 1] - pca_vals[k]) / pca_vals[0]
            gap_mu = (mu[k - 1] - mu[k]) / max(mu[0], 1e-300)
            if gap_pca < 1e-6 or gap_mu < 1e-6:
                continue
            overlap = subspace_overlap(learned.vectors[:, :k], pca_vecs[:, :k])
            if overlap < 1 - overlap_tol:
                top = learned.vectors[:, 0] / np.linalg.norm(learned.vectors[:, 0])
                return Counterexample(cov, image_shape, k, overlap, pca_vecs[:, 0], top)
    return None


def check_never_beneficial(noise: NoiseModel, image_shape: tuple[int, int, int] | None = None,
                           trials: int = 200, seed: int = 0) -> NeverBeneficialVerdict:
    """Decide whether ``noise`` can change the learned subspace (see module docstring)."""
    trials = check_int("trials", trials, 1)
    if image_shape is not None:
        if len(tuple(image_shape)) != 3:
            raise ConfigError(f"image_shape must be (C, H, W); got {image_shape!r}")
        shapes = [tuple(image_shape)]
        noise.validate_for(DataMoments(np.eye(int(np.prod(shapes[0]))), 1, shapes[0]))
    else:  # keep the small shapes this noise applies to (a fixed-size noise fits only its own D)
        shapes = [s for s in candidate_image_shapes(noise) if _fits(noise, s)]
        if not shapes:
            raise ConfigError(f"{noise.name}: none of the default test shapes fits this noise; "
                              "pass image_shape=(C, H, W) with the dimension it needs")
    symbolic = symbolic_argument(noise)
    counterexample = None
    for shape in shapes:
        counterexample = find_counterexample(noise, shape, trials, seed)
        if counterexample is not None:
            break
    notes = []
    if symbolic is not None and symbolic.proved:
        if counterexample is not None:  # would mean a bug in the proof machinery or the moments
            notes.append("symbolic proof and numerical counterexample disagree: check the moments")
            return NeverBeneficialVerdict(noise.name, True, symbolic, counterexample, trials, notes)
        notes.append(f"numerical search of {trials} covariances agrees: no counterexample")
        return NeverBeneficialVerdict(noise.name, False, symbolic, None, trials, notes)
    changes = True if counterexample is not None else None
    return NeverBeneficialVerdict(noise.name, changes, symbolic, counterexample, trials, notes)
