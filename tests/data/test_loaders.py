"""Real-data loaders: each format written in miniature to tmp_path and read back exactly.

Every file here is built by the test in the data set's own on-disk format (IDX, CIFAR pickles,
SVHN .mat, TinyImageNet JPEG folder), so the loaders are checked without any download; the one
real-data test uses the Fashion-MNIST Debian package through the ``fashion_mnist`` fixture.
"""

from __future__ import annotations

import gzip
import os
import pickle
import warnings
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mrptheory.cli import main
from mrptheory.data.loaders.cifar import load_cifar10
from mrptheory.data.loaders.idx import (
    FASHION_MNIST_CLASSES, MNIST_FILES, read_idx, read_idx_header, write_idx,
)
from mrptheory.data.loaders.svhn import peek_svhn
from mrptheory.data.loaders.tinyimagenet import load_tinyimagenet, peek_tinyimagenet
from mrptheory.data.registry import (
    DATASET_NAMES, dataset_status, env_var, load_dataset, resolve_root,
)
from mrptheory.errors import ConfigError, CorruptDatasetError, DatasetNotFoundError

ALL_ENV_VARS = [env_var(n) for n in DATASET_NAMES]


@pytest.fixture(autouse=True)
def _no_dataset_env(monkeypatch, tmp_path):
    """Each test starts with no MRP_<NAME>_DIR set and a private decode cache."""
    for var in ALL_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MRP_CACHE_DIR", str(tmp_path / "cache"))


# ----------------------------------------------------------------------------- writers

def write_mnist_folder(folder: Path, n_train: int = 7, n_test: int = 5, hw: int = 6,
                       gz: bool = True, seed: int = 0) -> dict[str, np.ndarray]:
    """Write the four IDX files of an MNIST-style set; return the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_x": rng.integers(0, 256, (n_train, hw, hw), dtype=np.uint8),
        "train_y": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_x": rng.integers(0, 256, (n_test, hw, hw), dtype=np.uint8),
        "test_y": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    suffix = ".gz" if gz else ""
    for (split, kind), stem in MNIST_FILES.items():
        key = f"{split}_{'x' if kind == 'images' else 'y'}"
        write_idx(folder / (stem + suffix), arrays[key])
    return arrays


def write_cifar10(parent: Path, n_per_batch: int = 3, seed: int = 0) -> dict[str, object]:
    """Write ``parent/cifar-10-batches-py`` with 5 train batches, a test batch and the meta."""
    rng = np.random.default_rng(seed)
    folder = parent / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"class{i}".encode() for i in range(10)]
    batches = {}
    for fname in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n_per_batch)]
        batches[fname] = (data, labels)
        with open(folder / fname, "wb") as f:
            pickle.dump({b"batch_label": fname.encode(), b"data": data, b"labels": labels,
                         b"filenames": [b"x.png"] * n_per_batch}, f, protocol=2)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": names, b"num_vis": 3072}, f, protocol=2)
    return {"folder": folder, "batches": batches, "names": [n.decode() for n in names]}


def write_svhn(folder: Path, n_train: int = 6, n_test: int = 4, seed: int = 0):
    """Write SVHN-format .mat files (X: [32, 32, 3, N] uint8, y: [N, 1] in 1..10)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = rng.integers(1, 11, (n, 1)).astype(np.uint8)
        y[0, 0] = 10  # make sure the "10 means digit 0" rule is exercised
        scipy.io.savemat(folder / f"{split}_32x32.mat", {"X": x, "y": y})
        out[split] = (x, y)
    return out


