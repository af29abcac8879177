"""The smoothed ReLU of Allen-Zhu & Li (arXiv 2012.09816, Sec. 4.1), used by Pan et al. (Sec. 3).

    act(z) = 0                          for z <= 0
    act(z) = z^q / (q rho^(q-1))        for 0 <= z <= rho
    act(z) = z - (1 - 1/q) rho          for z >= rho

It is continuous with a continuous derivative act'(z) = (z/rho)^(q-1) on [0, rho] and 1 above.
Below the threshold rho the activation is a degree-q polynomial: a weak correlation z gives an
output of order z^q, which is what makes feature learning a "lottery" -- the feature with the
largest initial correlation grows fastest (growth rate ~ z^(q-1)) and wins.
"""

from __future__ import annotations

import torch

from mrptheory.validation import check_float, check_int


def smooth_relu_reference(z: torch.Tensor, q: int, rho: float) -> torch.Tensor:
    """Plain-torch smoothed ReLU (differentiable by autograd); the reference for tests."""
    zc = z.clamp(min=0.0, max=rho)
    poly = zc.pow(q) / (q * rho ** (q - 1))
    return torch.where(z >= rho, z - (1.0 - 1.0 / q) * rho, poly)


def smooth_relu_grad(z: torch.Tensor, q: int, rho: float) -> torch.Tensor:
    """act'(z): 0 for z <= 0, (z/rho)^(q-1) on [0, rho], 1 above. Same shape as ``z``."""
    zc = z.clamp(min=0.0, max=rho)
    return torch.where(z >= rho, torch.ones_like(z), (zc / rho).pow(q - 1))


class _SmoothReLU(torch.autograd.Function):
    """act(z) with the closed-form derivative (saves one pow in backward)."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, q: int, rho: float) -> torch.Tensor:  # type: ignore[override]
        t = (z * (1.0 / rho)).clamp_(0.0, 1.0)  # z/rho clipped to [0, 1]
        grad = t.pow(q - 1)  # act'(z) on [0, rho] (and 0 below 0)
        lin = z >= rho
        grad = grad.masked_fill_(lin, 1.0)
        out = torch.where(lin, z - (1.0 - 1.0 / q) * rho, grad * t * (rho / q))
        ctx.save_for_backward(grad)
        return out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        (grad,) = ctx.saved_tensors
        return grad_out * grad, None, None


def smooth_relu(z: torch.Tensor, q: int = 4, rho: float = 0.1) -> torch.Tensor:
    """Smoothed ReLU act(z) elementwise (any shape), with the closed-form derivative."""
    return _SmoothReLU.apply(z, q, rho)


def check_activation(q: object, rho: object) -> tuple[int, float]:
    """Validate (q, rho): q >= 3 integer (Allen-Zhu & Li), rho > 0."""
    return check_int("q", q, 3, 32), check_float("rho", rho, 0.0, None, low_open=True)
