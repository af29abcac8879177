"""Closed-form optimal linear DAEs (``mrptheory.linear.closed_form``) against independent facts.

* Gradient training (``fit_linear_dae``, the closed form's twin: L-BFGS on the expected loss
  ``L(V, W) = tr G - 2 tr(W^T V^T M1) + tr(W^T V^T M2 V W)`` from a random start), for every
  built-in noise model, reaches the closed-form loss (relative gap < 1e-3) and its subspace, and
  never beats it.
* Identities: no noise = PCA (Eckart-Young), isotropic Gaussian noise = PCA subspace, pixel
  masking = variance-proportional Gaussian noise, inverted dropout = plain masking (same
  subspace), loss curve monotone, Wiener filter below every bottleneck.
* The supervised + reconstruction ("bilinear") solution: PCA limit, reduced-rank-regression
  limit, and two encoders with the same reconstruction error but very different supervised error.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mrptheory.errors import ConfigError
from mrptheory.linear.closed_form import (
    bilinear_solution,
    expected_dae_loss,
    optimal_linear_dae,
    solve_from_moments,
    unconstrained_optimum,
)
from mrptheory.linear.gradient_fit import fit_linear_dae
from mrptheory.linear.moments import DataMoments
from mrptheory.linear.noise import (
    DiagonalGaussianNoise,
    GaussianNoise,
    MaskNoise,
    NoNoise,
    RandomRatioMask,
)
from mrptheory.metrics.alignment import subspace_overlap

PROPERTY = settings(max_examples=12, deadline=None)


def random_data(seed: int, d: int, n: int | None = None) -> np.ndarray:
    """Centred ``[N, D]`` data with unequal pixel variances and correlated pixels."""
    rng = np.random.default_rng(seed)
    n = n or 4 * d
    mixing = rng.normal(size=(d, d)) * np.exp(rng.uniform(-1.0, 1.0, size=d))[None, :]
    x = rng.normal(size=(n, d)) @ mixing
    return x - x.mean(axis=0, keepdims=True)


def moments_of(x: np.ndarray, image_shape=None) -> DataMoments:
    return DataMoments(x.T @ x, x.shape[0], image_shape)


def pca_top(gram: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and top-k eigenvectors of a symmetric PSD matrix."""
    vals, vecs = np.linalg.eigh(gram)
    return vals[::-1], vecs[:, ::-1][:, :k]


def same_learned_span(gram, m2, v, w, sol) -> tuple[float, float]:
    """Overlaps of a trained (V, W) with the closed form: encoder spans in the input-moment metric
    (``M2^{1/2} V``, the span of the features V^T x~ -- a raw encoder direction along a
    near-null direction of M2 changes no feature and no loss, so only this span is identified)
    and decoder spans (``span(W^T)``, where the reconstructions live)."""
    vals, vecs = np.linalg.eigh((m2 + m2.T) / 2)
    root = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    return (subspace_overlap(root @ v, root @ sol.encoder),
            subspace_overlap(w.T, sol.decoder.T))


def relative_gap(values: np.ndarray, k: int) -> float:
    """Gap between the k-th and (k+1)-th largest of ``values`` relative to the largest."""
    return float((values[k - 1] - values[k]) / values[0]) if k < len(values) else 1.0


# ---------------------------------------------------------------------------------------------
# Closed form vs gradient training
# ---------------------------------------------------------------------------------------------


NOISES = {
    "gaussian": lambda d: GaussianNoise(0.7),
    "pixel-mask": lambda d: MaskNoise(0.4),
    "dropout": lambda d: MaskNoise(0.3, inverted=True),
    "random-ratio": lambda d: RandomRatioMask(low=0.1, high=0.7),
    "diag-gaussian": lambda d: DiagonalGaussianNoise(relative=0.8),
    "none": lambda d: NoNoise(),
}

