"""Learned-last dynamics at full 28x28 resolution on the whole Fashion-MNIST train split (GPU
recommended: D = 784, longer horizons so that directions down to index ~500 are learned).
"""

from mrptheory.data.registry import load_dataset
from mrptheory.experiments.dynamics.figures import plot_dynamics
from mrptheory.experiments.dynamics.experiment import DynamicsConfig, dynamics_summary, run_dynamics

OUT = "paper_figs/dynamics"

if __name__ == "__main__":
    config = DynamicsConfig(dataset="fashion-mnist", downsample=1, train_size=60000,
                            probe_train_size=10000, probe_test_size=10000, batch_size=1024,
                            t_max=40.0, deep_t_max=80.0, n_eval=40)
    payload = run_dynamics(load_dataset(config.dataset), config, OUT, device="auto")
    print(plot_dynamics(payload, OUT))
    for name, summary in dynamics_summary(payload).items():
        print(name, summary)
