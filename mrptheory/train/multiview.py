"""Training on multi-view data: supervised learning (SL) and mask-reconstruction pretraining (MRP)
followed by a linear probe and fine-tuning -- many seeds trained at once.

Batching: every weight has a leading seed axis S and every step is a handful of batched
matmuls (``bmm`` over the seed axis) plus in-place elementwise passes; the seeds never interact.
Each seed's data, initialisation and masks come from that seed's own generators, so a seed's run
does not depend on which seeds share its batch (``tests/train`` checks batched == looped).

Gradients are in closed form, not autograd, and live with the models
(``ConvLearner.loss_and_grads`` on top of ``conv_encode_fused`` / ``conv_weight_grad`` in
:mod:`mrptheory.models.conv_learner`; ``MRPAutoEncoder.loss_and_grads`` and
``LinearHead.loss_and_grads`` in :mod:`mrptheory.models.mrp_autoencoder`; ``tests/models`` checks
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

Where the code lives (this module only re-exports it, so ``mrptheory.train.multiview`` keeps
working as the one import for callers):

* :mod:`mrptheory.train.multiview_config` -- ``ConvConfig`` (the shared conv part), ``SLConfig``,
  ``MRPConfig``;
* :mod:`mrptheory.train.multiview_common` -- ``MultiViewData`` / ``make_data``, the log grid,
  ``DivergenceError`` / ``check_finite``, ``seed_list``;
* :mod:`mrptheory.train.multiview_sl` -- the SL loop ``train_sl`` and ``sl_theory_growth``;
* :mod:`mrptheory.train.multiview_mrp` -- the MRP pretraining loop ``train_mrp`` and the
  probe / fine-tuning loop ``train_linear_head``;
* :mod:`mrptheory.metrics.feature_capture` -- the summaries ``sl_summary`` and ``mrp_summary``.
"""

from __future__ import annotations

from mrptheory.metrics.feature_capture import sl_summary
from mrptheory.train.multiview_common import (DivergenceError, MultiViewData, check_finite,
                                              make_data, seed_list)
from mrptheory.train.multiview_config import ConvConfig, MRPConfig, SLConfig
from mrptheory.train.multiview_mrp import MRPResult, summarise_mrp, train_linear_head, train_mrp
from mrptheory.train.multiview_sl import SLResult, sl_theory_growth, train_sl

#: the former name of :func:`~mrptheory.train.multiview_mrp.summarise_mrp` (same signature,
#: ``(res: MRPResult, threshold)``; the array-level function is
#: ``metrics.feature_capture.mrp_summary``)
mrp_summary = summarise_mrp

__all__ = ["ConvConfig", "SLConfig", "MRPConfig", "SLResult", "MRPResult", "MultiViewData",
           "make_data", "train_sl", "train_mrp", "train_linear_head", "sl_theory_growth",
           "sl_summary", "mrp_summary", "seed_list", "DivergenceError", "check_finite"]
