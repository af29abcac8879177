"""Tiny SL and MRP runs against literal numbers recorded from the code before issue 11's split of
``train/multiview.py`` (commit e47bf84): moving the gradients into the models, the loops into
``train/multiview_sl`` / ``train/multiview_mrp`` and the summaries into ``metrics`` must not
change a number.

Why rtol 1e-6 and not exact equality: the refactor keeps every float32 operation in the same
order, and on the machine the numbers were recorded on the runs are bit-identical (checked
separately on every saved array, the final weights and the CLI's JSON). Exact equality here
would also fail on a different CPU / BLAS build that rounds a matmul differently in the last
bit; 1e-6 (a few float32 ulps) tolerates that. Measured: moving the weight gradient's constant
scale 1/rho^(q-1) from before to after its matmul (a pure rounding change) moves these numbers
by at most 1.1e-6 relative and passes; a real change of the computation fails -- the SL
gradient scaled by 1/(N+1) instead of 1/N moves them by 1.1e-2.
"""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.experiments.multiview.data import MultiViewConfig
from mrptheory.experiments.multiview.config import MRPConfig, SLConfig
from mrptheory.experiments.multiview.mrp import train_mrp
from mrptheory.experiments.multiview.sl import train_sl

DATA = MultiViewConfig(k=3, d=30, patches=6, mu=0.1, gamma=0.03, sigma_p=None)
RTOL = 1e-6


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _close(got, want) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want), rtol=RTOL,
                               atol=1e-7)


def test_sl_numbers_are_unchanged():
    cfg = SLConfig(steps=20, n_train=40, n_test=30, log_every=10, sigma_0=0.02, lr=1.0)
    res = train_sl(DATA, cfg, [0, 1], device="cpu", show_progress=False)
    assert res.steps == [0, 10, 20]
    _close(res.loss[-1], [0.6067010164260864, 0.5037239789962769])
    _close(res.view_corr[-1], [[[0.204925537109375, 1.2726571559906006], [0.10970190167427063, 0.021540606394410133], [1.3305779695510864, 0.5657979846000671]], [[1.4585515260696411, 0.7936453819274902], [0.11618515849113464, 0.0032685697078704834], [0.311376690864563, 1.0576130151748657]]])
    _close([res.acc_multi[-1], res.acc_single[-1]], [[0.7666666507720947, 0.5666666626930237], [0.6666666865348816, 0.4000000059604645]])
    _close(np.abs(res.w_final).sum(axis=(1, 2, 3)), [17.42074966430664, 19.926424026489258])
    assert res.summary["captured_views_per_class"] == [[1, 0, 2], [2, 0, 1]]
    assert res.summary["lottery_prediction"] == [[1, 0, 0], [0, 0, 1]]


def test_mrp_numbers_are_unchanged():
    cfg = MRPConfig(steps=12, n_train=30, n_pretrain=30, n_test=20, log_every=6, probe_steps=8,
                    ft_steps=4, sigma_0=0.02, lr=1.0)
    res = train_mrp(DATA, cfg, [0, 1], device="cpu", show_progress=False)
    assert res.steps == [0, 6, 12]
    _close(res.loss[-1], [3.814545154571533, 4.846899509429932])
    _close(res.feature_corr[-1], [[0.6364883780479431, 0.1138528361916542, 0.9054851531982422, 0.6353808045387268, 0.8040398955345154, 0.8061992526054382], [1.2524207830429077, 0.10065335035324097, 0.08961725234985352, 0.07789091020822525, 1.178420901298523, 0.7365424036979675]])
    _close(res.ft_feature_corr[-1], [[0.6801174879074097, 0.11071842908859253, 0.9174190759658813, 0.6572026014328003, 0.8158050775527954, 0.8260370492935181], [1.2752861976623535, 0.1304861605167389, 0.06211967021226883, 0.20380133390426636, 1.1943303346633911, 0.7672847509384155]])
    _close([res.probe_acc_multi, res.probe_acc_single], [[1.0, 0.8999999761581421], [0.6000000238418579, 0.800000011920929]])
    _close([res.ft_acc_multi[-1], res.ft_acc_single[-1]], [[1.0, 0.949999988079071], [0.699999988079071, 0.6499999761581421]])
    _close(np.abs(res.w_pretrained).sum(axis=(1, 2)), [39.404998779296875, 29.295848846435547])
    _close(np.abs(res.w_finetuned).sum(axis=(1, 2)), [39.90959167480469, 30.359519958496094])
    assert res.summary["captured_views_per_class"] == [[1, 2, 2], [1, 0, 2]]
    assert res.summary["kernels_capturing_any"] == [5, 3]
