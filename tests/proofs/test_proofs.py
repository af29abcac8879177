"""Tests of the sympy derivations (``mrptheory.proofs``, run from ``proofs/``): each proof passes,
and its checks can fail."""

from __future__ import annotations


import numpy as np
import pytest
import scipy.linalg
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mrptheory.proofs as proofs
from mrptheory.proofs import PROOFS, run_one
from mrptheory.proofs._result import Derivation, ProofResult, render
from mrptheory.proofs.alignment_energy import label_energies
from mrptheory.proofs.closed_form import decoder_is_stationary, optimal_decoder
from mrptheory.proofs.gaussian_never_changes import l, monotonicity_verdict
from mrptheory.proofs.mask_moments import (cooccurrence_by_enumeration, cooccurrence_formula,
                                           patch_index, q)


@pytest.mark.parametrize("name", PROOFS)
def test_each_proof_passes(name: str) -> None:
    result = run_one(name)
    assert isinstance(result, ProofResult)
    assert result.name == name
    assert result.passed, result.failed_checks
    checks = result.details["checks"]
    assert len(checks) >= 3 and all(checks.values())
    assert result.steps and all(isinstance(s, str) and s for s in result.steps)


def test_registry_and_unknown_name() -> None:
    assert PROOFS == ["closed_form", "gaussian_never_changes", "mask_moments",
                      "masking_changes_subspace", "alignment_energy"]
    assert callable(proofs.run_all)
    with pytest.raises(KeyError, match="unknown proof"):
        run_one("nope")


def test_a_failed_check_fails_the_proof() -> None:
    d = Derivation("toy", "1 + 1 == 3")
    d.check("arithmetic", sp.Integer(1) + 1 == 3)
    d.check("arithmetic", True)  # same label twice is kept, not overwritten
    result = d.result()
    assert not result.passed
    assert result.failed_checks == ["arithmetic"]
    assert len(result.details["checks"]) == 2
    assert not Derivation("empty", "no checks").result().passed  # nothing checked: not a proof


def test_render_cuts_long_expressions() -> None:
    long = sp.Add(*sp.symbols("a0:300"))
    text = render(long)
    assert text.endswith("chars)") and len(text) < 450


# --------------------------------------------------------------------------- closed form
def _rational_instance(D: int = 3, K: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    mat = lambda r, c: sp.Matrix(rng.integers(-4, 5, (r, c)).tolist())  # noqa: E731
    X = mat(D + 2, D)
    M2 = X.T * X + sp.eye(D)  # PSD and invertible
    return mat(D, D), M2, mat(K, D)


def test_closed_form_decoder_accepted_and_wrong_decoders_rejected() -> None:
    M1, M2, A = _rational_instance()
    B = optimal_decoder(M1, M2, A)
    assert decoder_is_stationary(M1, M2, A, B)
    assert not decoder_is_stationary(M1, M2, A, 2 * B)
    # forgetting the transpose of M1 (M1 is not symmetric here) is caught too
    wrong = M1 * A.T * (A * M2 * A.T).inv()
    assert M1 != M1.T and not decoder_is_stationary(M1, M2, A, wrong)


# --------------------------------------------------------------------------- monotonicity checker
def test_monotonicity_checker_accepts_gaussian_and_rejects_a_turning_map() -> None:
    c = sp.Symbol("c", positive=True)
    assert monotonicity_verdict(l**2 / (l + c))[0] == "increasing"
    verdict, _, pair = monotonicity_verdict(l**2 / (l**3 + 1))
    assert verdict == "not increasing"
    lo, hi = pair
    assert lo < hi and (lo**2 / (lo**3 + 1)) >= (hi**2 / (hi**3 + 1))
    assert monotonicity_verdict(l * sp.exp(-l))[0] == "not increasing"


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), s=st.floats(0.05, 5.0))
def test_gaussian_subspace_is_pca_property(seed: int, s: float) -> None:
    """Property twin of proof 2: top-K generalised eigenvectors == top-K PCs, random spectra."""
    rng = np.random.default_rng(seed)
    D = 5
    U, _ = np.linalg.qr(rng.standard_normal((D, D)))
    lam = np.sort(rng.uniform(0.5, 10, D)) + np.arange(D)  # separated eigenvalues
    S = U @ np.diag(lam) @ U.T
    _, G = scipy.linalg.eigh(S @ S, S + 30 * s**2 * np.eye(D))
    for K in range(1, D):
        assert np.sin(scipy.linalg.subspace_angles(G[:, -K:], U[:, -K:])).max() < 1e-6


