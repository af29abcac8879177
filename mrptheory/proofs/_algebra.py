"""Symbolic helpers shared by the proofs: generic matrices and expectation by linearity.

The expectation helper is what lets a proof *derive* moment formulas rather than assert them: a
loss is expanded into a polynomial in the random symbols, and by linearity of expectation each
monomial is replaced by its moment (a covariance entry, a mask co-occurrence probability ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp


def generic_matrix(name: str, rows: int, cols: int, **assumptions: bool) -> sp.Matrix:
    """A ``rows x cols`` matrix of independent symbols ``name_ij`` (no structure assumed)."""
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}", real=True, **assumptions))


def generic_symmetric(name: str, n: int) -> sp.Matrix:
    """An ``n x n`` symmetric matrix of symbols ``name_ij`` (i <= j), e.g. a second moment."""
    m = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            m[i, j] = m[j, i] = sp.Symbol(f"{name}_{i}{j}", real=True)
    return m


def generic_vector(name: str, n: int, **assumptions: bool) -> sp.Matrix:
    """An ``n x 1`` column of symbols ``name_i``."""
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}_{i}", real=True, **assumptions))


def expect(expr: sp.Expr, random_symbols: Sequence[sp.Symbol],
           moment: Callable[[tuple[sp.Symbol, ...]], sp.Expr]) -> sp.Expr:
    """Expectation of a polynomial in ``random_symbols`` by linearity.

    ``expr`` is expanded into monomials; a monomial c * r_1 r_2 ... (random factors listed with
    multiplicity, in the order of ``random_symbols``) becomes c * moment((r_1, r_2, ...)).
    Non-random symbols stay in the coefficient c.
    """
    poly = sp.Poly(sp.expand(expr), *random_symbols)
    total = sp.Integer(0)
    for exponents, coeff in poly.terms():
        factors = tuple(s for s, k in zip(random_symbols, exponents) for _ in range(k))
        total += coeff * (moment(factors) if factors else 1)
    return sp.expand(total)


def is_zero_matrix(m: sp.MatrixBase, simplify: Callable[[sp.Expr], sp.Expr] = sp.expand) -> bool:
    """True when every entry of ``m`` simplifies to 0 (``expand`` for polynomials, ``cancel`` for
    rational functions)."""
    return all(simplify(e) == 0 for e in m)



def is_zero_rational(expr: sp.Expr) -> bool:
    """True when a rational function is identically 0: put it over one denominator and expand the
    numerator (cheaper than ``cancel``'s gcd for large expressions)."""
    numer, _ = sp.fraction(sp.together(expr))
    return sp.expand(numer) == 0
