"""Additive isotropic Gaussian noise never changes the learned subspace (it is always PCA's).

With x~ = x + e, e ~ N(0, s^2 I) independent of x, the moments are M1 = S and M2 = S + N s^2 I.
Both are matrix functions of S, so in the eigenbasis of S the generalised eigenproblem
(M1 M1^T) v = mu M2 v is diagonal with eigenvalues h(l) = l^2 / (l + N s^2). Because h is strictly
increasing on l > 0, the order of the eigen-directions is kept and the top-K generalised
eigenvectors are the top-K principal components, for every covariance S.

General principle (derived here too): if M1 = f(S) and M2 = g(S) for scalar functions f, g applied
to the eigenvalues, the generalised eigenvalues are f(l)^2 / g(l), so the learned subspace is PCA's
whenever l -> f(l)^2 / g(l) is increasing. Inverted dropout and plain pixel masking on data whose
pixels all have the same variance c reduce to this form (and to Gaussian noise with N s^2 = c(1-q)/q).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.linalg
import sympy as sp
import sympy.stats as stats

from mrptheory.proofs._algebra import expect, generic_symmetric, generic_vector, is_zero_matrix
from mrptheory.proofs._result import Derivation, ProofResult, main_for

NAME = "gaussian_never_changes"
STATEMENT = ("Gaussian noise: generalised eigenvalues l^2/(l + N s^2) are increasing in l, so the "
             "learned subspace is PCA's for every covariance; same for any M1 = f(S), M2 = g(S) with "
             "f^2/g increasing")

l = sp.Symbol("l", positive=True)  # an eigenvalue of S (l > 0)


@lru_cache(maxsize=None)
def gaussian_moment(power: int) -> sp.Expr:
    """E[e^power] for e ~ N(0, s^2), computed by sympy.stats (not typed in)."""
    s = sp.Symbol("s", positive=True)
    return sp.simplify(stats.E(stats.Normal("e", 0, s) ** power))


def monotonicity_verdict(h: sp.Expr, var: sp.Symbol = l,
                         grid: tuple[float, ...] = tuple(10.0 ** k for k in np.arange(-3, 3.01, 0.25)),
                         ) -> tuple[str, sp.Expr, tuple[sp.Expr, sp.Expr] | None]:
    """Is the eigenvalue map ``h(var)`` strictly increasing for var > 0 (all symbols positive)?

    Returns (verdict, derivative, counterexample): verdict "increasing" when sympy proves
    h'(var) > 0 from the positivity assumptions; "not increasing" with a pair (l1, l2), l1 < l2,
    h(l1) >= h(l2) found on a grid (other symbols set to 1); "unproven" otherwise.
    """
    dh = sp.factor(sp.cancel(sp.diff(h, var)))
    if dh.is_positive:
        return "increasing", dh, None
    others = {s: 1 for s in h.free_symbols if s != var}
    points = [sp.Rational(str(round(float(g), 6))) for g in grid]
    values = [h.subs(others).subs(var, pt) for pt in points]  # exact rationals for rational h
    for i in range(len(points) - 1):
        if values[i] - values[i + 1] >= 0:
            return "not increasing", dh, (points[i], points[i + 1])
    return "unproven", dh, None


def derive_moments(d: Derivation, D: int = 3) -> None:
    """M1 = S, M2 = S + N s^2 I from x~ = x + e, by expectation over e (per sample, then summed)."""
    s = sp.Symbol("s", positive=True)
    x, e = generic_vector("x", D), generic_vector("e", D)
    xt = x + e
    d.step("sympy.stats: (E[e], E[e^2]) for e ~ N(0, s^2)", (gaussian_moment(1), gaussian_moment(2)))

    def moment(factors: tuple[sp.Symbol, ...]) -> sp.Expr:
        # independent coordinates: the expectation factorises over distinct e_i
        out = sp.Integer(1)
        for sym in set(factors):
            out *= gaussian_moment(factors.count(sym))
        return out

    cross = (xt * x.T).applyfunc(lambda v: expect(v, list(e), moment))
    second = (xt * xt.T).applyfunc(lambda v: expect(v, list(e), moment))
    d.step("E[x~ x^T] (one sample)", cross)
    d.step("E[x~ x~^T] (one sample)", second)
    d.check("E[x~ x^T] == x x^T and E[x~ x~^T] == x x^T + s^2 I",
            is_zero_matrix(cross - x * x.T) and is_zero_matrix(second - x * x.T - s**2 * sp.eye(D)))
    n, N = sp.symbols("n N", integer=True, positive=True)
    d.step("summing over the N samples: M1 = S, M2 = S + (sum_n s^2) I",
           sp.summation(s**2, (n, 1, N)))


def derive_eigenbasis(d: Derivation) -> tuple[sp.Expr, sp.Symbol]:
    """Diagonalise by the eigenbasis of S and solve the diagonal generalised eigenproblem."""
    c = sp.Symbol("c", positive=True)  # c = N s^2
    # every 2-D rotation but the half-turn, in rational (Cayley) form: cos = (1-u^2)/(1+u^2) ...
    u = sp.Symbol("u", real=True)
    cos, sin = (1 - u**2) / (1 + u**2), 2 * u / (1 + u**2)
    U = sp.Matrix([[cos, -sin], [sin, cos]])
    l1, l2 = sp.symbols("l_1 l_2", positive=True)
    S = U * sp.diag(l1, l2) * U.T
    M1, M2 = S, S + c * sp.eye(2)
    d.check("[D=2, S = U diag(l) U^T, U any rotation] U^T (M1 M1^T) U == diag(l^2) and "
            "U^T M2 U == diag(l + N s^2)",
            is_zero_matrix(U.T * M1 * M1.T * U - sp.diag(l1**2, l2**2), sp.cancel)
            and is_zero_matrix(U.T * M2 * U - sp.diag(l1 + c, l2 + c), sp.cancel))
    ls = sp.symbols("l_1:4", positive=True)
    mu = sp.Symbol("mu")
    char = sp.factor((sp.diag(*[li**2 for li in ls]) - mu * sp.diag(*[li + c for li in ls])).det())
    roots = sp.solve(char, mu)
    d.step("[D=3 eigenbasis] det(diag(l^2) - mu diag(l + N s^2)) factorises", char)
    d.step("its roots (generalised eigenvalues), eigenvectors = coordinate axes = PCs", roots)
    h = ls[0]**2 / (ls[0] + c)
    d.check("roots == { l_i^2 / (l_i + N s^2) }",
            {sp.cancel(r) for r in roots} == {sp.cancel(h.subs(ls[0], li)) for li in ls})
    return (l**2 / (l + c)), c


def derive_monotone(d: Derivation, h: sp.Expr, c: sp.Symbol) -> None:
    """h'(l) > 0 and h(l_a) - h(l_b) has the sign of l_a - l_b: order of directions preserved."""
    verdict, dh, _ = monotonicity_verdict(h)
    d.step("h(l) = l^2/(l + N s^2) (c = N s^2); h'(l)", dh)
    d.check("h'(l) > 0 for l > 0, c > 0 (sympy, positive symbols)", verdict == "increasing")
    d.check("h'(l) > 0 also without noise, c = 0 (h = l: plain PCA)",
            monotonicity_verdict(h.subs(c, 0))[0] == "increasing")
    la, lb = sp.symbols("l_a l_b", positive=True)
    diff = sp.factor(h.subs(l, la) - h.subs(l, lb))
    d.step("h(l_a) - h(l_b)", diff)
    other = sp.cancel(diff / (la - lb))
    d.check("h(l_a) - h(l_b) = (l_a - l_b) * (positive): larger l keeps the larger eigenvalue",
            other.is_positive is True)
    d.step("hence top-K generalised eigenvectors of (S^2, S + N s^2 I) = top-K eigenvectors of S, "
           "for every covariance S and every s: Gaussian denoising learns PCA's subspace")


