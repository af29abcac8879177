"""Batched two-layer conv learners: einsum against explicit loops, masking, seed independence."""

from __future__ import annotations

import pytest
import torch

from mrptheory.experiments.multiview.conv_learner import ConvLearner, conv_encode, gaussian_kernels
from mrptheory.experiments.multiview.mrp_autoencoder import MRPAutoEncoder, batch_norm_targets
from mrptheory.experiments.multiview.smooth_relu import smooth_relu_reference


def test_conv_learner_matches_the_formula():
    """F_i(X) = sum_r sum_p act(<w_{i,r}, x_p>), checked with explicit loops."""
    torch.manual_seed(0)
    S, N, P, d, k, m = 2, 3, 4, 5, 3, 2
    x = torch.randn(S, N, P, d)
    w = torch.randn(S, k, m, d) * 0.5
    model = ConvLearner(w.clone(), q=4, rho=0.3)
    out = model(x)
    ref = torch.zeros(S, N, k)
    for s in range(S):
        for n in range(N):
            for i in range(k):
                ref[s, n, i] = sum(smooth_relu_reference(w[s, i, r] @ x[s, n, p], 4, 0.3)
                                   for r in range(m) for p in range(P))
    assert torch.allclose(out, ref, atol=1e-5)


def test_masking_equals_dropping_patches():
    torch.manual_seed(1)
    x = torch.randn(1, 2, 6, 8)
    w = torch.randn(1, 5, 8)
    keep = torch.tensor([[[1, 0, 1, 1, 0, 1], [0, 0, 1, 0, 1, 1]]], dtype=torch.float32)
    h = conv_encode(x, w, 4, 0.2, keep)
    for n in range(2):
        kept = x[:, n:n + 1, keep[0, n].bool()]
        assert torch.allclose(h[:, n], conv_encode(kept, w, 4, 0.2)[:, 0], atol=1e-6)


def test_seeds_do_not_interact():
    """Gradients of the summed per-seed loss equal each seed's own gradient."""
    torch.manual_seed(2)
    x = torch.randn(3, 4, 5, 6)
    w = torch.randn(3, 2, 2, 6, requires_grad=True)
    model = ConvLearner(w.detach().clone(), 4, 0.2)
    model(x).pow(2).sum().backward()
    for s in range(3):
        single = ConvLearner(w.detach()[s:s + 1].clone(), 4, 0.2)
        single(x[s:s + 1]).pow(2).sum().backward()
        assert torch.allclose(model.w.grad[s], single.w.grad[0], atol=1e-5)


def test_init_scale_and_determinism():
    w = gaussian_kernels((10, 400), 0.05, [0, 1], 5, torch.device("cpu"))
    assert abs(w.std().item() - 0.05) < 0.003
    again = gaussian_kernels((10, 400), 0.05, [1], 5, torch.device("cpu"))
    assert torch.equal(w[1], again[0])


def test_mrp_autoencoder_targets_and_ema():
    torch.manual_seed(3)
    w = torch.randn(2, 6, 8) * 0.3
    ae = MRPAutoEncoder(w.clone(), 4, 0.2, target="teacher", target_norm="batch")
    x = torch.randn(2, 16, 5, 8)
    t = ae.teacher_targets(x)
    assert torch.allclose(t.pow(2).mean(dim=1), torch.ones(2, 6), atol=1e-4)
    keep = torch.ones(2, 16, 5)
    ae_raw = MRPAutoEncoder(w.clone(), 4, 0.2, target="teacher", target_norm="none")
    assert torch.allclose(ae_raw.loss(x, keep), torch.zeros(2), atol=1e-6)  # identity decoder
    with torch.no_grad():
        ae.w.add_(1.0)
    ae.update_teacher(0.9)
    assert torch.allclose(ae.w_teacher, w + 0.1, atol=1e-6)
    pix = MRPAutoEncoder(w.clone(), 4, 0.2, target="pixel")
    assert pix.loss(x, keep).abs().max() < 1e-6  # nothing masked: nothing to reconstruct
    assert batch_norm_targets(torch.zeros(1, 3, 2)).abs().max() == 0


