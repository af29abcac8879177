"""Budget curve at the paper's conditions, for a GPU: ResNet-9 at base width 64 with augmentation
and the MLP, train sizes 2k / 10k / all, 10 and 50 epochs, 3 seeds, all test images.

``python simulations/subspace_budget_gpu.py [DATASET [DATA_ROOT]]`` (default Fashion-MNIST);
resumable (JsonlStore + per-epoch checkpoints). Not run by this project (no GPU here); expected
cost is dominated by ResNet-9 on the whole train split: 3 seeds x 2 sides x (10 + 50) epochs of 60k
images, about 22M image passes -- an hour or two on one modern GPU (an estimate, not a measurement).
"""

import sys

from mrptheory.data.registry import load_dataset
from mrptheory.experiments.subspace.figures import plot_subspace_budget
from mrptheory.experiments.subspace.budget import BudgetConfig, run_budget

OUT = "paper_figs/subspace"

if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "fashion-mnist"
    config = BudgetConfig(dataset=name, archs=("resnet9", "mlp"), train_sizes=(2000, 10000, 0),
                          epochs=(10, 50), seeds=(0, 1, 2), test_size=None, augment=True,
                          resnet_width=64, mlp_max_width=None)
    payload = run_budget(load_dataset(name, sys.argv[2] if len(sys.argv) > 2 else None), config,
                         OUT, device="auto", tag=f"subspace_budget_{name}_gpu")
    print(plot_subspace_budget(payload, OUT))
    print(payload["crossovers"])