def derive_numeric(d: Derivation, seeds: tuple[int, ...] = (0, 1, 2), D: int = 6) -> None:
    """Random covariances and noise levels: generalised top-K subspace == PCA top-K, every K."""
    worst = 0.0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((40, D)) @ rng.standard_normal((D, D)) * rng.uniform(0.1, 3, D)
        S = X.T @ X
        for s in (0.1, 1.0, 10.0):
            _, G = scipy.linalg.eigh(S @ S, S + 40 * s**2 * np.eye(D))
            _, U = np.linalg.eigh(S)
            for K in range(1, D):
                worst = max(worst, float(np.sin(scipy.linalg.subspace_angles(G[:, -K:], U[:, -K:])).max()))
    d.step("numeric: worst sine between Gaussian-DAE and PCA top-K subspaces (3 seeds, 3 s, K=1..5)",
           sp.Float(worst, 3))
    d.record(numeric_worst_subspace_sine=worst)
    # eigh in double precision on well-separated spectra: 1e-6 is generous yet would catch any swap.
    d.check("numeric: Gaussian-DAE subspace == PCA subspace (sine < 1e-6)", worst < 1e-6)


def derive_principle(d: Derivation) -> None:
    """M1 = f(S), M2 = g(S): eigenvalues f(l)^2/g(l); dropout and masking on constant variance."""
    f, g = sp.Function("f"), sp.Function("g")
    ls = sp.symbols("l_1:4", positive=True)
    mu = sp.Symbol("mu")
    char = (sp.diag(*[f(li)**2 for li in ls]) - mu * sp.diag(*[g(li) for li in ls])).det()
    roots = sp.solve(char, mu)
    d.step("[M1 = f(S), M2 = g(S), eigenbasis of S] roots of det(f(L)^2 - mu g(L))", roots)
    d.check("generalised eigenvalues are f(l_i)^2 / g(l_i)",
            {sp.simplify(r) for r in roots} == {f(li)**2 / g(li) for li in ls})

    # Constant diagonal c: Diag(S) = c I, so the masking moments become matrix functions of S.
    q, t, cc = sp.symbols("q t c", positive=True)  # keep probability q; t = (1 - q)/q > 0
    D = 3
    S = generic_symmetric("s", D)
    S = S + sp.diag(*[cc - S[i, i] for i in range(D)])  # constant diagonal c, generic off-diagonal
    mask = q**2 * sp.ones(D, D) + q * (1 - q) * sp.eye(D)  # pixel co-occurrence matrix (mask_moments)
    inverted_M2 = S.multiply_elementwise(mask) / q**2
    d.check("inverted dropout, constant diagonal c: M1 = S, M2 = S (.) M / q^2 == S + c (1-q)/q I",
            is_zero_matrix(inverted_M2 - (S + cc * (1 - q) / q * sp.eye(D)), sp.cancel))
    plain_M2 = S.multiply_elementwise(mask)
    d.check("pixel masking, constant diagonal c: M1 = q S, M2 = S (.) M == q^2 S + q(1-q) c I",
            is_zero_matrix(plain_M2 - (q**2 * S + q * (1 - q) * cc * sp.eye(D)), sp.cancel))
    maps = {
        "inverted dropout": (l, l + cc * (1 - q) / q),
        "pixel masking": (q * l, q**2 * l + q * (1 - q) * cc),
    }
    for label, (fl, gl) in maps.items():
        h = sp.factor(sp.cancel(fl**2 / gl))
        d.step(f"{label}: f(l)^2/g(l)", h)
        # q in (0, 1) <=> t = (1 - q)/q in (0, oo): substitute so every symbol is positive
        h_t = sp.cancel(h.subs(q, 1 / (1 + t)))
        verdict, dh, _ = monotonicity_verdict(h_t)
        d.step(f"{label}: with q = 1/(1+t), t > 0: h and h'", (h_t, dh))
        d.check(f"{label} on constant-variance data: map increasing (PCA subspace)",
                verdict == "increasing")
        d.check(f"{label} on constant-variance data == Gaussian map with N s^2 = c (1-q)/q",
                sp.cancel(h_t - l**2 / (l + cc * t)) == 0)

    # The checker is not a rubber stamp: an eigenvalue map that turns down is rejected.
    bad = l**2 / (l**3 + 1)  # f(l) = l, g(l) = l^3 + 1
    verdict, dh, pair = monotonicity_verdict(bad)
    d.step("control: f = l, g = l^3 + 1 gives h = l^2/(l^3+1); h'", dh)
    d.check("control map is rejected (h decreases for l > 2^(1/3)) with a counterexample pair",
            verdict == "not increasing" and pair is not None and pair[0] < pair[1]
            and bad.subs(l, pair[0]) >= bad.subs(l, pair[1]))


def derive() -> ProofResult:
    """Moments of Gaussian noise, diagonalisation, monotonicity, numeric check, general principle."""
    d = Derivation(NAME, STATEMENT)
    derive_moments(d)
    h, c = derive_eigenbasis(d)
    derive_monotone(d, h, c)
    derive_numeric(d)
    derive_principle(d)
    return d.result()


if __name__ == "__main__":
    main_for(derive)
