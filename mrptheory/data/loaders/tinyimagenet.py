"""Tiny ImageNet (Le & Yang 2015): the ``tiny-imagenet-200`` folder of 64x64 JPEGs, 200 classes.

Layout: ``wnids.txt`` (the 200 WordNet ids; line order = label), ``words.txt`` (``wnid<TAB>names``),
``train/<wnid>/images/*.JPEG`` (500 per class) and ``val/images/*.JPEG`` with
``val/val_annotations.txt`` (``file<TAB>wnid<TAB>box...``). The public test split has no labels, so
the labelled ``val`` split serves as our test split. Images are decoded with PIL, converted to RGB
(a few are greyscale) and resized to 64x64 if needed: uint8 ``[N, 3, 64, 64]``.

Decoding ~110k JPEGs takes minutes, so the decoded arrays are cached in an ``.npz`` file under
``$MRP_CACHE_DIR`` (default ``$XDG_CACHE_HOME/mrptheory`` or ``~/.cache/mrptheory``; about 1.4 GB, uncompressed for fast reading).
The cache key is the folder's absolute path plus the sizes and modification times of its index
files; delete the cache file to force a re-decode after editing images in place.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.data.loaders import DatasetSummary, freeze
from mrptheory.errors import CorruptDatasetError, DatasetNotFoundError
from mrptheory.progress import progress

TINYIMAGENET_FOLDER = "tiny-imagenet-200"
IMAGE_SIZE = 64
_JPEG_SUFFIXES = (".jpeg", ".jpg")
_CACHE_VERSION = 1
_INDEX_FILES = ("wnids.txt", "words.txt", "val/val_annotations.txt")


def cache_dir() -> Path:
    """Folder of decoded-data caches (:func:`mrptheory.data.cache.cache_dir`: ``$MRP_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/mrptheory``, else ``~/.cache/mrptheory``)."""
    from mrptheory.data import cache

    return cache.cache_dir()


def locate_tinyimagenet(root: str | os.PathLike) -> Path:
    """The ``tiny-imagenet-200`` folder: ``root`` itself or its child of that name."""
    root = Path(root)
    for candidate in (root / TINYIMAGENET_FOLDER, root):
        if (candidate / "wnids.txt").is_file():
            missing = [f for f in ("train", "val/images", *_INDEX_FILES)
                       if not (candidate / f).exists()]
            if missing:
                raise DatasetNotFoundError(f"{candidate} lacks {', '.join(missing)}")
            return candidate
    if not root.is_dir():
        raise DatasetNotFoundError(f"folder {root} does not exist")
    raise DatasetNotFoundError(f"no {TINYIMAGENET_FOLDER}/ (with wnids.txt) in {root}")


def _read_lines(path: Path) -> list[str]:
    try:
        return [ln.rstrip("\r\n") for ln in path.read_text(encoding="utf-8").splitlines()
                if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptDatasetError(f"{path}: cannot read ({exc})") from exc


def _class_names(folder: Path, wnids: list[str]) -> tuple[str, ...]:
    """First synonym of each wnid in ``words.txt`` (wnid appended when two classes share it)."""
    words: dict[str, str] = {}
    for line in _read_lines(folder / "words.txt"):
        wnid, _, text = line.partition("\t")
        words[wnid.strip()] = text.strip()
    firsts = [words.get(w, w).split(",")[0].strip() or w for w in wnids]
    return tuple(f"{n} ({w})" if firsts.count(n) > 1 else n for n, w in zip(firsts, wnids))


def _index(folder: Path) -> tuple[tuple[str, ...], dict[str, list[tuple[Path, int]]]]:
    """(class names, split -> [(jpeg path, label)]) from the index files and folder listing."""
    wnids = [w.strip() for w in _read_lines(folder / "wnids.txt")]
    if len(set(wnids)) != len(wnids):
        raise CorruptDatasetError(f"{folder / 'wnids.txt'}: repeated wnids")
    label_of = {w: i for i, w in enumerate(wnids)}
    train: list[tuple[Path, int]] = []
    for wnid in wnids:
        img_dir = folder / "train" / wnid / "images"
        if not img_dir.is_dir():
            raise CorruptDatasetError(f"{img_dir}: missing (wnids.txt lists {wnid})")
        files = sorted(p for p in img_dir.iterdir() if p.suffix.lower() in _JPEG_SUFFIXES)
        train += [(p, label_of[wnid]) for p in files]
    ann = folder / "val" / "val_annotations.txt"
    test: list[tuple[Path, int]] = []
    for i, line in enumerate(_read_lines(ann), start=1):
        fields = line.split("\t")
        if len(fields) < 2 or fields[1].strip() not in label_of:
            raise CorruptDatasetError(f"{ann}: line {i} is not 'file<TAB>wnid...' with a wnid "
                                      f"from wnids.txt: {line[:80]!r}")
        test.append((folder / "val" / "images" / fields[0].strip(), label_of[fields[1].strip()]))
    return _class_names(folder, wnids), {"train": train, "test": test}


def _decode(items: list[tuple[Path, int]], desc: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode JPEGs to (uint8 ``[n, 3, 64, 64]``, int64 ``[n]``)."""
    from PIL import Image, UnidentifiedImageError

    images = np.empty((len(items), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    labels = np.fromiter((lab for _, lab in items), dtype=np.int64, count=len(items))
    for i, (path, _) in enumerate(progress(items, desc=desc)):
        try:
            with Image.open(path) as im:
                im = im.convert("RGB")
                if im.size != (IMAGE_SIZE, IMAGE_SIZE):
                    im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
                images[i] = np.asarray(im).transpose(2, 0, 1)  # [H, W, C] -> [C, H, W]
        except FileNotFoundError as exc:
            raise CorruptDatasetError(f"{path}: listed in the data set but missing") from exc
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise CorruptDatasetError(f"{path}: cannot decode as an image ({exc})") from exc
    return images, labels


def _cache_path(folder: Path, directory: Path) -> Path:
    """Cache file keyed by the folder's absolute path and the stat of its index files."""
    key = [str(folder.resolve()), str(_CACHE_VERSION)]
    for f in _INDEX_FILES:
        st = (folder / f).stat()
        key.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
    digest = hashlib.sha1("|".join(key).encode()).hexdigest()[:16]
    return directory / f"tinyimagenet-{digest}.npz"


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when the cache is absent or unreadable (then we re-decode)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("train_x", "train_y", "test_x", "test_y", "names")}
    except Exception as exc:  # a damaged cache is not the user's data set: just rebuild it
        warnings.warn(f"ignoring unreadable cache {path} ({exc}); decoding the JPEGs again",
                      stacklevel=3)
        return None
    return arrays


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically (temp file + rename) so an interrupted write leaves no half cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except OSError as exc:
        warnings.warn(f"could not write the TinyImageNet cache {path} ({exc}); the next load "
                      "decodes the JPEGs again", stacklevel=3)


def load_tinyimagenet(
    root: str | os.PathLike, *, cache: bool = True, cache_directory: str | os.PathLike | None = None
) -> DatasetSplits:
    """Tiny ImageNet: 100000 train / 10000 test (the labelled val split) RGB 64x64, 200 classes.

    ``cache``: read/write the decoded arrays as ``.npz`` in ``cache_directory`` (default
    :func:`cache_dir`).
    """
    folder = locate_tinyimagenet(root)
    cpath = _cache_path(folder, Path(cache_directory) if cache_directory else cache_dir())
    arrays = _read_cache(cpath) if cache else None
    if arrays is None:
        names, items = _index(folder)
        train_x, train_y = _decode(items["train"], "decode TinyImageNet train")
        test_x, test_y = _decode(items["test"], "decode TinyImageNet val")
        arrays = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y,
                  "names": np.array(names, dtype=str)}
        if cache:
            _write_cache(cpath, arrays)
    names = tuple(str(n) for n in arrays["names"])
    return DatasetSplits(
        train=ImageDataset(freeze(arrays["train_x"]), freeze(arrays["train_y"]), names,
                           "tinyimagenet", "train"),
        test=ImageDataset(freeze(arrays["test_x"]), freeze(arrays["test_y"]), names,
                          "tinyimagenet", "test"),
    )


def peek_tinyimagenet(root: str | os.PathLike) -> DatasetSummary:
    """Sizes from the index files and the folder listing, without decoding any JPEG."""
    names, items = _index(locate_tinyimagenet(root))
    return DatasetSummary(len(items["train"]), len(items["test"]), (3, IMAGE_SIZE, IMAGE_SIZE),
                          len(names))
