"""Runnable sympy derivations of the formulas the package implements (``mrp prove``).

Each module exposes ``derive() -> ProofResult`` and runs with
``python -m mrptheory.proofs.<module>`` (from a checkout also ``python -m proofs.<module>``: the
top-level ``proofs/`` folder holds one runnable entry per proof).
"""

from __future__ import annotations

import importlib

from mrptheory.proofs._result import ProofResult

#: Proof modules in reading order: closed form, then noise models, then the metric.
PROOFS: list[str] = [
    "closed_form",
    "gaussian_never_changes",
    "mask_moments",
    "masking_changes_subspace",
    "alignment_energy",
]


def run_one(name: str) -> ProofResult:
    """Import ``mrptheory.proofs.<name>`` and run its ``derive()``; ``name`` must be in :data:`PROOFS`."""
    if name not in PROOFS:
        raise KeyError(f"unknown proof {name!r}; known: {', '.join(PROOFS)}")
    return importlib.import_module(f"mrptheory.proofs.{name}").derive()


def run_all(names: list[str] | None = None) -> list[ProofResult]:
    """Run the proofs in ``names`` (default: all of :data:`PROOFS`, in order)."""
    return [run_one(name) for name in (PROOFS if names is None else names)]


__all__ = ["PROOFS", "ProofResult", "run_all", "run_one"]
