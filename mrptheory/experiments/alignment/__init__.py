"""Linear denoising / masking auto-encoders (Balestriero & LeCun 2024): how a noise model changes
the subspace an optimal linear DAE keeps, measured against the labels (``mrp alignment``), the
Monte-Carlo check of the noise moments (``mrp noise-check``), and their claims and figures. The
closed forms themselves are the shared kernel :mod:`mrptheory.linear`.
"""

from __future__ import annotations

from mrptheory.facade import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "run_alignment": "cli", "alignment": "cli", "noise_check": "noise_check:noise_check",
    "plot_alignment": "figures",
})
