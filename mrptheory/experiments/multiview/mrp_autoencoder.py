"""Mask-reconstruction pretraining (MRP) auto-encoder of Pan, Zhou & Yan (2022), batched over seeds.

Architecture (Pan et al., Sec. 3 and Fig. 2): a student encoder with k*m convolution kernels,
H(eps X) = [h_1, ..., h_{km}], h_r = sum_p act(<w_r, eps_p x_p>) (no class labels: the kernels are
not tied to classes), eps_p ~ Bernoulli(1 - mask_ratio) i.i.d. per patch; a one-layer linear
decoder; and a reconstruction target:

* ``target="teacher"`` (the paper's analysed setting, data2vec-like): the target is the output of a
  teacher encoder of the same form on the *unmasked* input, h~(X) = [h~_1(X), ..., h~_{km}(X)];
  the decoder is a linear map D: R^{km} -> R^{km} so the student predicts D H(eps X) ~ h~(X).
  The teacher's kernels are an exponential moving average (EMA) of the student's,
  w~ <- tau w~ + (1 - tau) w (data2vec's mean teacher); ``tau = 0`` makes teacher = current student
  with stop-gradient. Targets are normalised per kernel to unit RMS over the batch
  (``target_norm="batch"``, the default; data2vec's per-channel target normalisation), or
  layer-normalised over the km kernels (``"layer"``), or used raw (``"none"``: with an identity
  decoder the student's masked output always under-predicts the teacher's full output and the
  kernels grow without bound -- the "blow-up" of the early numpy runs).
* ``target="pixel"`` (the MAE variant discussed in Pan et al., App. Fig. 6): a linear decoder
  maps H(eps X) to R^d and reconstructs the masked content. Because this encoder sums over patches
  (it has no patch positions), the target is the sum of the masked patches, sum_p (1 - eps_p) x_p
  -- the position-free version of "reconstruct the masked patches' pixels".

The decoder is initialised to the identity (teacher target) so that, at initialisation, the
student's masked output under-predicts the teacher's full output; the gap is what makes kernels
grow along features that co-occur across patches (see ``mrptheory.experiments.multiview.mrp``).

Sources and caveats. What is taken from Pan et al.: the two-layer conv encoder with km kernels
and smoothed ReLU, the one-layer linear decoder, Bernoulli patch masking of the student's input,
the teacher seeing the unmasked input (Sec. 3, Fig. 2), the teacher as a mean (EMA) teacher as in
data2vec, and the MAE pixel variant (Fig. 6). The stored copies of the paper this package was
written from held its abstract, introduction and figure captions but not the appendix of v5, so
the following are this package's choices, not the paper's: the identity initialisation and
trained step size of the decoder, the EMA coefficient 0.99, the per-kernel batch normalisation of
the targets (without any normalisation the gradient at a small initialisation is of order
corr^(2q-1) and nothing moves -- see ``tests/train``), the mask ratio 0.5 and full-batch GD.

Fine-tuning heads (:class:`LinearHead`): a linear classifier on standardised encoder outputs
H(X); the encoder is frozen (linear probe) or trained too (fine-tuning); closed-form gradients
in :meth:`LinearHead.loss_and_grads`.
"""

from __future__ import annotations

import torch
from torch import nn

from mrptheory.experiments.multiview.conv_learner import (_buffer, _log_softmax_small,
                                                          conv_activate, conv_activate_copy,
                                                          conv_encode, conv_preact,
                                                          conv_weight_grad)


