"""SL vs MRP on multi-view data at the package defaults (Pan et al. 2022 / Allen-Zhu & Li 2020).

    python simulations/multiview_compare.py   # same as `mrp multiview compare`
"""

from pathlib import Path

from mrptheory.experiments.multiview.data import MultiViewConfig
from mrptheory.experiments.multiview import figures  # noqa: F401  (its figure kinds)
from mrptheory.plots.registry import write
from mrptheory.experiments.multiview.common import seed_list
from mrptheory.experiments.multiview.config import MRPConfig, SLConfig
from mrptheory.experiments.multiview.experiment import compare_summary, run_compare

# theory-regime defaults (mrptheory.experiments.multiview.regime): k=10, d=100, P=12, mu=0.02,
# gamma = sigma_p = 1e-4, theory-like single-view test data
DATA = MultiViewConfig()
SL = SLConfig()  # m=4, q=4, rho=0.2, sigma_0=0.005, lr 8, until converged (budget 2000)
MRP = MRPConfig()  # km=40 kernels, mask 0.5, EMA teacher (batch-normalised), lr 4, until converged
SEEDS = seed_list(8)

if __name__ == "__main__":
    res = run_compare(DATA, SL, MRP, SEEDS)
    out = Path("paper_figs/multiview")
    write(res.payloads, out)
    print(compare_summary(res))
