"""Two-layer convolutional learners of the multi-view theory, batched over seeds.

Every weight tensor has a leading seed dimension S, so S independent networks (one per seed) are
evaluated with one einsum; summing their losses gives each network its own gradient.

* :func:`conv_encode` -- the shared building block h_r(X) = sum_p act(<w_r, eps_p x_p>): kernel r
  applied to every (kept) patch, smoothed ReLU, summed over patches (a "two-layer convolution"
  whose second layer is a fixed sum). Masking a patch (eps_p = 0) removes its contribution
  because act(0) = 0 (Pan et al., Sec. 3: the student sees eps X = (eps_1 x_1, ..., eps_P x_P)).
* :func:`conv_encode_fused` / :func:`conv_weight_grad` -- the same map for training loops, with
  the activation's derivative in closed form (no autograd), patches pre-laid out by
  :func:`patches_t` and reusable scratch buffers: about 1.5x faster per step on CPU.
* :class:`ConvLearner` -- the supervised learner of Allen-Zhu & Li (Sec. 4.1):
  F_i(X) = sum_{r <= m} sum_{p <= P} act(<w_{i,r}, x_p>), m kernels per class, Gaussian init
  N(0, sigma_0^2 I). Trained with cross-entropy on softmax(F(X)); its closed-form gradient is
  :meth:`ConvLearner.loss_and_grads` (the loop is :mod:`mrptheory.experiments.multiview.sl`).
"""

from __future__ import annotations

import torch
from torch import nn

from mrptheory.experiments.multiview.smooth_relu import smooth_relu


def conv_encode(x: torch.Tensor, w: torch.Tensor, q: int, rho: float,
                keep: torch.Tensor | None = None) -> torch.Tensor:
    """h[s, n, r] = sum_p keep[s, n, p] * act(<w[s, r], x[s, n, p]>).

    Args:
        x: patches ``[S, N, P, d]``.
        w: kernels ``[S, R, d]``.
        keep: optional 0/1 patch mask ``[S, N, P]`` (1 = patch visible).
    Returns:
        ``[S, N, R]``.
    """
    pre = torch.einsum("snpd,srd->snpr", x, w)
    a = smooth_relu(pre, q, rho)
    if keep is not None:
        a = a * keep.unsqueeze(-1)
    return a.sum(dim=2)


def patches_t(x: torch.Tensor) -> torch.Tensor:
    """Patches laid out for the fused kernels: ``x [S, N, P, d] -> [S, d, P*N]`` (contiguous).

    The training and test sets are fixed, so this copy is made once per run. With it the
    pre-activations come out of one ``bmm`` as ``[S, R, P, N]``: a wide output (faster on CPU than
    ``[S, N*P, R]``), a patch sum over a non-innermost axis (vectorised row adds; summing 12
    innermost values is about 5x slower), and the weight gradient is ``bmm(c, xt^T)`` without
    another copy of the patches.
    """
    return x.permute(0, 3, 2, 1).reshape(x.shape[0], x.shape[3], -1).contiguous()