def test_masking_on_unequal_variances_is_not_pca() -> None:
    """The same check fails for masking when the diagonal is not constant (proof 4's example)."""
    S = np.array([[12.0, 3.0], [3.0, 1.0]])
    kv = 0.25
    _, G = scipy.linalg.eigh(kv**2 * S @ S, kv**2 * S + kv * (1 - kv) * np.diag(np.diag(S)))
    _, U = np.linalg.eigh(S)
    assert np.sin(scipy.linalg.subspace_angles(G[:, -1:], U[:, -1:])).max() > 0.5


# --------------------------------------------------------------------------- mask moments
@pytest.mark.parametrize("shape", [(1, 2, 4, 1, 2), (2, 2, 2, 2, 1), (3, 1, 3, 1, 1)])
def test_mask_enumeration_matches_same_patch_rule(shape: tuple[int, ...]) -> None:
    patches = patch_index(*shape)
    M = cooccurrence_by_enumeration(patches)
    assert all(sp.expand(e) == 0 for e in M - cooccurrence_formula(patches))
    # a wrong rule (independent pixels, ignoring patches) is rejected when patches have > 1 pixel
    C, H, W, a, b = shape
    if C * a * b > 1:
        independent = q**2 * sp.ones(len(patches), len(patches)) + q * (1 - q) * sp.eye(len(patches))
        assert any(sp.expand(e) != 0 for e in M - independent)


def test_patch_index_layout() -> None:
    idx = patch_index(2, 4, 4, 2, 2).reshape(2, 4, 4)
    assert (idx[0] == idx[1]).all()               # a patch covers every channel
    assert idx.max() == 3 and (np.bincount(idx.ravel()) == 8).all()
    assert idx[0, 0, 0] == idx[0, 1, 1] != idx[0, 0, 2]


def test_mask_monte_carlo_twin() -> None:
    patches = patch_index(1, 4, 4, 2, 2)
    rng = np.random.default_rng(1)
    kv, n = 0.3, 40_000
    z = rng.random((n, int(patches.max()) + 1)) < kv
    m = z[:, patches].astype(float)
    exact = np.array(cooccurrence_formula(patches).subs(q, kv), dtype=float)
    assert np.abs(m.T @ m / n - exact).max() < 4 * np.sqrt(0.25 / n)


# --------------------------------------------------------------------------- alignment
def test_label_energies_match_least_squares_and_rank_caveat() -> None:
    rng = np.random.default_rng(3)
    N, D, C = 40, 6, 3
    F = rng.standard_normal((N, D))
    Y = np.eye(C)[rng.integers(0, C, N)]
    e = label_energies(F, Y)
    for K in (1, 3, D):
        W, *_ = np.linalg.lstsq(F[:, :K], Y, rcond=None)
        assert e[K - 1] == pytest.approx((Y**2).sum() - ((Y - F[:, :K] @ W) ** 2).sum(), rel=1e-10)
    Fr = rng.standard_normal((N, 3)) @ rng.standard_normal((3, D))  # rank 3 < D
    truth = np.trace(Y.T @ Fr @ np.linalg.pinv(Fr.T @ Fr) @ Fr.T @ Y)
    assert label_energies(Fr, Y)[-1] >= truth - 1e-9        # plain QR can only over-count
    assert label_energies(Fr, Y, rank_tol=1e-10)[-1] == pytest.approx(truth, rel=1e-8)


@pytest.mark.parametrize("module", ["proofs.masking_changes_subspace",
                                    "mrptheory.proofs.masking_changes_subspace"])
def test_proof_modules_run_as_scripts(module: str) -> None:
    """From the repository root, the runnable ``proofs/`` folder and the installed package."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", module], capture_output=True, text=True,
                         timeout=120, cwd=root)
    assert out.returncode == 0, out.stderr
    assert "[ok]" in out.stdout and "== PASS" in out.stdout


