"""Shared test fixtures.

Real-data tests use the Fashion-MNIST Debian package (``apt-get install dataset-fashion-mnist``)
and skip with that reason when it is absent.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MRP_NO_PROGRESS", "1")  # keep test logs clean

FASHION_MNIST_DIR = os.environ.get("MRP_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def fashion_mnist_present() -> bool:
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return all(
        os.path.exists(os.path.join(FASHION_MNIST_DIR, n)) or
        os.path.exists(os.path.join(FASHION_MNIST_DIR, n + ".gz"))
        for n in names
    )


requires_fashion_mnist = pytest.mark.skipif(
    not fashion_mnist_present(),
    reason=f"Fashion-MNIST not found in {FASHION_MNIST_DIR}: "
           "install it with `apt-get install dataset-fashion-mnist`",
)


@pytest.fixture(scope="session")
def fashion_mnist():
    """The Fashion-MNIST train/test splits (skips when the Debian package is absent)."""
    if not fashion_mnist_present():
        pytest.skip(f"Fashion-MNIST not found in {FASHION_MNIST_DIR}: "
                    "install it with `apt-get install dataset-fashion-mnist`")
    from mrptheory.data.registry import load_dataset

    return load_dataset("fashion-mnist")


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch CPU thread (restored after): the small models and batched tensors
    of these tests run several times faster so on a shared CPU, and literal-number tests were
    recorded that way. Modules opt in with ``pytestmark = pytest.mark.usefixtures(...)``."""
    from mrptheory.device import cpu_threads

    with cpu_threads(1):
        yield
