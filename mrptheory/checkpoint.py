"""Checkpoints that make an interrupted run resume exactly.

A checkpoint stores the model, optimiser and scheduler states, the epoch/step reached, the
metric history so far, and every RNG state (Python, numpy, torch CPU and CUDA), so that resuming
on CPU with the same seed reproduces an uninterrupted run bit for bit. Files are written
atomically (temporary file, then rename): a kill during saving never corrupts the last checkpoint.

Loading never runs code from the file: checkpoints are read with ``torch.load(weights_only=True)``,
whose unpickler builds only tensors, state dicts and plain values (numbers, strings, lists, tuples,
dicts). Everything :func:`save_checkpoint` writes has that form (the RNG states included, see
:func:`rng_state`); checkpoints of earlier versions, which held the numpy RNG state as a numpy
array, also need :data:`LEGACY_GLOBALS` (numpy's own array reconstruction), allowed and nothing
else. A file that asks for any other global (a crafted object whose ``__reduce__`` would run a
command) is refused with one line naming the file, before anything in it is built.
"""

from __future__ import annotations

import os
import pickle
import random
import re
import zipfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrptheory.errors import CorruptCheckpointError
from mrptheory.results import default_file_mode


def _legacy_globals() -> list[Any]:
    """numpy's array reconstruction, under its numpy 2 and numpy 1 names (what old checkpoints hold)."""
    core = getattr(np, "_core", None) or np.core
    rebuild = core.multiarray._reconstruct
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25 pickles a dtype through its class
    uint32 = [dtypes.UInt32DType] if dtypes is not None else []
    return [np.ndarray, np.dtype, *uint32, rebuild,
            (rebuild, "numpy.core.multiarray._reconstruct")]


#: The only globals beyond torch's weights-only set that a checkpoint may need: those of the numpy
#: RNG state array written by mrptheory before checkpoints held plain values only.
LEGACY_GLOBALS: list[Any] = _legacy_globals()


def rng_state() -> dict[str, Any]:
    """Snapshot of every global RNG, as plain values and tensors (weights-only loadable).

    ``python``: ``[version, [625 ints], gauss or None]``; ``numpy``: the legacy MT19937 state as a
    dict (``key``: int64 tensor ``[624]``, ``pos``, ``has_gauss``, ``gauss``); ``torch`` (and
    ``cuda``): byte tensors.
    """
    version, internal, gauss = random.getstate()
    _, key, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [int(version), [int(v) for v in internal], gauss],
        "numpy": {"key": torch.from_numpy(np.asarray(key, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a snapshot taken by :func:`rng_state` (or by earlier versions: tuples, numpy arrays)."""
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    numpy_state = state["numpy"]
    if isinstance(numpy_state, dict):
        key = np.asarray(numpy_state["key"], dtype=np.int64).astype(np.uint32)
        numpy_state = ("MT19937", key, int(numpy_state["pos"]), int(numpy_state["has_gauss"]),
                       float(numpy_state["gauss"]))
    np.random.set_state(numpy_state)
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


_GLOBAL = re.compile(r"GLOBAL (\S+)|but got <class '([^']+)'>")


def _refused_global(exc: BaseException) -> str | None:
    """The global a weights-only load refused (``"posix.system"``...), or None for other failures
    (a damaged file the weights-only unpickler cannot parse is corrupt, not crafted)."""
    text = str(exc)
    if "Weights only load failed" not in text and "WeightsUnpickler" not in text:
        return None
    found = _GLOBAL.search(text)
    return (found.group(1) or found.group(2)) if found else None  # else: damaged bytes


def load_checkpoint(path: str | Path, restore_rng: bool = True,
                    map_location: str | torch.device = "cpu", **targets: Any) -> dict[str, Any]:
    """Load a checkpoint; objects passed in ``targets`` get ``load_state_dict`` of their entry.

    Returns the whole payload (so plain values such as ``epoch`` and ``history`` can be read).
    An empty, truncated or foreign file raises :class:`~mrptheory.errors.CorruptCheckpointError`
    naming it (a one-line CLI error, not a traceback or click's bare "Aborted!" for EOFError).
    The file is read weights-only (see the module doc): one that needs any global beyond tensors,
    plain values and :data:`LEGACY_GLOBALS` raises the same error, saying which global, and
    nothing in it is built or run.
    """
    path = Path(path)
    size = path.stat().st_size if path.exists() else None
    try:
        with torch.serialization.safe_globals(LEGACY_GLOBALS):
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError,
            AttributeError, ImportError, IndexError, KeyError, OSError, TypeError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        refused = _refused_global(exc)
        if refused is not None:
            raise CorruptCheckpointError(
                f"checkpoint {path} is refused: it needs {refused}, which no checkpoint written "
                f"by mrptheory holds (a crafted or foreign file); nothing in it was run. Delete it "
                f"or use a checkpoint you wrote yourself") from None
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
