"""Data-parallel MAE pretraining (``torchrun``-style environment, gloo on CPU): 2 processes on
the same global batch match 1 process, and a 2-process checkpoint resumes in 1 process.

Tolerance: the two runs see the same images, masks and learning rates; they differ only in how
float32 sums are grouped (each rank's half-batch mean, then the gradient all-reduce, instead of
one sum over the batch), ~1e-7 relative per sum. Over the 8 AdamW steps here that stays orders
of magnitude below the 1e-4 relative allowed on losses and 1e-6 absolute on weights (measured
under contention: losses within 1e-6 relative, weights within 3e-8); a wrong share, weight or
mask would move the loss by ~1e-2.

One exception, by construction: the attention *key* biases (the middle third of each ``qkv``
bias). Adding a constant to every key leaves the softmax unchanged, so their true gradient is 0
and what they receive is float rounding noise, which AdamW divides by its own magnitude: their
updates are +-lr whatever the summation order, and differ between the runs (measured: up to
6e-4). They have no effect on any output, so they are left out of the weight comparison.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp

from mrptheory.experiments.mae.model import MAEConfig
from mrptheory.checkpoint import load_checkpoint
from mrptheory.experiments.mae.training import CHECKPOINT_NAME, MAETrainConfig, small_dataset, train
from tests.conftest import requires_fashion_mnist

MODEL = MAEConfig(image_shape=(1, 8, 8), patch_size=2, embed_dim=16, depth=1, num_heads=2,
                  decoder_embed_dim=8, decoder_num_heads=2, num_classes=3)
#: 40 images in global batches of 10 (5 per rank), 2 epochs: 8 steps
CFG = MAETrainConfig(model=MODEL, epochs=2, batch_size=10, lr=2e-3, warmup_epochs=0.5,
                     train_samples=40, probe_train_samples=16, test_samples=16, eval_every=0,
                     device="cpu")
RTOL, ATOL = 1e-4, 1e-6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, run_dir: str, stop_after) -> None:
    os.environ.update({"WORLD_SIZE": str(world), "RANK": str(rank), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    try:
        result = train(CFG, small_dataset(48, 32), run_dir, stop_after=stop_after,
                       show_progress=False)
        if rank == 0:
            torch.save({"train_loss": result.history["train_loss"]},
                       os.path.join(run_dir, "losses.pt"))
    finally:
        torch.distributed.destroy_process_group()


def _run_two(run_dir, stop_after=None) -> list[float]:
    mp.spawn(_worker, args=(2, _free_port(), str(run_dir), stop_after), nprocs=2, join=True)
    return torch.load(run_dir / "losses.pt")["train_loss"]


def _weights(run_dir) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / CHECKPOINT_NAME, restore_rng=False)["model"]


def _without_key_bias(name: str, w: torch.Tensor) -> torch.Tensor:
    """``w`` without the attention key biases (see the module doc: gradient 0 by symmetry)."""
    if name.endswith("attn.qkv.bias"):
        d = w.shape[0] // 3
        return torch.cat([w[:d], w[2 * d:]])
    return w


def _close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """The largest weight difference (all but the key biases), asserted within ATOL."""
    worst = 0.0
    for name in a:
        wa, wb = _without_key_bias(name, a[name]), _without_key_bias(name, b[name])
        worst = max(worst, float((wa - wb).abs().max()))
        assert torch.allclose(wa, wb, rtol=0, atol=ATOL), (name, worst)
    return worst


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_two_processes_match_one_and_resume_in_one(tmp_path):
    assert "WORLD_SIZE" not in os.environ
    single = train(CFG, small_dataset(48, 32), tmp_path / "one", show_progress=False)
    two = _run_two(tmp_path / "two")
    assert two == pytest.approx(single.history["train_loss"], rel=RTOL), (two, single.history)
    _close(_weights(tmp_path / "one"), _weights(tmp_path / "two"))
    ckpt = load_checkpoint(tmp_path / "two" / CHECKPOINT_NAME, restore_rng=False)
    assert ckpt["global_step"] == 8 and ckpt["epoch"] == 2

    # N=2 for one epoch, then resumed by one process: the same run as uninterrupted
    _run_two(tmp_path / "resume", stop_after=1)
    assert load_checkpoint(tmp_path / "resume" / CHECKPOINT_NAME, restore_rng=False)["epoch"] == 1
    resumed = train(CFG, small_dataset(48, 32), tmp_path / "resume", show_progress=False)
    assert resumed.epochs_done == 2
    assert resumed.history["train_loss"] == pytest.approx(single.history["train_loss"], rel=RTOL)
    _close(_weights(tmp_path / "one"), _weights(tmp_path / "resume"))
    assert resumed.final and "probe_acc" in resumed.final  # rank 0 / one process evaluates


TORCHRUN_ARGS = ["mae", "pretrain", "--train-samples", "64", "--test-samples", "32",
                 "--probe-train-samples", "32", "--blr", "1.5e-4", "--embed-dim", "16", "--depth", "1",
                 "--num-heads", "2", "--decoder-embed-dim", "8", "--patch-size", "7", "--threads", "1",
                 "--no-progress"]


@requires_fashion_mnist
def test_torchrun_cli_states_the_lr_rule_and_one_process_resumes(tmp_path):
    """``torchrun --nproc_per_node 2 -m mrptheory.cli mae pretrain``: rank 0 alone prints and
    writes; the effective batch (2 x 16) and the scaled lr are stated; one process with the same
    effective batch (--batch-size 32) is the same run: it finds that finished checkpoint (the
    mid-run N=2 -> N=1 resume is the test above)."""
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), "-m", "mrptheory.cli", *TORCHRUN_ARGS,
           "--epochs", "1", "--batch-size", "16", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rule = "effective batch 32 = 16 per process x 2 processes; lr = base lr 0.00015 x 32 / 256"
    assert proc.stdout.count(rule) == 1, proc.stdout  # printed by rank 0 only
    assert proc.stdout.count("checkpoint: ") == 1
    (run_dir,) = (tmp_path / "mae_runs_cli").iterdir()
    assert load_checkpoint(run_dir / CHECKPOINT_NAME, restore_rng=False)["epoch"] == 1
    one = subprocess.run([sys.executable, "-m", "mrptheory.cli", *TORCHRUN_ARGS, "--epochs", "1",
                          "--batch-size", "32", "--out", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stdout + one.stderr
    assert "effective batch 32 = 32 per process x 1 process;" in one.stdout
    assert [p.name for p in (tmp_path / "mae_runs_cli").iterdir()] == [run_dir.name]
    final = [line for line in proc.stdout.splitlines() if line.startswith("probe_acc=")]
    assert final and final[0].split(";")[0] in one.stdout  # its metrics, not a new run's
