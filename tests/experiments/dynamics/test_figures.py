"""The dynamics figures: every panel row says what its y axis is; legends never cover curves."""

from __future__ import annotations

import numpy as np
import pytest

from mrptheory.experiments.dynamics.figures import plot_dynamics


def payload() -> dict:
    ev = np.geomspace(10, 0.01, 12)
    times = np.geomspace(1e-3, 10, 9)
    rho = 1 - np.exp(-np.outer(times, ev))
    loss = (1 - rho).sum(axis=1)
    acc = np.linspace(0.3, 0.8, 9).tolist()
    model = {"times": times.tolist(), "rho": rho.tolist(), "theory_rho": rho.tolist(),
             "loss": loss.tolist(), "probe": acc, "probe_learned": acc, "theory_probe": acc,
             "theory_probe_learned": acc}
    return {"figure_kind": "dynamics", "dataset": "toy", "eigenvalues": ev.tolist(),
            "models": {"linear": model, "mask": model}}


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    import mrptheory.experiments.dynamics.figures as real_data

    kept = {}
    original = real_data.save

    def keep(fig, path, *args, **kwargs):
        fig.canvas.draw()  # lay out now and keep the renderer: closing the figure drops its canvas
        kept[str(path).rsplit("_", 1)[-1].removesuffix(".png")] = (fig, fig.canvas.get_renderer())
        return original(fig, path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(real_data, "save", keep)
        plot_dynamics(payload(), tmp_path_factory.mktemp("dynamics"))
    return kept


@pytest.mark.parametrize("name", ["directions", "probe"])
def test_panels_have_a_y_label_and_the_dataset_in_the_title(figures, name):
    fig, _ = figures[name]
    assert fig.axes[0].get_ylabel()
    assert fig._suptitle is not None and "toy" in fig._suptitle.get_text()


@pytest.mark.parametrize("name", ["directions", "probe"])
def test_legend_is_beside_the_panels(figures, name):
    fig, renderer = figures[name]
    assert not any(ax.get_legend() for ax in fig.axes)
    (legend,) = fig.legends
    for ax in fig.axes:
        assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
