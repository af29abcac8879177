"""The catalog of experiments (top layer): which modules register claims and figures.

Kernels (the claims registry, the figure registry) never import an experiment; the top layer
lists them here, in the order ``mrp reproduce`` runs and tabulates the claims (registration order:
the alignment claims, multi-view, subspace, dynamics, the CIFAR-10 alignment row, MAE). A new
experiment adds its ``claims`` and ``figures`` modules to these lists and its command to
``mrptheory.cli.COMMANDS``.
"""

from __future__ import annotations

from mrptheory.claims.registry import Claim
from mrptheory.claims.registry import all_claims as _registered_claims
from mrptheory.plots.registry import PlotFn
from mrptheory.plots.registry import figure_kinds as _registered_kinds

#: Modules that register claims when imported, in the claims table's order.
CLAIM_MODULES: list[str] = [
    "mrptheory.experiments.alignment.claims",
    "mrptheory.experiments.multiview.claims",
    "mrptheory.experiments.subspace.claims",
    "mrptheory.experiments.dynamics.claims",
    "mrptheory.experiments.alignment.natural_claims",
    "mrptheory.experiments.mae.claims",
]

#: Modules that register figure kinds when imported.
FIGURE_MODULES: list[str] = [
    "mrptheory.experiments.alignment.figures",
    "mrptheory.experiments.multiview.figures",
    "mrptheory.experiments.subspace.figures",
    "mrptheory.experiments.dynamics.figures",
    "mrptheory.experiments.mae.figures",
]


def experiment_of(claim: Claim) -> str:
    """The experiment a claim belongs to (``"multiview"`` for a claim registered by
    ``mrptheory.experiments.multiview.claims``), or ``""`` for one registered elsewhere (a test's).
    ``mrp reproduce --out OUT`` writes that experiment's figures and numbers to ``OUT/<name>/``."""
    parts = claim.measure.__module__.split(".")
    return parts[2] if parts[:2] == ["mrptheory", "experiments"] and len(parts) > 2 else ""


def all_claims() -> dict[str, Claim]:
    """Every experiment's claims (their modules imported), in registration order."""
    return _registered_claims(CLAIM_MODULES)


def figure_kinds() -> dict[str, PlotFn]:
    """Every experiment's figure kinds (their modules imported)."""
    return _registered_kinds(FIGURE_MODULES)
