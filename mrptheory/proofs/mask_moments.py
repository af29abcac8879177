"""Mask co-occurrence moments: M1 = q S and M2 = S (.) M for pixel, patch, inverted and random-ratio masks.

A mask m in {0, 1}^D multiplies the image, x~ = m (.) x, independently of x. Then
E[x~ x^T] = Diag(E[m]) x x^T and E[x~ x~^T] = E[m m^T] (.) x x^T, so summing over samples

    M1 = Diag(E[m]) S,   M2 = S (.) M,   M = E[m m^T]   (the co-occurrence matrix).

Derived here by exact expectation over *all* mask outcomes (sympy probabilities, no sampling):
- pixel masking, keep probability q = 1 - p: E[m_i] = q, M_ij = q^2 (i != j), q (i == j), so
  M2 = q^2 S + q(1-q) Diag(S);
- patch masks of shape (a, b) on (C, H, W) images (a patch covers all channels): M_ij = q when
  pixels i and j share a patch, q^2 otherwise (checked on C=2, H=W=4, patch 2x2: 2^4 outcomes);
  with C > 1 a (1, 1) patch is *not* entry-wise pixel masking (the channels of one location
  co-occur with probability q);
- inverted dropout x~ = m (.) x / q: M1 = S, M2 = S (.) M / q^2;
- random ratio (q drawn per sample, independent of x): E[q] and E[q^2] replace q and q^2;
- (extension) MAE-style masks keeping exactly k of L patches: E[z_i] = k/L,
  E[z_i z_j] = k(k-1)/(L(L-1)) for i != j -- not q^2, so fixed-count and Bernoulli masks differ.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp
import sympy.stats as stats

from mrptheory.proofs._algebra import expect, generic_symmetric, generic_vector, is_zero_matrix
from mrptheory.proofs._result import Derivation, ProofResult, main_for

NAME = "mask_moments"
STATEMENT = ("masking gives M1 = q S and M2 = S (.) M with M_ij = q (same patch) or q^2; inverted "
             "dropout M1 = S, M2 = S (.) M / q^2; a random ratio replaces q, q^2 by E[q], E[q^2]")

q = sp.Symbol("q", positive=True)  # keep probability, q = 1 - p


def patch_index(C: int, H: int, W: int, a: int, b: int) -> np.ndarray:
    """Patch id of every pixel of a (C, H, W) image flattened in C, H, W order: [C*H*W] ints.

    A patch is an (a, b) spatial block covering all channels; pixel masking is (a, b) = (1, 1).
    """
    c, h, w = np.meshgrid(np.arange(C), np.arange(H), np.arange(W), indexing="ij")
    return ((h // a) * (W // b) + (w // b)).ravel()


def cooccurrence_formula(patches: np.ndarray, q1: sp.Expr = q, q2: sp.Expr | None = None) -> sp.Matrix:
    """The claimed M: M_ij = q1 if pixels i, j share a patch, else q2 (default q2 = q1^2)."""
    q2 = q1**2 if q2 is None else q2
    D = len(patches)
    return sp.Matrix(D, D, lambda i, j: q1 if patches[i] == patches[j] else q2)


def cooccurrence_by_enumeration(patches: np.ndarray, keep: sp.Expr = q) -> sp.Matrix:
    """Exact E[m m^T] by summing P(z) m(z) m(z)^T over all 2^L outcomes z of the L patch coins.

    Each patch is kept independently with probability ``keep``; m_i = z_{patch(i)}. Entries are
    sympy polynomials in ``keep`` (expanded), not assumed to be q or q^2.
    """
    L = int(patches.max()) + 1
    outcomes = np.array(list(itertools.product((0, 1), repeat=L)))           # [2^L, L]
    probs = [sp.Mul(*[keep if z else 1 - keep for z in row]) for row in outcomes]
    m = outcomes[:, patches]                                                  # [2^L, D]
    cache: dict[bytes, sp.Expr] = {}
    D = len(patches)
    M = sp.zeros(D, D)
    for i in range(D):
        for j in range(D):
            both = m[:, i] * m[:, j]                                          # which outcomes keep both
            key = both.tobytes()
            if key not in cache:
                cache[key] = sp.expand(sp.Add(*[p for p, k in zip(probs, both) if k]))
            M[i, j] = cache[key]
    return M


def fixed_count_cooccurrence(L: int, k: int) -> tuple[sp.Rational, sp.Rational]:
    """(E[z_i], E[z_i z_j], i != j) for a uniformly random set of exactly k kept patches out of L."""
    subsets = list(itertools.combinations(range(L), k))
    p = sp.Rational(1, len(subsets))
    return (sum(p for s in subsets if 0 in s), sum(p for s in subsets if 0 in s and 1 in s))


def derive_pixel(d: Derivation, D: int = 3) -> None:
    """Pixel masking: moments of m by enumeration, then M1, M2 for symbolic data."""
    M = cooccurrence_by_enumeration(np.arange(D))
    d.step(f"[pixel, D={D}] E[m m^T] summed over all 2^{D} outcomes", M)
    d.check("E[m_i m_i] = q, E[m_i m_j] = q^2 (i != j)",
            is_zero_matrix(M - (q**2 * sp.ones(D, D) + q * (1 - q) * sp.eye(D))))
    # Moments of x~ = m (.) x for one symbolic sample, expectation over m by linearity.
    x, m = generic_vector("x", D), generic_vector("m", D)
    xt = m.multiply_elementwise(x)

    index = {sym: i for i, sym in enumerate(m)}

    def moment(factors: tuple[sp.Symbol, ...]) -> sp.Expr:
        idx = sorted({index[f] for f in factors})  # m_i^2 = m_i for 0/1 masks
        return M[idx[0], idx[-1]]

    M1 = (xt * x.T).applyfunc(lambda v: expect(v, list(m), moment))
    M2 = (xt * xt.T).applyfunc(lambda v: expect(v, list(m), moment))
    d.step("E[x~ x~^T] for one sample", M2)
    xx = x * x.T
    d.check("E[x~ x^T] == q x x^T and E[x~ x~^T] == (x x^T) (.) M (summed over samples: "
            "M1 = q S, M2 = S (.) M)",
            is_zero_matrix(M1 - q * xx) and is_zero_matrix(M2 - xx.multiply_elementwise(M)))
    S = generic_symmetric("s", D)
    d.check("S (.) M == q^2 S + q(1-q) Diag(S)",
            is_zero_matrix(S.multiply_elementwise(M) - q**2 * S
                           - q * (1 - q) * sp.diag(*[S[i, i] for i in range(D)])))


def derive_patches(d: Derivation, C: int = 2, H: int = 4, W: int = 4, a: int = 2, b: int = 2) -> None:
    """Patch masks on a (C, H, W) image: enumeration of all 2^L outcomes vs the same-patch rule."""
    patches = patch_index(C, H, W, a, b)
    L = int(patches.max()) + 1
    M = cooccurrence_by_enumeration(patches)
    d.step(f"[patch ({a},{b}) on (C,H,W)=({C},{H},{W}): D={C*H*W}, L={L} patches] distinct "
           f"entries of E[m m^T] over all 2^{L} outcomes", sorted(set(M), key=sp.default_sort_key))
    d.check(f"E[m m^T] == same-patch rule (q if i, j share a patch, q^2 otherwise), all "
            f"{(C*H*W)**2} entries", is_zero_matrix(M - cooccurrence_formula(patches)))
    pix = patch_index(1, H, W, 1, 1)
    d.check("one channel, patch (1,1) is pixel masking: M == q^2 11^T + q(1-q) I",
            is_zero_matrix(cooccurrence_formula(pix) - q**2 * sp.ones(len(pix), len(pix))
                           - q * (1 - q) * sp.eye(len(pix))))
    # With C > 1 a (1,1) patch masks every channel of a location together, which is NOT the
    # entry-wise pixel masking M2 = q^2 S + q(1-q) Diag(S) of the authors' recipe.
    loc = patch_index(C, H, W, 1, 1)
    D = len(loc)
    entrywise = q**2 * sp.ones(D, D) + q * (1 - q) * sp.eye(D)
    extra = cooccurrence_formula(loc) - entrywise
    d.step(f"C={C}, patch (1,1) minus entry-wise pixel masking: distinct entries (nonzero for two "
           "channels of one location)", sorted(set(extra.applyfunc(sp.factor)), key=sp.default_sort_key))
    d.check(f"C={C}: a (1,1) patch over all channels differs from entry-wise pixel masking "
            "(channel pairs co-occur with q, not q^2)", not is_zero_matrix(extra))
    # Monte-Carlo twin (numeric): 20000 draws, 4-sigma binomial tolerance (fixed before running).
    rng = np.random.default_rng(0)
    qv, n = 0.6, 20000
    z = rng.random((n, L)) < qv
    mm = z[:, patches].astype(float)
    emp = mm.T @ mm / n
    exact = np.array(cooccurrence_formula(patches).subs(q, qv), dtype=float)
    tol = 4 * np.sqrt(0.25 / n)
    gap = float(np.abs(emp - exact).max())
    d.step("Monte-Carlo twin (20000 masks, q = 0.6): max |empirical - exact|", sp.Float(gap, 3))
    d.record(monte_carlo_max_gap=gap, monte_carlo_tolerance=float(tol))
    d.check("Monte-Carlo co-occurrence within 4 binomial sigma of the exact M", gap < tol)


def derive_inverted(d: Derivation, C: int = 1, H: int = 2, W: int = 2, a: int = 1, b: int = 2) -> None:
    """Inverted dropout x~ = m (.) x / q on a small image, exact over all outcomes."""
    patches = patch_index(C, H, W, a, b)
    D, L = len(patches), int(patches.max()) + 1
    x = generic_vector("x", D)
    outcomes = list(itertools.product((0, 1), repeat=L))
    M1, M2 = sp.zeros(D, D), sp.zeros(D, D)
    for z in outcomes:
        prob = sp.Mul(*[q if zi else 1 - q for zi in z])
        xt = sp.Matrix([z[patches[i]] * x[i] / q for i in range(D)])
        M1 += prob * xt * x.T
        M2 += prob * xt * xt.T
    M = cooccurrence_formula(patches)
    xx = x * x.T
    d.step(f"[inverted dropout, patch ({a},{b}) on ({C},{H},{W})] E[x~ x~^T] over all 2^{L} outcomes",
           M2.applyfunc(sp.factor))
    d.check("inverted dropout: E[x~ x^T] == x x^T (M1 = S) and E[x~ x~^T] == (x x^T) (.) M / q^2",
            is_zero_matrix(M1 - xx, sp.cancel)
            and is_zero_matrix(M2 - xx.multiply_elementwise(M) / q**2, sp.cancel))


def derive_random_ratio(d: Derivation) -> None:
    """Keep probability drawn per sample: average the conditional moments over q."""
    patches = patch_index(1, 2, 2, 1, 1)
    Mq = cooccurrence_formula(patches)              # conditional on q (derived above)
    mu1, mu2 = sp.symbols("mu_1 mu_2", positive=True)

    def moment(factors: tuple[sp.Symbol, ...]) -> sp.Expr:
        return {1: mu1, 2: mu2}[len(factors)]       # E[q] = mu_1, E[q^2] = mu_2

    M = Mq.applyfunc(lambda v: expect(v, [q], moment))
    d.step("random ratio: E_q[M(q)] (pixel masks, D=4)", M)
    d.check("random ratio: E[q] replaces q (same patch) and E[q^2] replaces q^2; M1 = E[q] S",
            is_zero_matrix(M - cooccurrence_formula(patches, mu1, mu2)))
    lo, hi = sp.Rational(1, 4), sp.Rational(3, 4)
    Q = stats.Uniform("Q", lo, hi)
    m1, m2 = sp.simplify(stats.E(Q)), sp.simplify(stats.E(Q**2))
    d.step("example q ~ Uniform(1/4, 3/4): (E[q], E[q^2]) by sympy.stats", (m1, m2))
    d.check("uniform example: E[q^2] = 13/48 > E[q]^2 = 1/4 (so not a fixed-q mask with q = E[q])",
            m1 == sp.Rational(1, 2) and m2 == sp.Rational(13, 48))


def derive_fixed_count(d: Derivation) -> None:
    """Extension: MAE's masks keep exactly k of L patches; enumerate all subsets."""
    kk, LL = sp.symbols("k L", positive=True, integer=True)
    ok = True
    for L in range(2, 7):
        for k in range(1, L + 1):
            e1, e2 = fixed_count_cooccurrence(L, k)
            ok &= e1 == sp.Rational(k, L) and e2 == sp.Rational(k * (k - 1), L * (L - 1))
    d.check("fixed-count masks (L = 2..6, all k): E[z_i] = k/L, E[z_i z_j] = k(k-1)/(L(L-1)) (i != j)",
            ok)
    gap = sp.factor(kk**2 / LL**2 - kk * (kk - 1) / (LL * (LL - 1)))
    d.step("Bernoulli with q = k/L minus fixed count, off-diagonal: q^2 - k(k-1)/(L(L-1))", gap)


