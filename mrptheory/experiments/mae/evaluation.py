"""Evaluation of a (pre)trained ViT encoder: frozen-feature probes, reconstruction loss, accuracy.

Kept apart from the training loop and from fine-tuning (as in the MAE reference): the *linear probe*
reads the frozen, mean-pooled encoder tokens with a multinomial logistic regression; the *k-NN probe*
votes with cosine neighbours; neither changes the encoder.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mrptheory.metrics.knn import knn_accuracy
from mrptheory.metrics.probe import logistic_probe_accuracy, mlp_probe_accuracy


@dataclass
class EvalData:
    """Standardised evaluation tensors (on the training device).

    Attributes:
        probe_train_x / probe_train_y: ``[Np, C, H, W]`` float images and ``[Np]`` labels used to fit
            the probes; test_x / test_y: ``[Nt, C, H, W]`` and ``[Nt]`` for scoring.
    """

    probe_train_x: torch.Tensor
    probe_train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def autocast(device: torch.device, enabled: bool = True):
    """bfloat16 autocast on CUDA (no loss scaling needed); a no-op context on CPU."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@torch.no_grad()
def extract_features(encoder: nn.Module, images: torch.Tensor, batch_size: int = 512,
                     amp: bool = True) -> torch.Tensor:
    """Frozen features ``[N, D]`` (mean-pooled patch tokens) of images ``[N, C, H, W]``, in eval mode."""
    was_training = encoder.training
    encoder.eval()
    out = []
    for start in range(0, images.shape[0], batch_size):
        with autocast(images.device, amp):
            out.append(encoder.features(images[start:start + batch_size]).float())
    encoder.train(was_training)
    return torch.cat(out)


def probe_encoder(encoder: nn.Module, data: EvalData, knn_k: int = 20, amp: bool = True,
                  mlp: bool = False) -> dict[str, float]:
    """Linear-probe (logistic, L-BFGS) and cosine k-NN test accuracy of the frozen encoder, and
    with ``mlp`` the deep probe's (:func:`mrptheory.metrics.probe.mlp_probe_accuracy`)."""
    ftr = extract_features(encoder, data.probe_train_x, amp=amp).cpu()
    fte = extract_features(encoder, data.test_x, amp=amp).cpu()
    ytr, yte = data.probe_train_y.cpu(), data.test_y.cpu()
    out = {
        "probe_acc": logistic_probe_accuracy(ftr, ytr, fte, yte),
        "knn_acc": knn_accuracy(ftr, ytr, fte, yte, k=min(knn_k, len(ytr))),
    }
    if mlp:
        out["mlp_acc"] = mlp_probe_accuracy(ftr, ytr, fte, yte)
    return out


@torch.no_grad()
def reconstruction_loss(model: nn.Module, images: torch.Tensor, seed: int, batch_size: int = 512,
                        amp: bool = True) -> float:
    """Test loss of a masked/denoising/plain autoencoder on images ``[N, C, H, W]``.

    Masks and noise come from a generator seeded with ``seed``, so every evaluation of a run sees
    the same corruptions and the curve over epochs is not blurred by mask sampling.
    """
    was_training = model.training
    model.eval()
    gen = torch.Generator(device=images.device)
    gen.manual_seed(seed)
    total, count = 0.0, 0
    for start in range(0, images.shape[0], batch_size):
        batch = images[start:start + batch_size]
        with autocast(images.device, amp):
            loss, _, _ = model(batch, gen)
        total += float(loss) * batch.shape[0]
        count += batch.shape[0]
    model.train(was_training)
    return total / max(count, 1)


@torch.no_grad()
def classifier_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                        batch_size: int = 512, amp: bool = True) -> float:
    """Accuracy of a classifier's argmax on images ``[N, C, H, W]`` with labels ``[N]``."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, images.shape[0], batch_size):
        with autocast(images.device, amp):
            logits = model(images[start:start + batch_size])
        correct += int((logits.argmax(1) == labels[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / max(int(labels.shape[0]), 1)


@torch.no_grad()
def reconstruct_examples(model: nn.Module, images: torch.Tensor, seed: int
                         ) -> dict[str, np.ndarray]:
    """Pictures for the reconstruction figure, in standardised pixel units.

    images: ``[n, C, H, W]``. Returns ``original``, ``masked`` (removed patches set to NaN) and
    ``reconstruction`` (visible patches copied from the input, removed patches predicted -- as in the
    MAE paper's figures), each ``[n, C, H, W]``; plus ``mask`` ``[n, L]``.
    """
    from mrptheory.experiments.mae.patches import mask_to_pixels, patchify, unpatchify

    was_training = model.training
    model.eval()
    gen = torch.Generator(device=images.device)
    cfg = model.cfg
    gen.manual_seed(seed)
    corrupted = model.corrupt(images, gen)        # the DAE's noisy input (identity otherwise)
    gen.manual_seed(seed)                         # same seed: the forward pass draws the same noise
    _, pred, mask = model(images, gen)                                   # [n, L, P], [n, L]
    pred = pred.float()
    if cfg.norm_pix_loss:  # undo the per-patch normalisation with the true patch statistics
        target = patchify(images, cfg.patch_size)
        pred = pred * (target.var(-1, keepdim=True) + 1e-6).sqrt() + target.mean(-1, keepdim=True)
    recon = unpatchify(pred, cfg.patch_size, cfg.image_shape)            # [n, C, H, W]
    pix_mask = mask_to_pixels(mask.float(), cfg.patch_size, cfg.image_shape)
    pasted = corrupted * (1 - pix_mask) + recon * pix_mask if cfg.method == "mae" else recon
    masked = corrupted.clone()
    masked[pix_mask.bool()] = float("nan")
    model.train(was_training)
    return {
        "original": images.cpu().numpy(),
        "masked": masked.cpu().numpy(),
        "reconstruction": pasted.cpu().numpy(),
        "mask": mask.cpu().numpy(),
    }
