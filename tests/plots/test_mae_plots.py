"""MAE figures: no empty panels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from mrptheory.plots import mae as mae_plots  # noqa: E402


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