def derive_library_agreement(d: Derivation, C: int = 2, H: int = 4, W: int = 4) -> None:
    """The co-occurrence matrices the library solves with equal the derived ones.

    ``mrptheory.linear.noise.MaskNoise`` uses entry-wise masking for patch (1, 1) (the authors'
    pixel masking, each channel of a location independent) and channel-spanning patches otherwise.
    """
    from mrptheory.linear.moments import DataMoments
    from mrptheory.linear.noise import MaskNoise, RandomRatioMask

    data = DataMoments(np.eye(C * H * W), 1, (C, H, W))
    qv = 0.6
    D = C * H * W
    entrywise = np.array((q**2 * sp.ones(D, D) + q * (1 - q) * sp.eye(D)).subs(q, qv), dtype=float)
    d.check("library pixel mask (patch 1x1) == derived entry-wise co-occurrence",
            np.allclose(MaskNoise(1 - qv, (1, 1)).cooccurrence(data), entrywise, atol=1e-12))
    derived = np.array(cooccurrence_formula(patch_index(C, H, W, 2, 2)).subs(q, qv), dtype=float)
    d.check("library 2x2 patch mask == derived same-patch co-occurrence (patch spans channels)",
            np.allclose(MaskNoise(1 - qv, (2, 2)).cooccurrence(data), derived, atol=1e-12))
    lo, hi = sp.Rational(1, 4), sp.Rational(3, 4)
    p_ = sp.Symbol("p")
    eq = sp.integrate(1 - p_, (p_, lo, hi)) / (hi - lo)
    eq2 = sp.integrate((1 - p_) ** 2, (p_, lo, hi)) / (hi - lo)
    lib = RandomRatioMask(low=0.25, high=0.75).keep_moments()
    d.step("random ratio p ~ U[1/4, 3/4]: (E[q], E[q^2]) derived vs library", (eq, eq2, sp.Float(lib[0]), sp.Float(lib[1])))
    d.check("library random-ratio keep moments == derived E[q], E[q^2]",
            np.allclose(lib, (float(eq), float(eq2)), atol=1e-12))


def derive() -> ProofResult:
    """Pixel, patch, inverted-dropout, random-ratio and fixed-count mask moments."""
    d = Derivation(NAME, STATEMENT)
    derive_pixel(d)
    derive_patches(d)
    derive_inverted(d)
    derive_random_ratio(d)
    derive_fixed_count(d)
    derive_library_agreement(d)
    return d.result()


if __name__ == "__main__":
    main_for(derive)
