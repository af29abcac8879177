"""Image-folder data sets (the layout of torchvision's ``ImageFolder``, ImageNet, Imagenette).

Layout: ``train/<class>/*.jpg|*.jpeg|*.png`` and ``test/<class>/...`` (``val/`` serves as the test
split when there is no ``test/``). The folder may sit one level down (``cifar10-jpeg/train/...``,
as an archive of a folder usually holds it). The source is a folder or a ``.tar``, ``.tar.gz`` /
``.tgz``, ``.tar.bz2``, ``.tar.xz`` or ``.zip`` file of such a folder.

Rules (each violation raises :class:`~mrptheory.errors.CorruptDatasetError`, one line naming the
file, so the CLI exits with code 2):

* class names and label order come from the sorted class-folder names of ``train/`` (as in
  ``ImageFolder``); the test split must hold the same class folders; images within a class are
  ordered by file name;
* an empty class folder, a file that Pillow cannot decode, a JPEG/PNG-named file that is another
  format, and any other file inside ``<split>/`` (a ``.txt`` in a class folder) are refused;
  names starting with ``.`` (``.DS_Store``) and ``__MACOSX/`` folders are ignored; files beside
  ``train/`` (a README) are ignored;
* every image must have the size of the first one (no resizing: mixed sizes are refused);
* mode: when every image is greyscale (Pillow modes ``1``, ``L``, ``I;16``...), the data set has one
  channel; otherwise every image is converted to RGB (Pillow's ``convert("RGB")``: a palette is
  expanded, an alpha channel dropped, a greyscale image copied to three channels);
* archives are read in memory, member by member, and never extracted to disk: a member with an
  absolute name, a ``..`` component, or that is a link or a device is refused (it cannot escape
  because nothing is written, and refusing it says the archive was not made from a plain folder);
  in a folder, a symbolic link is refused for the same reason.

Decoding happens once: :func:`load_image_folder` goes through :mod:`mrptheory.data.cache`, a
memory-mapped uint8 cache keyed by the content fingerprint of the folder or archive.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np

from mrptheory.data.dataset import DatasetSplits, ImageDataset
from mrptheory.data.loaders import freeze
from mrptheory.errors import CorruptDatasetError, DatasetNotFoundError

IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png")
ARCHIVE_SUFFIXES: tuple[str, ...] = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
SPLIT_FOLDERS: tuple[str, ...] = ("train", "test", "val")
#: Pillow formats accepted (the file's content, whatever its name says).
FORMATS: tuple[str, ...] = ("JPEG", "PNG", "MPO")  # MPO: a JPEG with extra frames (phones)
GREY_MODES: frozenset[str] = frozenset({"1", "L", "I;16", "I;16L", "I;16B", "I", "F"})
#: Bumped whenever the decode rules change, so older caches are not reused.
DECODE_VERSION = 1


#: Marks a folder entry among the members (folders hold no bytes; empty class folders matter).
DIRECTORY = b"<directory>"


def is_archive(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an archive this module reads (by its suffix)."""
    name = Path(path).name.lower()
    return any(name.endswith(s) for s in ARCHIVE_SUFFIXES)


