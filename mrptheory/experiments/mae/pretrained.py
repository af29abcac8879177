"""One pretraining feeds every MAE claim: pretrained encoders stored once, keyed by config and data.

A pretraining unit is one :func:`mrptheory.experiments.mae.training.train` run. Its record (history, final
metrics, timing, plateau check) is appended to ``<out_dir>/mae_pretrained.jsonl`` under the key
``fingerprint(config, data identity)`` and its checkpoint lives in
``<out_dir>/mae_pretrained/<key>/``. The probe, k-NN, fine-tuning curve, masking-vs-Gaussian and
alignment-ranking claims all read these units: the same config on the same data is trained once;
another config, or data files whose *content* changed (:func:`mae_protocol.data_identity`),
is a new key and re-runs.

Units that do not depend on each other can run in parallel worker processes (one torch thread
each: these small ViTs run fastest single-threaded), :func:`run_jobs`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mrptheory.data.dataset import DatasetSplits
from mrptheory.experiments.mae.model import MAEConfig
from mrptheory.results import JsonlStore, fingerprint
from mrptheory.experiments.mae.training import CHECKPOINT_NAME, MAETrainConfig, train
from mrptheory.experiments.mae.protocol import MAEProtocol, plateau

STORE_NAME = "mae_pretrained.jsonl"
RUNS_DIR = "mae_pretrained"

#: Where a worker gets its data: the splits themselves, or ``(name, data_root)`` to load there.
DataSource = DatasetSplits | tuple[str, str | None]


def resolve_data(source: DataSource) -> DatasetSplits:
    if isinstance(source, DatasetSplits):
        return source
    from mrptheory.data.registry import load_dataset

    return load_dataset(*source)


def pretrain_config(p: MAEProtocol, image_shape: tuple[int, int, int], num_classes: int, *,
                    method: str = "mae", mask_ratio: float | None = None,
                    patch_size: int | None = None, sweep: bool = False, device: str = "auto",
                    seed: int = 0) -> MAETrainConfig:
    """The pretraining run of protocol ``p`` for ``method`` (``mae``, ``ae``, ``dae``).

    ``sweep``: the ranking sweep's shorter schedule (``sweep_samples`` x ``sweep_epochs``, final
    evaluation only). Otherwise the shared schedule, evaluated every epoch (the plateau check reads
    the test loss; the MAE's probe-vs-epoch curve its linear and MLP probes).
    """
    model = MAEConfig(image_shape=image_shape, patch_size=patch_size or p.patch_size,
                      embed_dim=p.embed_dim, depth=p.depth, num_heads=p.num_heads,
                      decoder_embed_dim=p.decoder_dim, decoder_depth=p.decoder_depth,
                      decoder_num_heads=4, mlp_ratio=p.mlp_ratio, method=method,
                      mask_ratio=p.mask_ratio if mask_ratio is None else mask_ratio,
                      noise_std=p.noise_std if method == "dae" else 0.0,
                      norm_pix_loss=p.norm_pix, num_classes=num_classes)
    return MAETrainConfig(model=model, epochs=p.sweep_epochs if sweep else p.epochs,
                          batch_size=p.batch_size, lr=p.lr, warmup_epochs=p.warmup_epochs,
                          train_samples=p.sweep_samples if sweep else p.pretrain_samples,
                          probe_train_samples=p.probe_train_samples, test_samples=p.test_samples,
                          eval_every=0 if sweep else 1, mlp_probe=method == "mae" and not sweep,
                          hflip=image_shape[0] == 3, seed=seed, device=device)


def unit_key(cfg: MAETrainConfig, data_id: str) -> str:
    """Store key of a pretraining unit: its method, then a hash of its full config and data."""
    m = cfg.model
    return (f"{m.method}-p{m.patch_size}-r{m.effective_mask_ratio:g}-s{m.noise_std:g}-"
            f"seed{cfg.seed}-" + fingerprint({"config": cfg.fingerprint(), "data": data_id}))


def run_dir_of(out_dir: str | Path, key: str) -> Path:
    return Path(out_dir) / RUNS_DIR / key


def _pretrain_unit(cfg_dict: dict[str, Any], source: DataSource, data_id: str, out_dir: str,
                   show_progress: bool | None) -> dict[str, Any]:
    """Train (or resume) one unit and store its record; returns the record (worker entry point)."""
    cfg = MAETrainConfig.from_dict(cfg_dict)
    key = unit_key(cfg, data_id)
    store = JsonlStore(Path(out_dir) / STORE_NAME)

    def compute() -> dict[str, Any]:
        start, cpu = time.perf_counter(), time.process_time()
        m = cfg.model
        result = train(cfg, resolve_data(source), run_dir_of(out_dir, key),
                       show_progress=show_progress,
                       desc=f"pretrain {m.method} p{m.patch_size} r{m.effective_mask_ratio:g}")
        h = result.history
        return {"method": m.method, "mask_ratio": m.effective_mask_ratio,
                "patch_size": m.patch_size, "noise_std": m.noise_std, "seed": cfg.seed,
                "data_id": data_id, "config": cfg.to_dict(), "history": h,
                "final": result.final, "timing": result.timing,
                "convergence": plateau(h["eval_epoch"], h["test_loss"]),
                "seconds": round(time.perf_counter() - start, 2),
                "cpu_s": round(time.process_time() - cpu, 2)}

    found = store.get(key)
    if found is not None and (run_dir_of(out_dir, key) / CHECKPOINT_NAME).exists():
        return found
    return store.get_or_run(key, compute) if found is None else {**compute(), "key": key}


def run_jobs(fn: Callable[..., Any], jobs: Sequence[tuple], workers: int = 1,
             show_progress: bool | None = None, desc: str = "MAE units") -> list[Any]:
    """``[fn(*job) for job in jobs]``, in up to ``workers`` spawned processes (1: in this one).

    Each worker runs torch with one thread (a bar counts finished jobs). Results come back in job
    order; the first failure is re-raised. A script calling this must keep its own work under
    ``if __name__ == "__main__"`` (spawned workers re-import it).
    """
    if workers <= 1 or len(jobs) <= 1:
        return [fn(*job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from mrptheory.progress import progress

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                             initializer=_one_thread) as pool:
        futures = [pool.submit(fn, *job) for job in jobs]
        with progress(total=len(futures), desc=f"{desc} ({workers} workers)",
                      enabled=show_progress, unit="unit") as bar:
            for _ in as_completed(futures):
                bar.update(1)
        return [f.result() for f in futures]


def _one_thread() -> None:
    from mrptheory.device import set_cpu_threads

    set_cpu_threads(1)


def ensure_pretrained(cfgs: Sequence[MAETrainConfig], source: DataSource, data_id: str,
                      out_dir: str | Path, *, workers: int = 1,
                      show_progress: bool | None = None) -> list[dict[str, Any]]:
    """The records of ``cfgs`` (stored ones reused, the others trained, ``workers`` at a time)."""
    store = JsonlStore(Path(out_dir) / STORE_NAME)
    found: dict[int, dict[str, Any]] = {}
    for i, cfg in enumerate(cfgs):     # stored units are read here: no worker needed for them
        key = unit_key(cfg, data_id)
        rec = store.get(key)
        if rec is not None and (run_dir_of(out_dir, key) / CHECKPOINT_NAME).exists():
            found[i] = rec
    todo = [i for i in range(len(cfgs)) if i not in found]
    jobs = [(cfgs[i].to_dict(), source, data_id, str(out_dir),
             show_progress if workers <= 1 else False) for i in todo]
    done = run_jobs(_pretrain_unit, jobs, workers, show_progress, desc="MAE pretraining units")
    found.update(zip(todo, done))
    return [found[i] for i in range(len(cfgs))]
