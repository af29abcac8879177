"""Feature-capture metrics on hand-built kernels and features."""

from __future__ import annotations

import math

import torch

from mrptheory.metrics.feature_capture import (accuracy, captured_views_per_class,
                                               kernel_assignment, lottery_hit_rate,
                                               lottery_prediction, max_feature_correlations,
                                               sl_view_correlations)


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