#: Every built-in noise model (and every option that changes its moments), for D = 16 pixels
#: laid out as (1, 4, 4) images so that patch masks tile.
TWIN_NOISES = {
    "none": NoNoise(),
    "gaussian": GaussianNoise(0.7),
    "diag-gaussian-relative": DiagonalGaussianNoise(relative=0.8),
    "diag-gaussian-stds": DiagonalGaussianNoise(stds=np.linspace(0.2, 2.0, 16)),
    "pixel-mask": MaskNoise(0.4),
    "patch-mask-2x2": MaskNoise(0.5, (2, 2)),
    "patch-mask-1x4": MaskNoise(0.5, (1, 4)),
    "patch-mask-4x1": MaskNoise(0.5, (4, 1)),
    "dropout": MaskNoise(0.3, inverted=True),
    "dropout-2x2": MaskNoise(0.3, (2, 2), inverted=True),
    "random-ratio": RandomRatioMask(low=0.1, high=0.7),
    "random-dropout-2x2": RandomRatioMask(patch=(2, 2), inverted=True, low=0.1, high=0.7),
}


#: One case per noise model (seed, N, K cycle through small/medium widths) to keep the test fast.
TWIN_CASES = [(name, seed, n, k) for (name, (seed, n, k))
              in zip(sorted(TWIN_NOISES), [(7, 64, 3), (11, 40, 8), (5, 48, 5)] * 4)]


@pytest.mark.parametrize("noise_name,seed,n,k", TWIN_CASES)
def test_fit_linear_dae_reaches_the_closed_form(noise_name, seed, n, k):
    """The gradient-trained twin (``fit_linear_dae``, same call as ``optimal_linear_dae``).

    Tolerances, fixed before measuring: the trained loss never beats the closed form by more than
    1e-9 of tr G (round-off of the loss evaluation: it is the global minimum). Gradient training
    gets there: relative gap < 1e-3 where the optimum is >= 1e-4 of the data energy. When the
    optimum is a vanishing share of the data energy (K near D, e.g. seed=200, d=5, K=4: 2.6e-4 of
    357), a relative gap measures the optimiser's float64 floor rather than the closed form; there
    the gap must instead be < 1e-6 of the total energy. The learned span must be the closed-form
    span (overlap > 1 - 1e-3) where the K-th eigengap is clear (> 5% of the top eigenvalue).
    """
    shape = (1, 4, 4)
    data = moments_of(random_data(seed, 16, n=n), shape)
    noise = TWIN_NOISES[noise_name]
    sol = optimal_linear_dae(data, noise, k)
    fit = fit_linear_dae(data, noise, k, seed=seed)
    assert fit.encoder.shape == (16, k) and fit.decoder.shape == (k, 16)
    total = float(np.trace(data.gram))
    assert fit.loss >= sol.loss - 1e-9 * total
    if sol.loss >= 1e-4 * total:
        assert (fit.loss - sol.loss) / sol.loss < 1e-3
    else:
        assert (fit.loss - sol.loss) / total < 1e-6
    if relative_gap(sol.eigenvalues, k) > 0.05:
        _, m2 = noise.moments(data)
        enc, dec = same_learned_span(data.gram, m2, fit.encoder, fit.decoder, sol)
        assert enc > 1 - 1e-3 and dec > 1 - 1e-3


def test_fit_linear_dae_loss_is_the_expected_loss():
    """The twin reports L(V, W) of the weights it returns (its own formula vs ``expected_dae_loss``)."""
    data = moments_of(random_data(5, 6))
    noise = MaskNoise(0.3)
    fit = fit_linear_dae(data, noise, 2, restarts=1, max_iter=5)
    m1, m2 = noise.moments(data)
    expected = expected_dae_loss(data.gram, m1, m2, fit.encoder, fit.decoder)
    assert fit.loss == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ConfigError):
        fit_linear_dae(data, noise, 7)


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(3, 10))
def test_random_encoders_never_beat_closed_form(seed, d):
    """Any encoder with its least-squares decoder has expected loss >= the closed-form loss."""
    rng = np.random.default_rng(seed + 1)
    data = moments_of(random_data(seed, d))
    noise = MaskNoise(0.3)
    m1, m2 = noise.moments(data)
    for k in range(1, d + 1):
        sol = optimal_linear_dae(data, noise, k)
        for _ in range(5):
            v = rng.normal(size=(d, k))
            w = np.linalg.solve(v.T @ m2 @ v, v.T @ m1)
            assert expected_dae_loss(data.gram, m1, m2, v, w) >= sol.loss - 1e-9 * sol.total_energy


