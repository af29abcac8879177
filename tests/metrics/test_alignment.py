"""Task-alignment metric (``mrptheory.metrics.alignment``) and alignment studies on real data.

* The Gram form (``alignment_curve``: Cholesky of ``V^T G V``) equals its empirical twin (QR of
  the feature matrix ``X V``), also for rank-deficient data (constant and duplicated pixels).
* Alignment is non-decreasing in K and reaches 100 at full width.
* Labels that are an exact linear function of one principal direction make the alignment jump
  from 0 to 100 exactly at that direction's index.
* On Fashion-MNIST: Gaussian noise leaves the alignment unchanged at every K; masking changes it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrptheory.linear.eigen import generalised_eigen
from mrptheory.linear.moments import DataMoments, label_cross_moment
from mrptheory.linear.noise import MaskNoise, NoNoise
from mrptheory.linear.pca import PCABasis
from mrptheory.metrics.alignment import (
    alignment_curve,
    alignment_curve_from_features,
    label_energy_profile,
    subspace_overlap,
)

PROPERTY = settings(max_examples=25, deadline=None)


@st.composite
def labelled_data(draw):
    """Centred data ``[N, D]`` (maybe with constant / duplicated pixels) and labels ``[N]``."""
    seed = draw(st.integers(0, 10_000))
    d = draw(st.integers(2, 12))
    n = draw(st.integers(d + 2, 4 * d + 10))
    c = draw(st.integers(2, 5))
    defect = draw(st.sampled_from(["none", "constant", "duplicate", "both", "low-rank"]))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * np.exp(rng.uniform(-1.5, 1.5, size=d))
    labels = rng.permutation(np.arange(n) % c)  # every class present
    x[:, 0] += 0.8 * labels  # some label signal
    if defect in ("constant", "both"):
        x[:, d - 1] = 3.0
    if defect in ("duplicate", "both") and d >= 3:
        x[:, 1] = x[:, 0]
    if defect == "low-rank":
        x = x[:, : max(1, d // 2)] @ rng.normal(size=(max(1, d // 2), d))
    x = x - x.mean(axis=0, keepdims=True)
    return x, labels, c


def bases_for(x: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Encoder bases to test the metric on: PCA, a pixel-mask DAE, and an arbitrary basis."""
    data = DataMoments(x.T @ x, x.shape[0])
    m1, m2 = MaskNoise(0.5).moments(data)
    return {
        "pca": generalised_eigen(*NoNoise().moments(data)).vectors,
        "mask": generalised_eigen(m1, m2).vectors,
        "random": rng.normal(size=(x.shape[1], x.shape[1])),
    }


@PROPERTY
@given(case=labelled_data())
def test_gram_form_equals_qr_twin(case):
    x, labels, c = case
    gram = x.T @ x
    cross = label_cross_moment(x, labels, c)
    counts = np.bincount(labels, minlength=c)
    for name, basis in bases_for(x, np.random.default_rng(0)).items():
        for weighting, weights in (("none", None), ("count", counts)):
            gram_curve = alignment_curve(gram, cross, basis, weights=weights)
            qr_curve = alignment_curve_from_features(x @ basis, labels, c, class_weighting=weighting)
            r = basis.shape[1]
            assert gram_curve.shape == (x.shape[1],)
            np.testing.assert_allclose(gram_curve[:r], qr_curve, atol=1e-6, err_msg=f"{name} {weighting}")
            # padded beyond the basis width with the last value
            np.testing.assert_array_equal(gram_curve[r:], gram_curve[r - 1])


@PROPERTY
@given(case=labelled_data())
def test_gram_form_equals_least_squares_prefix_energy(case):
    """e_1 + ... + e_j is the label energy a least-squares read-out of the first j features
    explains -- also when a basis column in the middle repeats an earlier one."""
    x, labels, c = case
    gram = x.T @ x
    cross = label_cross_moment(x, labels, c)
    y = np.eye(c)[labels]
    bases = bases_for(x, np.random.default_rng(2))
    rnd = bases["random"]
    bases["repeated-middle"] = np.column_stack([rnd[:, :2], rnd[:, :1], rnd[:, 2:]])
    for name, basis in bases.items():
        cumulative = np.cumsum(label_energy_profile(gram, cross, basis))
        feats = x @ basis
        truth = np.array([_explained_energy(feats[:, :j], y) for j in range(1, basis.shape[1] + 1)])
        np.testing.assert_allclose(cumulative, truth, rtol=1e-6, atol=1e-9 * max(truth[-1], 1.0),
                                   err_msg=name)


