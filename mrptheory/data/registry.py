"""Which real data sets exist, where to find them, and one entry point to load any of them.

``load_dataset(name, root)`` looks for the files in this order: the ``root`` argument (the
``--data-root`` flag of the commands), then the environment variable ``MRP_<NAME>_DIR`` (name
upper-cased, ``-`` -> ``_``: ``MRP_FASHION_MNIST_DIR``, ``MRP_CIFAR10_DIR`` ...), then the default
location (Fashion-MNIST and MNIST only, where Debian installs them). Nothing is ever downloaded.
Loaded splits are cached in-process (keyed by name and folder) and their arrays are read-only, so
repeated loads are free and no caller can alter another's data.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mrptheory.data.dataset import DatasetSplits
from mrptheory.data.loaders import DatasetSummary
from mrptheory.data.loaders import cifar, idx, svhn, tinyimagenet
from mrptheory.errors import ConfigError, CorruptDatasetError, DatasetNotFoundError

DATASET_NAMES: tuple[str, ...] = (
    "fashion-mnist", "mnist", "cifar10", "cifar100", "svhn", "tinyimagenet",
)


@dataclass(frozen=True)
class _Spec:
    """How to find and read one data set."""

    title: str
    default: Path | None
    locate: Callable[[Path], object]          # raises DatasetNotFoundError("what is missing")
    load: Callable[[Path], DatasetSplits]
    peek: Callable[[Path], DatasetSummary] | None  # None: sizes need a full (cached) load
    expects: str                               # what the folder must hold
    how_to_get: str                            # how to obtain the files
    image_shape: tuple[int, int, int]          # (C, H, W) of every image
    num_classes: int


_SPECS: dict[str, _Spec] = {
    "fashion-mnist": _Spec(
        "Fashion-MNIST", Path("/usr/share/datasets/fashion-mnist"),
        idx.locate_mnist_style, idx.load_fashion_mnist, idx.peek_mnist_style,
        "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte (plain or .gz)",
        "install it with `apt-get install dataset-fashion-mnist`",
        (1, 28, 28), 10,
    ),
    "mnist": _Spec(
        "MNIST", Path("/usr/share/datasets/mnist"),
        idx.locate_mnist_style, idx.load_mnist, idx.peek_mnist_style,
        "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte (plain or .gz)",
        "Debian has no MNIST package: put the four IDX files in a folder and point to it",
        (1, 28, 28), 10,
    ),
    "cifar10": _Spec(
        "CIFAR-10", None, cifar.locate_cifar10, cifar.load_cifar10, None,
        "cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta)",
        "get the CIFAR-10 python version from https://www.cs.toronto.edu/~kriz/cifar.html "
        "and unpack it",
        (3, 32, 32), 10,
    ),
    "cifar100": _Spec(
        "CIFAR-100", None, cifar.locate_cifar100, cifar.load_cifar100, None,
        "cifar-100-python/ (train, test, meta)",
        "get the CIFAR-100 python version from https://www.cs.toronto.edu/~kriz/cifar.html "
        "and unpack it",
        (3, 32, 32), 100,
    ),
    "svhn": _Spec(
        "SVHN", None, svhn.locate_svhn, svhn.load_svhn, svhn.peek_svhn,
        "train_32x32.mat and test_32x32.mat",
        "get the cropped-digits files from http://ufldl.stanford.edu/housenumbers/",
        (3, 32, 32), 10,
    ),
    "tinyimagenet": _Spec(
        "TinyImageNet", None, tinyimagenet.locate_tinyimagenet, tinyimagenet.load_tinyimagenet,
        tinyimagenet.peek_tinyimagenet,
        "tiny-imagenet-200/ (wnids.txt, words.txt, train/, val/)",
        "get tiny-imagenet-200.zip from http://cs231n.stanford.edu/ and unzip it",
        (3, 64, 64), 200,
    ),
}


def canonical_name(name: str) -> str:
    """``name`` as listed in DATASET_NAMES (case-insensitive, ``_`` accepted for ``-``)."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in _SPECS:
        raise ConfigError(f"unknown data set {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    return key


def dataset_shape(name: str) -> tuple[tuple[int, int, int], int]:
    """``((C, H, W), classes)`` of a known data set, without reading its files (to validate a
    command's settings before loading anything)."""
    spec = _SPECS[canonical_name(name)]
    return spec.image_shape, spec.num_classes


def env_var(name: str) -> str:
    """The environment variable naming the folder of data set ``name``: ``MRP_<NAME>_DIR``."""
    return f"MRP_{canonical_name(name).upper().replace('-', '_')}_DIR"


def _resolve(name: str, root: str | os.PathLike | None) -> tuple[Path | None, str]:
    """(folder to look in or None, where that choice came from)."""
    name = canonical_name(name)
    if root is not None and str(root) != "":
        return Path(root).expanduser(), "given by --data-root"
    var = env_var(name)
    value = os.environ.get(var, "").strip()
    if value:
        return Path(value).expanduser(), f"set by ${var}"
    default = _SPECS[name].default
    return default, ("the default location" if default is not None else "no default location")


def resolve_root(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder to read data set ``name`` from: ``root`` > ``$MRP_<NAME>_DIR`` > default.

    Raises DatasetNotFoundError when none of the three is set (data sets without a default).
    """
    path, _ = _resolve(name, root)
    if path is None:
        raise DatasetNotFoundError(_not_found_message(canonical_name(name), None, "", ""))
    return path


def _not_found_message(name: str, path: Path | None, why: str, detail: str) -> str:
    """One line: what is missing, where we looked and why there, and how to fix it."""
    spec = _SPECS[name]
    var = env_var(name)
    if path is None:
        where = f"{spec.title} has no default location and neither --data-root nor ${var} is set"
    else:
        where = f"{spec.title} not found ({path} is {why}): {detail}"
    return (f"{where}. Pass --data-root PATH or set {var}=PATH to a folder holding "
            f"{spec.expects}; {spec.how_to_get}.")


def _locate(name: str, root: str | os.PathLike | None) -> Path:
    """The resolved root if the data set's files are there; else the one-line not-found error."""
    path, why = _resolve(name, root)
    if path is None:
        raise DatasetNotFoundError(_not_found_message(name, None, why, ""))
    if path.exists() and not path.is_dir():
        raise DatasetNotFoundError(_not_found_message(name, path, why,
                                                      f"{path} is a file, not a folder"))
    try:
        _SPECS[name].locate(path)
    except DatasetNotFoundError as exc:
        raise DatasetNotFoundError(_not_found_message(name, path, why, str(exc))) from None
    return path


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, folder: str, identity: str = "") -> DatasetSplits:
    """``identity`` (the folder's :func:`~mrptheory.results.folder_identity`) is only part of
    the cache key: files replaced in place are read again, not served from the cache."""
    return _SPECS[name].load(Path(folder))


def load_dataset(name: str, root: str | os.PathLike | None = None) -> DatasetSplits:
    """Load the train and test splits of data set ``name`` (one of DATASET_NAMES) from disk.

    Images are uint8 ``[N, C, H, W]``, labels int64 ``[N]``; arrays are read-only and shared
    between calls (copy before modifying in place). Raises ConfigError for an unknown name,
    DatasetNotFoundError (one line: where we looked, the flag, the env var, how to get the data)
    and CorruptDatasetError (naming the damaged file).
    """
    name = canonical_name(name)
    from mrptheory.results import folder_identity

    folder = _locate(name, root)
    return _load_cached(name, str(folder.resolve()), repr(folder_identity(folder)))


def clear_cache() -> None:
    """Forget the splits cached by load_dataset (e.g. after replacing files on disk)."""
    _load_cached.cache_clear()


@dataclass(frozen=True)
class DatasetStatus:
    """Whether data set ``name`` was found, where we looked, and its sizes when found.

    ``where`` is None when there was nowhere to look (no default, no flag, no env var); ``source``
    says where ``where`` came from; ``message`` is the not-found or corrupt message ("" when fine).
    """

    name: str
    found: bool
    where: Path | None
    source: str
    message: str
    summary: DatasetSummary | None = None
    corrupt: bool = False


def dataset_status(name: str, root: str | os.PathLike | None = None, *,
                   check: bool = False) -> DatasetStatus:
    """Look for data set ``name`` (without raising) and report what was found.

    Sizes come cheaply from file headers / listings where the format allows (IDX, SVHN,
    TinyImageNet), otherwise from a full load; ``check=True`` always loads everything, which also
    verifies every file.
    """
    name = canonical_name(name)
    where, source = _resolve(name, root)
    try:
        folder = _locate(name, root)
    except DatasetNotFoundError as exc:
        return DatasetStatus(name, False, where, source, str(exc))
    spec = _SPECS[name]
    try:
        if check or spec.peek is None:
            s = load_dataset(name, folder)
            summary = DatasetSummary(len(s.train), len(s.test), s.train.image_shape,
                                     s.train.num_classes)
        else:
            summary = spec.peek(folder)
    except CorruptDatasetError as exc:
        return DatasetStatus(name, True, where, source, str(exc), None, corrupt=True)
    return DatasetStatus(name, True, where, source, "", summary)


def dataset_identity(name: str, root: str | os.PathLike | None = None) -> list | None:
    """What a resume fingerprint needs to know about data set ``name``'s files.

    ``[resolved folder, folder_identity(folder)]`` (top-level names, sizes, mtimes: a ``stat``
    per entry, nothing read) for the folder :func:`load_dataset` would read, or None when the
    data set has no location. Installing, replacing or moving the data changes it.
    """
    from mrptheory.results import folder_identity

    try:
        folder = resolve_root(name, root)
    except DatasetNotFoundError:
        return None
    return [str(folder.resolve()), folder_identity(folder)]


def dataset_fingerprint(name: str, root: str | os.PathLike | None = None) -> str | None:
    """Content fingerprint of data set ``name``'s files (what a stored unit was computed from).

    :func:`~mrptheory.data.fingerprint.content_fingerprint` of the folder :func:`load_dataset`
    reads (every file below it: a hash of each file's content, cached by path, size and mtime),
    or None when the data set is not found there. Replacing the files in place changes it.
    """
    from mrptheory.data.fingerprint import content_fingerprint

    try:
        folder = _locate(canonical_name(name), root)
    except DatasetNotFoundError:
        return None
    return content_fingerprint(folder)


def splits_fingerprint(splits: DatasetSplits, length: int = 16) -> str:
    """Content fingerprint of loaded splits (images, labels, class names of both splits).

    For data that did not come from files :func:`dataset_fingerprint` can name (generated or
    in-memory splits): a SHA-256 of the arrays' bytes and shapes.
    """
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for part in (splits.train, splits.test):
        for array in (part.images, part.labels):
            a = np.ascontiguousarray(array)
            digest.update(f"{a.dtype.str}{a.shape};".encode())
            digest.update(memoryview(a).cast("B"))
        digest.update(repr(tuple(part.class_names)).encode())
    return digest.hexdigest()[:length]
