"""Checkpoints that make an interrupted run resume exactly.

A checkpoint stores the model, optimiser and scheduler states, the epoch/step reached, the
metric history so far, and every RNG state (Python, numpy, torch CPU and CUDA), so that resuming
on CPU with the same seed reproduces an uninterrupted run bit for bit. Files are written
atomically (temporary file, then rename): a kill during saving never corrupts the last checkpoint.
"""

from __future__ import annotations

import os
import pickle
import random
import zipfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrptheory.errors import CorruptCheckpointError
from mrptheory.results import default_file_mode


def rng_state() -> dict[str, Any]:
    """Snapshot of every global RNG."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a snapshot taken by :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, **state: Any) -> Path:
    """Atomically save ``state`` (e.g. model=..., optimizer=..., epoch=..., history=...).

    Objects with a ``state_dict`` method are stored as their state dict; the global RNG states are
    added under ``"rng"``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {k: (v.state_dict() if hasattr(v, "state_dict") else v) for k, v in state.items()}
    payload["rng"] = rng_state()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:120]}" if text else type(exc).__name__


def load_checkpoint(path: str | Path, restore_rng: bool = True,
                    map_location: str | torch.device = "cpu", **targets: Any) -> dict[str, Any]:
    """Load a checkpoint; objects passed in ``targets`` get ``load_state_dict`` of their entry.

    Returns the whole payload (so plain values such as ``epoch`` and ``history`` can be read).
    An empty, truncated or foreign file raises :class:`~mrptheory.errors.CorruptCheckpointError`
    naming it (a one-line CLI error, not a traceback or click's bare "Aborted!" for EOFError).
    """
    path = Path(path)
    size = path.stat().st_size if path.exists() else None
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
            AttributeError, ImportError, IndexError, KeyError, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        why = "empty file" if size == 0 else _first_line(exc)
        raise CorruptCheckpointError(
            f"checkpoint {path} is corrupt ({why}); delete it to start that run over"
        ) from None
    if not isinstance(payload, dict):
        raise CorruptCheckpointError(f"checkpoint {path} is corrupt (not a checkpoint payload); "
                                     f"delete it to start that run over")
    for name, obj in targets.items():
        obj.load_state_dict(payload[name])
    if restore_rng and "rng" in payload:
        set_rng_state(payload["rng"])
    return payload
