"""Declared shapes of the results payloads each figure kind draws, checked before drawing.

``mrp plot`` redraws figures from JSON files a user may have edited or received: a payload whose
``"curves"`` is a string, or whose ``"k_min"`` is ``"big"``, must be refused in one line naming
the field, never a traceback from inside matplotlib or numpy. Each kind lists its required
top-level fields (:data:`REQUIRED`) and optional ones (:data:`OPTIONAL`), each with a type or
``(types, low, high)`` (see :func:`mrptheory.results.check_record`); a field named in
:data:`NUMBER_LISTS` must be a list of numbers (``null`` allowed: a NaN written as strict JSON).
Deeper structure is left to the figure functions, whose lookup errors
:func:`mrptheory.plots.registry.draw` turns into the same one-line refusal.
"""

from __future__ import annotations

from typing import Any

from mrptheory.results import check_record

NUM = (int, float)
LIST = list
DICT = dict

#: Required top-level fields per figure kind.
REQUIRED: dict[str, dict[str, Any]] = {
    "alignment": {"dataset": str, "ks": LIST, "baseline": LIST, "curves": DICT, "impact": DICT},
    "mae_probe_curves": {"curves": DICT},
    "mae_mask_sweep": {"mask_ratios": LIST},
    "mae_reconstructions": {"rows": LIST},
    "mae_alignment_rank": {"alignment": LIST, "probe_acc": LIST, "labels": LIST},
    "multiview_capture_curves": {},  # an SL panel, an MRP panel or both: see OPTIONAL
    "multiview_captured_views": {},
    "multiview_accuracy": {"per_seed": (list, dict)},
    "multiview_lottery": {"hit_rate_all": LIST},
    "multiview_sweep": {"param": str, "points": LIST},
    "multiview_regime": {"xs": LIST, "ys": LIST, "cells": LIST, "predictions": (list, dict),
                         "axes": DICT, "map": str},
    "subspace_accuracy": {"summary": LIST},
    "subspace_budget": {"summary": LIST},
    "subspace_images": {"image_shape": LIST, "original": LIST, "projections": LIST},
    "dynamics": {"eigenvalues": LIST, "models": DICT},
    "mae_perception": {"epoch": LIST, "test_loss": LIST},
    "mae_label_budget": {"rows": LIST},
    "classifier_lag": {"times": LIST, "reconstruction_closed": LIST, "n_learned": LIST,
                       "archs": DICT, "n_train": (int, 1, None), "n_test": (int, 1, None)},
}

#: Optional top-level fields: checked only when present.
OPTIONAL: dict[str, dict[str, Any]] = {
    "*": {"dataset": str, "tag": (str, type(None)), "name": str, "figure_name": str,
          "seeds": (list, dict)},
    "alignment": {"k_min": (int, 1, None)},
    "mae_probe_curves": {"progress": DICT, "final_accuracy": DICT, "baselines": DICT},
    "mae_mask_sweep": {"baselines": DICT, "by_patch": DICT, "tolerance": (NUM + (type(None),))},
    "multiview_capture_curves": {"capture_threshold": NUM, "sl_steps": LIST, "sl_view_corr": LIST,
                                 "mrp_steps": LIST, "mrp_feature_corr": LIST, "ft_steps": LIST,
                                 "ft_feature_corr": LIST},
    "multiview_captured_views": {"capture_threshold": NUM, "sl_hist": LIST, "mrp_hist": LIST,
                                 "mrp_kernels_capturing_two_or_more": LIST, "num_kernels": NUM},
    "multiview_lottery": {"chance": NUM},
    "multiview_sweep": {"base_config": DICT},
    "subspace_budget": {"crossovers": LIST, "arch_notes": DICT},
}

#: Fields that must be flat lists of numbers (or nulls) when present.
NUMBER_LISTS: dict[str, tuple[str, ...]] = {
    "alignment": ("ks", "baseline"),
    "mae_alignment_rank": ("alignment", "probe_acc"),
    "multiview_capture_curves": ("sl_steps", "mrp_steps", "ft_steps"),
    "multiview_lottery": ("hit_rate_all",),
    "dynamics": ("eigenvalues",),
    "classifier_lag": ("times", "reconstruction_closed", "n_learned"),
    "mae_perception": ("epoch", "test_loss"),
}


def payload_problem(kind: str, payload: dict[str, Any]) -> str | None:
    """Why ``payload`` cannot be drawn as ``kind`` (e.g. ``"curves = 'oops' is not a dict"``),
    or None when its declared fields are all there with the declared types and ranges."""
    why = check_record(payload, REQUIRED.get(kind, {}))
    if why is not None:
        return why
    optional = {**OPTIONAL["*"], **OPTIONAL.get(kind, {})}
    present = {name: rule for name, rule in optional.items() if name in payload}
    why = check_record(payload, present)
    if why is not None:
        return why
    for name in NUMBER_LISTS.get(kind, ()):
        values = payload.get(name)
        if values is None:
            continue
        bad = [v for v in values if v is not None and (isinstance(v, bool)
                                                       or not isinstance(v, NUM))]
        if bad:
            return f"{name} holds {bad[0]!r:.40}, not a number"
    return None
