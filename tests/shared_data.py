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