# ---------------------------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------------------------


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(2, 10))
def test_no_noise_is_pca(seed, d):
    data = moments_of(random_data(seed, d))
    vals, _ = pca_top(data.gram, d)
    for k in range(1, d + 1):
        sol = optimal_linear_dae(data, NoNoise(), k)
        # Eckart-Young: the loss is the sum of the trailing eigenvalues.
        assert sol.loss == pytest.approx(vals[k:].sum(), abs=1e-9 * vals.sum())
        if relative_gap(vals, k) > 1e-3:
            assert subspace_overlap(sol.encoder, pca_top(data.gram, k)[1]) > 1 - 1e-8
    # the optimal map is the orthogonal projector onto the top-k principal subspace.
    k = max(1, d // 2)
    sol = optimal_linear_dae(data, NoNoise(), k)
    top = pca_top(data.gram, k)[1]
    if relative_gap(vals, k) > 1e-3:
        np.testing.assert_allclose(sol.encoder @ sol.decoder, top @ top.T, atol=1e-7)


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(2, 10), sigma=st.floats(0.01, 10.0))
def test_gaussian_noise_keeps_pca_subspace(seed, d, sigma):
    data = moments_of(random_data(seed, d))
    vals, _ = pca_top(data.gram, d)
    sol = optimal_linear_dae(data, GaussianNoise(sigma), d)
    # generalised eigenvalues are h(l) = l^2 / (l + N sigma^2), in the same order.
    h = vals**2 / (vals + data.n_samples * sigma**2)
    np.testing.assert_allclose(sol.eigenvalues, h, rtol=1e-7, atol=1e-10 * h[0])
    for k in range(1, d):
        if relative_gap(vals, k) > 1e-3:
            assert subspace_overlap(sol.basis[:, :k], pca_top(data.gram, k)[1]) > 1 - 1e-8


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(2, 10), p=st.floats(0.05, 0.9))
def test_pixel_mask_equals_variance_proportional_gaussian(seed, d, p):
    """Pixel masking with drop p == Gaussian noise with per-pixel variance (p/q) * pixel variance."""
    data = moments_of(random_data(seed, d))
    q = 1 - p
    mask = optimal_linear_dae(data, MaskNoise(p), d)
    gauss = optimal_linear_dae(data, DiagonalGaussianNoise(relative=np.sqrt(p / q)), d)
    # both pencils are (q^2 G^2, q^2 (G + (p/q) Diag G)) up to the common factor q^2.
    np.testing.assert_allclose(mask.eigenvalues, gauss.eigenvalues, rtol=1e-8,
                               atol=1e-11 * mask.eigenvalues[0])
    for k in range(1, d):
        if relative_gap(mask.eigenvalues, k) > 1e-3:
            assert subspace_overlap(mask.basis[:, :k], gauss.basis[:, :k]) > 1 - 1e-8


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(2, 10), p=st.floats(0.05, 0.95))
def test_pixel_mask_on_equal_variance_pixels_is_pca(seed, d, p):
    x = random_data(seed, d)
    x = x / np.sqrt(np.sum(x**2, axis=0, keepdims=True))  # constant diagonal of G (= 1)
    data = moments_of(x)
    assert np.allclose(np.diag(data.gram), 1.0)
    vals, _ = pca_top(data.gram, d)
    sol = optimal_linear_dae(data, MaskNoise(p), d)
    for k in range(1, d):
        if relative_gap(vals, k) > 1e-3:
            assert subspace_overlap(sol.basis[:, :k], pca_top(data.gram, k)[1]) > 1 - 1e-8


