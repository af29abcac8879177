"""MAE figures: no empty panels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from mrptheory.experiments.mae import figures as mae_plots  # noqa: E402


def _pretrain_payload(**extra):
    base = {"figure_kind": "mae_probe_curves", "name": "p", "dataset": "toy",
            "curves": {"mae (r=0.75)": {"epoch": [1, 2], "probe_acc": [0.5, 0.6], "knn_acc": [0.4, 0.5]}},
            "progress": {"epoch": [1, 2], "test_loss": [1.0, 0.5], "probe_acc": [0.5, 0.6]},
            "final_accuracy": {}}
    base.update(extra)
    return base


def test_pretrain_figure_has_no_empty_panel(tmp_path, monkeypatch):
    axes_seen = []
    real_save = mae_plots._save

    def spy(fig, out_dir, name):
        axes_seen.append([ax for ax in fig.axes if ax.get_label() != "<colorbar>"])
        for ax in fig.axes:
            assert ax.has_data(), f"empty panel: {ax.get_title()!r}"
        return real_save(fig, out_dir, name)

    monkeypatch.setattr(mae_plots, "_save", spy)
    mae_plots.plot_probe_curves(_pretrain_payload(), tmp_path)
    mae_plots.plot_probe_curves(_pretrain_payload(progress={}), tmp_path)  # supervised run
    mae_plots.plot_probe_curves(_pretrain_payload(final_accuracy={"scratch": [0.8], "finetune": [0.85]}),
                                tmp_path)
    assert len(axes_seen) == 3


def _markers_under_legends(fig) -> list:
    """(legend, axes title, point) for every plotted data point that a legend box covers."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + fig.legends
    hits = []
    for leg in legends:
        box = leg.get_window_extent(renderer)
        for ax in fig.axes:
            for line in ax.get_lines():
                if line.get_marker() in (None, "None", "", " "):
                    continue
                for x, y in ax.transData.transform(line.get_xydata()):
                    if box.contains(x, y):
                        hits.append((leg, ax.get_title(), (x, y)))
    return hits


def _check_no_cover(monkeypatch, draw, payload, tmp_path) -> None:
    seen = []
    real_save = mae_plots._save

    def spy(fig, out_dir, name):
        seen.append(_markers_under_legends(fig))
        return real_save(fig, out_dir, name)

    monkeypatch.setattr(mae_plots, "_save", spy)
    draw(payload, tmp_path)
    assert seen == [[]], seen


def test_probe_curve_legends_cover_no_marker(tmp_path, monkeypatch):
    # the reported case: the right panel's legend sat on the epoch-1 probe marker
    payload = _pretrain_payload(progress={
        "epoch": [0, 1, 2, 3, 4], "test_loss": [1.6, 0.61, 0.51, 0.49, 0.48],
        "probe_acc": [0.71, 0.74, 0.77, 0.78, 0.78], "t_recon_90": 2})
    _check_no_cover(monkeypatch, mae_plots.plot_probe_curves, payload, tmp_path)


def _perception_payload():
    ep = [0, 1, 2, 3, 4, 5]
    return {"figure_kind": "mae_perception", "name": "perc", "dataset": "toy",
            "reference": "r=0.75 p=7", "epoch": ep, "test_loss": [1.6, 0.6, 0.5, 0.48, 0.47, 0.47],
            "probe_acc": [0.71, 0.74, 0.77, 0.78, 0.79, 0.79],
            "mlp_acc": [0.72, 0.76, 0.79, 0.80, 0.81, 0.81],
            "knn_acc": [0.63, 0.67, 0.71, 0.72, 0.73, 0.74],
            "convergence": {"window": [4, 5], "converged": True, "relative_improvement": 0.001},
            "controls": {"ae": {"probe_acc": 0.75}}, "baselines": {"raw pixels": {"probe_acc": 0.8}}}


def _budget_payload():
    rows = [{"budget": b, "finetune_mean": f, "finetune_std": 0.01, "scratch_mean": s,
             "scratch_std": 0.02, "n_seeds": 2} for b, f, s in ((500, 0.7, 0.65), (1000, 0.75, 0.72),
                                                                (5000, 0.82, 0.83))]
    return {"figure_kind": "mae_label_budget", "name": "budget", "dataset": "toy", "rows": rows,
            "crossover_budget": 5000}


def test_new_mae_figures_cover_no_marker_and_have_data(tmp_path, monkeypatch):
    _check_no_cover(monkeypatch, mae_plots.plot_perception, _perception_payload(), tmp_path)
    monkeypatch.undo()
    _check_no_cover(monkeypatch, mae_plots.plot_label_budget, _budget_payload(), tmp_path)
    assert (tmp_path / "perc.png").exists() and (tmp_path / "budget.png").exists()