@PROPERTY
@given(case=labelled_data())
def test_alignment_monotone_and_complete(case):
    x, labels, c = case
    gram = x.T @ x
    cross = label_cross_moment(x, labels, c)
    for name, basis in bases_for(x, np.random.default_rng(1)).items():
        energy = label_energy_profile(gram, cross, basis)
        assert np.all(energy >= -1e-12), name
        curve = alignment_curve(gram, cross, basis)
        assert np.all(np.diff(curve) >= -1e-9), name
        if np.sum(cross**2) > 1e-12 * np.sum(gram**2) ** 0.5:
            assert curve[-1] == pytest.approx(100.0, abs=1e-9), name
        # total label energy = ||P_X Y||_F^2, the least-squares explainable label energy
        y = np.eye(c)[labels]
        explained = np.sum((x @ np.linalg.lstsq(x, y, rcond=None)[0]) ** 2)
        assert energy.sum() == pytest.approx(explained, rel=1e-6, abs=1e-9), name


def _explained_energy(features: np.ndarray, y: np.ndarray) -> float:
    if features.shape[1] == 0:
        return 0.0
    return float(np.sum((features @ np.linalg.lstsq(features, y, rcond=None)[0]) ** 2))


def _dependent_middle_case():
    """Features (a, a, b): the second is a copy of the first; the labels live mostly in b."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=50)
    x = rng.normal(size=(50, 3))
    x[:, 2] += 2 * labels
    x = x - x.mean(axis=0)
    basis = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # columns e1, e1, e3
    y = np.eye(2)[labels]
    feats = x @ basis
    energy = np.array([_explained_energy(feats[:, :j], y) for j in range(1, 4)])
    return x, labels, basis, 100 * np.sqrt(energy / energy[-1])


def test_gram_form_with_a_dependent_feature_in_the_middle():
    """Reference: least-squares explained label energy of each prefix of the features."""
    x, labels, basis, truth = _dependent_middle_case()
    curve = alignment_curve(x.T @ x, label_cross_moment(x, labels, 2), basis)
    np.testing.assert_allclose(curve, truth, atol=1e-9)


def test_qr_twin_with_a_dependent_feature_in_the_middle():
    x, labels, basis, truth = _dependent_middle_case()
    np.testing.assert_allclose(alignment_curve_from_features(x @ basis, labels, 2, "none"), truth,
                               atol=1e-6)


def test_alignment_without_label_signal_is_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    x = x - x.mean(axis=0)
    labels = np.zeros(5, dtype=int)  # one class: Y^T X = 1^T X = 0 up to round-off
    curve = alignment_curve(x.T @ x, label_cross_moment(x, labels, 2), np.eye(3), n_samples=5)
    np.testing.assert_allclose(curve, 0.0, atol=1e-6)


def data_with_label_direction(seed: int, n: int, d: int, j: int):
    """X = Z diag(s) U^T with centred orthonormal scores Z and distinct s; the (binary) labels'
    centred indicator is exactly the score of principal direction j (0-based)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2)
    indicator = labels - labels.mean()
    q, _ = np.linalg.qr(np.column_stack([np.ones(n), indicator, rng.normal(size=(n, d - 1))]))
    z = q[:, 1:]                     # column 0 spans the labels
    order = list(range(1, d))
    order.insert(j, 0)               # put the label score at position j
    z = z[:, order]
    s = np.linspace(3.0, 1.0, d)     # distinct, decreasing
    u, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return z @ np.diag(s) @ u.T, labels


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(2, 10), j_frac=st.floats(0, 0.999))
def test_alignment_jumps_at_the_label_direction(seed, d, j_frac):
    j = int(j_frac * d)
    x, labels = data_with_label_direction(seed, 60, d, j)
    gram = x.T @ x
    basis = PCABasis.from_second_moment(gram).eigenvectors
    curve = alignment_curve(gram, label_cross_moment(x, labels, 2), basis)
    expected = np.where(np.arange(1, d + 1) >= j + 1, 100.0, 0.0)
    np.testing.assert_allclose(curve, expected, atol=1e-5)
    np.testing.assert_allclose(alignment_curve_from_features(x @ basis, labels, 2), expected, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# subspace_overlap
# ---------------------------------------------------------------------------------------------


@PROPERTY
@given(seed=st.integers(0, 10_000), d=st.integers(2, 12), k_frac=st.floats(0.0, 1.0))
def test_subspace_overlap_properties(seed, d, k_frac):
    rng = np.random.default_rng(seed)
    k = max(1, int(k_frac * d))
    a = rng.normal(size=(d, k))
    mix = rng.normal(size=(k, k)) + 3 * np.eye(k)  # invertible change of basis
    assert subspace_overlap(a, a @ mix) == pytest.approx(1.0, abs=1e-9)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    if k < d:
        assert subspace_overlap(q[:, :k], q[:, k:]) == pytest.approx(0.0, abs=1e-12)
    b = rng.normal(size=(d, max(1, d - k)))
    ab, ba = subspace_overlap(a, b), subspace_overlap(b, a)
    assert ab == pytest.approx(ba, abs=1e-12)
    assert -1e-12 <= ab <= 1 + 1e-12
    # containment: a span inside a bigger one has overlap 1
    assert subspace_overlap(q[:, :1], q[:, : max(1, k)]) == pytest.approx(1.0, abs=1e-12)


def test_subspace_overlap_half():
    """span(e1, e2) vs span(e1, e3): cosines 1 and 0 -> mean squared cosine 1/2."""
    e = np.eye(4)
    assert subspace_overlap(e[:, [0, 1]], e[:, [0, 2]]) == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fashion_study(fashion_mnist):
    from mrptheory.linear.alignment import alignment_study, dataset_moments

    data = dataset_moments(fashion_mnist.train, max_samples=5000, seed=0)
    study = alignment_study(data, ["gaussian:1", "mask:0.5:1x1", "mask:0.75:2x2"],
                            dataset="fashion-mnist", show_progress=False)
    return data, study


@pytest.mark.realdata
def test_fashion_mnist_gaussian_impact_is_zero(fashion_study):
    _, study = fashion_study
    change = study.curves["gaussian:1"] - study.baseline
    assert np.max(np.abs(change)) < 1e-8


@pytest.mark.realdata
def test_fashion_mnist_gaussian_impact_is_zero_in_the_resolved_range(fashion_study):
    """Where the Gaussian eigenvalues are well resolved in float64 (mu_K > 1e-9 mu_1, seven orders
    of magnitude above round-off) the curves agree to 1e-8 percentage points."""
    data, study = fashion_study
    lam = np.linalg.eigvalsh(data.gram)[::-1]
    mu = lam**2 / (lam + data.n_samples)
    resolved = int(np.sum(mu > 1e-9 * mu[0]))
    assert resolved > 700
    change = (study.curves["gaussian:1"] - study.baseline)[:resolved]
    assert np.max(np.abs(change)) < 1e-8
    assert np.nanmax(np.abs(study.impact("gaussian:1")[:resolved])) < 1e-8


@pytest.mark.realdata
def test_fashion_mnist_masking_changes_alignment(fashion_study):
    _, study = fashion_study
    for name in ("mask:0.5:1x1", "mask:0.75:2x2"):
        change = study.curves[name] - study.baseline
        assert np.max(np.abs(change)) > 0.1, name
    # every curve is a valid alignment curve
    for curve in [study.baseline, *study.curves.values()]:
        assert np.all(np.diff(curve) >= -1e-9)
        assert curve[-1] == pytest.approx(100.0, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Class weighting: the authors' ||Y Y^T Q||^2 ("count") vs ||Y^T Q||^2 ("none")
# ---------------------------------------------------------------------------------------------


def _three_class_case():
    """N = 4, labels (0, 0, 1, 2) -> counts (2, 1, 1); the features are already orthonormal and
    centred: q1 = (1, 1, -1, -1)/2, q2 = (1, -1, 1, -1)/2.

    By hand: Y^T q1 = (1, -1/2, -1/2), Y^T q2 = (0, 1/2, -1/2).
    none:  e = (1 + 1/4 + 1/4, 0 + 1/4 + 1/4) = (3/2, 1/2)      -> A_1 = 100 sqrt(3/4)
    count: e = (2*1 + 1/4 + 1/4, 2*0 + 1/4 + 1/4) = (5/2, 1/2) -> A_1 = 100 sqrt(5/6)
    """
    x = 0.5 * np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    return x, np.array([0, 0, 1, 2])


HAND = {"none": [100 * np.sqrt(3 / 4), 100.0], "count": [100 * np.sqrt(5 / 6), 100.0]}


@pytest.mark.parametrize("weighting", ["none", "count"])
def test_class_weighting_hand_computed_gram_and_qr(weighting):
    from mrptheory.linear.alignment import noise_alignment_curve

    x, labels = _three_class_case()
    np.testing.assert_allclose(alignment_curve_from_features(x, labels, 3, weighting), HAND[weighting],
                               atol=1e-12)
    data = DataMoments.from_data(x, labels, 3, image_shape=(1, 1, 2))
    weights = None if weighting == "none" else np.bincount(labels)
    np.testing.assert_allclose(alignment_curve(data.gram, data.label_cross, np.eye(2), 4, weights),
                               HAND[weighting], atol=1e-12)
    # through the closed-form study path: the noiseless (PCA) basis, read by its QR twin
    curve = noise_alignment_curve(data, NoNoise(), weighting)
    basis = generalised_eigen(*NoNoise().moments(data)).vectors
    np.testing.assert_allclose(curve, alignment_curve_from_features(x @ basis, labels, 3, weighting),
                               atol=1e-9)


def test_class_weighting_matches_the_authors_definition_directly():
    """count weighting == ||Y Y^T Q[:, :j]||_F^2 computed literally (imbalanced, 3 classes)."""
    rng = np.random.default_rng(3)
    labels = np.array([0] * 7 + [1] * 2 + [2] * 3)
    x = rng.normal(size=(12, 4)) + 0.7 * labels[:, None]
    x -= x.mean(axis=0)
    q, _ = np.linalg.qr(x)
    y = np.eye(3)[labels]
    e = np.array([np.sum((y @ y.T @ q[:, :j]) ** 2) for j in range(1, 5)])
    np.testing.assert_allclose(alignment_curve_from_features(x, labels, 3, "count"),
                               100 * np.sqrt(e / e[-1]), atol=1e-10)
    assert not np.allclose(alignment_curve_from_features(x, labels, 3, "none"),
                           100 * np.sqrt(e / e[-1]), atol=1e-3)


@PROPERTY
@given(seed=st.integers(0, 10_000), c=st.integers(2, 5), per_class=st.integers(2, 6),
       d=st.integers(2, 8))
def test_balanced_labels_give_identical_weightings(seed, c, per_class, d):
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(c), per_class))
    x = rng.normal(size=(len(labels), d)) + 0.5 * labels[:, None]
    x -= x.mean(axis=0)
    data = DataMoments.from_data(x, labels, c)
    basis = rng.normal(size=(d, d))
    a = alignment_curve(data.gram, data.label_cross, basis, len(labels), data.class_counts)
    b = alignment_curve(data.gram, data.label_cross, basis, len(labels))
    np.testing.assert_allclose(a, b, atol=1e-9)
    np.testing.assert_allclose(alignment_curve_from_features(x @ basis, labels, c, "count"),
                               alignment_curve_from_features(x @ basis, labels, c, "none"), atol=1e-9)


def test_two_classes_never_depend_on_the_weighting():
    """With 2 classes the centred label signal is one-dimensional (y_1 - n_1/N = -(y_0 - n_0/N)),
    so row 1 of Y^T Q is minus row 0 and both weightings scale every e_j by the same factor."""
    rng = np.random.default_rng(0)
    labels = np.array([0] * 9 + [1] * 3)
    x = rng.normal(size=(12, 5)) + labels[:, None]
    x -= x.mean(axis=0)
    np.testing.assert_allclose(alignment_curve_from_features(x, labels, 2, "count"),
                               alignment_curve_from_features(x, labels, 2, "none"), atol=1e-9)


def test_unknown_class_weighting_is_rejected():
    from mrptheory.errors import ConfigError
    from mrptheory.linear.alignment import alignment_study

    x, labels = _three_class_case()
    with pytest.raises(ConfigError, match="class"):
        alignment_curve_from_features(x, labels, 3, "size")
    with pytest.raises(ConfigError, match="class counts"):
        alignment_study(DataMoments(x.T @ x, 4, None, label_cross_moment(x, labels, 3)), [])
