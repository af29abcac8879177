"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009), "python version" pickles.

CIFAR-10 (``cifar-10-batches-py/``): ``data_batch_1`` .. ``data_batch_5`` (train) and
``test_batch``, each a pickled dict with ``b"data"`` (uint8 ``[10000, 3072]``: the 1024 red, then
green, then blue pixels of a 32x32 image, row-major) and ``b"labels"``; ``batches.meta`` holds
``b"label_names"``. CIFAR-100 (``cifar-100-python/``): ``train`` and ``test`` with ``b"data"`` and
``b"fine_labels"`` (100 classes); ``meta`` holds ``b"fine_label_names"``.

The pickles are read with an unpickler that only builds numpy arrays, lists, dicts and bytes, so
a tampered file cannot run code.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.data.loaders import freeze
from mrptheory.errors import CorruptDatasetError, DatasetNotFoundError

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = "test_batch"
CIFAR10_META = "batches.meta"

CIFAR100_FOLDER = "cifar-100-python"
CIFAR100_TRAIN, CIFAR100_TEST, CIFAR100_META = "train", "test", "meta"

_IMAGE_SHAPE = (3, 32, 32)

#: The only globals a CIFAR pickle needs: numpy array reconstruction (protocol <= 4:
#: ``_reconstruct``; protocol 5, as numpy 2 writes it: ``numeric._frombuffer``), Python 3 bytes
#: encoding (``_codecs.encode``; an empty bytes value is pickled as a call of ``bytes``).
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("__builtin__", "bytes"),
    ("builtins", "bytes"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("__builtin__", "object"),
    ("builtins", "object"),
}


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler restricted to the globals a CIFAR batch uses."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refers to {module}.{name}, which a CIFAR batch never contains"
            )
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module[len("numpy.core."):]  # numpy >= 2 renamed numpy.core
        if module == "copy_reg":
            module = "copyreg"
        if module == "__builtin__":
            module = "builtins"
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict[bytes, Any]:
    """The dict stored in a CIFAR pickle; CorruptDatasetError (naming the file) on any failure."""
    try:
        with open(path, "rb") as f:
            obj = _SafeUnpickler(f, encoding="bytes").load()
    except OSError as exc:
        raise CorruptDatasetError(f"{path}: cannot read ({exc})") from exc
    except Exception as exc:  # a damaged pickle can fail in many ways; all mean "corrupt file"
        raise CorruptDatasetError(
            f"{path}: cannot unpickle ({type(exc).__name__}: {exc}); the file is truncated "
            "or not a CIFAR python-version batch"
        ) from exc
    if not isinstance(obj, dict):
        raise CorruptDatasetError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    # Batches pickled by Python 3 may have str keys; normalise to bytes.
    return {(k.encode() if isinstance(k, str) else k): v for k, v in obj.items()}


def _get(path: Path, batch: dict[bytes, Any], key: bytes) -> Any:
    if key not in batch:
        keys = ", ".join(repr(k) for k in batch)
        raise CorruptDatasetError(f"{path}: no {key!r} entry (has {keys})")
    return batch[key]


def _read_batch(path: Path, label_key: bytes, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 ``[n, 3, 32, 32]``, labels int64 ``[n]``) of one batch file."""
    batch = _unpickle(path)
    data = np.asarray(_get(path, batch, b"data"))
    try:
        labels = np.asarray(_get(path, batch, label_key), dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise CorruptDatasetError(f"{path}: {label_key!r} is not a list of integers") from exc
    d = int(np.prod(_IMAGE_SHAPE))
    if data.ndim != 2 or data.shape[1] != d or data.dtype != np.uint8:
        raise CorruptDatasetError(f"{path}: b'data' must be uint8 [n, {d}], got {data.dtype} "
                                  f"with shape {data.shape}")
    if labels.shape != (data.shape[0],):
        raise CorruptDatasetError(f"{path}: {labels.size} labels for {data.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise CorruptDatasetError(f"{path}: labels must lie in [0, {num_classes}), got "
                                  f"[{labels.min()}, {labels.max()}]")
    return data.reshape((-1, *_IMAGE_SHAPE)), labels


def _read_names(path: Path, key: bytes) -> tuple[str, ...]:
    names = _get(path, _unpickle(path), key)
    try:
        return tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names)
    except (TypeError, UnicodeDecodeError) as exc:
        raise CorruptDatasetError(f"{path}: {key!r} is not a list of names") from exc


def _locate(root: str | os.PathLike, folder: str, files: tuple[str, ...]) -> Path:
    """``root/folder`` or ``root`` itself, whichever holds ``files``."""
    root = Path(root)
    for candidate in (root / folder, root):
        if candidate.is_dir() and all((candidate / f).is_file() for f in files):
            return candidate
    if not root.is_dir():
        raise DatasetNotFoundError(f"folder {root} does not exist")
    base = root / folder if (root / folder).is_dir() else root
    missing = [f for f in files if not (base / f).is_file()]
    raise DatasetNotFoundError(f"no {folder}/ with {', '.join(missing)} in {root}")


def locate_cifar10(root: str | os.PathLike) -> Path:
    """The ``cifar-10-batches-py`` folder: ``root`` itself or its child of that name."""
    return _locate(root, CIFAR10_FOLDER, (*CIFAR10_TRAIN, CIFAR10_TEST, CIFAR10_META))


def locate_cifar100(root: str | os.PathLike) -> Path:
    """The ``cifar-100-python`` folder: ``root`` itself or its child of that name."""
    return _locate(root, CIFAR100_FOLDER, (CIFAR100_TRAIN, CIFAR100_TEST, CIFAR100_META))


def _splits(name: str, names: tuple[str, ...], label_key: bytes, folder: Path,
            train_files: tuple[str, ...], test_file: str) -> DatasetSplits:
    out = {}
    for split, files in (("train", train_files), ("test", (test_file,))):
        parts = [_read_batch(folder / f, label_key, len(names)) for f in files]
        images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        labels = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
        out[split] = ImageDataset(freeze(images), freeze(labels), names, name, split)
    return DatasetSplits(train=out["train"], test=out["test"])


def load_cifar10(root: str | os.PathLike) -> DatasetSplits:
    """CIFAR-10: 50000/10000 RGB 32x32 images, 10 classes; images uint8 ``[N, 3, 32, 32]``."""
    folder = locate_cifar10(root)
    names = _read_names(folder / CIFAR10_META, b"label_names")
    return _splits("cifar10", names, b"labels", folder, CIFAR10_TRAIN, CIFAR10_TEST)


def load_cifar100(root: str | os.PathLike) -> DatasetSplits:
    """CIFAR-100 (fine labels): 50000/10000 RGB 32x32 images, 100 classes."""
    folder = locate_cifar100(root)
    names = _read_names(folder / CIFAR100_META, b"fine_label_names")
    return _splits("cifar100", names, b"fine_labels", folder, (CIFAR100_TRAIN,), CIFAR100_TEST)