def _ignored(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _safe_parts(name: str, where: str) -> tuple[str, ...]:
    """The components of archive member ``name``; CorruptDatasetError when it could escape."""
    if name.startswith("/") or name.startswith("\\") or (len(name) > 1 and name[1] == ":"):
        raise CorruptDatasetError(f"{where}: member {name!r} has an absolute path; refused "
                                  "(archives are read in memory, never extracted)")
    parts = tuple(p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", "."))
    if ".." in parts:
        raise CorruptDatasetError(f"{where}: member {name!r} has a '..' component; refused "
                                  "(archives are read in memory, never extracted)")
    return parts


def _tar_members(path: Path) -> Iterator[tuple[tuple[str, ...], bytes | None]]:
    """(path parts, bytes or None for a folder) of each member of a tar archive, streamed."""
    try:
        with tarfile.open(path, "r|*") as tf:
            for m in tf:
                parts = _safe_parts(m.name, str(path))
                if m.isdir():
                    if parts and not _ignored(parts):
                        yield parts, DIRECTORY
                    continue
                if not m.isfile():
                    kind = "a link" if (m.issym() or m.islnk()) else "not a regular file"
                    raise CorruptDatasetError(f"{path}: member {m.name!r} is {kind}; refused "
                                              "(only regular files are read)")
                if not parts or _ignored(parts):
                    continue
                fh = tf.extractfile(m)
                yield parts, (fh.read() if fh is not None else b"")
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise CorruptDatasetError(f"{path}: cannot read the archive ({type(exc).__name__}: "
                                  f"{exc})") from exc


def _zip_members(path: Path) -> Iterator[tuple[tuple[str, ...], bytes | None]]:
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                parts = _safe_parts(info.filename, str(path))
                if info.is_dir():
                    if parts and not _ignored(parts):
                        yield parts, DIRECTORY
                    continue
                mode = info.external_attr >> 16  # Unix mode; its file type is 0 when unset
                if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                    kind = "a link" if stat.S_ISLNK(mode) else "not a regular file"
                    raise CorruptDatasetError(f"{path}: member {info.filename!r} is {kind}; "
                                              "refused (only regular files are read)")
                if not parts or _ignored(parts):
                    continue
                yield parts, zf.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise CorruptDatasetError(f"{path}: cannot read the archive ({type(exc).__name__}: "
                                  f"{exc})") from exc


def _folder_members(root: Path) -> Iterator[tuple[tuple[str, ...], bytes | None]]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for d in list(dirnames):
            if (base / d).is_symlink():
                raise CorruptDatasetError(f"{base / d}: a symbolic link; refused (image folders "
                                          "are read from regular files only)")
        dirnames[:] = sorted(d for d in dirnames if not _ignored((d,)))
        for d in dirnames:
            yield (base / d).relative_to(root).parts, DIRECTORY
        for f in sorted(filenames):
            p = base / f
            parts = p.relative_to(root).parts
            if _ignored(parts):
                continue
            if p.is_symlink():
                raise CorruptDatasetError(f"{p}: a symbolic link; refused (image folders are "
                                          "read from regular files only)")
            yield parts, None  # read lazily: only files inside a split are opened


def _members(source: Path) -> Iterator[tuple[tuple[str, ...], bytes | None]]:
    if source.is_dir():
        return _folder_members(source)
    if source.name.lower().endswith(".zip"):
        return _zip_members(source)
    return _tar_members(source)


def _decode(data: bytes, where: str) -> np.ndarray:
    """Pixels of one JPEG/PNG file (see the module doc for the mode rule)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in FORMATS:
                raise CorruptDatasetError(f"{where}: a {img.format} image, not JPEG or PNG")
            img.load()
            if img.mode in GREY_MODES:
                grey = img if img.mode == "L" else img.convert("L")
                return np.asarray(grey, dtype=np.uint8)
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except CorruptDatasetError:
        raise
    except UnidentifiedImageError as exc:
        raise CorruptDatasetError(f"{where}: not a readable image (Pillow cannot identify "
                                  "its format)") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptDatasetError(f"{where}: not a readable image ({type(exc).__name__}: "
                                  f"{exc})") from exc


def _find_base(paths: list[tuple[str, ...]], where: str) -> tuple[str, ...]:
    """The folder (as path parts) holding ``train/``: the top level or one folder down."""
    tops = {p[0] for p in paths if len(p) > 1}
    if "train" in tops:
        return ()
    candidates = sorted({p[0] for p in paths if len(p) > 2 and p[1] == "train"})
    if len(candidates) == 1:
        return (candidates[0],)
    if len(candidates) > 1:
        raise CorruptDatasetError(f"{where}: several folders hold a train/ ({', '.join(candidates)});"
                                  " point to one of them")
    raise DatasetNotFoundError(f"no train/<class>/ folder in {where} (nor one level down)")


def decode_image_folder(source: str | os.PathLike,
                        show_progress: bool | None = None) -> dict[str, object]:
    """Decode every image of the folder or archive ``source`` (see the module doc for the rules).

    Returns ``{"class_names": [...], "<split>_images": uint8 [N, C, H, W], "<split>_labels":
    int64 [N]}`` for split ``train`` and ``test`` (``test`` from ``val/`` when there is no
    ``test/``), plus ``"test_from"`` (``"test"`` or ``"val"``) and ``"mode"`` (``"L"``/``"RGB"``).
    """
    from mrptheory.progress import progress

    source = Path(source)
    if not source.exists():
        raise DatasetNotFoundError(f"{source} does not exist")
    files: dict[tuple[str, ...], bytes | None] = {}
    folders: list[tuple[str, ...]] = []
    for parts, data in _members(source):
        if data is DIRECTORY:
            folders.append(parts)
        else:
            files[parts] = data
    base = _find_base(list(files), str(source))
    n = len(base)
    present = {p[n] for p in files if len(p) > n + 1 and p[n] in SPLIT_FOLDERS}
    test_split = "test" if "test" in present else "val" if "val" in present else None
    if test_split is None:
        raise DatasetNotFoundError(f"{source}: {'/'.join(base + ('train',))}/ found but no test/ "
                                   "or val/ beside it")

    def where(parts: tuple[str, ...]) -> str:
        return f"{source}/{'/'.join(parts)}" if source.is_dir() else f"{source}:{'/'.join(parts)}"

    by_split: dict[str, dict[str, list[tuple[str, ...]]]] = {"train": {}, test_split: {}}
    for parts in files:
        if len(parts) <= n or parts[n] not in by_split:
            continue  # beside the splits (a README), or the unused val/
        if len(parts) != n + 3:
            raise CorruptDatasetError(f"{where(parts)}: not at <split>/<class>/<file> (a file "
                                      "directly in a split folder, or a nested folder)")
        if not parts[-1].lower().endswith(IMAGE_SUFFIXES):
            raise CorruptDatasetError(f"{where(parts)}: not an image file (only "
                                      f"{', '.join(IMAGE_SUFFIXES)} are allowed in class folders)")
        by_split[parts[n]].setdefault(parts[n + 1], []).append(parts)
    for parts in folders:  # empty class folders exist only as folder entries
        if len(parts) == n + 2 and parts[:n] == base and parts[n] in by_split:
            by_split[parts[n]].setdefault(parts[n + 1], [])
    classes = sorted(by_split["train"])
    if not classes:
        raise CorruptDatasetError(f"{where(base + ('train',))}: no class folders")
    test_classes = sorted(by_split[test_split])
    if test_classes != classes:
        extra = sorted(set(test_classes) - set(classes))
        missing = sorted(set(classes) - set(test_classes))
        detail = (f"has class folders not in train/: {', '.join(extra)}" if extra else
                  f"lacks class folders {', '.join(missing)}")
        raise CorruptDatasetError(f"{where(base + (test_split,))}: {detail}")
    out: dict[str, object] = {"class_names": classes, "test_from": test_split}
    first: tuple[str, tuple[int, ...]] | None = None
    grey = True
    decoded: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[int]] = {}
    total = sum(len(v) for s in by_split.values() for v in s.values())
    bar = progress(total=total, desc=f"decoding {source.name}", enabled=show_progress, unit="img")
    for split in ("train", test_split):
        decoded[split], labels[split] = [], []
        for label, cls in enumerate(classes):
            members = sorted(by_split[split][cls])
            if not members:
                raise CorruptDatasetError(f"{where(base + (split, cls))}: empty class folder")
            for parts in members:
                data = files[parts]
                if data is None:
                    try:
                        data = source.joinpath(*parts).read_bytes()
                    except OSError as exc:
                        raise CorruptDatasetError(f"{where(parts)}: cannot read ({exc})") from exc
                pixels = _decode(data, where(parts))
                size = pixels.shape[:2]
                if first is None:
                    first = (where(parts), size)
                elif size != first[1]:
                    raise CorruptDatasetError(
                        f"{where(parts)}: {size[1]}x{size[0]} pixels, but {first[0]} is "
                        f"{first[1][1]}x{first[1][0]} (all images must have one size)")
                grey = grey and pixels.ndim == 2
                decoded[split].append(pixels)
                labels[split].append(label)
                bar.update(1)
    bar.close()
    out["mode"] = "L" if grey else "RGB"
    for split, name in (("train", "train"), (test_split, "test")):
        arrays = decoded[split]
        if grey:
            stack = np.stack(arrays)[:, None]
        else:
            stack = np.stack([a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2)
                              for a in arrays]).transpose(0, 3, 1, 2)
        out[f"{name}_images"] = np.ascontiguousarray(stack, dtype=np.uint8)
        out[f"{name}_labels"] = np.asarray(labels[split], dtype=np.int64)
    return out


def locate_image_folder(root: str | os.PathLike) -> Path:
    """``root`` when it is an archive file or a folder with ``train/`` (here or one level down)."""
    root = Path(root)
    if root.is_file():
        if not is_archive(root):
            raise DatasetNotFoundError(f"{root} is a file but not an archive "
                                       f"({', '.join(ARCHIVE_SUFFIXES)})")
        return root
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root} does not exist")
    if (root / "train").is_dir():
        return root
    below = [d for d in sorted(root.iterdir()) if d.is_dir() and (d / "train").is_dir()]
    if len(below) == 1:
        return root
    raise DatasetNotFoundError(f"no train/<class>/ folder in {root} (nor one level down)")


def is_image_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an archive file or a folder with ``train/`` beside ``test/`` or
    ``val/`` (here or one level down): what :func:`load_image_folder` reads."""
    path = Path(path).expanduser()
    if path.is_file():
        return is_archive(path)
    if not path.is_dir():
        return False
    for base in [path, *(d for d in sorted(path.iterdir()) if d.is_dir())]:
        if (base / "train").is_dir() and ((base / "test").is_dir() or (base / "val").is_dir()):
            return True
    return False


def load_image_folder(root: str | os.PathLike, name: str = "folder", *, cache: bool = True,
                      show_progress: bool | None = None) -> DatasetSplits:
    """The train and test splits of the image folder or archive ``root`` (uint8 ``[N, C, H, W]``).

    With ``cache`` the decoded arrays come from (or go to) the decode-once cache
    (:func:`mrptheory.data.cache.cached_arrays`); the arrays are then read-only memory maps.
    """
    from mrptheory.data.cache import cached_arrays

    source = locate_image_folder(root)
    if cache:
        arrays, meta = cached_arrays(source, lambda: decode_image_folder(source, show_progress),
                                     version=DECODE_VERSION)
    else:
        decoded = decode_image_folder(source, show_progress)
        meta = {k: decoded[k] for k in ("class_names", "test_from", "mode")}
        arrays = {k: v for k, v in decoded.items() if isinstance(v, np.ndarray)}
    names = tuple(meta["class_names"])
    return DatasetSplits(
        train=ImageDataset(freeze(arrays["train_images"]), freeze(arrays["train_labels"]), names,
                           name, "train"),
        test=ImageDataset(freeze(arrays["test_images"]), freeze(arrays["test_labels"]), names,
                          name, "test"),
    )
