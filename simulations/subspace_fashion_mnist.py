"""Projection experiment on Fashion-MNIST, CPU preset: MLP, 10k train images, 5 epochs, 3 seeds,
cut-offs 0.5 / 0.8 / 0.9 / 0.95 (same as ``mrp subspace``; resumable).
"""

from mrptheory.data.registry import load_dataset
from mrptheory.experiments.subspace.figures import plot_subspace_accuracy
from mrptheory.experiments.subspace.projection import ProjectionConfig, run_projection_sweep

OUT = "paper_figs/subspace"

if __name__ == "__main__":
    config = ProjectionConfig(dataset="fashion-mnist")
    payload = run_projection_sweep(load_dataset(config.dataset), config, OUT, threads=1)
    print(plot_subspace_accuracy(payload, OUT))
    print(payload["headline"])
