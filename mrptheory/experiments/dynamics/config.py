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

from mrptheory.errors import ConfigError
from mrptheory.linear.noise import GaussianNoise, MaskNoise, NoiseModel, NoNoise
from mrptheory.validation import check_choice, check_float, check_int

MODELS: tuple[str, ...] = ("linear", "deep", "gaussian", "mask")
#: A direction counts as learned once this fraction of its energy is reconstructed.
LEARNED_LEVEL: float = 0.5


@dataclass
class DynamicsConfig:
    """A learned-last run.

    Time is gradient-flow time ``t = lr * step``; the learning rate is ``lr_scale / (2 lambda_max)``
    (``lambda_max`` = top eigenvalue of ``X^T X / N``), so the fastest one-layer mode decays by a
    factor ``1 - lr_scale`` per step (stable below 1; for ``deep`` near convergence ``2 lr_scale``).
    """

    dataset: str = "fashion-mnist"
    models: tuple[str, ...] = MODELS
    train_size: int = 10000
    probe_train_size: int = 5000
    probe_test_size: int = 2000
    downsample: int = 2
    batch_size: int = 256
    lr_scale: float = 0.5
    t_max: float = 16.0
    deep_t_max: float = 32.0
    init_scale: float = 0.1
    sigma: float = 0.5
    keep: float = 0.75
    n_eval: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.models:
            raise ConfigError(f"models must name at least one of {', '.join(MODELS)}")
        self.models = tuple(check_choice("model", m, MODELS) for m in self.models)
        self.train_size = check_int("train_size", self.train_size, 2)
        self.probe_train_size = check_int("probe_train_size", self.probe_train_size, 2)
        self.probe_test_size = check_int("probe_test_size", self.probe_test_size, 1)
        self.downsample = check_int("downsample", self.downsample, 1, 8)
        self.batch_size = check_int("batch_size", self.batch_size, 1)
        self.lr_scale = check_float("lr_scale", self.lr_scale, 0.0, 1.0, low_open=True,
                                    high_open=True)
        self.t_max = check_float("t_max", self.t_max, 0.0, None, low_open=True)
        self.deep_t_max = check_float("deep_t_max", self.deep_t_max, 0.0, None, low_open=True)
        self.init_scale = check_float("init_scale", self.init_scale, 0.0, 1.0, low_open=True,
                                      high_open=True)
        self.sigma = check_float("sigma", self.sigma, 0.0, None, low_open=True)
        self.keep = check_float("keep", self.keep, 0.0, 1.0, low_open=True, high_open=True)
        self.n_eval = check_int("n_eval", self.n_eval, 2)
        self.seed = check_int("seed", self.seed)

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
