"""The learned-last experiment's configuration: which models, how long, which noise, which step.

Four linear autoencoders are trained (``MODELS``): ``linear`` (one layer from 0), ``deep`` (two
layers from a small balanced start), ``gaussian`` and ``mask`` (one-layer DAEs). Each model's
corruption is a :class:`~mrptheory.linear.noise.NoiseModel` (:meth:`DynamicsConfig.noise_for`),
so training samples it and the closed form takes its moments from the same object.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

from mrptheory.config_spec import constrained, integer, real, seq, text
from mrptheory.linear.noise import GaussianNoise, MaskNoise, NoiseModel, NoNoise
from mrptheory.validation import check_choice

MODELS: tuple[str, ...] = ("linear", "deep", "gaussian", "mask")
#: A direction counts as learned once this fraction of its energy is reconstructed.
LEARNED_LEVEL: float = 0.5


@constrained()
@dataclass
class DynamicsConfig:
    """A learned-last run.

    Time is gradient-flow time ``t = lr * step``; the learning rate is ``lr_scale / (2 lambda_max)``
    (``lambda_max`` = top eigenvalue of ``X^T X / N``), so the fastest one-layer mode decays by a
    factor ``1 - lr_scale`` per step (stable below 1; for ``deep`` near convergence ``2 lr_scale``).
    """

    dataset: str = text("fashion-mnist", doc="a data-registry name (canonicalised by the command)")
    models: tuple[str, ...] = seq(MODELS, "str", choices=MODELS)
    train_size: int = integer(10000, 2)
    probe_train_size: int = integer(5000, 2)
    probe_test_size: int = integer(2000, 1)
    downsample: int = integer(2, 1, 8)
    batch_size: int = integer(256, 1)
    lr_scale: float = real(0.5, 0.0, 1.0, low_open=True, high_open=True)
    t_max: float = real(16.0, 0.0, None, low_open=True)
    deep_t_max: float = real(32.0, 0.0, None, low_open=True)
    init_scale: float = real(0.1, 0.0, 1.0, low_open=True, high_open=True)
    sigma: float = real(0.5, 0.0, None, low_open=True)
    keep: float = real(0.75, 0.0, 1.0, low_open=True, high_open=True)
    n_eval: int = integer(30, 2)
    seed: int = integer(0, 0, 2**32 - 1)

    def fingerprint(self) -> str:
        keep = {k: v for k, v in asdict(self).items() if k != "models"}
        return hashlib.sha1(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:10]

    def noise_for(self, model: str) -> NoiseModel:
        """The corruption of ``model``: Gaussian ``sigma``, pixel mask keeping ``keep``, or none."""
        model = check_choice("model", model, MODELS)
        if model == "gaussian":
            return GaussianNoise(self.sigma)
        if model == "mask":
            return MaskNoise(1.0 - self.keep)
        return NoNoise()

    def t_max_for(self, model: str) -> float:
        """Gradient-flow time ``model`` is trained for (``deep_t_max`` for the two-layer AE)."""
        return self.deep_t_max if model == "deep" else self.t_max

    def sample_seed(self, model: str) -> int:
        """Seed of the generator that draws ``model``'s minibatches and noise."""
        return self.seed * 7919 + MODELS.index(model)


def learning_rate(lambda_max: float, lr_scale: float) -> float:
    """``lr_scale / (2 lambda_max)``, ``lambda_max`` the top eigenvalue of ``X^T X / N``."""
    return lr_scale / (2.0 * float(lambda_max))


def eval_steps(total: int, n_eval: int) -> list[int]:
    """Log-spaced step counts in ``[1, total]`` (distinct), plus step 0 first."""
    steps = np.unique(np.round(np.geomspace(1, max(total, 1), n_eval)).astype(int))
    return [0] + steps.tolist()