def test_pixel_mask_changes_subspace_on_unequal_variances():
    """The converse: with unequal pixel variances masking does move the subspace (test can fail)."""
    data = moments_of(random_data(3, 6))
    vals, _ = pca_top(data.gram, 6)
    sol = optimal_linear_dae(data, MaskNoise(0.7), 2)
    assert subspace_overlap(sol.encoder, pca_top(data.gram, 2)[1]) < 1 - 1e-4


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(2, 10), p=st.floats(0.05, 0.9),
       patch=st.sampled_from([(1, 1), (2, 2), (1, 2)]))
def test_inverted_dropout_same_subspace_as_masking(seed, d, p, patch):
    shape = (1, 2, 4)
    data = moments_of(random_data(seed, 8), shape)
    q = 1 - p
    plain, inverted = MaskNoise(p, patch), MaskNoise(p, patch, inverted=True)
    m1, m2 = plain.moments(data)
    i1, i2 = inverted.moments(data)
    np.testing.assert_allclose(i1, m1 / q, rtol=1e-12)
    np.testing.assert_allclose(i2, m2 / q**2, rtol=1e-12)
    a = optimal_linear_dae(data, plain, 8)
    b = optimal_linear_dae(data, inverted, 8)
    # (M1 M1^T, M2) -> (M1 M1^T / q^2, M2 / q^2): the generalised eigenvalues do not change.
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, rtol=1e-8, atol=1e-11 * a.eigenvalues[0])
    for k in range(1, 8):
        if relative_gap(a.eigenvalues, k) > 1e-3:
            assert subspace_overlap(a.basis[:, :k], b.basis[:, :k]) > 1 - 1e-8


def test_patch_that_does_not_tile_raises():
    data = moments_of(random_data(0, 12), (1, 3, 4))
    with pytest.raises(ConfigError, match="does not tile"):
        optimal_linear_dae(data, MaskNoise(0.5, (2, 2)), 3)
    with pytest.raises(ConfigError, match="image shape"):
        optimal_linear_dae(moments_of(random_data(0, 12)), MaskNoise(0.5, (2, 2)), 3)


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(2, 10),
       noise_name=st.sampled_from(sorted(NOISES)))
def test_loss_identities(seed, d, noise_name):
    data = moments_of(random_data(seed, d))
    noise = NOISES[noise_name](d)
    m1, m2 = noise.moments(data)
    total = float(np.trace(data.gram))
    _, wiener_loss = unconstrained_optimum(data, noise)
    losses = []
    for k in range(1, d + 1):
        sol = optimal_linear_dae(data, noise, k)
        # the reported loss is the loss of the reported parameters
        assert expected_dae_loss(data.gram, m1, m2, sol.encoder, sol.decoder) == pytest.approx(
            sol.loss, abs=1e-9 * total)
        # and the stored loss curve agrees with the width-k solution
        assert sol.loss_curve()[k] == pytest.approx(sol.loss, abs=1e-12 * total)
        assert wiener_loss <= sol.loss + 1e-9 * total
        losses.append(sol.loss)
    curve = sol.loss_curve()
    assert curve[0] == pytest.approx(total)
    assert np.all(np.diff(curve) <= 1e-12 * total)  # non-increasing in K
    assert np.all(np.diff(losses) <= 1e-12 * total)
    # no bottleneck: the full-width DAE is the Wiener filter
    assert losses[-1] == pytest.approx(wiener_loss, abs=1e-8 * total)


