"""Pixel masking can change the learned subspace -- except when all pixels share one variance.

With pixel masking (keep probability q): M1 = q S and M2 = q^2 S + q(1-q) Diag(S), so the learned
encoder solves (q^2 S^2) v = mu M2 v. Diag(S) is not a function of S in general, so the
generalised eigenvectors need not be principal components. Derived exactly with sympy:

1. S = [[12, 3], [3, 1]]: for EVERY q in (0, 1) the first principal component u is not a
   generalised eigenvector (det[P u, M2 u] is a polynomial in q whose only roots are 0 and 1), and at
   p = 3/4 the masked top eigenvector has squared cosine ~0.31 < 1/2 with u: it lies closer to the
   *second* principal component than to the first.
2. S with a constant diagonal c: Diag(S) = c I, so M2 = q^2 S + q(1-q) c I = g(S) commutes with S,
   the eigenvalue map q^2 l^2 / (q^2 l + q(1-q) c) is increasing, and the subspace is PCA's.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import sympy as sp

from mrptheory.proofs._algebra import generic_symmetric, is_zero_matrix
from mrptheory.proofs._result import Derivation, ProofResult, main_for
from mrptheory.proofs.gaussian_never_changes import l, monotonicity_verdict

NAME = "masking_changes_subspace"
STATEMENT = ("pixel masking moves the top eigenvector away from PCA's for S = [[12,3],[3,1]] at every "
             "p in (0,1) (past 45 degrees at p = 3/4), but never when S has a constant diagonal")

q = sp.Symbol("q", positive=True)  # keep probability


def masked_pair(S: sp.Matrix, keep: sp.Expr = q) -> tuple[sp.Matrix, sp.Matrix]:
    """(M1 M1^T, M2) for pixel masking: (q^2 S^2, q^2 S + q(1-q) Diag(S))  [D x D each]."""
    diag = sp.diag(*[S[i, i] for i in range(S.rows)])
    return keep**2 * S * S, keep**2 * S + keep * (1 - keep) * diag


def top_pc(S: sp.Matrix) -> tuple[sp.Expr, sp.Matrix]:
    """Largest eigenvalue of S and an eigenvector (exact, from sympy's eigenvects)."""
    value, _, vectors = max(S.eigenvects(), key=lambda e: float(e[0]))
    return value, vectors[0]


def top_generalized_2x2(P: sp.Matrix, M2: sp.Matrix) -> tuple[sp.Expr, sp.Matrix]:
    """Largest root mu of det(P - mu M2) = 0 and its eigenvector, exact, for 2 x 2 matrices.

    The eigenvector is orthogonal to the first row of P - mu M2 (a rank-1 matrix at a root).
    """
    mu = sp.Symbol("mu")
    roots = sp.roots(sp.Poly(sp.expand((P - mu * M2).det()), mu))
    top = max(roots, key=float)
    row = (P - top * M2).row(0)
    return top, sp.Matrix([-row[1], row[0]]).applyfunc(sp.radsimp)


def squared_cosine(u: sp.Matrix, v: sp.Matrix) -> sp.Expr:
    """cos^2 of the angle between two vectors (exact)."""
    return sp.radsimp(u.dot(v) ** 2 / (u.dot(u) * v.dot(v)))


def derive_counterexample(d: Derivation) -> None:
    """S = [[12, 3], [3, 1]]: masking rotates the top direction, for every keep probability."""
    S = sp.Matrix([[12, 3], [3, 1]])
    lmax, u = top_pc(S)
    d.step("S", S)
    d.step("top eigenpair of S (PCA): (l_max, u)", (lmax, u))
    P, M2 = masked_pair(S)
    d.step("pixel masking: M2 = q^2 S + q(1-q) Diag(S)", M2)
    # u is a generalised eigenvector iff P u and M2 u are parallel iff det[P u, M2 u] = 0.
    det = sp.factor(sp.Matrix.hstack(P * u, M2 * u).det())
    zeros = sp.solve(det, q)
    d.step("det[P u, M2 u] as a function of q", det)
    d.check("det[P u, M2 u] vanishes only at q in {0, 1}: for every 0 < p < 1 the first PC is NOT "
            "a solution of the masked problem", set(zeros) <= {0, 1})

    keep = sp.Rational(1, 4)  # p = 3/4
    mu, v = top_generalized_2x2(*masked_pair(S, keep))
    d.step("p = 3/4: top generalised eigenpair (mu, v), exact", (mu, v))
    residual = (masked_pair(S, keep)[0] - mu * masked_pair(S, keep)[1]) * v
    d.check("(P - mu M2) v == 0 exactly", is_zero_matrix(residual, lambda e: sp.radsimp(sp.expand(e))))
    cos2 = squared_cosine(u, v)
    d.step("cos^2(v, first PC)", cos2, cos2.evalf(6))
    d.check("cos^2(v, first PC) < 1/2: the masked top direction is closer to the SECOND principal "
            "component (exact algebraic comparison)", bool(cos2 < sp.Rational(1, 2)))

    # Sweep the drop probability numerically (record only; the exact claims are above).
    Sn = np.array(S, dtype=float)
    _, U = np.linalg.eigh(Sn)
    sweep = {}
    for p in (0.1, 0.25, 0.5, 0.75, 0.9):
        kv = 1 - p
        _, G = scipy.linalg.eigh(kv**2 * Sn @ Sn, kv**2 * Sn + kv * (1 - kv) * np.diag(np.diag(Sn)))
        g = G[:, -1] / np.linalg.norm(G[:, -1])
        sweep[p] = float((g @ U[:, -1]) ** 2)
    d.step("numeric sweep p -> cos^2(masked top, PC1)", {k: round(v, 4) for k, v in sweep.items()})
    d.record(cos2_sweep=sweep, cos2_at_p_075=float(cos2))
    d.check("numeric eigh at p = 3/4 agrees with the exact cos^2 (1e-10)",
            abs(sweep[0.75] - float(cos2)) < 1e-10)


def derive_constant_diagonal(d: Derivation) -> None:
    """Constant diagonal: masking is a matrix function of S, so the subspace is PCA's."""
    c = sp.Symbol("c", positive=True)
    D = 3
    G = generic_symmetric("s", D)
    S = G + sp.diag(*[c - G[i, i] for i in range(D)])  # generic off-diagonal, diagonal c
    P, M2 = masked_pair(S)
    d.check("[generic 3x3, diagonal c] M2 == q^2 S + q(1-q) c I == g(S) and M2 S == S M2",
            is_zero_matrix(M2 - q**2 * S - q * (1 - q) * c * sp.eye(D))
            and is_zero_matrix(M2 * S - S * M2))
    h = sp.factor(sp.cancel((q * l) ** 2 / (q**2 * l + q * (1 - q) * c)))
    t = sp.Symbol("t", positive=True)
    verdict, dh, _ = monotonicity_verdict(sp.cancel(h.subs(q, 1 / (1 + t))))
    d.step("eigenvalue map f(l)^2/g(l) with f = q l, g = q^2 l + q(1-q) c", h)
    d.check("map increasing for 0 < q < 1 (q = 1/(1+t), t > 0): order of PCs kept",
            verdict == "increasing")

    Sc = sp.Matrix([[2, 1, 0], [1, 2, 1], [0, 1, 2]])
    lmax, u = top_pc(Sc)
    keep = sp.Rational(1, 2)
    Pc, M2c = masked_pair(Sc, keep)
    mu = sp.Symbol("mu")
    roots = sp.roots(sp.Poly(sp.expand((Pc - mu * M2c).det()), mu))
    top = max(roots, key=float)
    d.step("example S = [[2,1,0],[1,2,1],[0,1,2]], p = 1/2: top PC (l_max, u)", (lmax, u))
    d.step("largest generalised eigenvalue", top)
    d.check("mu_max == h(l_max) = q^2 l^2 / (q^2 l + q(1-q) c) at q = 1/2, c = 2",
            sp.expand(sp.radsimp(top - h.subs({q: keep, c: 2, l: lmax}))) == 0)
    d.check("the top PC u solves the masked problem with the largest eigenvalue: "
            "(P - mu_max M2) u == 0",
            is_zero_matrix((Pc - top * M2c) * u, lambda e: sp.radsimp(sp.expand(e))))


def derive() -> ProofResult:
    """A rotating counterexample, then the constant-diagonal case where nothing can rotate."""
    d = Derivation(NAME, STATEMENT)
    derive_counterexample(d)
    derive_constant_diagonal(d)
    return d.result()


if __name__ == "__main__":
    main_for(derive)
