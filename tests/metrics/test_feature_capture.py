"""Feature-capture metrics on hand-built kernels and features."""

from __future__ import annotations

import math

import pytest
import torch

import numpy as np

from mrptheory.metrics.feature_capture import (accuracy, captured_views_per_class,
                                               kernel_assignment, lottery_hit_rate,
                                               lottery_prediction, max_feature_correlations,
                                               mrp_summary, sl_summary, sl_view_correlations)


def _basis(k: int, d: int) -> torch.Tensor:
    return torch.eye(d)[: 2 * k].unsqueeze(0)  # [1, 2k, d]


def test_sl_view_correlations_and_counts():
    k, m, d = 3, 2, 8
    V = _basis(k, d)
    w = torch.zeros(1, k, m, d)
    w[0, 0, 0, 0] = 1.0  # class 0 kernel 0 captures view 0
    w[0, 0, 1, 1] = 0.02  # class 0 view 1 near init
    w[0, 1, 0, 2], w[0, 1, 1, 3] = 0.9, 0.8  # class 1 both views
    w[0, 2, 0, 0] = 5.0  # class 2 kernel aligned with class 0's feature: not its own view
    c = sl_view_correlations(w, V)
    assert c.shape == (1, k, 2)
    assert torch.allclose(c[0, 0], torch.tensor([1.0, 0.02]))
    counts = captured_views_per_class(c, 0.5)
    assert counts.tolist() == [[1, 2, 0]]


def test_lottery_prediction_and_hit_rate():
    init = torch.tensor([[[0.03, 0.01], [0.01, 0.02], [-0.5, 0.01]]])
    final = torch.tensor([[[1.5, 0.02], [1.2, 0.03], [0.01, 1.0]]])
    assert lottery_prediction(init).tolist() == [[0, 1, 1]]
    assert math.isclose(float(lottery_hit_rate(init, final)[0]), 2 / 3, rel_tol=1e-6)
    mask = torch.tensor([[True, True, False]])
    assert float(lottery_hit_rate(init, final, mask)[0]) == 0.5
    assert torch.isnan(lottery_hit_rate(init, final, torch.zeros(1, 3, dtype=torch.bool))[0])


def test_kernel_assignment_detects_double_capture():
    corr = torch.tensor([[[0.9, 0.1, 0.0, 0.0],
                          [0.0, 0.7, 0.6, 0.0],
                          [0.0, 0.0, 0.1, 0.2]]])
    a = kernel_assignment(corr, 0.5)
    assert a["best"].tolist() == [[0, 1, 3]]
    assert a["n_captured"].tolist() == [[1, 2, 0]]
    assert a["multi"].tolist() == [1]
    assert a["captured"].tolist() == [[True, True, True, False]]


def test_max_feature_correlations_and_accuracy():
    V = _basis(2, 6)
    w = torch.zeros(1, 3, 6)
    w[0, 0, 0], w[0, 1, 0], w[0, 2, 3] = 0.4, 0.8, -1.0
    assert torch.allclose(max_feature_correlations(w, V), torch.tensor([[0.8, 0.0, 0.0, 0.0]]))
    logits = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])
    assert math.isclose(float(accuracy(logits, torch.tensor([[0, 1, 1]]))[0]), 2 / 3, rel_tol=1e-6)


def test_lottery_resolution_bins_classes_by_initial_ratio():
    from mrptheory.metrics.feature_capture import lottery_resolution

    init = torch.tensor([[[1.0, 1.02], [1.0, 3.0], [2.0, 1.0], [-1.0, 0.5], [-1.0, -2.0]]])
    final = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [0.0, 2.0], [0.0, 1.0], [1.0, 0.0]]])
    r = lottery_resolution(init, final, edges=(1.0, 1.1, 2.5, float("inf")))
    # ratio 1.02 -> bin 0 (miss); 3.0 -> bin 2 (hit); 2.0 -> bin 1 (miss); inf -> bin 2 (hit);
    # both negative -> skipped
    assert r["counts"] == [1, 1, 2]
    assert r["hits"] == [0, 0, 2]


def test_sl_summary_on_a_hand_built_history():
    """Class 0 captures view 1 (predicted at init), class 1 both views, class 2 none."""
    init = np.array([[[0.01, 0.02], [0.03, 0.01], [0.02, 0.01]]], dtype=np.float32)  # [S=1, k, 2]
    final = np.array([[[0.05, 1.2], [0.9, 0.8], [0.1, 0.2]]], dtype=np.float32)
    s = sl_summary(np.stack([init, final]), threshold=0.5)
    assert s["captured_views_per_class"] == [[1, 2, 0]]
    assert s["frac_classes_one_view"] == [pytest.approx(1 / 3)]
    assert s["frac_classes_two_views"] == [pytest.approx(1 / 3)]
    assert s["frac_classes_no_view"] == [pytest.approx(1 / 3)]
    assert s["lottery_prediction"] == [[1, 0, 0]]
    assert s["lottery_hit_rate_one_view"] == [1.0]


def test_mrp_summary_on_hand_built_correlations():
    """k = 2 (4 features), 3 kernels: kernel 0 holds class 0's two views, kernel 1 feature 2;
    feature 3 is never captured; fine-tuning loses feature 2."""
    final_corr = np.array([[[0.9, 0.8, 0.0, 0.1],
                            [0.0, 0.1, 0.7, 0.0],
                            [0.1, 0.0, 0.0, 0.2]]], dtype=np.float32)  # [S=1, R=3, 2k=4]
    ft = np.array([[[0.9, 0.8, 0.7, 0.2]], [[0.9, 0.8, 0.3, 0.2]]], dtype=np.float32)
    acc = np.array([0.9], dtype=np.float32)
    s = mrp_summary(final_corr, ft, acc, acc / 2, np.array([[0.5], [1.0]]),
                    np.array([[0.25], [0.75]]), threshold=0.5)
    assert s["frac_features_captured"] == [pytest.approx(0.75)]
    assert s["captured_views_per_class"] == [[2, 1]]
    assert s["kernels_capturing_two_or_more"] == [1]
    assert s["multi_kernels_same_class"] == [1]
    assert s["kernels_capturing_any"] == [2]
    assert s["features_captured_before_ft"] == [3]
    assert s["features_captured_after_ft"] == [2]
    assert s["features_lost_in_finetune"] == [1]
    assert s["ft_acc_multi"] == [1.0] and s["ft_acc_single"] == [0.75]
    assert s["probe_acc_single"] == [pytest.approx(0.45)]
