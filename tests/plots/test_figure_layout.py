"""Every registered figure kind, drawn from a stored payload, has no intersecting text boxes
(titles, axis labels, tick labels, legends, suptitles, annotations) -- checked on the rendered
layout instead of by eye. Before: the dynamics probe figure's suptitle ran into its legend.

Payloads: the stored results in ``paper_figs/`` (realistic sizes and labels), one file per kind
and variant; every registered kind must have one.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.figure
import pytest

from mrptheory.catalog import figure_kinds
from mrptheory.plots.registry import draw
from mrptheory.results import load_json
from tests.plots.layout import overlaps, text_boxes

REPO = Path(__file__).resolve().parents[2]
STORED = REPO / "paper_figs"


def _stored_payloads() -> tuple[dict[str, Path], dict[str, Path]]:
    """(every stored results file by stem, the smallest one of each figure kind by stem)."""
    found: dict[str, Path] = {}
    smallest: dict[str, Path] = {}
    for path in sorted(STORED.rglob("*.json")):
        try:
            kind = json.loads(path.read_text()).get("figure_kind")
        except (ValueError, AttributeError):
            continue
        if kind:
            found[path.stem] = path
            if kind not in smallest or path.stat().st_size < smallest[kind].stat().st_size:
                smallest[kind] = path
    return found, {p.stem: p for p in smallest.values()}


#: All stored payloads, and one (the smallest) per kind plus the stored variants that differ in
#: layout (noisy preset, other regime map axes, the ResNet-9 subspace panel), checked here.
ALL_PAYLOADS, SMALLEST = _stored_payloads()
PAYLOADS = {**SMALLEST, **{stem: ALL_PAYLOADS[stem] for stem in (
    "multiview_noisy_accuracy", "multiview_regime_mu_d", "claim_subspace_fashion-mnist_resnet9",
    "alignment_fashion-mnist") if stem in ALL_PAYLOADS}}


def test_every_registered_kind_has_a_stored_payload():
    kinds = {json.loads(ALL_PAYLOADS[stem].read_text())["figure_kind"] for stem in SMALLEST}
    assert set(figure_kinds()) <= kinds, set(figure_kinds()) - kinds


def render_and_check(payload: dict, out: Path) -> list[str]:
    """Draw ``payload``; return "file: a <-> b" for each pair of intersecting text boxes."""
    problems: list[str] = []

    def checked_savefig(fig, target, *args, **kwargs):  # lay out and check; no PNG (faster)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        name = fig.get_label() or f"figure {len(problems)}"
        for a, b in overlaps(text_boxes(fig, renderer)):
            problems.append(f"{name}: {a} <-> {b}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(matplotlib.figure.Figure, "savefig", checked_savefig)
        draw(payload, out)
    return problems


@pytest.mark.parametrize("stem", sorted(PAYLOADS))
def test_no_text_overlaps(stem, tmp_path):
    payload = load_json(PAYLOADS[stem])  # as `mrp plot` reads it: non-finite numbers restored
    problems = render_and_check(payload, tmp_path)
    assert not problems, "\n".join(problems)


def _subset(payload: dict, key: str, keep: list[str]) -> dict:
    return {**payload, key: {k: v for k, v in payload[key].items() if k in keep}}


#: Narrower variants of stored payloads: fewer panels leave less room for titles and legends
#: (``mrp dynamics --model linear`` draws one panel under the full-width suptitle).
VARIANTS = {
    "dynamics one model": ("dynamics_fashion-mnist", lambda p: _subset(p, "models", ["linear"])),
    "dynamics two models": ("dynamics_fashion-mnist",
                            lambda p: _subset(p, "models", ["deep", "mask"])),
    "alignment one patch shape": ("alignment_fashion-mnist", lambda p: {
        **p, "curves": {k: v for k, v in p["curves"].items() if ":1x1" in k or "gauss" in k},
        "impact": {k: v for k, v in p["impact"].items() if ":1x1" in k or "gauss" in k}}),
    "subspace one arch": ("claim_subspace_fashion-mnist", lambda p: {
        **p, "summary": [r for r in p["summary"] if r["arch"] == p["summary"][0]["arch"]]}),
    "budget one arch": ("subspace_budget_fashion-mnist", lambda p: {
        **p, "summary": [r for r in p["summary"] if r["arch"] == p["summary"][0]["arch"]]}),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_no_text_overlaps_in_narrow_variants(variant, tmp_path):
    stem, make = VARIANTS[variant]
    problems = render_and_check(make(load_json(ALL_PAYLOADS[stem])), tmp_path)
    assert not problems, "\n".join(problems)


def test_the_checker_sees_an_overlap():
    """The check can fail: a legend drawn over the title is reported."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], label="a rather long legend entry")
    ax.set_title("a title")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.12))
    fig.canvas.draw()
    found = list(overlaps(text_boxes(fig, fig.canvas.get_renderer())))
    plt.close(fig)
    assert any("title" in a and "legend" in b or "legend" in a and "title" in b for a, b in found)