def batch_norm_targets(h: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Scale each kernel's targets to unit RMS over the batch: ``[S, N, R] -> [S, N, R]``.

    h_r / sqrt(mean_n h_r^2). This is the per-channel target normalisation of data2vec (which
    normalises each teacher channel over the tokens of a sample) moved to the batch axis, because
    this encoder has already summed its tokens (patches). It fixes the target scale per kernel,
    so kernels do not compete for the target (unlike layer norm over kernels) and the student
    cannot blow up chasing an ever-growing teacher.
    """
    return h / (h.pow(2).mean(dim=1, keepdim=True).sqrt() + eps)


def layer_norm_targets(h: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Normalise each sample's target vector over the kernel axis: ``[S, N, R] -> [S, N, R]``.

    (h - mean_r h) / std_r h, as data2vec normalises teacher targets (instance/layer norm).
    """
    mean = h.mean(dim=-1, keepdim=True)
    std = h.std(dim=-1, keepdim=True, unbiased=False)
    return (h - mean) / (std + eps)


class MRPAutoEncoder(nn.Module):
    """Student encoder + linear decoder (+ EMA teacher) for S seeds at once.

    Parameters / buffers:
        w: student kernels ``[S, R, d]`` (R = k m).
        decoder: ``[S, R, R]`` (teacher target) or ``[S, R, d]`` (pixel target).
        w_teacher: EMA teacher kernels ``[S, R, d]`` (buffer; teacher target only).
    """

    def __init__(self, w: torch.Tensor, q: int, rho: float, *, target: str = "teacher",
                 d: int | None = None, target_norm: str = "none", decoder_init: str = "identity",
                 decoder_shape: str = "full", decoder_random: torch.Tensor | None = None):
        """``decoder_init``: "identity" (default) or "random" (``decoder_random``, a standard
        normal ``[S, R, R]`` drawn per seed by the caller, scaled to N(0, 1/R); teacher target
        only). ``decoder_shape``: "full" R x R map (default) or "diagonal" (one scale per
        kernel: the decoder cannot mix kernels; its off-diagonal gradient is dropped)."""
        super().__init__()
        S, R, dim = w.shape
        self.q, self.rho, self.target, self.target_norm = q, rho, target, target_norm
        self.decoder_shape = decoder_shape
        self.w = nn.Parameter(w)
        self._work_student: dict = {}  # scratch buffers of loss_and_grads (reused every step)
        self._work_teacher: dict = {}
        self._teacher_state: dict = {}  # cached teacher pre-activations (see loss_and_grads)
        if target == "teacher":
            eye = torch.eye(R, device=w.device, dtype=w.dtype)
            if decoder_init == "random":
                if decoder_random is None:
                    raise ValueError("decoder_init='random' needs decoder_random [S, R, R]")
                dec = decoder_random.to(w) / R ** 0.5
                if decoder_shape == "diagonal":
                    dec = dec * eye
            else:
                dec = eye.expand(S, R, R).clone()
            self.decoder = nn.Parameter(dec)
            self.register_buffer("w_teacher", w.detach().clone())
        else:
            self.decoder = nn.Parameter(torch.zeros(S, R, dim, device=w.device, dtype=w.dtype))
            self.register_buffer("w_teacher", torch.empty(0, device=w.device))

    def encode(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Student encoder H(eps X): ``x [S, N, P, d]``, ``keep [S, N, P]`` -> ``[S, N, R]``."""
        return conv_encode(x, self.w, self.q, self.rho, keep)

    @torch.no_grad()
    def teacher_targets(self, x: torch.Tensor) -> torch.Tensor:
        """Teacher output h~(X) on the unmasked input (no gradient): ``[S, N, R]``."""
        return self._normalise(conv_encode(x, self.w_teacher, self.q, self.rho))

    def loss(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Reconstruction loss per seed ``[S]`` (mean over samples of 1/2 squared error).

        Teacher target: 1/2 || D H(eps X) - h~(X) ||^2.  Pixel target: 1/2 || H(eps X) D -
        sum_p (1 - eps_p) x_p ||^2.
        """
        h = self.encode(x, keep)
        if self.target == "teacher":
            pred = torch.einsum("snr,sqr->snq", h, self.decoder)
            tgt = self.teacher_targets(x)
        else:
            pred = torch.einsum("snr,srd->snd", h, self.decoder)
            tgt = ((1.0 - keep).unsqueeze(-1) * x).sum(dim=2)
        return 0.5 * (pred - tgt).pow(2).sum(dim=-1).mean(dim=1)

    def _normalise(self, h: torch.Tensor) -> torch.Tensor:
        if self.target_norm == "layer":
            return layer_norm_targets(h)
        if self.target_norm == "batch":
            return batch_norm_targets(h)
        return h

    @torch.no_grad()
    def loss_and_grads(self, xt: torch.Tensor, keep: torch.Tensor, P: int
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`loss` and its gradients in closed form (teacher target only; no autograd).

        ``xt = patches_t(x)``. With E = D H(eps X) - h~(X) and N samples per seed:
        dL/dD = E^T H / N, dL/dH = E D / N, and dL/dw from :func:`conv_weight_grad`.

        The teacher's pre-activations are linear in its kernels and the input is fixed, so after
        an EMA step w~ <- tau w~ + (1 - tau) w they follow the same recursion,
        <w~, x_p> <- tau <w~, x_p> + (1 - tau) <w, x_p>, with <w, x_p> the student's
        pre-activations of this step (masking acts after the activation). That replaces the
        teacher's matmul (a third of a step's FLOPs) by one elementwise pass. The recursion is used
        only when nothing but :meth:`update_teacher` touched ``w`` and ``w_teacher`` since the
        last call on the same ``xt`` (tensor version counters); otherwise the matmul is redone.
        Returns ``(loss [S], grad_w [S, R, d], grad_decoder [S, R, R])``.
        """
        if self.target != "teacher":
            raise ValueError("closed-form gradients are implemented for the teacher target only")
        w, dec, wt_k = self.w.detach(), self.decoder.detach(), self.w_teacher
        S, R, d = w.shape
        N = xt.shape[2] // P
        st = self._teacher_state
        recur = (st.get("xt") is xt and st.get("tau") is not None
                 and st["w_version"] == self.w._version
                 and st["wt_version"] == self.w_teacher._version)
        if not recur:
            st["pre"] = torch.empty(S, R, P, N, dtype=w.dtype, device=w.device)
        ws, wt = self._work_student, self._work_teacher
        grad_w = _buffer(ws, "grad_w_out", (S, R, d), w)
        grad_dec = _buffer(ws, "grad_dec_out", (S, R, R), w)
        pre = conv_preact(xt, w, P, ws)
        tpre_state = st["pre"]
        if recur:
            tpre_state.lerp_(pre, 1.0 - st["tau"])  # tau * teacher + (1 - tau) * student
        else:
            tpre_state.copy_(conv_preact(xt, wt_k, P))
        tgt = self._normalise(conv_activate_copy(tpre_state, self.q, self.rho, work=wt))
        h, D = conv_activate(pre, self.q, self.rho, keep, with_grad=True, work=ws)
        err = torch.bmm(h, dec.transpose(1, 2)).sub_(tgt)  # [S, N, R]
        loss = 0.5 * err.pow(2).sum(dim=-1).mean(dim=1)
        err.mul_(1.0 / N)
        torch.bmm(err.transpose(1, 2), h, out=grad_dec)
        conv_weight_grad(xt, D, torch.bmm(err, dec), self.q, self.rho, out=grad_w)
        st.update(xt=xt, tau=None, wt_version_pre=self.w_teacher._version)
        if self.decoder_shape == "diagonal":
            grad_dec.mul_(torch.eye(R, device=grad_dec.device, dtype=grad_dec.dtype))
        return loss, grad_w, grad_dec

    @torch.no_grad()
    def update_teacher(self, tau: float) -> None:
        """EMA step w~ <- tau w~ + (1 - tau) w (teacher target only)."""
        if self.target == "teacher":
            st = self._teacher_state
            valid = st.get("wt_version_pre") == self.w_teacher._version
            self.w_teacher.mul_(tau).add_(self.w.detach(), alpha=1.0 - tau)
            if valid:  # loss_and_grads may advance its cached teacher pre-activations
                st.update(tau=float(tau), w_version=self.w._version,
                          wt_version=self.w_teacher._version)
            else:
                st.clear()


class LinearHead(nn.Module):
    """Linear classifier on standardised features: logits = ((h - mean) / std) A^T + b.

    ``mean, std: [S, 1, R]`` are fixed from the labelled training set at construction so that the
    head's learning rate does not depend on the encoder's output scale. ``A: [S, k, R]``,
    ``b: [S, 1, k]`` (zero-initialised).

    Floor of the per-kernel std (relative, not absolute). A kernel that captured no feature
    outputs act(<w, x>) ~ (sigma_0 z)^q / (q rho^(q-1)): at sigma_0 = 0.005, q = 4, rho = 0.2
    that is ~1e-8 with a spread ~1e-9 over samples. Dividing by that spread (the former absolute
    floor 1e-8) blew such kernels up by ~1e8: their standardised output was noise of order 1,
    and in fine-tuning the encoder gradient dL/dh = G A / std was ~1e8 times larger for them than
    for the captured kernels, so the encoder step diverged (fine-tuned accuracy 0.1-0.3 with the
    linear probe at 0.99). Here std_r is floored at ``rel_floor`` (1e-2) times the largest kernel
    std of the same seed: kernels that vary less than 1% as much as the strongest one are
    amplified by at most 100/max_std, i.e. they stay small features instead of becoming unit
    noise, and the encoder gradient of every kernel is bounded by 100x that of the strongest.
    Captured kernels (std within a factor 100 of each other) are standardised exactly as before.
    """

    def __init__(self, h_train: torch.Tensor, k: int, rel_floor: float = 1e-2):
        super().__init__()
        S, _, R = h_train.shape
        std = h_train.std(dim=1, keepdim=True).detach()
        floor = (rel_floor * std.amax(dim=-1, keepdim=True)).clamp_min(1e-30)
        self.register_buffer("mean", h_train.mean(dim=1, keepdim=True).detach())
        self.register_buffer("std", torch.maximum(std, floor))
        self.A = nn.Parameter(torch.zeros(S, k, R, device=h_train.device))
        self.b = nn.Parameter(torch.zeros(S, 1, k, device=h_train.device))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h [S, N, R] -> logits [S, N, k]``."""
        z = (h - self.mean) / self.std
        return torch.einsum("snr,skr->snk", z, self.A) + self.b

    def loss_and_grads(self, h: torch.Tensor, onehot: torch.Tensor, *, input_grad: bool = False
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Mean cross-entropy per seed and its gradients, in closed form (no autograd).

        With z = (h - mean) / std, N samples per seed and
        G = (softmax(z A^T + b) - onehot(y)) / N ``[S, N, k]``:
        dL/dA = G^T z ``[S, k, R]``, dL/db = sum_n G ``[S, 1, k]`` and, with ``input_grad``
        (fine-tuning: the encoder is trained through h), dL/dh = G A / std ``[S, N, R]``.

        Args:
            h: features ``[S, N, R]``.
            onehot: one-hot labels ``[S, N, k]``.
        Returns:
            ``(loss [S], grad_A, grad_b, grad_h or None)``.
        """
        N = onehot.shape[1]
        A = self.A.detach()
        z = (h - self.mean) / self.std
        logits = torch.baddbmm(self.b.detach(), z, A.transpose(1, 2))
        logp = _log_softmax_small(logits)
        loss = -(logp * onehot).sum(dim=-1).mean(dim=1)
        G = logp.exp_().sub_(onehot).mul_(1.0 / N)  # [S, N, k]
        dh = torch.bmm(G, A).div_(self.std) if input_grad else None
        return loss, torch.bmm(G.transpose(1, 2), z), G.sum(dim=1, keepdim=True), dh
