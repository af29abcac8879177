"""Seeds that make runs repeatable: one integer seeds numpy, torch and Python's ``random``."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> np.random.Generator:
    """Seed all global RNGs and return a fresh numpy Generator for explicit use."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)

