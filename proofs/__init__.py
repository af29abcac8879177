"""The runnable proofs folder: ``python -m proofs.<name>`` from the repository root.

The derivations themselves live in (and are installed as) :mod:`mrptheory.proofs`; each module
here only runs one of them. ``mrp prove`` runs them all.
"""

from mrptheory.proofs import PROOFS, run_all, run_one

__all__ = ["PROOFS", "run_all", "run_one"]
