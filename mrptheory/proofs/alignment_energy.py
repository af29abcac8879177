"""The alignment metric is the share of least-squares label energy carried by the first K features.

Features F = X V ([N, D], V invertible, columns ordered by generalised eigenvalue), F = Q R (QR),
one-hot labels Y ([N, C]); e_j = ||Y^T Q[:, :j]||_F^2. Derived here:

1. QR is Gram-Schmidt: Q[:, :j] Q[:, :j]^T = sum_{i<=j} w_i w_i^T / |w_i|^2 = P_{F_j}, the orthogonal
   projector onto the first j features F_j = F[:, :j] (R upper triangular => nested spans).
2. e_j = tr(Y^T P_{F_j} Y) = ||P_{F_j} Y||_F^2 (P symmetric and idempotent).
3. Least squares on the first K features leaves ||Y - F_K W*||^2 = ||Y||^2 - e_K (Pythagoras), so e_K
   is the label energy explained by the best linear read-out of those K features.
4. P_{XV} = P_X for invertible V, so e_D = ||P_X Y||_F^2 = tr(Y^T X (X^T X)^+ X^T Y) does not depend
   on the encoder: 100 sqrt(e_K / e_D) is the share (in root-energy) of the least-squares label
   signal that the K features carry; it lies in [0, 100] and is nondecreasing in K.
Caveat (checked numerically): if rank F < D, Householder QR fills Q with directions outside span(F);
the identities hold only after dropping the columns with R_jj ~ 0.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import sympy as sp

from mrptheory.proofs._algebra import generic_matrix, generic_symmetric, is_zero_rational
from mrptheory.proofs._result import Derivation, ProofResult, main_for

NAME = "alignment_energy"
STATEMENT = ("e_K = ||Y^T Q[:, :K]||_F^2 is the label energy explained by least squares on the first "
             "K features and e_D = tr(Y^T X (X^T X)^+ X^T Y), so 100 sqrt(e_K/e_D) is a share in [0, 100]")


def gram_schmidt_orthogonal(F: sp.Matrix) -> list[sp.Matrix]:
    """Unnormalised Gram-Schmidt directions w_j of the columns of F (no square roots): [N x 1] each."""
    ws: list[sp.Matrix] = []
    for j in range(F.cols):
        w = F[:, j]
        for u in ws:
            w = w - (u.dot(F[:, j]) / u.dot(u)) * u
        ws.append(w)
    return ws


def frob2(M: sp.Matrix) -> sp.Expr:
    """Squared Frobenius norm, sum of squared entries."""
    return sp.Add(*[e**2 for e in M])


def projector(F: sp.Matrix) -> sp.Matrix:
    """P_F = F (F^T F)^{-1} F^T  [N x N], written with the adjugate (one denominator)."""
    G = F.T * F
    return F * G.adjugate() * F.T / G.det()


def label_energies(F: np.ndarray, Y: np.ndarray, rank_tol: float | None = None) -> np.ndarray:
    """e_j = ||Y^T Q[:, :j]||_F^2 for j = 1..D from F = Q R  (F: [N, D], Y: [N, C]) -> [D].

    With ``rank_tol`` set, columns j with |R_jj| <= rank_tol * max|R_ii| (features dependent on the
    earlier ones) contribute nothing, which keeps e_j = ||P_{F_j} Y||^2 when F is rank deficient.
    """
    Q, R = np.linalg.qr(F)
    per_column = ((Y.T @ Q) ** 2).sum(axis=0)
    if rank_tol is not None:
        diag = np.abs(np.diag(R))
        per_column = np.where(diag > rank_tol * diag.max(), per_column, 0.0)
    return np.cumsum(per_column)


def derive_symbolic(d: Derivation, N: int = 3, D: int = 2, C: int = 2) -> None:
    """Steps 1-4 on generic symbols (F: [N, D], X: [N, D], V: [D, D], Y: [N, C])."""
    F, Y = generic_matrix("f", N, D), generic_matrix("y", N, C)
    ws = gram_schmidt_orthogonal(F)
    d.step("Gram-Schmidt w_2 (QR's second column is w_2/|w_2|), first entry", ws[1][0])
    d.check(f"[N={N},D={D}] w_1 . w_2 == 0 and |w_1|^2 |w_2|^2 == det(F^T F) (full rank <=> R_jj != 0)",
            is_zero_rational(ws[0].dot(ws[1]))
            and is_zero_rational(ws[0].dot(ws[0]) * ws[1].dot(ws[1]) - (F.T * F).det()))
    PQ = [sp.zeros(N, N)]
    for w in ws:
        PQ.append(PQ[-1] + w * w.T / w.dot(w))  # Q[:, :j] Q[:, :j]^T = sum_{i<=j} q_i q_i^T
    P = [None] + [projector(F[:, :j]) for j in range(1, D + 1)]
    d.check("Q[:, :j] Q[:, :j]^T == F_j (F_j^T F_j)^-1 F_j^T for j = 1, 2 (upper-triangle entries)",
            all(is_zero_rational(PQ[j][a, b] - P[j][a, b])
                for j in range(1, D + 1) for a in range(N) for b in range(a, N)))
    G = F.T * F
    d.check("P_F is symmetric and idempotent: adj(G) G adj(G) == det(G) adj(G) (G = F^T F), so "
            "P^2 = P and ||P Y||^2 = tr(Y^T P Y)",
            all(is_zero_rational(P[D][a, b] - P[D][b, a]) for a in range(N) for b in range(a + 1, N))
            and all(sp.expand(v) == 0 for v in G.adjugate() * G * G.adjugate() - G.det() * G.adjugate()))
    e = [sum(frob2(Y.T * w) / w.dot(w) for w in ws[:j]) for j in range(D + 1)]
    f, Ys = sp.MatrixSymbol("f_1", N, 1), sp.MatrixSymbol("Y", N, C)
    d.step("e_1 = ||Y^T q_1||^2 with q_1 = f_1/|f_1|", sp.Trace(f.T * Ys * Ys.T * f) / sp.Trace(f.T * f))
    d.check("e_j == tr(Y^T Q_j Q_j^T Y) (= tr(Y^T P_{F_j} Y) by the projector identity), j = 1, 2",
            all(is_zero_rational(e[j] - (Y.T * PQ[j] * Y).trace()) for j in range(1, D + 1)))
    # Least squares on the first K features: F_K W* = P_{F_K} Y, and by symmetry + idempotence
    # ||Y - P Y||^2 = ||Y||^2 - tr(Y^T P Y) = ||Y||^2 - e_K. Checked symbolically at K = 1
    # (the K = 2 expansion costs a minute of CPU) and numerically for every K below.
    f1 = F[:, :1]
    Wstar = f1.T * Y / f1.dot(f1)               # (f^T f)^-1 f^T Y
    d.check("[K=1] least squares: ||Y - F_1 W*||^2 == ||Y||^2 - e_1",
            is_zero_rational(frob2(Y - f1 * Wstar) - frob2(Y) + e[1]))
    # P_{XV} = X V (V^T G V)^-1 V^T X^T with G = X^T X: the D x D middle factor equals G^-1.
    Gs, V = generic_symmetric("g", D), generic_matrix("v", D, D)
    H = V.T * Gs * V
    d.check("P_{X V} == P_X for invertible V: V adj(V^T G V) V^T det(G) == adj(G) det(V^T G V), so "
            "e_D = tr(Y^T X (X^T X)^-1 X^T Y) whatever the encoder",
            all(sp.expand(v) == 0 for v in V * H.adjugate() * V.T * Gs.det() - Gs.adjugate() * H.det()))


def derive_numeric(d: Derivation, seed: int = 0, N: int = 60, D: int = 8, C: int = 4) -> None:
    """QR energies vs least-squares fits on a masked-AE basis; rank-deficient caveat."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D)) @ rng.standard_normal((D, D))
    X -= X.mean(0)
    Y = np.eye(C)[rng.integers(0, C, N)]
    S, qk = X.T @ X, 0.5
    _, V = scipy.linalg.eigh(qk**2 * S @ S, qk**2 * S + qk * (1 - qk) * np.diag(np.diag(S)))
    V = V[:, ::-1]                               # columns by decreasing generalised eigenvalue
    e = label_energies(X @ V, Y)
    explained = []
    for K in range(1, D + 1):
        W, *_ = np.linalg.lstsq((X @ V)[:, :K], Y, rcond=None)
        explained.append(float((Y ** 2).sum() - ((Y - (X @ V)[:, :K] @ W) ** 2).sum()))
    e_proj = float(np.trace(Y.T @ X @ np.linalg.pinv(X.T @ X) @ X.T @ Y))
    align = 100 * np.sqrt(e / e[-1])
    gap = float(np.abs(e - np.array(explained)).max() / e[-1])
    d.step("numeric: alignment 100 sqrt(e_K/e_D), K = 1..8", [round(float(a), 2) for a in align])
    d.record(numeric_alignment=[float(a) for a in align], numeric_relative_gap=gap)
    # Tolerance 1e-10 relative: QR and lstsq on a well-conditioned 60 x 8 problem agree to ~1e-14.
    d.check("numeric: e_K == least-squares explained energy on the first K features, all K (1e-10)",
            gap < 1e-10)
    d.check("numeric: e_D == tr(Y^T X (X^T X)^+ X^T Y) (1e-10)", abs(e[-1] - e_proj) < 1e-10 * e_proj)
    d.check("numeric: alignment nondecreasing in K, in [0, 100], 100 at K = D",
            bool(np.all(np.diff(align) >= -1e-12) and align.min() >= 0 and abs(align[-1] - 100) < 1e-9))

    # Caveat: rank-deficient features (rank 5 < D = 8).
    Xr = rng.standard_normal((N, 5)) @ rng.standard_normal((5, D))
    raw, fixed = label_energies(Xr, Y)[-1], label_energies(Xr, Y, rank_tol=1e-10)[-1]
    truth = float(np.trace(Y.T @ Xr @ np.linalg.pinv(Xr.T @ Xr) @ Xr.T @ Y))
    d.step("caveat, rank 5 < D = 8: (plain QR e_D, e_D without R_jj ~ 0 columns, ||P_X Y||^2)",
           (round(float(raw), 4), round(float(fixed), 4), round(truth, 4)))
    d.record(rank_deficient_plain_qr=float(raw), rank_deficient_fixed=float(fixed),
             rank_deficient_truth=truth)
    d.check("rank-deficient F: dropping R_jj ~ 0 columns restores e_D == ||P_X Y||^2 (1e-8)",
            abs(fixed - truth) < 1e-8 * truth)


def derive() -> ProofResult:
    """Symbolic identities on a generic small case, then the numeric twin."""
    d = Derivation(NAME, STATEMENT)
    derive_symbolic(d)
    derive_numeric(d)
    return d.result()


if __name__ == "__main__":
    main_for(derive)
