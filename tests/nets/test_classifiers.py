"""The projection experiment's classifiers: shapes, widths, and argument validation."""

from __future__ import annotations

import pytest
import torch


from mrptheory.errors import ConfigError
from mrptheory.nets.classifiers import MLP, ResNet9, build_classifier


@pytest.mark.parametrize("arch", ["mlp", "resnet9"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 8, 8), (3, 32, 32)])
def test_logits_shape(arch: str, shape: tuple[int, int, int]) -> None:
    model = build_classifier(arch, shape, num_classes=7, width=4)
    out = model(torch.randn(5, *shape))
    assert out.shape == (5, 7)
    assert torch.isfinite(out).all()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_mlp_has_four_linear_layers_with_tapering_widths() -> None:
    model = MLP(784, 10)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 4
    widths = [m.out_features for m in linears]
    assert widths == sorted(widths, reverse=True) and widths[-1] == 10
    capped = MLP(784, 10, max_width=100)
    assert max(m.out_features for m in capped.modules() if isinstance(m, torch.nn.Linear)) <= 100


def test_resnet9_has_two_residual_stages_and_scales_with_width() -> None:
    small, big = ResNet9(3, 10, width=4), ResNet9(3, 10, width=8)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(big) > 3 * count(small)
    assert len(small.res1) == 2 and len(small.res2) == 2


def test_unknown_arch_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="arch must be one of"):
        build_classifier("vgg", (1, 8, 8), 10)
