"""Budget curve of the projection experiment on Fashion-MNIST, the part that fits 2 CPU cores
(resumable; one thread). Same as

    mrp subspace --budget 2000,10000,60000 --budget-epochs 5,15 --arch mlp --seeds 2 --test-size 5000
    mrp subspace --budget 2000,10000 --budget-epochs 5 --arch resnet9 --resnet-width 8 --seeds 2 \\
        --test-size 5000

(MLP: about 25 min, ResNet-9 width 8: about 40 min on one shared CPU thread.)
"""

from mrptheory.data.registry import load_dataset
from mrptheory.plots.real_data import plot_subspace_budget
from mrptheory.train.projection_budget import BudgetConfig, run_budget

OUT = "paper_figs"

if __name__ == "__main__":
    data = load_dataset("fashion-mnist")
    for config, tag in (
            (BudgetConfig(archs=("mlp",), train_sizes=(2000, 10000, 60000), epochs=(5, 15),
                          seeds=(0, 1), test_size=5000), "subspace_budget_fashion-mnist_mlp"),
            (BudgetConfig(archs=("resnet9",), train_sizes=(2000, 10000), epochs=(5,), seeds=(0, 1),
                          test_size=5000, resnet_width=8), "subspace_budget_fashion-mnist_resnet9")):
        payload = run_budget(data, config, OUT, threads=1, tag=tag)
        print(plot_subspace_budget(payload, OUT))
        print(payload["crossovers"])
