"""Image-folder loader and decode-once cache: tiny folders and archives written here with Pillow,
plus the shared CIFAR-10 JPEG sample when the developers' shared folder is present."""

from __future__ import annotations

import io
import os
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mrptheory.cli import main
from mrptheory.data.cache import cache_dir, cached_arrays, entry_path, source_fingerprint
from mrptheory.data.fingerprint import content_fingerprint
from mrptheory.data.loaders.imagefolder import decode_image_folder, load_image_folder
from mrptheory.data.registry import clear_cache, dataset_status, load_dataset
from mrptheory.errors import ConfigError, CorruptDatasetError, DatasetNotFoundError
from tests.cli_checks import assert_one_line_error
from tests.shared_data import cifar_sample  # noqa: F401  (fixture)

CLASSES = ("ant", "bee", "cat")


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MRP_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("MRP_FOLDER_DIR", "MRP_CIFAR10_JPEG_DIR"):
        monkeypatch.delenv(var, raising=False)
    clear_cache()
    yield
    clear_cache()


def _png(pixels: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def image_files(n_per_class: int = 2, size: int = 4, seed: int = 0,
                grey: bool = False) -> dict[str, bytes]:
    """``{"data/<split>/<class>/<i>.png": bytes}`` of random lossless images."""
    rng = np.random.default_rng(seed)
    files = {}
    for split in ("train", "test"):
        for cls in CLASSES:
            for i in range(n_per_class):
                shape = (size, size) if grey else (size, size, 3)
                files[f"data/{split}/{cls}/{i}.png"] = _png(rng.integers(0, 256, shape, dtype=np.uint8))
    return files


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def write_tar(path: Path, files: dict[str, bytes], extra=()) -> Path:
    with tarfile.open(path, "w:gz" if path.name.endswith(".gz") else "w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in extra:
            tf.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return path


def write_zip(path: Path, files: dict[str, bytes], extra=()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for info, data in extra:
            zf.writestr(info, data)
    return path


def _expected(files: dict[str, bytes], split: str) -> tuple[np.ndarray, np.ndarray]:
    names = sorted(n for n in files if n.split("/")[1] == split)
    names.sort(key=lambda n: (CLASSES.index(n.split("/")[2]), n))
    images = np.stack([np.asarray(Image.open(io.BytesIO(files[n]))) for n in names])
    labels = np.array([CLASSES.index(n.split("/")[2]) for n in names])
    return images, labels


@pytest.mark.parametrize("kind", ["folder", "tar", "tar.gz", "zip"])
def test_reads_folder_and_archives_exactly(tmp_path, kind):
    files = image_files()
    if kind == "folder":
        source = write_folder(tmp_path / "src", files)
    elif kind == "zip":
        source = write_zip(tmp_path / "src.zip", files)
    else:
        source = write_tar(tmp_path / f"src.{kind}", files)
    splits = load_image_folder(source)
    assert splits.train.class_names == CLASSES
    for split, ds in (("train", splits.train), ("test", splits.test)):
        images, labels = _expected(files, split)
        np.testing.assert_array_equal(ds.images, images.transpose(0, 3, 1, 2))
        np.testing.assert_array_equal(ds.labels, labels)
        assert not ds.images.flags.writeable
    assert not any(tmp_path.glob("src/*/train/*/*.npy"))  # nothing extracted beside the source


def test_greyscale_gives_one_channel_and_mixed_modes_convert_to_rgb(tmp_path):
    grey = load_image_folder(write_folder(tmp_path / "g", image_files(grey=True)), cache=False)
    assert grey.train.image_shape == (1, 4, 4)
    files = image_files()
    pixels = np.arange(16, dtype=np.uint8).reshape(4, 4)
    files["data/train/ant/0.png"] = _png(pixels)  # one greyscale image among RGB ones
    mixed = load_image_folder(write_folder(tmp_path / "m", files), cache=False)
    assert mixed.train.image_shape == (3, 4, 4)
    np.testing.assert_array_equal(mixed.train.images[0], np.stack([pixels] * 3))


def test_val_serves_as_test_and_readme_beside_splits_is_ignored(tmp_path):
    files = {n.replace("/test/", "/val/"): d for n, d in image_files().items()}
    files["data/README.txt"] = b"about this data"
    splits = load_image_folder(write_folder(tmp_path / "v", files), cache=False)
    assert len(splits.test) == 6


@pytest.mark.parametrize("damage, needle", [
    ("bad_bytes", "train/bee/1.png: not a readable image"),
    ("txt", "train/bee/notes.txt: not an image file"),
    ("mixed_size", "train/cat/0.png: 5x5 pixels"),
    ("gif", "a GIF image, not JPEG or PNG"),
    ("empty_class", "train/dog: empty class folder"),
    ("test_lacks_class", "test: lacks class folders bee"),
])
def test_bad_folders_are_refused_naming_the_file(tmp_path, damage, needle):
    files = image_files()
    root = tmp_path / "bad"
    if damage == "bad_bytes":
        files["data/train/bee/1.png"] = b"not a png at all"
    elif damage == "txt":
        files["data/train/bee/notes.txt"] = b"hello"
    elif damage == "mixed_size":
        files["data/train/cat/0.png"] = _png(np.zeros((5, 5, 3), np.uint8))
    elif damage == "gif":
        files["data/train/cat/0.png"] = _png(np.zeros((4, 4), np.uint8), "GIF")
    elif damage == "test_lacks_class":
        files = {n: d for n, d in files.items() if not n.startswith("data/test/bee/")}
    write_folder(root, files)
    if damage == "empty_class":
        (root / "data/train/dog").mkdir()
        (root / "data/test/dog").mkdir()
    with pytest.raises(CorruptDatasetError) as e:
        load_image_folder(root)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_empty_class_in_an_archive_is_refused(tmp_path):
    infos = [tarfile.TarInfo(f"data/{split}/dog") for split in ("train", "test")]
    for info in infos:
        info.type = tarfile.DIRTYPE
    source = write_tar(tmp_path / "e.tar", image_files(), extra=infos)
    with pytest.raises(CorruptDatasetError, match="train/dog: empty class folder"):
        load_image_folder(source)


def _tar_info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize("info, needle", [
    (_tar_info("../evil.png"), "'..' component"),
    (_tar_info("data/train/ant/../../../evil.png"), "'..' component"),
    (_tar_info("/etc/evil.png"), "absolute path"),
    (_tar_info("data/train/ant/link.png", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
    (_tar_info("data/train/ant/hard.png", tarfile.LNKTYPE, "data/train/ant/0.png"), "is a link"),
    (_tar_info("data/train/ant/dev", tarfile.CHRTYPE), "not a regular file"),
])
def test_tar_members_that_could_escape_are_refused(tmp_path, info, needle):
    source = write_tar(tmp_path / "t.tar", image_files(), extra=[info])
    before = set(tmp_path.rglob("*"))
    with pytest.raises(CorruptDatasetError, match=needle):
        load_image_folder(source)
    assert set(tmp_path.rglob("*")) - before <= {p for p in tmp_path.rglob("*")
                                                  if "cache" in p.parts}
    assert not (tmp_path.parent / "evil.png").exists()


def _zip_link(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)  # S_IFLNK
    return info


@pytest.mark.parametrize("name, needle", [
    ("../evil.png", "'..' component"),
    ("/abs/evil.png", "absolute path"),
    (None, "is a link"),
])
def test_zip_members_that_could_escape_are_refused(tmp_path, name, needle):
    extra = [(_zip_link("data/train/ant/l.png"), "/etc/passwd")] if name is None else [(name, b"x")]
    source = write_zip(tmp_path / "z.zip", image_files(), extra=extra)
    with pytest.raises(CorruptDatasetError, match=needle):
        load_image_folder(source)


def test_symlink_in_a_folder_is_refused(tmp_path):
    root = write_folder(tmp_path / "s", image_files())
    os.symlink(root / "data/train/ant/0.png", root / "data/train/ant/9.png")
    with pytest.raises(CorruptDatasetError, match="9.png: a symbolic link"):
        load_image_folder(root)


def test_not_an_image_folder(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(DatasetNotFoundError, match="no train/<class>/"):
        load_image_folder(tmp_path / "plain")
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(DatasetNotFoundError, match="not an archive"):
        load_image_folder(tmp_path / "x.csv")
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(CorruptDatasetError, match="cannot read the archive"):
        load_image_folder(tmp_path / "broken.tar.gz")


def test_cli_refuses_a_bad_folder_in_one_line(tmp_path):
    files = image_files()
    files["data/train/bee/1.png"] = b"junk"
    root = write_folder(tmp_path / "bad", files)
    result = CliRunner().invoke(main, ["alignment", "--dataset", "folder", "--data-root",
                                       str(root), "--out", str(tmp_path / "o"), "--no-progress"])
    assert_one_line_error(result, "train/bee/1.png", "not a readable image")


# ---------------------------------------------------------------- decode-once cache

def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("MRP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "mrptheory"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "mrptheory"


def test_second_load_reads_the_cache_and_a_changed_file_re_decodes(tmp_path):
    files = image_files()
    root = write_folder(tmp_path / "c", files)
    calls = []

    def decode():
        calls.append(1)
        return decode_image_folder(root)

    a, _ = cached_arrays(root, decode)
    b, meta = cached_arrays(root, decode)
    assert len(calls) == 1 and isinstance(b["train_images"], np.memmap)
    assert meta["class_names"] == list(CLASSES)
    np.testing.assert_array_equal(a["train_images"], b["train_images"])
    assert source_fingerprint(root) == content_fingerprint(root)
    new = _png(np.full((4, 4, 3), 7, np.uint8))
    (root / "data/train/ant/0.png").write_bytes(new)
    os.utime(root / "data/train/ant/0.png", ns=(1, 1))  # a new mtime, whatever the clock
    assert source_fingerprint(root) == content_fingerprint(root)
    c, _ = cached_arrays(root, decode)
    assert len(calls) == 2 and int(c["train_images"][0].max()) == 7


def test_torn_cache_entry_re_decodes(tmp_path):
    source = write_tar(tmp_path / "t.tar", image_files())
    load_image_folder(source)
    entry = entry_path(source)
    npy = entry / "train_images.npy"
    npy.write_bytes(npy.read_bytes()[:-10])  # truncated by outside damage
    with pytest.warns(UserWarning, match="torn cache entry"):
        again = load_image_folder(source)
    images, _ = _expected(image_files(), "train")
    np.testing.assert_array_equal(again.train.images, images.transpose(0, 3, 1, 2))
    assert not any(p.name.startswith(".") for p in entry.parent.iterdir())  # no temp folder left


def test_registry_names(tmp_path):
    source = write_zip(tmp_path / "r.zip", image_files())
    splits = load_dataset("folder", source)
    assert splits.name == "folder" and len(splits.train) == 6
    st = dataset_status("folder", source)
    assert st.found and str(st.summary) == "6 train / 6 test, 3x4x4, 3 classes"
    with pytest.raises(CorruptDatasetError, match="not CIFAR-10"):
        load_dataset("cifar10-jpeg", source)
    from mrptheory.data.registry import dataset_shape

    with pytest.raises(ConfigError, match="known only after reading"):
        dataset_shape("folder")
    assert dataset_shape("cifar10-jpeg") == ((3, 32, 32), 10)


# ---------------------------------------------------------------- the shared CIFAR-10 sample

def test_shared_sample_loads_and_second_load_is_fast(cifar_sample, monkeypatch):
    SAMPLE, cache = cifar_sample
    monkeypatch.setenv("MRP_CACHE_DIR", str(cache))
    t0 = time.perf_counter()
    first = load_dataset("cifar10-jpeg", SAMPLE)
    t1 = time.perf_counter()
    clear_cache()
    second = load_dataset("cifar10-jpeg", SAMPLE)
    t2 = time.perf_counter()
    assert (len(first.train), len(first.test)) == (10000, 5000)
    assert first.train.image_shape == (3, 32, 32)
    assert np.bincount(second.train.labels).tolist() == [1000] * 10
    assert np.bincount(second.test.labels).tolist() == [500] * 10
    assert t2 - t1 < 1.0, f"second load took {t2 - t1:.2f} s (first {t1 - t0:.2f} s)"


def test_mrp_datasets_lists_the_image_folder(tmp_path):
    source = write_tar(tmp_path / "l.tar.gz", image_files())
    result = CliRunner().invoke(main, ["datasets", "--data-root", f"folder={source}"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("folder "))
    assert "found" in row and "6 train / 6 test, 3x4x4, 3 classes" in row
    assert any(line.startswith("cifar10-jpeg ") and "missing" in line
               for line in result.output.splitlines())


def test_reproduce_refuses_a_missing_image_folder(tmp_path):
    result = CliRunner().invoke(main, ["reproduce", "--quick", "--image-folder",
                                       str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert_one_line_error(result, "--image-folder", "does not exist")
