"""Projection experiment at the paper's scale for a GPU: whole train split, 50 epochs, ResNet-9
(base width 64) and MLP, with augmentation, cut-offs 0.5 ... 0.95, 3 seeds.

``python simulations/subspace_gpu.py [DATASET [DATA_ROOT]]`` (default Fashion-MNIST); resumable.
"""

import sys

from mrptheory.data.registry import load_dataset
from mrptheory.experiments.subspace.figures import plot_subspace_accuracy
from mrptheory.experiments.subspace.projection import ProjectionConfig, run_projection_sweep

OUT = "paper_figs/subspace"

if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "fashion-mnist"
    config = ProjectionConfig(dataset=name, cuts=(0.5, 0.7, 0.8, 0.9, 0.95, 0.99),
                              archs=("resnet9", "mlp"), seeds=(0, 1, 2), train_size=None,
                              epochs=50, augment=True, resnet_width=64, mlp_max_width=None)
    payload = run_projection_sweep(load_dataset(name, sys.argv[2] if len(sys.argv) > 2 else None),
                                   config, OUT, device="auto")
    print(plot_subspace_accuracy(payload, OUT))
    print(payload["headline"])
