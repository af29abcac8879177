"""The alignment figures: overlapping Gaussian curves stay distinguishable, nothing covers curves."""

from __future__ import annotations

import numpy as np
import pytest

import mrptheory.experiments.alignment.figures as alignment_plots


def payload() -> dict:
    ks = list(range(1, 17))
    base = np.linspace(50, 100, 16)
    mask = base - np.sin(np.linspace(0, 3, 16))
    curves = {"mask:0.5:1x1": mask, "mask:0.9:1x1": mask - 1, "mask:0.5:2x2": mask - 2,
              "gaussian:0.1": base, "gaussian:1": base, "gaussian:10": base}
    return {"figure_kind": "alignment", "dataset": "toy", "ks": ks, "baseline": base.tolist(),
            "k_min": 1, "curves": {k: np.asarray(v).tolist() for k, v in curves.items()},
            "impact": {k: (100 * (np.asarray(v) - base) / base).tolist() for k, v in curves.items()}}


@pytest.fixture
def figures(monkeypatch, tmp_path):
    """The matplotlib figures the plot function saves, drawn, by file stem."""
    kept = {}

    def keep(fig, path):
        fig.canvas.draw()
        kept[path.stem.rsplit("_", 1)[0]] = fig
        return path

    monkeypatch.setattr(alignment_plots, "save", keep)
    alignment_plots.plot_alignment(payload(), tmp_path)
    return kept


def test_gaussian_curves_have_distinct_styles_and_say_they_equal_pca(figures):
    ax = figures["alignment"].axes[0]
    gauss = [line for line in ax.get_lines() if line.get_label().startswith("Gaussian")]
    assert len(gauss) == 3
    assert len({(str(line.get_linestyle()), line.get_marker()) for line in gauss}) == 3
    assert all(line.get_label().endswith("(= PCA)") for line in gauss)


def test_impact_legend_is_one_gaussian_entry_beside_the_panels(figures):
    fig = figures["impact_of_noise"]
    assert not any(ax.get_legend() for ax in fig.axes)  # no legend inside a panel
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert sum("Gaussian" in t for t in labels) == 1 and "identically 0" in labels[-1]
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer))


def test_impact_title_does_not_collide_with_panel_titles(figures):
    fig = figures["impact_of_noise"]
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    for ax in fig.axes:
        assert not title.overlaps(ax.title.get_window_extent(renderer))
