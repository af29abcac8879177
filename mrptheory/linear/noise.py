"""Noise models for linear denoising autoencoders -- the package's main extension point.

A noise model corrupts a clean input ``x`` into ``x~``. The optimal linear DAE trained to
reconstruct ``x`` from ``x~`` depends on the corruption only through two moments (sums over the
data set):

    M1 = sum_n E[x~_n x_n^T]   (cross moment: what survives of the signal),   [D, D]
    M2 = sum_n E[x~_n x~_n^T]  (input moment: signal plus corruption energy). [D, D]

To add a noise model, subclass :class:`NoiseModel` and implement :meth:`NoiseModel.moments`
(exact, from :class:`~mrptheory.linear.moments.DataMoments`). That alone gives the closed-form
solution (:mod:`mrptheory.linear.closed_form`), the never-beneficial verdict with a numerical
counterexample search (:mod:`mrptheory.linear.never_beneficial`) and the alignment curves.
Optionally implement :meth:`NoiseModel.sample` (enables the Monte-Carlo check of the moments) and
:meth:`NoiseModel.sympy_moments` (enables a symbolic never-beneficial proof when the moments are
matrix functions of the data covariance). :class:`FunctionalNoise` wraps plain functions.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
import torch

from mrptheory.errors import ConfigError
from mrptheory.linear.moments import DataMoments
from mrptheory.validation import check_float, check_int


#: Largest additive-noise std (absolute, or relative to the pixel std) accepted: the moment
#: computations square it and the Monte-Carlo check takes fourth powers, which overflow float64
#: (~1.8e308) past ~1e77; 1e50 leaves room for the sums over samples and draws. Any data scale
#: met in practice is ~1, so such a noise would already drown the signal by 50 orders of magnitude.
MAX_NOISE_STD = 1e50


class NoiseModel(ABC):
    """A corruption ``x -> x~`` described by its exact moments (and optionally a sampler)."""

    #: Short identifier used in result files and figure legends.
    name: str = "noise"

    @abstractmethod
    def moments(self, data: DataMoments) -> tuple[np.ndarray, np.ndarray]:
        """Exact ``(M1, M2)``, each ``[D, D]``, summed over the ``data.n_samples`` samples."""

    def sample(self, x: torch.Tensor, image_shape: tuple[int, int, int] | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """One corrupted copy ``x~: [N, D]`` of ``x: [N, D]``. Optional (Monte-Carlo checks)."""
        raise NotImplementedError(f"{type(self).__name__} has no sampler")

    def sympy_moments(self, s: sp.MatrixSymbol, n: sp.Symbol) -> tuple[sp.MatrixExpr, sp.MatrixExpr] | None:
        """``(M1, M2)`` as sympy matrix expressions in the data moment ``s`` (= G) and ``n`` (= N).

        Return ``None`` (the default) when no symbolic form is given; the never-beneficial checker
        then relies on its numerical search alone.
        """
        return None

    def validate_for(self, data: DataMoments) -> None:
        """Raise ConfigError if this noise cannot be applied to ``data`` (e.g. patch mismatch)."""

    def __repr__(self) -> str:
        return self.name


# --------------------------------------------------------------------------------------------
# Additive noise
# --------------------------------------------------------------------------------------------


@dataclass(repr=False)
class NoNoise(NoiseModel):
    """Plain autoencoder: ``x~ = x``, so ``M1 = M2 = G`` and the optimum is PCA (Eckart-Young)."""

    name: str = "none"

    def moments(self, data: DataMoments) -> tuple[np.ndarray, np.ndarray]:
        return data.gram, data.gram

    def sample(self, x, image_shape=None, generator=None):
        return x.clone()

    def sympy_moments(self, s, n):
        return s, s


@dataclass(repr=False)
class GaussianNoise(NoiseModel):
    """Isotropic additive Gaussian noise ``x~ = x + e``, ``e ~ N(0, sigma^2 I)``.

    The noise is independent of ``x`` and zero-mean, so ``M1 = G`` and ``M2 = G + N sigma^2 I``:
    both are functions of ``G`` alone, which is why Gaussian denoising can never change the
    learned subspace (the eigenvalue map ``l -> l^2 / (l + N sigma^2)`` is increasing).
    """

    sigma: float = 1.0
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.sigma = check_float("sigma", self.sigma, 0.0, MAX_NOISE_STD)
        self.name = f"gaussian:{self.sigma:g}"

    def moments(self, data):
        m2 = data.gram + data.n_samples * self.sigma**2 * np.eye(data.dim)
        return data.gram, m2

    def sample(self, x, image_shape=None, generator=None):
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return x + self.sigma * noise

    def sympy_moments(self, s, n):
        sigma = sp.Symbol("sigma", positive=True)
        return s, s + n * sigma**2 * sp.Identity(s.shape[0])


@dataclass(repr=False)
class DiagonalGaussianNoise(NoiseModel):
    """Anisotropic additive Gaussian noise ``e ~ N(0, diag(s_1^2, ..., s_D^2))``.

    ``M1 = G`` and ``M2 = G + N diag(s^2)``. Unlike isotropic noise, ``diag(s^2)`` is not a
    function of ``G``, so this noise *can* change the learned subspace.

    Give either ``stds`` (``[D]``, per-pixel standard deviations) or ``relative`` (each pixel's
    noise std is ``relative`` times that pixel's root-mean-square ``sqrt(G_ii / N)`` -- its std
    for centred data -- a variance-proportional noise).
    """

    stds: np.ndarray | None = None
    relative: float | None = None
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        if (self.stds is None) == (self.relative is None):
            raise ConfigError("DiagonalGaussianNoise needs exactly one of stds or relative")
        if self.stds is not None:
            self.stds = np.asarray(self.stds, dtype=np.float64)
            if (self.stds.ndim != 1 or np.any(self.stds < 0) or not np.all(np.isfinite(self.stds))
                    or np.any(self.stds > MAX_NOISE_STD)):
                raise ConfigError(f"stds must be a 1-D array of numbers in [0, {MAX_NOISE_STD:g}]")
            self.name = "diag-gaussian:custom"
        else:
            self.relative = check_float("relative", self.relative, 0.0, MAX_NOISE_STD)
            self.name = f"diag-gaussian:{self.relative:g}"

    def variances(self, data: DataMoments) -> np.ndarray:
        """Per-pixel noise variances ``[D]``."""
        if self.stds is not None:
            if self.stds.shape != (data.dim,):
                raise ConfigError(f"stds has {self.stds.shape[0]} entries but the data has D = {data.dim}")
            return self.stds**2
        return self.relative**2 * np.diag(data.gram) / max(data.n_samples, 1)

    def validate_for(self, data):
        self.variances(data)

    def moments(self, data):
        return data.gram, data.gram + data.n_samples * np.diag(self.variances(data))

    def sample(self, x, image_shape=None, generator=None):
        if self.stds is None:
            stds = self.relative * x.pow(2).mean(dim=0).sqrt()  # RMS, as in variances()
        else:
            stds = torch.as_tensor(self.stds, dtype=x.dtype, device=x.device)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return x + noise * stds

    def sympy_moments(self, s, n):
        sigma2 = sp.MatrixSymbol("Sigma", *s.shape)  # a diagonal matrix, not a function of s
        return s, s + n * sigma2


# --------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------


def patch_ids(image_shape: tuple[int, int, int], patch: tuple[int, int]) -> np.ndarray:
    """``[D]`` id of the patch each pixel (C-H-W order) belongs to; a patch spans all channels."""
    c, h, w = image_shape
    a, b = patch
    rows = np.arange(h)[:, None] // a
    cols = np.arange(w)[None, :] // b
    ids = rows * (w // b) + cols  # [H, W]
    return np.broadcast_to(ids, (c, h, w)).reshape(-1)


@dataclass(repr=False)
class MaskNoise(NoiseModel):
    """Masking: each patch of shape ``patch = (a, b)`` is dropped (set to 0) with probability ``p``.

    Two conventions for what one mask entry covers on multi-channel images ``(C, H, W)``:

    * **entry-wise** (``location=False`` with ``patch = (1, 1)``; spec ``mask:P``): every entry
      (each channel of each pixel) is masked independently -- the ``Diag`` formula
      ``M2 = q^2 G + q(1-q) Diag(G)``. Needs no image shape.
    * **location-wise** (spec ``mask:P:AxB``, including ``mask:P:1x1``): an ``a x b`` block of
      pixel locations is dropped across *all* C channels at once, as MAE's patches do. With
      ``1x1`` this is the authors' 1x1 "patch" mask (their code, and the paper's figures, drop a
      location in every channel). Any patch larger than 1x1 is always location-wise.

    On one-channel images (Fashion-MNIST) ``mask:P`` and ``mask:P:1x1`` coincide; for C > 1 they
    differ (``proofs/mask_moments.py``). With keep probability ``q = 1 - p`` and mask ``m``
    (1 = kept), ``x~ = m * x`` and

        E[m_i] = q,   E[m_i m_j] = q if entries i and j share a mask draw, else q^2,

    so ``M1 = q G`` and ``M2 = G * M`` (element-wise), ``M_ij`` the co-occurrence above. ``M2`` is
    not a function of ``G`` alone, so masking can change the learned subspace.

    ``inverted=True`` is inverted dropout: ``x~ = m * x / q`` (``M1 = G``, ``M2 = G * M / q^2``).
    """

    p: float = 0.5
    patch: tuple[int, int] = (1, 1)
    inverted: bool = False
    #: 1x1 patches: drop a pixel location across all channels (True) or each entry (False).
    location: bool = False
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.p = check_float("mask ratio p", self.p, 0.0, 1.0, high_open=True)
        self._check_patch()
        kind = "dropout" if self.inverted else "mask"
        self.name = f"{kind}:{self.p:g}{self._patch_suffix()}"

    def _check_patch(self) -> None:
        if len(self.patch) != 2:
            raise ConfigError(f"patch must be (a, b); got {self.patch!r}")
        self.patch = (check_int("patch height", self.patch[0], 1), check_int("patch width", self.patch[1], 1))
        self.location = bool(self.location) or self.patch != (1, 1)

    def _patch_suffix(self) -> str:
        """``""`` for entry-wise masks (spec ``mask:P``), ``":AxB"`` for location patches."""
        return f":{self.patch[0]}x{self.patch[1]}" if self.location else ""

    def keep_moments(self) -> tuple[float, float]:
        """``(E[q], E[q^2])`` of the per-sample keep probability (deterministic here)."""
        q = 1.0 - self.p
        return q, q * q

    def inverse_keep_moment(self) -> float:
        """``E[1/q]``: the within-patch co-occurrence of inverted dropout (deterministic: 1/q)."""
        return 1.0 / (1.0 - self.p)

    @property
    def is_pixel(self) -> bool:
        """Entry-wise masking (every channel of every pixel independent; no image shape needed)."""
        return not self.location

    def validate_for(self, data: DataMoments) -> None:
        self.check_tiling(data.image_shape)

    def check_tiling(self, image_shape: tuple[int, int, int] | None) -> None:
        """Patch masks need an image shape whose height and width the patch divides."""
        if self.is_pixel:
            return
        if image_shape is None:
            raise ConfigError(f"{self.name}: patch masking needs the image shape (C, H, W) of the data")
        _, h, w = image_shape
        a, b = self.patch
        if h % a or w % b:
            raise ConfigError(f"{self.name}: patch {a}x{b} does not tile images of size {h}x{w}")

    def cooccurrence(self, data: DataMoments) -> np.ndarray:
        """``[D, D]`` co-occurrence of the (possibly rescaled) mask.

        Plain masking: ``E[m_i m_j]`` = ``E[q]`` within a patch, ``E[q^2]`` across patches.
        Inverted dropout (``m / q``): ``E[m_i m_j / q^2]`` = ``E[1/q]`` within, ``1`` across.
        """
        self.validate_for(data)
        m1, m2 = (self.inverse_keep_moment(), 1.0) if self.inverted else self.keep_moments()
        if self.is_pixel:
            return m2 + (m1 - m2) * np.eye(data.dim)
        ids = patch_ids(data.image_shape, self.patch)
        same = ids[:, None] == ids[None, :]
        return np.where(same, m1, m2)

    def moments(self, data):
        # E[m_i] = E[q] (plain) or E[q / q] = 1 (inverted): M1 = E[q] G or G.
        mean_keep = 1.0 if self.inverted else self.keep_moments()[0]
        return data.gram * mean_keep, data.gram * self.cooccurrence(data)

    def _keep_probabilities(self, n: int, generator, device, dtype) -> torch.Tensor:
        """``[N, 1, 1, 1]`` per-sample keep probability."""
        return torch.full((n, 1, 1, 1), 1.0 - self.p, device=device, dtype=dtype)

    def sample(self, x, image_shape=None, generator=None):
        n, d = x.shape
        self.check_tiling(image_shape)
        c, h, w = (1, 1, d) if self.is_pixel else tuple(image_shape)
        a, b = self.patch
        q = self._keep_probabilities(n, generator, x.device, x.dtype)
        u = torch.rand((n, 1, h // a, w // b), generator=generator, device=x.device, dtype=x.dtype)
        keep = (u < q).to(x.dtype)
        keep = keep.repeat_interleave(a, dim=2).repeat_interleave(b, dim=3).expand(n, c, h, w)
        out = x * keep.reshape(n, d)
        if self.inverted:
            out = out / q.reshape(n, 1)
        return out

    def sympy_moments(self, s, n):
        q = sp.Symbol("q", positive=True)
        if self.is_pixel:
            # E[m m^T] = q^2 11^T + q(1-q) I, so M2 = q^2 S + q(1-q) (S o I).
            cooc_input = q**2 * s + q * (1 - q) * sp.HadamardProduct(s, sp.Identity(s.shape[0]))
        else:
            cooc = sp.MatrixSymbol("M_patch", *s.shape)
            cooc_input = sp.HadamardProduct(s, cooc)
        if self.inverted:
            return s, cooc_input / q**2
        return q * s, cooc_input


@dataclass(repr=False)
class RandomRatioMask(MaskNoise):
    """Masking whose drop ratio is drawn per sample, ``p ~ Uniform[low, high]``.

    Each sample first draws its ratio, then masks patches independently with it. The moments use
    the keep probability's first two moments: ``E[q] = 1 - (low + high)/2`` and
    ``E[q^2] = E[q]^2 + (high - low)^2 / 12``.
    """

    low: float = 0.25
    high: float = 0.75

    def __post_init__(self) -> None:
        self.low = check_float("low", self.low, 0.0, 1.0, high_open=True)
        self.high = check_float("high", self.high, self.low, 1.0, high_open=True)
        self.p = (self.low + self.high) / 2
        self._check_patch()
        kind = "random-dropout" if self.inverted else "random-mask"
        self.name = f"{kind}:{self.low:g}-{self.high:g}{self._patch_suffix()}"

    def keep_moments(self) -> tuple[float, float]:
        mean = 1.0 - (self.low + self.high) / 2
        return mean, mean**2 + (self.high - self.low) ** 2 / 12

    def inverse_keep_moment(self) -> float:
        """``E[1/q]`` for ``q ~ Uniform[1 - high, 1 - low]``: ``ln(q_max / q_min) / (q_max - q_min)``."""
        q_min, q_max = 1.0 - self.high, 1.0 - self.low
        if q_max - q_min < 1e-12:
            return 1.0 / q_min
        return math.log(q_max / q_min) / (q_max - q_min)

    def _keep_probabilities(self, n, generator, device, dtype):
        u = torch.rand((n, 1, 1, 1), generator=generator, device=device, dtype=dtype)
        return 1.0 - (self.low + (self.high - self.low) * u)

    def sympy_moments(self, s, n):
        if self.inverted:
            return None
        eq, eq2 = sp.symbols("Eq Eq2", positive=True)
        cooc = sp.MatrixSymbol("M_patch", *s.shape)  # Eq within a patch, Eq2 across patches
        return eq * s, sp.HadamardProduct(s, cooc)


# --------------------------------------------------------------------------------------------
# User-defined noise from plain functions
# --------------------------------------------------------------------------------------------


@dataclass(repr=False)
class FunctionalNoise(NoiseModel):
    """A noise model made of plain functions, for quick experiments without subclassing.

    ``moments_fn(data) -> (M1, M2)`` is required; ``sample_fn(x, image_shape, generator)`` and
    ``sympy_fn(s, n) -> (M1, M2)`` are optional.
    """

    name: str = "custom"
    moments_fn: Callable[[DataMoments], tuple[np.ndarray, np.ndarray]] | None = None
    sample_fn: Callable | None = None
    sympy_fn: Callable | None = None

    def __post_init__(self) -> None:
        if self.moments_fn is None:
            raise ConfigError("FunctionalNoise needs moments_fn(data) -> (M1, M2)")

    def moments(self, data):
        return self.moments_fn(data)

    def sample(self, x, image_shape=None, generator=None):
        if self.sample_fn is None:
            return super().sample(x, image_shape, generator)
        return self.sample_fn(x, image_shape, generator)

    def sympy_moments(self, s, n):
        return None if self.sympy_fn is None else self.sympy_fn(s, n)


# --------------------------------------------------------------------------------------------
# Noise specs (the CLI's language)
# --------------------------------------------------------------------------------------------

NOISE_SPEC_HELP = (
    "none | gaussian:SIGMA | diag-gaussian:REL (std = REL x pixel std) | mask:P[:AxB] | "
    "dropout:P[:AxB] (inverted) | random-mask:LOW-HIGH[:AxB]; P is the drop probability in [0, 1). "
    "Without :AxB every entry (each channel of each pixel) is dropped independently; with :AxB "
    "(1x1 included) AxB blocks of pixel locations are dropped across all channels at once (the "
    "authors' convention: the paper's 1x1 mask). The two agree on one-channel images"
)


def _parse_patch(text: str, spec: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ConfigError(f"noise spec {spec!r}: patch must look like AxB with positive integers, got {text!r}")
    return int(parts[0]), int(parts[1])


def _parse_number(text: str, spec: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"noise spec {spec!r}: {what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"noise spec {spec!r}: {what} must be finite")
    return value


def parse_noise(spec: str) -> NoiseModel:
    """Build a noise model from a spec string (see ``NOISE_SPEC_HELP``)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"empty noise spec; expected {NOISE_SPEC_HELP}")
    parts = spec.strip().lower().split(":")
    kind, args = parts[0], parts[1:]
    try:
        if kind in ("none", "ae", "clean") and not args:
            return NoNoise()
        if kind == "gaussian" and len(args) == 1:
            return GaussianNoise(_parse_number(args[0], spec, "sigma"))
        if kind == "diag-gaussian" and len(args) == 1:
            return DiagonalGaussianNoise(relative=_parse_number(args[0], spec, "REL"))
        if kind in ("mask", "dropout") and len(args) in (1, 2):
            patch = _parse_patch(args[1], spec) if len(args) == 2 else (1, 1)
            return MaskNoise(_parse_number(args[0], spec, "P"), patch, inverted=kind == "dropout",
                             location=len(args) == 2)
        if kind in ("random-mask", "random-dropout") and len(args) in (1, 2):
            bounds = args[0].split("-")
            if len(bounds) != 2:
                raise ConfigError(f"noise spec {spec!r}: ratio range must look like LOW-HIGH")
            low, high = (_parse_number(b, spec, "ratio bound") for b in bounds)
            patch = _parse_patch(args[1], spec) if len(args) == 2 else (1, 1)
            return RandomRatioMask(patch=patch, inverted=kind == "random-dropout", low=low, high=high,
                                   location=len(args) == 2)
    except ConfigError as exc:
        if spec in str(exc):
            raise
        raise ConfigError(f"noise spec {spec!r}: {exc}") from None
    raise ConfigError(f"unknown noise spec {spec!r}; expected {NOISE_SPEC_HELP}")
