"""Figure files never land outside ``--out``: names taken from a results file are slugged, and
every figure write is checked against the output folder (``plots.style.save``).

Before: ``"dataset": "/../../../../../some/other/folder/x"`` in an alignment results file made
``mrp plot that.json --out plots`` write ``x.png`` into that other folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from mrptheory.errors import ConfigError
from mrptheory.plots.style import checked_path, output_root, save, slug
from tests.cli_checks import assert_one_line_error

REPO = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _tiny_alignment(dataset: str) -> dict:
    ks = list(range(1, 9))
    return {"figure_kind": "alignment", "dataset": dataset, "dim": 8, "n_samples": 10, "ks": ks,
            "baseline": [10.0 * k for k in ks],
            "curves": {"gaussian:0.5": [10.0 * k for k in ks], "mask:0.5:1x1": [9.0 * k for k in ks]},
            "impact": {"gaussian:0.5": [0.0] * 8, "mask:0.5:1x1": [-1.0] * 8}, "k_min": 1}


@pytest.mark.parametrize("name", ["/../../../../../some/other/folder/x", "../x", "a/b",
                                  "x\\..\\y", "new\nline:*?"])
def test_plot_never_writes_outside_out(tmp_path, name):
    tmp_path.joinpath("work").mkdir()
    results = tmp_path / "work" / "results.json"
    results.write_text(json.dumps(_tiny_alignment(name)))
    out = tmp_path / "work" / "plots"
    before = _files(tmp_path)
    result = CliRunner().invoke(main, ["plot", str(results), "--out", str(out)])
    assert result.exit_code == 0, result.output
    new = _files(tmp_path) - before
    assert new and all(p.parent == out for p in new), new
    assert all(p.name.startswith(("alignment_", "impact_of_noise_")) for p in new), new


def test_a_name_with_nothing_safe_left_is_refused(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_tiny_alignment("..")))
    result = CliRunner().invoke(main, ["plot", str(results), "--out", str(tmp_path / "plots")])
    assert_one_line_error(result, str(results), "cannot make a file name")
    assert not list(tmp_path.rglob("*.png"))


def test_a_figure_name_the_plot_function_does_not_slug_is_refused(tmp_path):
    """The central check in ``save``: a kind that builds its name from the payload without
    slugging it (here the MAE figures' ``name``) is refused in one line, nothing written."""
    payload = json.loads((REPO / "paper_figs" / "mae" / "mae_probe_curves_quick.json").read_text())
    payload["name"] = "../../escaped"
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    results = work / "r.json"
    results.write_text(json.dumps(payload))
    before = _files(tmp_path)
    result = CliRunner().invoke(main, ["plot", str(results), "--out", str(work / "plots")])
    assert_one_line_error(result, "outside the output folder")
    assert _files(tmp_path) - before == set()


def test_slug_keeps_plain_names_and_flattens_the_rest():
    for plain in ("fashion-mnist", "claims_quick", "sigma_p", "cifar10", "mu=0.1", "a.b"):
        assert slug(plain) == plain
    assert "/" not in slug("/../a/b") and not slug("../x").startswith(".")
    with pytest.raises(ConfigError):
        slug("../..")


def test_checked_path_resolves_links(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    with output_root(out):
        assert checked_path(out / "fine.png") == out / "fine.png"
        for bad in (out / "link" / "x.png", out / ".." / "x.png", tmp_path / "x.png"):
            with pytest.raises(ConfigError, match="outside the output folder"):
                checked_path(bad)
        fig = plt.figure()
        with pytest.raises(ConfigError):
            save(fig, tmp_path / "x.png")
        assert not plt.fignum_exists(fig.number)  # the refused figure is closed too
    assert checked_path(tmp_path / "x.png")  # no root active: no check