@pytest.mark.parametrize("q", [3, 4, 5])
def test_fused_encoder_and_closed_form_gradient_match_autograd(q):
    """conv_encode_fused (P-major layout, reused buffers) and conv_weight_grad == autograd."""
    from mrptheory.experiments.multiview.conv_learner import (conv_encode_fused, conv_weight_grad,
                                                              patches_t)

    torch.manual_seed(4)
    S, N, P, d, R = 3, 7, 5, 6, 4
    x = torch.randn(S, N, P, d)
    xt = patches_t(x)
    w = (torch.randn(S, R, d) * 0.3).requires_grad_()
    work: dict = {}
    for keep in (None, (torch.rand(S, N, P) < 0.5).float()):
        h = conv_encode(x, w, q, 0.2, keep)
        dh = torch.randn_like(h)
        (g,) = torch.autograd.grad((h * dh).sum(), w)
        for _ in range(2):  # second pass reuses the scratch buffers
            h2, D = conv_encode_fused(xt, w.detach(), q, 0.2, P, keep, with_grad=True, work=work)
            assert torch.allclose(h2, h, atol=1e-6)
            assert torch.allclose(conv_weight_grad(xt, D, dh, q, 0.2), g, atol=1e-5)
        assert torch.allclose(conv_encode_fused(xt, w.detach(), q, 0.2, P, keep)[0], h, atol=1e-6)


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_mrp_closed_form_gradients_and_teacher_recursion_match_autograd(norm):
    """loss_and_grads == autograd of loss over several GD + EMA steps (cached teacher
    pre-activations advanced by the EMA recursion), and a foreign edit of w is detected."""
    from mrptheory.experiments.multiview.conv_learner import patches_t

    torch.manual_seed(5)
    S, N, P, d, R = 2, 9, 4, 7, 5
    x = torch.randn(S, N, P, d)
    xt = patches_t(x)
    w0 = torch.randn(S, R, d) * 0.3
    ref = MRPAutoEncoder(w0.clone(), 4, 0.2, target="teacher", target_norm=norm)
    ae = MRPAutoEncoder(w0.clone(), 4, 0.2, target="teacher", target_norm=norm)
    for step in range(4):
        keep = (torch.rand(S, N, P) < 0.5).float()
        loss = ref.loss(x, keep)
        gw, gd = torch.autograd.grad(loss.sum(), [ref.w, ref.decoder])
        loss2, gw2, gd2 = ae.loss_and_grads(xt, keep, P)
        assert torch.allclose(loss2, loss, rtol=1e-5, atol=1e-6)
        assert torch.allclose(gw2, gw, rtol=1e-4, atol=1e-5)
        assert torch.allclose(gd2, gd, rtol=1e-4, atol=1e-6)
        with torch.no_grad():
            for m, a, b in ((ref, gw, gd), (ae, gw2, gd2)):
                m.w.sub_(0.5 * a)
                m.decoder.sub_(0.5 * b)
                m.update_teacher(0.9)
        if step == 1:
            assert ae._teacher_state.get("tau") == 0.9  # the recursion is armed
        if step == 2:
            with torch.no_grad():  # an edit outside update_teacher: the cache must be dropped
                for m in (ref, ae):
                    m.w.mul_(1.1)


def test_conv_learner_loss_and_grads_match_autograd():
    """ConvLearner.loss_and_grads (closed form) == autograd of the mean cross-entropy of forward."""
    from mrptheory.experiments.multiview.conv_learner import patches_t

    torch.manual_seed(6)
    S, N, P, d, k, m = 2, 9, 4, 7, 3, 2
    x = torch.randn(S, N, P, d)
    y = torch.randint(0, k, (S, N))
    onehot = torch.nn.functional.one_hot(y, k).float()
    model = ConvLearner(torch.randn(S, k, m, d) * 0.3, 4, 0.2)
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, k), y.reshape(-1),
                                             reduction="none").view(S, N).mean(dim=1)
    (g,) = torch.autograd.grad(loss.sum(), model.w)
    work: dict = {}
    for _ in range(2):  # the second call reuses the scratch buffers
        loss2, logits2, g2 = model.loss_and_grads(patches_t(x), onehot, P, work=work)
        assert torch.allclose(logits2, logits.detach(), atol=1e-6)
        assert torch.allclose(loss2, loss.detach(), rtol=1e-5, atol=1e-6)
        assert g2.shape == model.w.shape and torch.allclose(g2, g, rtol=1e-4, atol=1e-6)
    loss3, _, none = model.loss_and_grads(patches_t(x), onehot, P, with_grad=False)
    assert none is None and torch.allclose(loss3, loss.detach(), rtol=1e-5, atol=1e-6)


def test_linear_head_loss_and_grads_match_autograd():
    """LinearHead.loss_and_grads: dL/dA, dL/db and dL/dh == autograd of the mean cross-entropy."""
    from mrptheory.experiments.multiview.mrp_autoencoder import LinearHead

    torch.manual_seed(7)
    S, N, R, k = 2, 11, 5, 3
    h_train = torch.rand(S, N, R)
    head = LinearHead(h_train, k)
    with torch.no_grad():
        head.A.normal_()
        head.b.normal_()
    y = torch.randint(0, k, (S, N))
    onehot = torch.nn.functional.one_hot(y, k).float()
    h = (h_train + 0.1 * torch.randn(S, N, R)).requires_grad_()
    loss = torch.nn.functional.cross_entropy(head(h).reshape(-1, k), y.reshape(-1),
                                             reduction="none").view(S, N).mean(dim=1)
    gA, gb, gh = torch.autograd.grad(loss.sum(), [head.A, head.b, h])
    with torch.no_grad():
        loss2, gA2, gb2, gh2 = head.loss_and_grads(h.detach(), onehot, input_grad=True)
        assert head.loss_and_grads(h.detach(), onehot)[3] is None
    assert torch.allclose(loss2, loss.detach(), rtol=1e-5, atol=1e-6)
    for a, b in ((gA2, gA), (gb2, gb), (gh2, gh)):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-6)
