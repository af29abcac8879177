"""Learned-last dynamics on Fashion-MNIST (14x14), CPU preset: one- and two-layer linear AE,
Gaussian and masked DAE by minibatch gradient descent vs closed forms (same as ``mrp dynamics``).
"""

from mrptheory.data.registry import load_dataset
from mrptheory.experiments.dynamics.figures import plot_dynamics
from mrptheory.experiments.dynamics.experiment import DynamicsConfig, dynamics_summary, run_dynamics

OUT = "paper_figs/dynamics"

if __name__ == "__main__":
    config = DynamicsConfig(dataset="fashion-mnist")
    payload = run_dynamics(load_dataset(config.dataset), config, OUT, threads=1)
    print(plot_dynamics(payload, OUT))
    for name, summary in dynamics_summary(payload).items():
        print(name, summary)
