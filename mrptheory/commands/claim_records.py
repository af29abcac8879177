"""What a claim run reads and writes besides the claims themselves: the check of a stored claim
record and the image-folder variable a run sets. Shared by ``mrp reproduce`` here and by its jobs
(:mod:`mrptheory.commands.reproduce_jobs`)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path


def valid_claim_record(record: dict) -> str | None:
    """Why a stored claim record cannot be shown (a missing key, an unknown verdict), or None."""
    from mrptheory.claims.registry import Verdict
    from mrptheory.results import check_record

    why = check_record(record, {"claim_id": str, "paper": str, "statement": str, "measured": str,
                                "expectation": str, "verdict": str})
    if why is None and record["verdict"] not in {v.value for v in Verdict}:
        why = f"verdict {record['verdict']!r} is not one of the verdicts"
    return why


@contextmanager
def image_folder_env(image_folder: str | None):
    """``$MRP_CIFAR10_JPEG_DIR`` set to ``image_folder`` for the run (restored after)."""
    from mrptheory.data.registry import env_var

    var = env_var("cifar10-jpeg")
    old = os.environ.get(var)
    if image_folder is not None:
        os.environ[var] = str(Path(image_folder).expanduser().resolve())
    try:
        yield
    finally:
        if image_folder is not None:
            if old is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = old


__all__ = ["valid_claim_record", "image_folder_env"]
