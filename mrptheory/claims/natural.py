"""What the real-data claims of several experiments share (subspace, dynamics, alignment):
the natural-image data set (CIFAR-10 from its pickles or an image folder) and how a row names it,
the claim-run classifier width, the "did it train" margin, one verdict from several, and the
registration of one claim per data set / architecture from one measuring function.

Natural images: the CIFAR-10 rows (``...-cifar10``) read CIFAR-10's python pickles when found
(``$MRP_CIFAR10_DIR``), else a CIFAR-10 image folder or archive (``cifar10-jpeg``:
``$MRP_CIFAR10_JPEG_DIR``, which ``mrp reproduce --image-folder PATH`` -- or a ``--data-root`` that is
an image folder -- sets); each row names the source and its size, and reads "not run" when neither
is present (:func:`natural_image_splits`).
"""

from __future__ import annotations

from mrptheory.claims.registry import ClaimContext, Measurement, Verdict, register_claim
from mrptheory.errors import DatasetNotFoundError

#: ResNet-9 base width of the claim runs: 8 fits 2 CPU cores (about 500 train images/s on one
#: thread at 28x28); the paper's is 64 (``mrp subspace --preset gpu``).
RESNET_CLAIM_WIDTH = 8
#: A side whose mean accuracy is below chance (1/classes) + this did not train: a comparison
#: between untrained classifiers says nothing, so it is inconclusive (a sanity rule, not a
#: tolerance: a first quick ResNet-9 run with 12 optimiser steps sat at 10-11% on both sides).
TRAINED_MARGIN = 0.05


#: The data set of the natural-image rows.
NATURAL = "cifar10"


def natural_image_splits(ctx: ClaimContext | None = None):
    """``(splits, source)`` of CIFAR-10 for the natural-image rows: the python pickles
    (``cifar10``) when found, else the image folder or archive ``cifar10-jpeg``; ``source`` is
    the registry name read. DatasetNotFoundError (one line) when neither is present."""
    from mrptheory.data.registry import env_var, load_dataset

    try:
        return load_dataset("cifar10"), "cifar10"
    except DatasetNotFoundError:
        pass
    try:
        return load_dataset("cifar10-jpeg"), "cifar10-jpeg"
    except DatasetNotFoundError:
        raise DatasetNotFoundError(
            f"no CIFAR-10: neither the python pickles (${env_var('cifar10')}) nor a CIFAR-10 image "
            f"folder or archive (mrp reproduce --image-folder PATH, or ${env_var('cifar10-jpeg')})"
        ) from None


def describe_source(splits, source: str) -> str:
    """``"CIFAR-10 JPEG image folder, 10000 train / 5000 test images of 3x32x32"``."""
    title = {"cifar10": "CIFAR-10 python pickles",
             "cifar10-jpeg": "CIFAR-10 JPEG image folder"}.get(source, source)
    c, h, w = splits.train.image_shape
    return f"{title}, {len(splits.train)} train / {len(splits.test)} test images of {c}x{h}x{w}"


def load_claim_data(dataset: str, ctx: ClaimContext):
    """``(splits, source)`` of a claim's data set (Fashion-MNIST from ``--data-root``)."""
    from mrptheory.data.registry import load_dataset

    if dataset == NATURAL:
        return natural_image_splits(ctx)
    return load_dataset(dataset, ctx.data_root if dataset == "fashion-mnist" else None), dataset


def combine_verdicts(verdicts: list[Verdict]) -> Verdict:
    """One verdict from per-architecture ones: any refuted refutes, all confirmed confirm,
    anything else (or none) is inconclusive."""
    if any(v is Verdict.REFUTED for v in verdicts):
        return Verdict.REFUTED
    if verdicts and all(v is Verdict.CONFIRMED for v in verdicts):
        return Verdict.CONFIRMED
    return Verdict.INCONCLUSIVE


def register_bound(paper: str, claim_id: str, judge, statement: str, measure_fn, **bound) -> None:
    """Register ``claim_id`` whose measurement is ``measure_fn(ctx=ctx, **bound)`` (one claim per
    data set / architecture from one measuring function)."""
    def measure(ctx: ClaimContext) -> Measurement:
        return measure_fn(ctx=ctx, **bound)

    measure.__qualname__ = f"measure_{claim_id.replace('-', '_')}"
    measure.__module__ = measure_fn.__module__  # the claim belongs to its experiment's module
    register_claim(claim_id, paper=paper, judge=judge, statement=statement)(measure)
