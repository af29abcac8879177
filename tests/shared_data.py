"""Where the developers' shared data live: ``../shared/data`` beside the repository root.

In a git worktree kept one folder further down (``wt/<name>/``) the folder is two levels up, so
both places are tried. Tests that need a file from it skip, saying which paths were tried, when
it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = (REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data")
CIFAR10_SAMPLE_NAME = "cifar10-jpeg-15k.tar.gz"


def shared_file(name: str) -> Path | None:
    """The first existing ``<shared>/data/<name>``, or None."""
    for folder in CANDIDATES:
        if (folder / name).is_file():
            return folder / name
    return None


def require_shared_file(name: str) -> Path:
    """``shared_file(name)`` or skip the test with the paths tried."""
    path = shared_file(name)
    if path is None:
        pytest.skip(f"shared data file {name} absent (looked in "
                    f"{', '.join(str(c) for c in CANDIDATES)})")
    return path


_SESSION: dict[str, Path] = {}


@pytest.fixture
def cifar_sample(tmp_path_factory) -> tuple[Path, Path]:
    """(the shared CIFAR-10 JPEG sample, a decode cache folder shared by the whole test session).

    The sample is decoded at most once per test session (the cache is keyed by its content);
    skips when the sample is absent. Import it into a test module to use it.
    """
    path = require_shared_file(CIFAR10_SAMPLE_NAME)
    if "cache" not in _SESSION:
        _SESSION["cache"] = tmp_path_factory.mktemp("cifar10_sample_cache")
    return path, _SESSION["cache"]


def toy_image_splits():
    """300 train / 100 test 1x4x4 images of two classes whose label sits in the 15th of 16
    principal directions (the real-data claims' toy data set, named "fashion-mnist")."""
    import numpy as np

    from mrptheory.data.dataset import DatasetSplits, ImageDataset

    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.normal(size=(16, 16)))

    def make(n: int, split: str) -> ImageDataset:
        y = rng.integers(0, 2, n)
        c = rng.normal(size=(n, 16)) * np.geomspace(20, 2, 16)
        c[:, 14] += 4.0 * (2 * y - 1)
        img = np.clip(np.round(120 + c @ u.T), 0, 255).astype(np.uint8).reshape(n, 1, 4, 4)
        return ImageDataset(img, y.astype(np.int64), ("a", "b"), "fashion-mnist", split)

    return DatasetSplits(make(300, "train"), make(100, "test"))
