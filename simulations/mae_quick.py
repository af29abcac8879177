"""MAE vs AE vs Gaussian DAE vs supervised, quick preset (a few minutes on 2 CPU cores).

Same as ``mrp mae sweep --quick``; resumable (re-running skips finished points).
"""

from mrptheory.data.registry import load_dataset
from mrptheory.experiments.mae.baselines import sweep_baselines
from mrptheory.experiments.mae.report import summary_table, write_sweep_outputs
from mrptheory.experiments.mae.sweep import quick_sweep_config, run_mae_sweep

OUT = "paper_figs/mae"

if __name__ == "__main__":
    data = load_dataset("fashion-mnist")
    cfg = quick_sweep_config(data.train.image_shape, data.train.num_classes)
    records = run_mae_sweep(data, cfg, OUT, log=print)
    write_sweep_outputs(records, cfg, data, OUT, dataset="fashion-mnist")
    print(summary_table(records, sweep_baselines(records, cfg, data)))