def _buffer(work: dict | None, name: str, shape: tuple[int, ...], like: torch.Tensor
            ) -> torch.Tensor | None:
    """A reusable scratch tensor from ``work`` (None without a workspace)."""
    if work is None:
        return None
    t = work.get(name)
    if t is None or t.shape != shape or t.dtype != like.dtype or t.device != like.device:
        t = work[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
    return t


def conv_encode_fused(xt: torch.Tensor, w: torch.Tensor, q: int, rho: float, P: int,
                      keep: torch.Tensor | None = None, with_grad: bool = False,
                      work: dict | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`conv_encode` from ``xt = patches_t(x)``, with the activation's derivative if asked.

    Closed form, no autograd: with u = clamp(pre, 0, rho),
    act(pre) = u^q / (q rho^(q-1)) + relu(pre - rho) and act'(pre) = (u / rho)^(q-1)
    (u = rho above the threshold gives act' = 1). After the first pass everything runs in place
    on ``[S, R, P, N]`` buffers; with a ``work`` dict those buffers are reused across calls
    (a fresh multi-MB CPU tensor per pass costs page faults and cache misses: reusing them made
    a 16-seed SL step 1.4x faster).

    Args:
        xt: ``[S, d, P*N]`` from :func:`patches_t`.
        w: kernels ``[S, R, d]``.
        P: patches per sample.
        keep: optional 0/1 patch mask ``[S, N, P]``.
        with_grad: also return ``D = keep * act'(pre) * rho^(q-1)``, ``[S, R, P, N]``, for
            :func:`conv_weight_grad`.
        work: optional scratch dict (one per call site: a returned ``D`` lives in it and is
            overwritten by the next call with the same dict).
    Returns:
        ``(h [S, N, R], D or None)``.
    """
    return conv_activate(conv_preact(xt, w, P, work), q, rho, keep, with_grad, work)


def conv_preact(xt: torch.Tensor, w: torch.Tensor, P: int, work: dict | None = None
                ) -> torch.Tensor:
    """Pre-activations <w_r, x_p> as ``[S, R, P, N]`` (in ``work["pre"]`` when given)."""
    S, R = w.shape[0], w.shape[1]
    N = xt.shape[2] // P
    return torch.bmm(w, xt, out=_buffer(work, "pre", (S, R, P * N), xt)).view(S, R, P, N)


def _int_pow(u: torch.Tensor, n: int, out: torch.Tensor | None) -> torch.Tensor:
    """u^n for a small integer n >= 1. torch.pow has fast paths for n = 2, 3 only; u^4 as two
    squarings is about 5x faster than torch.pow(u, 4) on CPU (q = 5)."""
    if n == 4:
        sq = torch.mul(u, u, out=out)
        return sq.mul_(sq)
    return torch.pow(u, n, out=out)


def conv_activate(pre: torch.Tensor, q: int, rho: float, keep: torch.Tensor | None = None,
                  with_grad: bool = False, work: dict | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The second half of :func:`conv_encode_fused`; overwrites ``pre [S, R, P, N]``."""
    if keep is not None:
        # a masked patch's pre-activation set to 0 gives act = act' = 0 there (act(0) = 0,
        # act'(0) = 0 for q >= 2): one pass instead of masking both act and act'
        pre.mul_(keep.transpose(1, 2).to(pre.dtype).unsqueeze(1))  # [S, 1, P, N]
    u = torch.clamp(pre, 0.0, rho, out=_buffer(work, "u", pre.shape, pre))
    g = _int_pow(u, q - 1, _buffer(work, "g", pre.shape, pre))  # rho^(q-1) act'(pre)
    # (not max(pre, rho) - rho with the constant taken out of the patch sum: that saves a pass
    # but cancels catastrophically in float32 for the ~1e-8 outputs of uncaptured kernels)
    act = pre.sub_(rho).relu_().addcmul_(u, g, value=1.0 / (q * rho ** (q - 1)))  # + u^q/...
    if not with_grad:
        g = None
    return act.sum(dim=2).transpose(1, 2), g


def _log_softmax_small(z: torch.Tensor) -> torch.Tensor:
    """log_softmax over a short last axis (k classes): z - max - log sum exp(z - max). On CPU,
    torch.log_softmax over a last axis of 10 took ~180 us per [400, 10] call, this ~30 us."""
    z = z - z.amax(dim=-1, keepdim=True)
    return z.sub_(z.exp().sum(dim=-1, keepdim=True).log_())


def conv_activate_copy(pre: torch.Tensor, q: int, rho: float, work: dict | None = None
                       ) -> torch.Tensor:
    """h = sum_p act(pre) ``[S, N, R]`` from ``pre [S, R, P, N]`` without overwriting it (the MRP
    teacher keeps its pre-activations for the EMA recursion): act(pre) = relu(pre - rho) +
    u^q / (q rho^(q-1)), u = clamp(pre, 0, rho), written into ``work`` buffers."""
    u = torch.clamp(pre, 0.0, rho, out=_buffer(work, "u", pre.shape, pre))
    g = _int_pow(u, q - 1, _buffer(work, "g", pre.shape, pre))
    act = torch.sub(pre, rho, out=_buffer(work, "act", pre.shape, pre)).relu_()
    act.addcmul_(u, g, value=1.0 / (q * rho ** (q - 1)))
    return act.sum(dim=2).transpose(1, 2)


def conv_weight_grad(xt: torch.Tensor, D: torch.Tensor, dh: torch.Tensor, q: int, rho: float,
                     out: torch.Tensor | None = None) -> torch.Tensor:
    """Gradient of a loss through h = conv_encode(...) with respect to the kernels.

    dL/dw[s, r] = sum_{n, p} dh[s, n, r] keep[s, n, p] act'(pre[s, n, p, r]) x[s, n, p], with
    ``D`` from :func:`conv_encode_fused` (overwritten) and ``dh = dL/dh [S, N, R]``.
    Returns ``[S, R, d]`` (in ``out`` when given).
    """
    S, R, P, N = D.shape
    coef = dh.transpose(1, 2).unsqueeze(2) * (1.0 / rho ** (q - 1))  # [S, R, 1, N]
    c = D.mul_(coef).view(S, R, P * N)
    return torch.bmm(c, xt.transpose(1, 2), out=out)


def gaussian_kernels(shape: tuple[int, ...], sigma_0: float, seeds: list[int], stream: int,
                     device: torch.device) -> torch.Tensor:
    """N(0, sigma_0^2) kernels ``[S, *shape]``, each seed from its own generator (loop-independent)."""
    from mrptheory.experiments.multiview.data import stream_generator

    return torch.stack([sigma_0 * torch.randn(shape, generator=stream_generator(s, stream, device),
                                              device=device) for s in seeds])


class ConvLearner(nn.Module):
    """Allen-Zhu & Li's supervised two-layer conv net for S seeds at once.

    Parameters:
        w: ``[S, k, m, d]`` -- kernel r of class i of seed s is ``w[s, i, r]``.
    """

    def __init__(self, w: torch.Tensor, q: int, rho: float):
        super().__init__()
        self.w = nn.Parameter(w)
        self.q, self.rho = q, rho

    @property
    def k(self) -> int:
        return int(self.w.shape[1])

    @property
    def m(self) -> int:
        return int(self.w.shape[2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits F(X): ``x [S, N, P, d] -> [S, N, k]``."""
        S, k, m, d = self.w.shape
        h = conv_encode(x, self.w.reshape(S, k * m, d), self.q, self.rho)
        return h.view(*h.shape[:2], k, m).sum(dim=-1)

    def fused_logits(self, xt: torch.Tensor, P: int, *, with_grad: bool = False,
                     work: dict | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits F(X) from ``xt = patches_t(x)`` by :func:`conv_encode_fused` (no autograd).

        Returns ``(logits [S, N, k], D or None)``; ``D`` (with ``with_grad``) is the activation
        derivative :func:`conv_weight_grad` needs, living in ``work``.
        """
        S, k, m, d = self.w.shape
        h, D = conv_encode_fused(xt, self.w.detach().view(S, k * m, d), self.q, self.rho, P,
                                 with_grad=with_grad, work=work)
        return h.view(S, -1, k, m).sum(dim=-1), D

    def loss_and_grads(self, xt: torch.Tensor, onehot: torch.Tensor, P: int, *,
                       with_grad: bool = True, work: dict | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Mean cross-entropy of softmax(F(X)) per seed and its kernel gradient, in closed form.

        With p = softmax(F(X)) and N samples per seed, dL_s/dF = (p - onehot(y)) / N; every
        kernel of class i gets its class's logit gradient, pushed through act' by
        :func:`conv_weight_grad` (``tests/models`` checks it against autograd).

        Args:
            xt: ``[S, d, P*N]`` from :func:`patches_t`.
            onehot: one-hot labels ``[S, N, k]`` (the weights' dtype).
            with_grad: False returns no gradient (and skips the derivative pass).
            work: scratch dict reused across calls (see :func:`conv_encode_fused`).
        Returns:
            ``(loss [S], logits [S, N, k], grad_w [S, k, m, d] or None)``.
        """
        w = self.w.detach()
        S, k, m, d = w.shape
        N = onehot.shape[1]
        h, D = conv_encode_fused(xt, w.view(S, k * m, d), self.q, self.rho, P,
                                 with_grad=with_grad, work=work)
        logits = h.view(S, -1, k, m).sum(dim=-1)
        logp = _log_softmax_small(logits)
        loss = -(logp * onehot).sum(dim=-1).mean(dim=1)  # [S] cross-entropy
        if not with_grad:
            return loss, logits, None
        dlogits = logp.exp_().sub_(onehot).mul_(1.0 / N)  # [S, N, k]
        dh = dlogits.unsqueeze(-1).expand(S, N, k, m).reshape(S, N, k * m)
        out = _buffer(work, "grad_out", (S, k * m, d), w)  # reused across calls
        return loss, logits, conv_weight_grad(xt, D, dh, self.q, self.rho, out=out).view_as(w)
