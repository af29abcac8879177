"""MAE sweep, default preset: 12k images, 15 epochs, 4 mask ratios x 2 patch sizes, 3 DAE noise
levels (tens of minutes on 2 CPU cores; run with OMP_NUM_THREADS=1 on a busy machine).

Same as ``mrp mae sweep``; resumable.
"""

from mrptheory.data.registry import load_dataset
from mrptheory.experiments.mae.baselines import sweep_baselines
from mrptheory.experiments.mae.report import summary_table, write_sweep_outputs
from mrptheory.experiments.mae.sweep import default_sweep_config, run_mae_sweep

OUT = "paper_figs/mae"

if __name__ == "__main__":
    data = load_dataset("fashion-mnist")
    cfg = default_sweep_config(data.train.image_shape, data.train.num_classes)
    records = run_mae_sweep(data, cfg, OUT, log=print)
    write_sweep_outputs(records, cfg, data, OUT, dataset="fashion-mnist")
    print(summary_table(records, sweep_baselines(records, cfg, data)))
