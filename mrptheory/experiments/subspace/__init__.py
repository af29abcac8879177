"""Which subspace carries perception (Balestriero & LeCun 2024): classifiers trained on images
projected onto the top or bottom principal components (``projection``), the label-budget study
(``budget``), their claims, figures and the ``mrp subspace`` command.
"""

from __future__ import annotations

from mrptheory.facade import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "ProjectionConfig": "projection", "run_projection_sweep": "projection",
    "BudgetConfig": "budget", "run_budget": "budget",
    "subspace": "cli",
})
