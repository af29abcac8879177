"""Learned-last on real data: gradient descent on linear (denoising) autoencoders vs closed forms.

Trains, by minibatch gradient descent in torch, four linear autoencoders on preprocessed real
images (per-image std scaling, train mean subtracted, as in the projection experiment):

* ``linear``   -- one layer ``x -> W x`` from ``W = 0`` (theory: matrix-exponential gradient flow);
* ``deep``     -- two layers ``x -> W2 W1 x`` from a small balanced start ``W1 = eps Q^T``,
  ``W2 = eps Q`` (theory: Saxe et al. 2014 sigmoids with ``w0 = eps^2``);
* ``gaussian`` -- one-layer denoising AE on ``x + sigma * noise`` (fresh noise each step);
* ``mask``     -- one-layer denoising AE on pixel-masked inputs (each pixel kept w.p. ``keep``).

For the two DAEs the theory is the gradient flow of the *expected* loss (moments ``M1, M2`` of the
model's :class:`~mrptheory.linear.noise.NoiseModel`, the same object that samples the training
noise), so measured vs theory also tests that sampling fresh noise each step averages out. At
log-spaced steps we record, for every eigen-direction of the data covariance, the fraction of its
energy reconstructed, the reconstruction loss and the ridge linear-probe accuracy of the features
(``W x``, or ``W1 x`` for ``deep``), beside the same quantities computed from the closed-form
weights at the same times.

One job per module:

* :mod:`~mrptheory.experiments.dynamics.config` -- ``DynamicsConfig`` (models, times, noise, seeds);
* :mod:`~mrptheory.experiments.dynamics.data` -- ``DynamicsData`` and ``prepare_dynamics_data``;
* :mod:`~mrptheory.experiments.dynamics.descent` -- the gradient-descent loop (``LinearAEDescent``);
* :mod:`~mrptheory.experiments.dynamics.probe` -- what is measured at each evaluation point;
* :mod:`~mrptheory.experiments.dynamics.model` -- one model: train, checkpoint, closed-form twin;
* :mod:`~mrptheory.experiments.dynamics.summary` -- the numbers the claims and the CLI report;
* this module -- the experiment: every model of a config, resumable, saved as one payload.

Each model is one unit of a :class:`~mrptheory.results.JsonlStore`; inside a unit the weights,
the step reached, the history and the sampling generator's state are checkpointed at every
evaluation point, so an interrupted run resumes exactly.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from mrptheory.data.dataset import DatasetSplits
from mrptheory.results import JsonlStore, check_record, save_json, store_fingerprint
from mrptheory.experiments.dynamics.config import LEARNED_LEVEL, MODELS, DynamicsConfig
from mrptheory.experiments.dynamics.data import DynamicsData, prepare_dynamics_data
from mrptheory.experiments.dynamics.model import run_model, theory_trajectory
from mrptheory.experiments.dynamics.summary import (dynamics_summary, gap_closure, half_times,
                                                    summarise_model)

__all__ = ["LEARNED_LEVEL", "MODELS", "DynamicsConfig", "DynamicsData", "dynamics_summary",
           "gap_closure", "half_times", "prepare_dynamics_data", "run_dynamics", "run_model",
           "summarise_model", "theory_trajectory"]


def validate_model_record(record: dict) -> str | None:
    """Why a stored model record is unusable (a missing curve, curves of unequal lengths, a probe
    accuracy outside [0, 1]), or None."""
    why = check_record(record, {"model": str, "finished": bool, "lr": ((int, float), 0.0, None),
                                "steps": list, "times": list, "rho": list, "loss": list,
                                "probe": list, "probe_learned": list, "n_learned": list,
                                "theory_rho": list, "theory_loss": list, "theory_probe": list,
                                "theory_probe_learned": list})
    if why is not None:
        return why
    lengths = {name: len(record[name]) for name in ("steps", "times", "rho", "loss", "probe",
                                                    "theory_rho", "theory_probe")}
    if len(set(lengths.values())) != 1:
        return f"curves of unequal lengths {lengths}"
    for name in ("probe", "probe_learned", "theory_probe", "theory_probe_learned"):
        bad = [v for v in record[name]
               if v is not None and not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0)]
        if bad:
            return f"{name} holds {bad[0]!r}, not an accuracy in [0, 1]"
    return None


def run_dynamics(splits: DatasetSplits, config: DynamicsConfig, out_dir: str | Path, *,
                 device: str = "auto", show_progress: bool | None = None,
                 threads: int | None = None, tag: str | None = None,
                 data_fingerprint: str | None = None) -> dict[str, Any]:
    """Run (or resume) every model of ``config``; save and return the ``dynamics`` payload.

    Each stored model is keyed by the data's content fingerprint as well as the config
    (``data_fingerprint``: the files', from :func:`~mrptheory.data.registry.dataset_fingerprint`;
    when None, one of the loaded arrays): swapped data files re-run every model. The payload
    shows it (``data_fingerprint``).

    Files in ``out_dir`` (``tag`` defaults to ``dynamics_<data>``): ``<tag>_runs_<fingerprint>.jsonl``
    (one record per finished model), ``checkpoints/`` (state of the model in progress),
    ``<tag>.json`` (figure_kind ``dynamics``).
    """
    from mrptheory.data.registry import splits_fingerprint

    out = Path(out_dir)
    tag = tag or f"dynamics_{config.dataset}"
    data_fp = data_fingerprint or splits_fingerprint(splits)
    store_fp = store_fingerprint(config.fingerprint(), data_fp)
    store = JsonlStore(out / f"{tag}_runs_{store_fp}.jsonl", validate=validate_model_record)
    data = prepare_dynamics_data(splits, config)
    for model in config.models:
        ckpt = out / "checkpoints" / f"{tag}_{store_fp}_{model}.pt"

        def compute(model=model, ckpt=ckpt) -> dict[str, Any]:
            record = run_model(model, data, config, device=device, checkpoint_path=ckpt,
                               show_progress=show_progress, threads=threads)
            return {**record, "data_fingerprint": data_fp}

        store.get_or_run(model, compute)
        ckpt.unlink(missing_ok=True)
    records = {r["key"]: r for r in store.records() if r.get("key") in config.models}
    payload = {
        "figure_kind": "dynamics",
        "dataset": config.dataset,
        "tag": tag,
        "config": asdict(config),
        "device": str(device),
        "data_fingerprint": data_fp,
        "image_shape": list(data.image_shape),
        "eigenvalues": data.eigenvalues.tolist(),
        "models": {m: records[m] for m in config.models if m in records},
    }
    save_json(out / f"{tag}.json", payload)
    return payload
