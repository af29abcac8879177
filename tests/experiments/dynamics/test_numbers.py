"""The learned-last numbers of a tiny run, pinned to literals recorded from the pre-refactor code.

Issue 11 split ``train/linear_dynamics.py`` into modules and moved its noise sampling and flow
moments onto ``NoiseModel`` without changing any number; this test keeps it that way. The
literals were produced by the code at commit 66afa7b (before the split) on ``controlled_data()``
with ``tiny_config(batch_size=32, n_eval=4, t_max=2.0, deep_t_max=6.0)``, one CPU thread.

Tolerance: rtol 1e-5. On the recording machine the refactored code reproduces them bit for bit;
the slack only covers float32 round-off of a different BLAS/CPU over the ~100-270 minibatch steps.
Any change of the sampling stream (minibatch indices, noise draws, initialisation) or of a formula
moves these numbers by 1e-3 or more (different minibatches change rho by ~1e-2).
"""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.device import cpu_threads
from mrptheory.experiments.dynamics import experiment as ld
from tests.experiments.dynamics.test_theory import controlled_data, tiny_config

RECORDED = {
    "linear": {
        "steps": [0, 1, 4, 20, 91],
        "loss": 0.22179446558312554,
        "rho": [0.8320604504714502, 0.25345596479429866, 0.06748590545425026, 0.03813900793084135],
        "theory_loss": 0.2281872278672737,
        "theory_rho": [0.7981034820053453, 0.27440187633195035, 0.08347753758527232, 0.03381672418825865],
        "probe": 0.57,
        "probe_learned": 0.5733333333333334,
    },
    "deep": {
        "steps": [0, 1, 6, 42, 273],
        "loss": 0.2535030998651657,
        "rho": [0.1977395910288109, 0.0310481325015719, 0.02236151441194789, 0.020843013353991524],
        "theory_loss": 0.24545267857771044,
        "theory_rho": [0.19034121703599094, 0.03190102662388483, 0.022632404452155197, 0.020937243386762172],
        "probe": 0.57,
        "probe_learned": 0.55,
    },
    "gaussian": {
        "steps": [0, 1, 4, 20, 91],
        "loss": 0.8386093898333881,
        "rho": [0.8521733750199048, 0.27321947123994184, 0.06516296295299573, 0.02516399215512588],
        "theory_loss": 0.812538421049378,
        "theory_rho": [0.7886496569676307, 0.2690511293696035, 0.08171477738844668, 0.03309003359229834],
        "probe": 0.57,
        "probe_learned": 0.55,
    },
    "mask": {
        "steps": [0, 1, 4, 20, 91],
        "loss": 0.9836077775259165,
        "rho": [0.753872984257882, 0.18965043360460743, 0.05646755934077208, 0.00673441507405359],
        "theory_loss": 0.9522968581776226,
        "theory_rho": [0.7194955720889509, 0.2139131222322338, 0.062496493041230394, 0.025126204965926213],
        "probe": 0.57,
        "probe_learned": 0.5566666666666666,
    },
}

RHO_DIRECTIONS = (0, 6, 12, 15)  # eigen-directions, fastest to slowest
RHO_EVAL = 2                      # evaluation point (mid-training) the rho values are taken at


@pytest.mark.parametrize("model", ld.MODELS)
def test_dynamics_numbers_match_the_pre_refactor_run(model: str) -> None:
    config = tiny_config(batch_size=32, n_eval=4, t_max=2.0, deep_t_max=6.0)
    with cpu_threads(1):
        rec = ld.run_model(model, controlled_data(), config, device="cpu", show_progress=False)
    want = RECORDED[model]
    assert rec["steps"] == want["steps"]
    got = {
        "loss": rec["loss"][-1], "theory_loss": rec["theory_loss"][-1],
        "rho": [rec["rho"][RHO_EVAL][i] for i in RHO_DIRECTIONS],
        "theory_rho": [rec["theory_rho"][RHO_EVAL][i] for i in RHO_DIRECTIONS],
        "probe": rec["probe"][-1], "probe_learned": rec["probe_learned"][-1],
    }
    for key, value in got.items():
        np.testing.assert_allclose(value, want[key], rtol=1e-5, atol=0, err_msg=f"{model} {key}")
