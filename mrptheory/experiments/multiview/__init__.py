"""Training on multi-view data: supervised learning (SL) and mask-reconstruction pretraining (MRP)
followed by a linear probe and fine-tuning -- many seeds trained at once.

Batching: every weight has a leading seed axis S and every step is a handful of batched
matmuls (``bmm`` over the seed axis) plus in-place elementwise passes; the seeds never interact.
Each seed's data, initialisation and masks come from that seed's own generators, so a seed's run
does not depend on which seeds share its batch (``tests/train`` checks batched == looped).

Gradients are in closed form, not autograd, and live with the models
(``ConvLearner.loss_and_grads`` on top of ``conv_encode_fused`` / ``conv_weight_grad`` in
:mod:`mrptheory.experiments.multiview.conv_learner`; ``MRPAutoEncoder.loss_and_grads`` and
``LinearHead.loss_and_grads`` in :mod:`mrptheory.experiments.multiview.mrp_autoencoder`; ``tests/models`` checks
them against autograd): the activation and its derivative come out of one fused pass over the
pre-activations, scratch buffers are reused across steps, the fixed data sets are laid out for the
matmuls once per run, and the MRP teacher's pre-activations follow the EMA recursion instead of a
third matmul per step. The pixel-target MRP variant still uses autograd. Everything is float32 (the
default dtype): the quantities the claims read (correlations of order sigma_0 = 0.02 up to 2,
accuracies) are far above float32 rounding, and batched == looped agree to ~1e-6.
Where the time goes and why batching wins on a GPU but hardly on a CPU: see
``benchmarks/bench_multiview.py``.

Optimiser: full-batch gradient descent on a fixed training set, as analysed by Allen-Zhu & Li
(Sec. 4: GD on N training samples) and Pan et al. (Sec. 4: GD on the pretraining loss).
Fresh masks eps ~ Bernoulli(1 - mask_ratio) are drawn for every MRP step.

Logging: on a grid of steps we record the feature-capture matrices (k x 2 for SL, 2k for MRP),
losses and accuracies on fresh multi-view and single-view test sets (see ``mrptheory.metrics``).

Where the code lives (this facade only re-exports it, lazily, so ``mrptheory.experiments.multiview`` is
the one import for callers):

* :mod:`mrptheory.experiments.multiview.config` -- ``ConvConfig`` (the shared conv part), ``SLConfig``,
  ``MRPConfig``;
* :mod:`mrptheory.experiments.multiview.common` -- ``MultiViewData`` / ``make_data``, the log grid,
  ``DivergenceError`` / ``check_finite``, ``seed_list``;
* :mod:`mrptheory.experiments.multiview.sl` -- the SL loop ``train_sl`` and ``sl_theory_growth``;
* :mod:`mrptheory.experiments.multiview.mrp` -- the MRP pretraining loop ``train_mrp`` and the
  probe / fine-tuning loop ``train_linear_head``;
* :mod:`mrptheory.experiments.multiview.feature_capture` -- the summaries ``sl_summary`` and ``mrp_summary``.
"""

from __future__ import annotations

from mrptheory.facade import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    # configs and data
    "ConvConfig": "config", "SLConfig": "config", "MRPConfig": "config",
    "MultiViewConfig": "data", "MultiViewData": "common", "make_data": "common",
    "seed_list": "common", "DivergenceError": "common", "check_finite": "common",
    # training loops and their summaries
    "SLResult": "sl", "train_sl": "sl", "sl_theory_growth": "sl",
    "MRPResult": "mrp", "train_mrp": "mrp", "train_linear_head": "mrp", "summarise_mrp": "mrp",
    # the former name of summarise_mrp (same signature, ``(res: MRPResult, threshold)``; the
    # array-level function is ``feature_capture.mrp_summary``)
    "mrp_summary": "mrp:summarise_mrp",
    "sl_summary": "feature_capture",
    # experiments (compare, sweeps, convergence, regime map) and the theory they test
    "run_compare": "experiment", "run_multiview_sweep": "experiment",
    "run_convergence": "experiment", "run_regime_map": "regime_map",
    "PRESETS": "regime", "preset_configs": "regime", "combined_report": "regime",
    "sl_growth_curve": "growth",
    # the CLI group
    "multiview": "cli",
})
