"""Budget curve of the projection experiment on Fashion-MNIST, the part that fits 2 CPU cores
(resumable; one thread). The MLP part is the same as

    mrp subspace --budget 2000,10000,60000 --budget-epochs 5,15 --arch mlp --seeds 2 --test-size 5000

The ResNet-9 part uses batch 128 (paper: 512) so that 2,000 images still give enough optimiser
steps, which the command line does not expose. Measured wall time on the shared 2-core machine
(load 6-8): MLP about 30 min, ResNet-9 width 8 about 25 min.
"""

from mrptheory.data.registry import load_dataset
from mrptheory.experiments.subspace.figures import plot_subspace_budget
from mrptheory.experiments.subspace.budget import BudgetConfig, run_budget

OUT = "paper_figs/subspace"

if __name__ == "__main__":
    data = load_dataset("fashion-mnist")
    for config, tag in (
            (BudgetConfig(archs=("mlp",), train_sizes=(2000, 10000, 60000), epochs=(5, 15),
                          seeds=(0, 1), test_size=5000), "subspace_budget_fashion-mnist_mlp"),
            (BudgetConfig(archs=("resnet9",), train_sizes=(2000, 10000), epochs=(5,), seeds=(0, 1),
                          test_size=2000, batch_size=128, resnet_width=8),
             "subspace_budget_fashion-mnist_resnet9")):
        payload = run_budget(data, config, OUT, threads=1, tag=tag)
        print(plot_subspace_budget(payload, OUT))
        print(payload["crossovers"])
