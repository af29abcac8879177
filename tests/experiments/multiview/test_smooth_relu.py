"""The smoothed ReLU: closed-form derivative against autograd, continuity, regimes."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mrptheory.errors import ConfigError
from mrptheory.experiments.multiview.smooth_relu import (check_activation, smooth_relu,
                                                         smooth_relu_grad, smooth_relu_reference)


@settings(max_examples=30, deadline=None)
@given(q=st.integers(3, 8), rho=st.floats(0.01, 2.0))
def test_derivative_matches_autograd(q, rho):
    z = torch.linspace(-2 * rho, 3 * rho, 401, dtype=torch.float64, requires_grad=True)
    smooth_relu_reference(z, q, rho).sum().backward()
    assert torch.allclose(z.grad, smooth_relu_grad(z.detach(), q, rho), atol=1e-10)
    z2 = z.detach().clone().requires_grad_(True)
    out = smooth_relu(z2, q, rho)
    out.sum().backward()
    assert torch.allclose(out, smooth_relu_reference(z.detach(), q, rho), atol=1e-12)
    assert torch.allclose(z2.grad, z.grad, atol=1e-10)


def test_gradcheck_custom_function():
    z = (torch.randn(50, dtype=torch.float64) * 0.3).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: smooth_relu(t, 4, 0.2), (z,))


@pytest.mark.parametrize("q, rho", [(3, 0.1), (4, 0.2), (6, 1.0)])
def test_regimes_and_continuity(q, rho):
    z = torch.tensor([-1.0, 0.0, rho / 2, rho, 2 * rho], dtype=torch.float64)
    a = smooth_relu(z, q, rho)
    assert a[0] == 0 and a[1] == 0
    assert a[2] == pytest.approx((rho / 2) ** q / (q * rho ** (q - 1)))
    assert a[4] == pytest.approx(2 * rho - (1 - 1 / q) * rho)
    eps = 1e-7
    left = smooth_relu(torch.tensor([rho - eps], dtype=torch.float64), q, rho)
    right = smooth_relu(torch.tensor([rho + eps], dtype=torch.float64), q, rho)
    assert abs(float(left - right)) < 1e-6  # continuous at rho
    g = smooth_relu_grad(torch.tensor([rho - eps, rho + eps], dtype=torch.float64), q, rho)
    assert abs(float(g[0] - g[1])) < 1e-5  # derivative continuous at rho


def test_activation_validation():
    with pytest.raises(ConfigError, match="q must be"):
        check_activation(2, 0.1)
    with pytest.raises(ConfigError, match="rho must be"):
        check_activation(4, 0.0)
