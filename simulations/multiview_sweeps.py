"""Sweeps of the multi-view comparison over the theory's knobs (resumable; one JSONL per knob).

    python simulations/multiview_sweeps.py            # all sweeps below (long)
    python simulations/multiview_sweeps.py mu q       # only some
"""

import sys
from pathlib import Path

from mrptheory.experiments.multiview.data import MultiViewConfig
from mrptheory.experiments.multiview import figures  # noqa: F401  (its figure kinds)
from mrptheory.plots.registry import write
from mrptheory.experiments.multiview.common import seed_list
from mrptheory.experiments.multiview.config import MRPConfig, SLConfig
from mrptheory.experiments.multiview.experiment import run_multiview_sweep

SWEEPS = {
    "mu": [0.0, 0.05, 0.1, 0.2],
    "q": [3, 4, 6],
    "sigma_0": [0.005, 0.01, 0.02, 0.05],
    "mask_ratio": [0.25, 0.5, 0.75],
    "m": [2, 4, 8],
    "d": [50, 100, 200],
}
SEEDS = seed_list(4)

if __name__ == "__main__":
    out = Path("paper_figs/multiview")
    for param in sys.argv[1:] or list(SWEEPS):
        payload = run_multiview_sweep(MultiViewConfig(), SLConfig(), MRPConfig(), param,
                                      SWEEPS[param], SEEDS, out / f"multiview_sweep_{param}.jsonl")
        write({f"multiview_sweep_{param}": payload}, out)
