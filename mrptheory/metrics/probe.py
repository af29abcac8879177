"""Linear-probe accuracy of features: how much label information a *linear* read-out finds.

Two probes with the same call shape ``(train_features, train_labels, test_features,
test_labels) -> accuracy``:

* :func:`ridge_probe_accuracy` -- closed-form ridge regression onto one-hot labels, then argmax.
  Deterministic and fast; the probe used by the closed-form (linear) experiments.
* :func:`logistic_probe_accuracy` -- multinomial logistic regression trained full-batch with
  L-BFGS in torch (the standard "linear probe" of the self-supervised literature).
* :func:`mlp_probe_accuracy` -- a deep (one-hidden-layer ReLU MLP) probe trained full-batch with
  Adam: it finds label information that is present but not linearly separable, so "the features
  carry the labels" is not judged by the linear read-out alone.
"""

from __future__ import annotations

import numpy as np
import torch

from mrptheory.errors import ConfigError


def _check_shapes(ftr: np.ndarray, ytr: np.ndarray, fte: np.ndarray, yte: np.ndarray) -> None:
    if ftr.ndim != 2 or fte.ndim != 2 or ftr.shape[1] != fte.shape[1]:
        raise ConfigError(
            f"features must be [N, K] with equal K; got train {ftr.shape}, test {fte.shape}"
        )
    if ytr.shape != (ftr.shape[0],) or yte.shape != (fte.shape[0],):
        raise ConfigError("labels must be [N] and match the number of feature rows")


def ridge_probe_accuracy(train_features: np.ndarray, train_labels: np.ndarray,
                         test_features: np.ndarray, test_labels: np.ndarray,
                         ridge: float = 1e-3, num_classes: int | None = None) -> float:
    """Accuracy of argmax of the ridge least-squares map from features to one-hot labels.

    Solves ``min_B ||Y - [F, 1] B||^2 + ridge * tr(F^T F)/K * ||B||^2`` (features standardised by
    the train mean; ridge relative to the mean feature energy so it is scale-free).
    Shapes: features ``[N, K]``, labels ``[N]`` ints.
    """
    ftr = np.asarray(train_features, dtype=np.float64)
    fte = np.asarray(test_features, dtype=np.float64)
    ytr = np.asarray(train_labels)
    yte = np.asarray(test_labels)
    _check_shapes(ftr, ytr, fte, yte)
    c = int(num_classes or max(ytr.max(), yte.max()) + 1)
    mean = ftr.mean(axis=0, keepdims=True)
    ftr, fte = ftr - mean, fte - mean
    y = np.eye(c)[ytr]
    y_mean = y.mean(axis=0, keepdims=True)
    gram = ftr.T @ ftr
    k = gram.shape[0]
    scale = np.trace(gram) / max(k, 1)
    coef = np.linalg.solve(gram + ridge * max(scale, 1e-12) * np.eye(k), ftr.T @ (y - y_mean))
    pred = np.argmax(fte @ coef + y_mean, axis=1)
    return float(np.mean(pred == yte))


def logistic_probe_accuracy(train_features: np.ndarray | torch.Tensor,
                            train_labels: np.ndarray | torch.Tensor,
                            test_features: np.ndarray | torch.Tensor,
                            test_labels: np.ndarray | torch.Tensor,
                            weight_decay: float = 1e-4, max_iter: int = 200,
                            num_classes: int | None = None,
                            device: str | torch.device = "cpu") -> float:
    """Accuracy of a multinomial logistic regression on standardised features (full-batch L-BFGS).

    Minimises mean cross-entropy + ``weight_decay * ||W||^2``; deterministic for given inputs.
    """
    def as_tensor(a, dtype):
        return torch.as_tensor(np.asarray(a) if not torch.is_tensor(a) else a, dtype=dtype,
                               device=device)

    ftr, fte = as_tensor(train_features, torch.float32), as_tensor(test_features, torch.float32)
    ytr, yte = as_tensor(train_labels, torch.long), as_tensor(test_labels, torch.long)
    _check_shapes(ftr.cpu().numpy(), ytr.cpu().numpy(), fte.cpu().numpy(), yte.cpu().numpy())
    c = int(num_classes or max(int(ytr.max()), int(yte.max())) + 1)
    mean, std = ftr.mean(0, keepdim=True), ftr.std(0, keepdim=True).clamp_min(1e-6)
    ftr, fte = (ftr - mean) / std, (fte - mean) / std
    linear = torch.nn.Linear(ftr.shape[1], c).to(device)
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    opt = torch.optim.LBFGS(linear.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(ftr), ytr)
        loss = loss + weight_decay * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float((linear(fte).argmax(1) == yte).float().mean())


def mlp_probe_accuracy(train_features: np.ndarray | torch.Tensor,
                       train_labels: np.ndarray | torch.Tensor,
                       test_features: np.ndarray | torch.Tensor,
                       test_labels: np.ndarray | torch.Tensor,
                       hidden: int = 128, steps: int = 200, lr: float = 5e-3,
                       weight_decay: float = 1e-4, seed: int = 0,
                       num_classes: int | None = None) -> float:
    """Accuracy of a one-hidden-layer MLP probe (standardise -> Linear -> ReLU -> Linear).

    Trained full-batch for a fixed ``steps`` Adam steps on mean cross-entropy (weight decay on the
    weights), from a seeded initialisation, so the result is deterministic for given inputs and
    the probe's budget does not depend on the encoder it reads. Shapes: features ``[N, K]``,
    labels ``[N]`` ints.
    """
    def as_tensor(a, dtype):
        return torch.as_tensor(np.asarray(a) if not torch.is_tensor(a) else a, dtype=dtype)

    ftr, fte = as_tensor(train_features, torch.float32), as_tensor(test_features, torch.float32)
    ytr, yte = as_tensor(train_labels, torch.long), as_tensor(test_labels, torch.long)
    _check_shapes(ftr.numpy(), ytr.numpy(), fte.numpy(), yte.numpy())
    c = int(num_classes or max(int(ytr.max()), int(yte.max())) + 1)
    mean, std = ftr.mean(0, keepdim=True), ftr.std(0, keepdim=True).clamp_min(1e-6)
    ftr, fte = (ftr - mean) / std, (fte - mean) / std
    gen = torch.Generator().manual_seed(seed)
    w1 = torch.randn(ftr.shape[1], hidden, generator=gen) * (2.0 / ftr.shape[1]) ** 0.5
    w2 = torch.randn(hidden, c, generator=gen) * (1.0 / hidden) ** 0.5
    params = [w1.requires_grad_(), torch.zeros(hidden, requires_grad=True),
              w2.requires_grad_(), torch.zeros(c, requires_grad=True)]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)

    def logits(f: torch.Tensor) -> torch.Tensor:
        return torch.relu(f @ params[0] + params[1]) @ params[2] + params[3]

    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(logits(ftr), ytr).backward()
        opt.step()
    with torch.no_grad():
        return float((logits(fte).argmax(1) == yte).float().mean())