def test_expected_loss_matches_monte_carlo_average():
    """expected_dae_loss is the average of ||x - W^T V^T x~||^2 summed over samples."""
    x = random_data(5, 6, n=10)
    data = moments_of(x)
    noise = MaskNoise(0.4)
    sol = optimal_linear_dae(data, noise, 3)
    m1, m2 = noise.moments(data)
    gen = torch.Generator().manual_seed(0)
    xt = torch.as_tensor(x)
    draws = [float(((xt - noise.sample(xt, generator=gen) @ torch.as_tensor(sol.encoder @ sol.decoder)) ** 2).sum())
             for _ in range(4000)]
    mean, se = np.mean(draws), np.std(draws) / np.sqrt(len(draws))
    assert abs(mean - expected_dae_loss(data.gram, m1, m2, sol.encoder, sol.decoder)) < 5 * se


def test_width_validation():
    data = moments_of(random_data(0, 4))
    with pytest.raises(ConfigError, match="K"):
        optimal_linear_dae(data, NoNoise(), 0)
    with pytest.raises(ConfigError, match="K"):
        optimal_linear_dae(data, NoNoise(), 5)


def test_solve_from_moments_with_singular_input_moment():
    """A constant pixel (zero row/column of G): the closed form lives in range(M2)."""
    x = random_data(2, 5)
    x[:, 2] = 0.0
    data = moments_of(x)
    sol = optimal_linear_dae(data, NoNoise(), 5)
    assert sol.eigenvalues.shape == (4,)  # rank of M2
    vals, _ = pca_top(data.gram, 5)
    assert sol.loss == pytest.approx(0.0, abs=1e-9 * vals.sum())
    sol3 = solve_from_moments(data.gram, data.gram, data.gram, 3)
    assert sol3.loss == pytest.approx(vals[3:].sum(), abs=1e-9 * vals.sum())


# ---------------------------------------------------------------------------------------------
# The bilinear (supervised + reconstruction) solution
# ---------------------------------------------------------------------------------------------


