"""Train one model of the learned-last experiment and record its curves beside the closed form.

At log-spaced steps (:func:`~mrptheory.experiments.dynamics.config.eval_steps`) the weights are
measured (:func:`~mrptheory.experiments.dynamics.probe.measure_weights`) and, when a checkpoint path is
given, the state is saved, so an interrupted model resumes exactly. At the end the closed-form
weights at the same times (:func:`theory_trajectory`) are measured the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrptheory.device import cpu_threads, resolve_device
from mrptheory.experiments.dynamics.theory import one_layer_trajectory, two_layer_trajectory
from mrptheory.progress import progress
from mrptheory.checkpoint import load_checkpoint, save_checkpoint
from mrptheory.experiments.dynamics.config import MODELS, DynamicsConfig, eval_steps, learning_rate
from mrptheory.experiments.dynamics.data import DynamicsData
from mrptheory.experiments.dynamics.probe import measure_weights
from mrptheory.experiments.dynamics.descent import LinearAEDescent
from mrptheory.validation import check_choice


def theory_trajectory(model: str, data: DynamicsData, config: DynamicsConfig,
                      times: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Closed-form ``(W(t), W1(t) or None)`` of ``model`` at each time: the numbers of ``data`` and
    ``config`` handed to :func:`~mrptheory.experiments.dynamics.theory.two_layer_trajectory` (``deep``) or
    :func:`~mrptheory.experiments.dynamics.theory.one_layer_trajectory` (with the model's noise)."""
    if model == "deep":
        return two_layer_trajectory(data.eigenvalues, data.eigenvectors, config.init_scale, times)
    ws = one_layer_trajectory(data.gram, len(data.train), config.noise_for(model), times,
                              data.image_shape)
    return [(w, None) for w in ws]


def run_model(model: str, data: DynamicsData, config: DynamicsConfig, *,
              device: str | torch.device = "auto", checkpoint_path: Path | None = None,
              stop_after_evals: int | None = None, show_progress: bool | None = None,
              threads: int | None = None) -> dict[str, Any]:
    """Train one model by minibatch gradient descent; record measured and closed-form curves.

    Returns ``{"model", "times": [T], "steps": [T], "lr", "rho": [T, D], "loss": [T],
    "probe": [T], "probe_learned": [T], "n_learned": [T], "theory_rho": [T, D], "theory_loss",
    "theory_probe", "theory_probe_learned", "finished"}``.
    ``stop_after_evals`` stops after that many evaluation points (simulated interruption);
    ``threads`` sets the torch CPU thread count (see :func:`~mrptheory.device.cpu_threads`).
    """
    with cpu_threads(threads):
        return _run_model(model, data, config, device=device, checkpoint_path=checkpoint_path,
                          stop_after_evals=stop_after_evals, show_progress=show_progress)


def _run_model(model: str, data: DynamicsData, config: DynamicsConfig, *,
               device: str | torch.device, checkpoint_path: Path | None,
               stop_after_evals: int | None, show_progress: bool | None) -> dict[str, Any]:
    model = check_choice("model", model, MODELS)
    dev = resolve_device(device)
    lr = learning_rate(data.eigenvalues[0], config.lr_scale)
    total = int(np.ceil(config.t_max_for(model) / lr))
    steps = eval_steps(total, config.n_eval)
    x = torch.as_tensor(data.train, dtype=torch.float32, device=dev)
    descent = LinearAEDescent(x, config.noise_for(model), two_layer=model == "deep", lr=lr,
                              batch_size=config.batch_size, init_scale=config.init_scale,
                              init_seed=config.seed, sample_seed=config.sample_seed(model),
                              image_shape=data.image_shape)
    history: dict[str, list] = {"steps": [], "rho": [], "loss": [], "probe": [],
                                "probe_learned": [], "n_learned": []}
    k = 0
    if checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_checkpoint(checkpoint_path, restore_rng=False, map_location=dev)
        descent.load_state(state)
        k, history = int(state["k"]), state["history"]
    bar = progress(total=steps[-1], initial=descent.step, desc=f"dynamics {model}",
                   enabled=show_progress, unit="step")
    evals_this_call = 0
    while k < len(steps):
        descent.run_to(steps[k], on_step=lambda: bar.update(1))
        m = measure_weights(*descent.weights(), data)
        history["steps"].append(descent.step)
        history["rho"].append(m["rho"].tolist())
        for key in ("loss", "probe", "probe_learned", "n_learned"):
            history[key].append(m[key])
        bar.set_postfix(loss=f"{m['loss']:.3f}", probe=f"{m['probe']:.3f}")
        k += 1
        evals_this_call += 1
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, **descent.state(), k=k, history=history)
        if stop_after_evals is not None and evals_this_call >= stop_after_evals and k < len(steps):
            bar.close()
            return {"model": model, "finished": False, "history": history}
    bar.close()
    times = np.asarray(history["steps"], dtype=np.float64) * lr
    theory = [measure_weights(w_t, w1_t, data)
              for w_t, w1_t in theory_trajectory(model, data, config, times)]
    return {
        "model": model, "finished": True, "lr": lr, "total_steps": steps[-1],
        "steps": history["steps"], "times": times.tolist(),
        "rho": history["rho"], "loss": history["loss"], "probe": history["probe"],
        "probe_learned": history["probe_learned"], "n_learned": history["n_learned"],
        "theory_rho": [t["rho"].tolist() for t in theory],
        "theory_loss": [t["loss"] for t in theory],
        "theory_probe": [t["probe"] for t in theory],
        "theory_probe_learned": [t["probe_learned"] for t in theory],
    }
