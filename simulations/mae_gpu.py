"""MAE sweep, full-size preset for a GPU: whole train split, ViT d=192 depth 6, 100 epochs,
patch sizes 2/4/7, 4 mask ratios, 3 seeds (bfloat16 autocast on CUDA).

Same as ``mrp mae sweep --preset gpu``; pass a data set as ``python simulations/mae_gpu.py cifar10
/path/to/cifar`` (default Fashion-MNIST).
"""

import sys

from mrptheory.data.registry import load_dataset
from mrptheory.experiments.mae.baselines import sweep_baselines
from mrptheory.experiments.mae.report import summary_table, write_sweep_outputs
from mrptheory.experiments.mae.sweep import gpu_sweep_config, run_mae_sweep

OUT = "paper_figs/mae"

if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "fashion-mnist"
    data = load_dataset(name, sys.argv[2] if len(sys.argv) > 2 else None)
    cfg = gpu_sweep_config(data.train.image_shape, data.train.num_classes)
    if data.train.image_shape[0] == 3:   # colour images: random horizontal flips
        import dataclasses

        cfg = dataclasses.replace(cfg, base=dataclasses.replace(cfg.base, hflip=True))
    records = run_mae_sweep(data, cfg, OUT, log=print)
    write_sweep_outputs(records, cfg, data, OUT, dataset=name)
    print(summary_table(records, sweep_baselines(records, cfg, data)))
