"""Text layout checks on rendered matplotlib figures: which text boxes intersect.

:func:`text_boxes` collects the window extents (pixels, after a draw) of every visible, non-empty
text of a figure -- suptitle, figure texts and legends, and per axes the titles, axis labels,
tick labels, legends and texts/annotations -- and :func:`overlaps` lists the pairs that
intersect by more than a pixel of tolerance. Used by ``test_figure_layout``.
"""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.figure
import matplotlib.text
from matplotlib.transforms import Bbox


def _visible_text(t) -> bool:
    return (isinstance(t, matplotlib.text.Text) and t.get_visible() and bool(t.get_text().strip()))


def text_boxes(fig: matplotlib.figure.Figure, renderer) -> list[tuple[str, Bbox]]:
    """``[(name, bbox)]`` of every visible text element of ``fig`` (drawn with ``renderer``).

    A legend is one box (frame, entries and title together); tick labels are one box each."""
    boxes: list[tuple[str, Bbox]] = []

    def add(name: str, artist) -> None:
        bbox = artist.get_window_extent(renderer)
        if bbox.width > 0 and bbox.height > 0:
            boxes.append((name, bbox))

    if fig._suptitle is not None and _visible_text(fig._suptitle):
        add("suptitle", fig._suptitle)
    for i, t in enumerate(fig.texts):
        if _visible_text(t) and t is not fig._suptitle:
            add(f"figure text {i} {t.get_text()[:30]!r}", t)
    for i, leg in enumerate(fig.legends):
        add(f"figure legend {i}", leg)
    for a, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        where = f"axes {a}"
        for attr in ("title", "_left_title", "_right_title"):
            t = getattr(ax, attr, None)
            if t is not None and _visible_text(t):
                add(f"{where} title {t.get_text()[:30]!r}", t)
        for axis_name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if _visible_text(axis.label):
                add(f"{where} {axis_name}label {axis.label.get_text()[:30]!r}", axis.label)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                for label in (tick.label1, tick.label2):
                    if _visible_text(label) and tick.get_visible() and _in_view(axis, tick):
                        add(f"{where} {axis_name}tick {label.get_text()!r}", label)
        if ax.get_legend() is not None and ax.get_legend().get_visible():
            add(f"{where} legend", ax.get_legend())
        for i, t in enumerate(ax.texts):
            if _visible_text(t):
                add(f"{where} text {i} {t.get_text()[:30]!r}", t)
    return boxes


def _in_view(axis, tick) -> bool:
    """Ticks outside the view interval are not drawn."""
    lo, hi = sorted(axis.get_view_interval())
    loc = tick.get_loc()
    span = hi - lo
    return lo - 1e-9 * abs(span) <= loc <= hi + 1e-9 * abs(span)


def _intersect(a: Bbox, b: Bbox, tol: float) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tol) and (min(a.y1, b.y1) - max(a.y0, b.y0) > tol)


def overlaps(boxes: list[tuple[str, Bbox]], tol: float = 1.0) -> Iterator[tuple[str, str]]:
    """Pairs of names whose boxes intersect by more than ``tol`` pixels in both directions."""
    for i, (na, a) in enumerate(boxes):
        for nb, b in boxes[i + 1:]:
            if _intersect(a, b, tol):
                yield na, nb
