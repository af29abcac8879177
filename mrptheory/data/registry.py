"""Which real data sets exist, where to find them, and one entry point to load any of them.

``load_dataset(name, root)`` looks for the files in this order: the ``root`` argument (the
``--data-root`` flag of the commands), then the environment variable ``MRP_<NAME>_DIR`` (name
upper-cased, ``-`` -> ``_``: ``MRP_FASHION_MNIST_DIR``, ``MRP_CIFAR10_DIR`` ...), then the default
location (Fashion-MNIST and MNIST only, where Debian installs them). Nothing is ever downloaded.

Two names read image folders (:mod:`~mrptheory.data.loaders.imagefolder`: ``train/<class>/`` and
``test/<class>/`` of JPEG/PNG files, or a ``.tar``/``.tar.gz``/``.zip`` of such a folder, read in
memory): ``folder`` (any such data set, e.g. Imagenette or a user's own images) and
``cifar10-jpeg`` (the same loader, checked to hold CIFAR-10's 10 classes of 3x32x32 images, e.g.
the JPEG sample of the developers' shared folder). Their root may be a folder or an archive file.
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
from mrptheory.data.loaders import cifar, idx, imagefolder, svhn, tinyimagenet
from mrptheory.errors import ConfigError, CorruptDatasetError, DatasetNotFoundError

DATASET_NAMES: tuple[str, ...] = (
    "fashion-mnist", "mnist", "cifar10", "cifar100", "svhn", "tinyimagenet", "folder",
    "cifar10-jpeg",
)
#: The data sets read by the image-folder loader (their root may also be an archive file).
IMAGE_FOLDER_NAMES: tuple[str, ...] = ("folder", "cifar10-jpeg")
CIFAR10_CLASSES: tuple[str, ...] = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                    "horse", "ship", "truck")


def _load_folder(root: Path) -> DatasetSplits:
    return imagefolder.load_image_folder(root, "folder")


def _load_cifar10_jpeg(root: Path) -> DatasetSplits:
    """The image folder at ``root``, refused unless it holds CIFAR-10 (its 10 class names,
    3x32x32 images)."""
    splits = imagefolder.load_image_folder(root, "cifar10-jpeg")
    if (splits.train.image_shape != (3, 32, 32)
            or tuple(splits.train.class_names) != CIFAR10_CLASSES):
        c, h, w = splits.train.image_shape
        raise CorruptDatasetError(
            f"{root}: holds {c}x{h}x{w} images in classes {', '.join(splits.train.class_names)}, "
            "not CIFAR-10's 3x32x32 images in its 10 classes; read it as --dataset folder")
    return splits


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
    image_shape: tuple[int, int, int] | None   # (C, H, W) of every image (None: known on load)
    num_classes: int | None
    accepts_file: bool = False                 # the root may be an archive file


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
    "folder": _Spec(
        "Image folder", None, imagefolder.locate_image_folder, _load_folder, None,
        "train/<class>/ and test/<class>/ (or val/<class>/) of JPEG/PNG files, or a .tar, "
        ".tar.gz or .zip of such a folder",
        "any ImageFolder-style data set works (Imagenette, your own images)",
        None, None, accepts_file=True,
    ),
    "cifar10-jpeg": _Spec(
        "CIFAR-10 (JPEG image folder)", None, imagefolder.locate_image_folder,
        _load_cifar10_jpeg, None,
        "train/<class>/ and test/<class>/ of CIFAR-10's 10 classes as 32x32 JPEG/PNG files, or a "
        ".tar, .tar.gz or .zip of such a folder",
        "e.g. the sample ../shared/data/cifar10-jpeg-15k.tar.gz of the developers' shared folder, "
        "or any ImageFolder copy of CIFAR-10",
        (3, 32, 32), 10, accepts_file=True,
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
    command's settings before loading anything). ConfigError for ``folder``, whose shape is
    known only once its images are read."""
    spec = _SPECS[canonical_name(name)]
    if spec.image_shape is None or spec.num_classes is None:
        raise ConfigError(f"the image shape of data set {name!r} is known only after reading its "
                          "images; load it first (mrp datasets --check --data-root folder=PATH)")
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
    if path.exists() and not path.is_dir() and not _SPECS[name].accepts_file:
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
    if canonical_name(name) in IMAGE_FOLDER_NAMES:  # content fingerprint (stat index for folders)
        from mrptheory.data.cache import source_fingerprint

        ident = source_fingerprint(folder) if folder.exists() else "absent"
        return [str(folder.resolve()), ident]
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
