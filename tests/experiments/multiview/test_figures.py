"""Multi-view figures: convergence captions, and the regime map's hatched unconverged cells."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from mrptheory.experiments.multiview import figures as mvplot  # noqa: E402


def _conv(converged: bool) -> dict:
    return {"converged": converged, "fraction_converged": 0.9 if not converged else 1.0,
            "units": "40 classes", "budget": 2000, "step_reached": None if not converged else 1500}


def test_convergence_caption_says_not_converged_per_run() -> None:
    text = mvplot.convergence_caption({"converged": False, "sl": _conv(False),
                                       "mrp": _conv(True)})
    assert text.startswith("SL: NOT CONVERGED (0.90 of 40 classes, 2000 steps)")
    assert "MRP: converged (1.00 of 40 classes, 2000 steps, rule met at step 1500)" in text
    assert mvplot.convergence_caption(None) == ""


def test_regime_map_hatches_unconverged_cells(tmp_path, monkeypatch) -> None:
    hatched = []
    real = mvplot.plt.Rectangle

    def spy(*args, **kwargs):
        if kwargs.get("hatch"):
            hatched.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(mvplot.plt, "Rectangle", spy)
    verdicts = {p: {"value": 0.9, "holds": True, "multi_kernel_fraction": 0.0}
                for p in ("P1", "P2", "P3", "P4", "P5")}
    cells = [{"x": x, "y": 0.025, "converged": conv, "regime": {"in_regime": x < 1},
              "verdicts": verdicts, "budget": {"sl": {"steps_run": 2000},
                                               "mrp": {"steps_run": 1200}}}
             for x, conv in ((0.03, True), (30.0, False))]
    payload = {"figure_kind": "multiview_regime", "map": "leak_gap", "xs": [0.03, 30.0],
               "ys": [0.025], "cells": cells, "seeds": [0, 1],
               "predictions": {"P1": ("SL one view per class", "fraction", 0.8)},
               "axes": {"x": "leak", "y": "sigma_0 / rho", "x_boundary": 0.1,
                        "y_boundary": 0.025, "inside": "x <= 0.1"}}
    paths = mvplot.plot_regime(payload, tmp_path)
    assert paths[0].exists()
    assert hatched == [(1 - 0.5, 0 - 0.5)]  # only the unconverged cell (column 1)