def write_tinyimagenet(parent: Path) -> tuple[Path, dict[str, list[Path]]]:
    """A 3-class tiny-imagenet-200 folder: 2 train JPEGs per class, 3 val JPEGs.

    One train image is greyscale and one val image is 48x48, to exercise RGB conversion and
    resizing.
    """
    from PIL import Image

    folder = parent / "tiny-imagenet-200"
    wnids = ["n01443537", "n01629819", "n01641577"]
    (folder / "val" / "images").mkdir(parents=True)
    (folder / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (folder / "words.txt").write_text(
        "n00000001\tunrelated\n"
        "n01443537\tgoldfish, Carassius auratus\n"
        "n01629819\tEuropean fire salamander, Salamandra salamandra\n"
        "n01641577\tbullfrog, Rana catesbeiana\n"
    )
    rng = np.random.default_rng(0)
    files: dict[str, list[Path]] = {"train": [], "test": []}
    for c, wnid in enumerate(wnids):
        d = folder / "train" / wnid / "images"
        d.mkdir(parents=True)
        for j in range(2):
            p = d / f"{wnid}_{j}.JPEG"
            if c == 1 and j == 0:
                Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8), "L").save(p)
            else:
                Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(p)
            files["train"].append(p)
    lines = []
    for j, c in enumerate([2, 0, 1]):
        p = folder / "val" / "images" / f"val_{j}.JPEG"
        size = 48 if j == 2 else 64
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(p)
        files["test"].append(p)
        lines.append(f"val_{j}.JPEG\t{wnids[c]}\t0\t0\t10\t10")
    (folder / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return folder, files


def pil_decode(path: Path) -> np.ndarray:
    """What the loader should produce for one JPEG: RGB, 64x64, [3, 64, 64]."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.size != (64, 64):
            im = im.resize((64, 64), Image.BILINEAR)
        return np.asarray(im).transpose(2, 0, 1)


# ----------------------------------------------------------------------------- IDX format

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
       dtype=st.sampled_from(IDX_DTYPES), gz=st.booleans(), seed=st.integers(0, 2**16))
def test_idx_round_trip(shape, dtype, gz, seed):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    else:
        array = rng.standard_normal(shape).astype(dtype)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("a.idx.gz" if gz else "a.idx")
        write_idx(path, array)
        back = read_idx(path)
        hdr_dtype, hdr_dims = read_idx_header(path)
    assert back.shape == array.shape and back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)
    assert hdr_dims == tuple(shape) and hdr_dtype == array.dtype


def test_idx_big_endian_on_disk(tmp_path):
    """The header and int values are big-endian, as the IDX spec says."""
    path = write_idx(tmp_path / "a", np.array([[1, 258]], dtype=np.int16))
    raw = path.read_bytes()
    assert raw == bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 1, 2])


def test_idx_gzip_detected_by_magic_bytes(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = write_idx(tmp_path / "no-gz-suffix", array, compress=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(path), array)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_truncated_file(tmp_path, gz):
    path = write_idx(tmp_path / "x", np.zeros((4, 5, 5), np.uint8))
    payload = path.read_bytes()[:-7]
    path = tmp_path / ("x.gz" if gz else "x")
    path.write_bytes(gzip.compress(payload) if gz else payload)
    with pytest.raises(CorruptDatasetError) as e:
        read_idx(path)
    msg = str(e.value)
    assert str(path) in msg and "truncated" in msg and "4x5x5" in msg


def test_idx_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((2, 3), np.uint8))
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(CorruptDatasetError, match="trailing bytes"):
        read_idx(path)


def test_idx_truncated_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.arange(2000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(CorruptDatasetError, match="gzip") as e:
        read_idx(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("head", [b"\x00\x01\x08\x01", b"\x00\x00\x07\x01", b"PK\x03\x04", b"\x00"])
def test_idx_bad_magic(tmp_path, head):
    path = tmp_path / "bad"
    path.write_bytes(head + b"\x00\x00\x00\x01\x05")
    with pytest.raises(CorruptDatasetError) as e:
        read_idx(path)
    assert str(path) in str(e.value)
    assert "magic" in str(e.value) or "too short" in str(e.value)


# ----------------------------------------------------------------------------- MNIST-style

@pytest.mark.parametrize("gz", [False, True])
def test_mnist_style_folder_read_back_exactly(tmp_path, gz):
    arrays = write_mnist_folder(tmp_path / "m", gz=gz)
    splits = load_dataset("mnist", tmp_path / "m")
    for split, ds in (("train", splits.train), ("test", splits.test)):
        assert ds.name == "mnist" and ds.split == split
        assert ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
        assert ds.images.shape == (len(arrays[f"{split}_y"]), 1, 6, 6)
        np.testing.assert_array_equal(ds.images[:, 0], arrays[f"{split}_x"])
        np.testing.assert_array_equal(ds.labels, arrays[f"{split}_y"])
        assert ds.class_names == tuple("0123456789")
        assert not ds.images.flags.writeable  # cached and shared: read-only


def test_mnist_dotted_file_names(tmp_path):
    """Some MNIST copies name the files ``train-images.idx3-ubyte``; those load too."""
    arrays = write_mnist_folder(tmp_path / "m", gz=False)
    for f in (tmp_path / "m").iterdir():
        f.rename(f.with_name(f.name.replace("-idx", ".idx")))
    np.testing.assert_array_equal(load_dataset("mnist", tmp_path / "m").train.labels,
                                  arrays["train_y"])


def test_fashion_mnist_class_names_from_small_folder(tmp_path):
    write_mnist_folder(tmp_path / "f")
    splits = load_dataset("fashion-mnist", tmp_path / "f")
    assert splits.train.class_names == FASHION_MNIST_CLASSES
    assert splits.name == "fashion-mnist"


def test_load_dataset_is_cached(tmp_path):
    write_mnist_folder(tmp_path / "m")
    assert load_dataset("mnist", tmp_path / "m") is load_dataset("MNIST", str(tmp_path / "m"))


def test_mnist_label_count_mismatch(tmp_path):
    folder = tmp_path / "m"
    write_mnist_folder(folder, n_train=7)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(6, np.uint8))
    with pytest.raises(CorruptDatasetError) as e:
        load_dataset("mnist", folder)
    msg = str(e.value)
    assert "train-labels-idx1-ubyte.gz" in msg and "6 labels" in msg and "7 images" in msg


def test_mnist_truncated_image_file_through_registry(tmp_path):
    folder = tmp_path / "m"
    write_mnist_folder(folder, gz=False)
    path = folder / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CorruptDatasetError, match="t10k-images-idx3-ubyte: truncated"):
        load_dataset("mnist", folder)
    st_ = dataset_status("mnist", folder, check=True)
    assert st_.found and st_.corrupt and "truncated" in st_.message


# ----------------------------------------------------------------------------- CIFAR

@pytest.mark.parametrize("point_at", ["parent", "folder"])
def test_cifar10_read_back_exactly(tmp_path, point_at):
    written = write_cifar10(tmp_path / point_at)
    root = tmp_path / point_at if point_at == "parent" else written["folder"]
    splits = load_dataset("cifar10", root)
    batches = written["batches"]
    train_data = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    train_labels = sum((batches[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    assert splits.train.images.shape == (15, 3, 32, 32)
    assert splits.test.images.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(splits.train.images.reshape(15, -1), train_data)
    np.testing.assert_array_equal(splits.train.labels, train_labels)
    np.testing.assert_array_equal(splits.test.images.reshape(3, -1), batches["test_batch"][0])
    np.testing.assert_array_equal(splits.test.labels, batches["test_batch"][1])
    assert splits.train.labels.dtype == np.int64
    assert splits.train.class_names == tuple(written["names"])
    # channel-first layout: the first 1024 values of a row are the red plane
    np.testing.assert_array_equal(splits.train.images[0, 0].ravel(), train_data[0, :1024])


def test_cifar10_numpy1_python2_style_pickles(tmp_path):
    """Real CIFAR files were pickled with numpy 1 (``numpy.core.multiarray``); they must load."""
    written = write_cifar10(tmp_path)
    for f in written["folder"].iterdir():
        f.write_bytes(f.read_bytes().replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    assert b"numpy.core.multiarray" in (written["folder"] / "test_batch").read_bytes()
    splits = load_cifar10(tmp_path)
    np.testing.assert_array_equal(splits.test.labels, written["batches"]["test_batch"][1])


def test_cifar100_read_back_exactly(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    data = {s: rng.integers(0, 256, (n, 3072), dtype=np.uint8)
            for s, n in (("train", 5), ("test", 2))}
    fine = {s: [int(v) for v in rng.integers(0, 100, len(data[s]))] for s in data}
    for s in data:
        with open(folder / s, "wb") as f:
            pickle.dump({b"data": data[s], b"fine_labels": fine[s],
                         b"coarse_labels": [0] * len(data[s])}, f, protocol=2)
    names = [f"fine{i}".encode() for i in range(100)]
    with open(folder / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": names, b"coarse_label_names": [b"c"] * 20}, f)
    splits = load_dataset("cifar100", tmp_path)
    assert splits.train.num_classes == 100 and splits.train.class_names[7] == "fine7"
    for s, ds in (("train", splits.train), ("test", splits.test)):
        np.testing.assert_array_equal(ds.images.reshape(len(ds), -1), data[s])
        np.testing.assert_array_equal(ds.labels, fine[s])


def test_cifar_truncated_batch_is_corrupt(tmp_path):
    written = write_cifar10(tmp_path)
    path = written["folder"] / "data_batch_3"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(CorruptDatasetError, match="data_batch_3: cannot unpickle"):
        load_cifar10(tmp_path)


def test_cifar_pickle_with_foreign_globals_is_refused(tmp_path):
    written = write_cifar10(tmp_path)
    with open(written["folder"] / "test_batch", "wb") as f:
        pickle.dump({b"data": os.getcwd, b"labels": []}, f)  # a callable a batch never holds
    with pytest.raises(CorruptDatasetError, match="test_batch: cannot unpickle.*getcwd"):
        load_cifar10(tmp_path)


def test_cifar_label_image_count_mismatch(tmp_path):
    written = write_cifar10(tmp_path)
    with open(written["folder"] / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((3, 3072), np.uint8), b"labels": [1, 2]}, f)
    with pytest.raises(CorruptDatasetError, match="test_batch: 2 labels for 3 images"):
        load_cifar10(tmp_path)


def test_cifar_missing_batch_is_named(tmp_path):
    written = write_cifar10(tmp_path)
    (written["folder"] / "data_batch_4").unlink()
    with pytest.raises(DatasetNotFoundError, match="data_batch_4"):
        load_dataset("cifar10", tmp_path)


# ----------------------------------------------------------------------------- SVHN

def test_svhn_read_back_exactly(tmp_path):
    written = write_svhn(tmp_path / "svhn")
    splits = load_dataset("svhn", tmp_path)  # the parent works too: svhn/ is searched
    for split, ds in (("train", splits.train), ("test", splits.test)):
        x, y = written[split]
        assert ds.images.shape == (x.shape[3], 3, 32, 32) and ds.images.dtype == np.uint8
        np.testing.assert_array_equal(ds.images, x.transpose(3, 2, 0, 1))
        expected = np.where(y[:, 0] == 10, 0, y[:, 0])
        np.testing.assert_array_equal(ds.labels, expected)
        assert ds.labels[0] == 0 and ds.labels.dtype == np.int64
    assert splits.train.class_names == tuple("0123456789")
    summary = peek_svhn(tmp_path)
    assert (summary.n_train, summary.n_test, summary.image_shape) == (6, 4, (3, 32, 32))


def test_svhn_bad_mat_file(tmp_path):
    write_svhn(tmp_path)
    (tmp_path / "test_32x32.mat").write_bytes(b"MATLAB 5.0 but then garbage" * 3)
    with pytest.raises(CorruptDatasetError, match="test_32x32.mat: cannot read as a .mat file"):
        load_dataset("svhn", tmp_path)


def test_svhn_label_count_mismatch(tmp_path):
    write_svhn(tmp_path)
    scipy.io.savemat(tmp_path / "train_32x32.mat",
                     {"X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.ones((3, 1), np.uint8)})
    with pytest.raises(CorruptDatasetError, match="train_32x32.mat: 3 labels in y but 4 images"):
        load_dataset("svhn", tmp_path)


# ----------------------------------------------------------------------------- TinyImageNet

def test_tinyimagenet_read_back_and_cache(tmp_path):
    folder, files = write_tinyimagenet(tmp_path / "data")
    cache = tmp_path / "tcache"
    splits = load_tinyimagenet(tmp_path / "data", cache_directory=cache)
    assert splits.train.images.shape == (6, 3, 64, 64)
    assert splits.test.images.shape == (3, 3, 64, 64)
    np.testing.assert_array_equal(splits.train.labels, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(splits.test.labels, [2, 0, 1])
    for ds, split in ((splits.train, "train"), (splits.test, "test")):
        expected = np.stack([pil_decode(p) for p in files[split]])
        np.testing.assert_array_equal(ds.images, expected)
    grey = splits.train.images[2]  # greyscale JPEG -> three equal channels
    assert np.array_equal(grey[0], grey[1]) and np.array_equal(grey[1], grey[2])
    assert splits.train.class_names == ("goldfish", "European fire salamander", "bullfrog")
    # the cache now serves the data even with the JPEGs gone
    assert len(list(cache.glob("tinyimagenet-*.npz"))) == 1
    for p in files["train"] + files["test"]:
        p.unlink()
    again = load_tinyimagenet(folder, cache_directory=cache)
    np.testing.assert_array_equal(again.train.images, splits.train.images)
    np.testing.assert_array_equal(again.test.labels, splits.test.labels)
    assert again.test.class_names == splits.test.class_names


def test_tinyimagenet_default_cache_dir_and_peek(tmp_path):
    write_tinyimagenet(tmp_path)
    summary = peek_tinyimagenet(tmp_path / "tiny-imagenet-200")
    assert (summary.n_train, summary.n_test, summary.num_classes) == (6, 3, 3)
    load_dataset("tinyimagenet", tmp_path)
    assert list((tmp_path / "cache").glob("tinyimagenet-*.npz"))  # under $MRP_CACHE_DIR


def test_tinyimagenet_corrupt_jpeg(tmp_path):
    folder, files = write_tinyimagenet(tmp_path)
    files["test"][1].write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(CorruptDatasetError, match="val_1.JPEG: cannot decode"):
        load_tinyimagenet(tmp_path, cache=False)


def test_tinyimagenet_bad_annotation(tmp_path):
    folder, _ = write_tinyimagenet(tmp_path)
    (folder / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn99999999\n")
    with pytest.raises(CorruptDatasetError, match="val_annotations.txt: line 1"):
        load_tinyimagenet(tmp_path, cache=False)


# ----------------------------------------------------------------------------- registry

def test_missing_fashion_mnist_message(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("MRP_FASHION_MNIST_DIR", str(missing))
    with pytest.raises(DatasetNotFoundError) as e:
        load_dataset("fashion-mnist")
    msg = str(e.value)
    assert "\n" not in msg
    for part in ("Fashion-MNIST", str(missing), "MRP_FASHION_MNIST_DIR", "--data-root",
                 "apt-get install dataset-fashion-mnist", "set by $MRP_FASHION_MNIST_DIR"):
        assert part in msg, part


def test_missing_mnist_folder_with_explicit_root(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError) as e:
        load_dataset("mnist", tmp_path / "empty")
    msg = str(e.value)
    assert "\n" not in msg and "given by --data-root" in msg and "MRP_MNIST_DIR" in msg
    assert "train-images-idx3-ubyte" in msg and "Debian has no MNIST package" in msg


def test_missing_dataset_without_default():
    with pytest.raises(DatasetNotFoundError) as e:
        load_dataset("cifar10")
    msg = str(e.value)
    assert "no default location" in msg and "MRP_CIFAR10_DIR" in msg and "--data-root" in msg
    with pytest.raises(DatasetNotFoundError):
        resolve_root("tinyimagenet")


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as e:
        load_dataset("imagenet")
    assert all(n in str(e.value) for n in DATASET_NAMES)


def test_resolve_root_precedence(tmp_path, monkeypatch):
    assert env_var("fashion-mnist") == "MRP_FASHION_MNIST_DIR"
    assert env_var("tinyimagenet") == "MRP_TINYIMAGENET_DIR"
    assert resolve_root("fashion-mnist") == Path("/usr/share/datasets/fashion-mnist")
    assert resolve_root("mnist") == Path("/usr/share/datasets/mnist")
    monkeypatch.setenv("MRP_FASHION_MNIST_DIR", str(tmp_path / "env"))
    assert resolve_root("fashion-mnist") == tmp_path / "env"
    assert resolve_root("fashion-mnist", tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.setenv("MRP_SVHN_DIR", str(tmp_path / "s"))
    assert resolve_root("svhn") == tmp_path / "s"


def test_env_var_override_loads(tmp_path, monkeypatch):
    arrays = write_mnist_folder(tmp_path / "env-mnist", seed=3)
    monkeypatch.setenv("MRP_MNIST_DIR", str(tmp_path / "env-mnist"))
    np.testing.assert_array_equal(load_dataset("mnist").test.labels, arrays["test_y"])


# ----------------------------------------------------------------------------- real data

def test_real_fashion_mnist(fashion_mnist):
    train, test = fashion_mnist.train, fashion_mnist.test
    assert (len(train), len(test)) == (60000, 10000)
    assert train.image_shape == test.image_shape == (1, 28, 28)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert train.class_names == FASHION_MNIST_CLASSES and train.num_classes == 10
    assert train.class_names[0] == "T-shirt/top" and train.class_names[-1] == "Ankle boot"
    # Fashion-MNIST is balanced: 6000 train and 1000 test images per class
    np.testing.assert_array_equal(np.bincount(train.labels), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(test.labels), [1000] * 10)
    assert train.labels[0] == 9  # the first training image is an ankle boot
    assert train.images.max() == 255 and train.images.min() == 0


# ----------------------------------------------------------------------------- CLI

def test_cli_datasets_table(tmp_path):
    write_mnist_folder(tmp_path / "m", n_train=7, n_test=5, hw=6)
    write_svhn(tmp_path / "s")
    env = {"MRP_SVHN_DIR": str(tmp_path / "s"), "MRP_FASHION_MNIST_DIR": str(tmp_path / "none")}
    result = CliRunner().invoke(main, ["datasets", "--data-root", f"mnist={tmp_path / 'm'}", "-v"],
                                env=env)
    assert result.exit_code == 0, result.output
    lines = {ln.split()[0]: ln for ln in result.output.splitlines() if ln.strip()}
    assert "found" in lines["mnist"] and "7 train / 5 test, 1x6x6, 10 classes" in lines["mnist"]
    assert "given by --data-root" in lines["mnist"]
    assert "found" in lines["svhn"] and "6 train / 4 test, 3x32x32" in lines["svhn"]
    assert "missing" in lines["cifar10"] and "no default location" in lines["cifar10"]
    assert "missing" in lines["fashion-mnist"] and str(tmp_path / "none") in lines["fashion-mnist"]
    assert "apt-get install dataset-fashion-mnist" in result.output  # from -v


def test_cli_datasets_corrupt_and_bad_flag(tmp_path):
    folder = tmp_path / "m"
    write_mnist_folder(folder, gz=False)
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08")
    result = CliRunner().invoke(main, ["datasets", "--data-root", f"mnist={folder}"])
    assert result.exit_code == 1 and "CORRUPT" in result.output
    bad = CliRunner().invoke(main, ["datasets", "--data-root", "mnist"])
    assert bad.exit_code == 2 and "NAME=PATH" in bad.output
    unknown = CliRunner().invoke(main, ["datasets", "--data-root", "imagenet=/x"])
    assert unknown.exit_code == 2 and "cifar100" in unknown.output


# ----------------------------------------------------------------------------- registry shapes

def test_registry_shapes_match_what_the_loaders_return(tmp_path, fashion_mnist):
    """The shapes commands validate against before loading are the shapes the loaders produce
    (real Fashion-MNIST; CIFAR-10 / SVHN / TinyImageNet from files in their real formats)."""
    from mrptheory.data.registry import dataset_shape

    assert dataset_shape("fashion-mnist") == (fashion_mnist.train.image_shape, 10)
    assert dataset_shape("Fashion_MNIST") == dataset_shape("fashion-mnist")
    write_cifar10(tmp_path / "c")
    assert dataset_shape("cifar10")[0] == load_dataset("cifar10", tmp_path / "c").train.image_shape
    write_svhn(tmp_path / "s")
    assert dataset_shape("svhn")[0] == load_dataset("svhn", tmp_path / "s").train.image_shape
    write_tinyimagenet(tmp_path / "t")
    assert (dataset_shape("tinyimagenet")[0]
            == load_dataset("tinyimagenet", tmp_path / "t").train.image_shape)
    with pytest.raises(ConfigError, match="unknown data set 'imagenet'; choose one of fashion-mnist"):
        dataset_shape("imagenet")


def test_cifar_protocol5_and_empty_bytes_pickles_load_and_foreign_globals_still_refused(tmp_path):
    """numpy 2 pickles arrays at protocol 5 through ``numpy._core.numeric._frombuffer`` (numpy 1:
    ``numpy.core.numeric``), and an empty bytes value is pickled as ``__builtin__.bytes`` /
    ``builtins.bytes``: valid batches, which must load (issue 17); anything else stays refused."""
    written = write_cifar10(tmp_path)
    folder = written["folder"]
    data, labels = written["batches"]["test_batch"]
    batch = {b"batch_label": b"", b"data": data, b"labels": labels, b"filenames": [b""] * 3}
    variants = {"protocol 5": pickle.dumps(batch, protocol=5),
                "protocol 2": pickle.dumps(batch, protocol=2)}
    frombuffer = np._core.numeric._frombuffer
    try:  # numpy 1 wrote the same function under numpy.core.numeric
        frombuffer.__module__ = "numpy.core.numeric"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            variants["numpy 1 protocol 5"] = pickle.dumps(batch, protocol=5)
    finally:
        frombuffer.__module__ = "numpy._core.numeric"
    assert b"numpy._core.numeric" in variants["protocol 5"] and b"_frombuffer" in \
        variants["protocol 5"] and b"numpy.core.numeric" in variants["numpy 1 protocol 5"]
    assert b"__builtin__\nbytes" in variants["protocol 2"]  # the empty value
    assert b"builtins" in pickle.dumps(b"", protocol=2, fix_imports=False)
    variants["builtins.bytes"] = pickle.dumps(batch, protocol=2, fix_imports=False)
    for name, blob in variants.items():
        (folder / "test_batch").write_bytes(blob)
        splits = load_cifar10(tmp_path)
        np.testing.assert_array_equal(splits.test.images.reshape(3, -1), data, err_msg=name)
    evil = pickle.dumps({b"data": os.system, b"labels": []}, protocol=5)
    (folder / "test_batch").write_bytes(evil)
    with pytest.raises(CorruptDatasetError, match="test_batch: cannot unpickle.*system"):
        load_cifar10(tmp_path)


def test_every_npz_reader_refuses_pickled_objects():
    """``np.load`` without ``allow_pickle=False`` would unpickle object arrays of a crafted .npz:
    every call in the package passes it (a source check: a new reader fails here)."""
    import re

    root = Path(__file__).resolve().parents[2] / "mrptheory"
    calls = [(path, m.group(0)) for path in root.rglob("*.py")
             for m in re.finditer(r"np\.load\([^)]*\)", path.read_text())]
    assert calls, "no np.load call found: update this check"
    assert all("allow_pickle=False" in call for _, call in calls), calls