def one_hot_centred(labels: np.ndarray, c: int) -> np.ndarray:
    y = np.eye(c)[labels]
    return y - y.mean(axis=0, keepdims=True)


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(3, 10))
def test_bilinear_large_weight_is_pca(seed, d):
    rng = np.random.default_rng(seed)
    x = random_data(seed, d, n=60)
    y = one_hot_centred(rng.integers(0, 3, size=60), 3)
    vals, _ = pca_top(x.T @ x, d)
    for k in range(1, d):
        if relative_gap(vals, k) < 1e-2:
            continue
        sol = bilinear_solution(x, y, k, weight=1e8)
        assert subspace_overlap(sol.encoder, pca_top(x.T @ x, k)[1]) > 1 - 1e-6
        assert sol.reconstruction_error == pytest.approx(vals[k:].sum(), rel=1e-6, abs=1e-9 * vals.sum())


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(3, 10), c=st.integers(2, 6))
def test_bilinear_zero_weight_is_reduced_rank_regression(seed, d, c):
    """weight 0: supervised error = ||Y||^2 - (top-k singular values of Q^T Y)^2, X = Q R."""
    rng = np.random.default_rng(seed)
    x = random_data(seed, d, n=50)
    y = rng.normal(size=(50, c)) + x @ rng.normal(size=(d, c))
    qx, _ = np.linalg.qr(x)
    sv = np.linalg.svd(qx.T @ y, compute_uv=False)
    for k in range(1, d + 1):
        sol = bilinear_solution(x, y, k, weight=0.0)
        best = float(np.sum(y**2) - np.sum(sv[:k] ** 2))
        assert sol.supervised_error == pytest.approx(best, rel=1e-8, abs=1e-9 * np.sum(y**2))
        assert sol.objective == pytest.approx(sol.supervised_error)


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(3, 8), weight=st.floats(0.01, 100.0))
def test_bilinear_objective_is_minimal(seed, d, weight):
    rng = np.random.default_rng(seed)
    x = random_data(seed, d, n=40)
    y = one_hot_centred(rng.integers(0, 3, size=40), 3)
    k = max(1, d // 2)
    sol = bilinear_solution(x, y, k, weight)
    for _ in range(20):
        v = rng.normal(size=(d, k))
        f = x @ v
        sup = np.sum((y - f @ np.linalg.lstsq(f, y, rcond=None)[0]) ** 2)
        rec = np.sum((x - f @ np.linalg.lstsq(f, x, rcond=None)[0]) ** 2)
        assert sup + weight * rec >= sol.objective - 1e-9 * (np.sum(y**2) + weight * np.sum(x**2))


def test_same_reconstruction_different_supervised_error():
    """The paper's point, from the closed forms: a near tie in the spectrum at the cut-off.

    Data X = Z diag(s) U^T with orthonormal centred scores Z; the labels live entirely in the
    score of direction k+1 (0-based index k), whose variance is 0.1% below direction k's. The
    reconstruction-optimal encoder (bilinear, huge weight = PCA) keeps directions 1..k and explains
    none of the labels; the bilinear solution with weight 1 swaps direction k for k+1, paying
    0.1% of one eigenvalue in reconstruction and explaining all the label energy.
    """
    rng = np.random.default_rng(0)
    n, d, k = 400, 8, 3
    labels = rng.permutation(np.repeat([0, 1], n // 2))
    y = one_hot_centred(labels, 2)
    basis = np.column_stack([np.ones(n), y[:, 0], rng.normal(size=(n, d - 1))])
    q, _ = np.linalg.qr(basis)
    z = q[:, 1:]  # [n, d] orthonormal, centred; column 0 spans the labels
    z = np.column_stack([z[:, 1:k + 1], z[:, 0], z[:, k + 1:]])  # labels in column k
    lam = np.array([50.0, 40.0, 30.0, 29.97, 5.0, 4.0, 3.0, 2.0])
    u, _ = np.linalg.qr(rng.normal(size=(d, d)))
    x = z @ np.diag(np.sqrt(lam)) @ u.T

    pca_like = bilinear_solution(x, y, k, weight=1e8)
    joint = bilinear_solution(x, y, k, weight=1.0)
    # the reconstruction-optimal one is PCA: error = sum of the trailing eigenvalues
    assert pca_like.reconstruction_error == pytest.approx(lam[k:].sum(), rel=1e-9)
    assert joint.reconstruction_error == pytest.approx(lam[k:].sum() + lam[k - 1] - lam[k], rel=1e-9)
    # nearly the same reconstruction error (within 0.1%) ...
    assert abs(joint.reconstruction_error - pca_like.reconstruction_error) < 1e-3 * pca_like.reconstruction_error
    # ... but the PCA encoder explains none of the label energy and the joint one all of it.
    assert pca_like.supervised_error == pytest.approx(np.sum(y**2), rel=1e-9)
    assert joint.supervised_error < 1e-9 * np.sum(y**2)
    # and the independent closed form of the plain AE agrees with the PCA-like encoder
    ae = optimal_linear_dae(DataMoments(x.T @ x, n), NoNoise(), k)
    assert ae.loss == pytest.approx(pca_like.reconstruction_error, rel=1e-9)
    assert subspace_overlap(ae.encoder, pca_like.encoder) > 1 - 1e-9


def test_generalised_eigen_against_scipy():
    """The engine's eigen-solver agrees with scipy's dense generalised solver on a regular pencil."""
    data = moments_of(random_data(11, 7))
    m1, m2 = MaskNoise(0.5).moments(data)
    sol = optimal_linear_dae(data, MaskNoise(0.5), 7)
    ref = scipy.linalg.eigh(m1 @ m1.T, m2, eigvals_only=True)[::-1]
    np.testing.assert_allclose(sol.eigenvalues, ref, rtol=1e-8, atol=1e-12 * ref[0])
    np.testing.assert_allclose(sol.basis.T @ m2 @ sol.basis, np.eye(7), atol=1e-9)
