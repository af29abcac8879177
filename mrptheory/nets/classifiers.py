"""Supervised classifiers for the projection experiment (Balestriero & LeCun 2024, Sec. 3).

The paper trains the *same* classifier on images projected onto the top or the bottom principal
subspace and compares test accuracies. Two architectures, both taking images ``x: [B, C, H, W]``
and returning logits ``[B, num_classes]``:

* :class:`ResNet9` -- a ResNet-9-style CNN (conv-BN-ReLU blocks, two residual stages, global max
  pool), with a configurable base width so that it trains on a CPU (``width=16``) or at the
  paper's scale on a GPU (``width=64``).
* :class:`MLP` -- a 4-layer perceptron (3 hidden Linear-BN-ReLU layers whose widths taper linearly
  from the input size towards the number of classes, then a linear read-out).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mrptheory.validation import check_choice, check_int

ARCHS: tuple[str, ...] = ("mlp", "resnet9")


def _conv_block(c_in: int, c_out: int, pool: bool = False) -> nn.Sequential:
    """3x3 conv (same padding) -> BatchNorm -> ReLU [-> 2x2 max pool].

    ``[B, c_in, H, W] -> [B, c_out, H', W']`` (``H' = H // 2`` with the pool, else ``H``).
    """
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class ResNet9(nn.Module):
    """ResNet-9-style CNN: ``[B, C, H, W] -> [B, num_classes]``.

    Layout (w = ``width``): conv(w) -> conv(2w)+pool -> residual[conv(2w), conv(2w)]
    -> conv(4w)+pool -> conv(8w)+pool -> residual[conv(8w), conv(8w)] -> global max pool -> linear.
    Pools are skipped once the feature map is 1 pixel wide, so small images (e.g. 8x8) work too.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16,
                 image_size: int = 28) -> None:
        super().__init__()
        w = check_int("width", width, 1)
        size = image_size

        def pool_ok() -> bool:
            nonlocal size
            if size >= 2:
                size //= 2
                return True
            return False

        self.prep = _conv_block(in_channels, w)
        self.layer1 = _conv_block(w, 2 * w, pool=pool_ok())
        self.res1 = nn.Sequential(_conv_block(2 * w, 2 * w), _conv_block(2 * w, 2 * w))
        self.layer2 = _conv_block(2 * w, 4 * w, pool=pool_ok())
        self.layer3 = _conv_block(4 * w, 8 * w, pool=pool_ok())
        self.res2 = nn.Sequential(_conv_block(8 * w, 8 * w), _conv_block(8 * w, 8 * w))
        self.head = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                                  nn.Linear(8 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [B, C, H, W]`` -> logits ``[B, num_classes]``."""
        out = self.layer1(self.prep(x))
        out = out + self.res1(out)
        out = self.layer3(self.layer2(out))
        out = out + self.res2(out)
        return self.head(out)


class MLP(nn.Module):
    """4-layer perceptron on flattened images: ``[B, C, H, W] -> [B, num_classes]``.

    Hidden widths taper linearly from D = C*H*W to ``num_classes`` (e.g. 784 -> 590 -> 397 -> 203
    -> 10 for Fashion-MNIST), each hidden layer Linear (no bias) -> BatchNorm -> ReLU.
    ``max_width`` caps the hidden widths (keeps CPU runs small for 3x64x64 inputs).
    """

    def __init__(self, in_dim: int, num_classes: int, depth: int = 4,
                 max_width: int | None = None) -> None:
        super().__init__()
        depth = check_int("depth", depth, 1)
        widths = np.linspace(in_dim, num_classes, depth + 1).round().astype(int)
        hidden = [int(min(w, max_width) if max_width else w) for w in widths[1:-1]]
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = in_dim
        for h in hidden:
            layers += [nn.Linear(fan_in, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(inplace=True)]
            fan_in = h
        layers.append(nn.Linear(fan_in, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [B, C, H, W]`` (or ``[B, D]``) -> logits ``[B, num_classes]``."""
        return self.net(x)


def build_classifier(arch: str, image_shape: tuple[int, int, int], num_classes: int,
                     width: int = 16, max_width: int | None = None) -> nn.Module:
    """The classifier named ``arch`` (one of :data:`ARCHS`) for images of shape ``(C, H, W)``.

    ``width`` is the ResNet-9 base width (paper: 64); ``max_width`` caps the MLP's hidden widths.
    """
    arch = check_choice("arch", arch, ARCHS)
    c, h, w = image_shape
    if arch == "mlp":
        return MLP(c * h * w, num_classes, depth=4, max_width=max_width)
    return ResNet9(c, num_classes, width=width, image_size=min(h, w))
