"""Figure registry: a result file names its ``figure_kind``; ``mrp plot RESULTS`` redraws it.

Every experiment saves its numbers first (JSON with the config and seed), with a top-level
``"figure_kind"`` key. A plotting function registered for that kind turns the payload into a
figure file, so any figure can be redrawn without re-running the experiment.

This module is a kernel: it holds the registry and draws, and never imports an experiment. The
figure functions live in the experiments (``mrptheory.experiments.<name>.figures``); importing
such a module registers its kinds. A module that draws a kind imports the figures module that
registers it; the top layer's :mod:`mrptheory.catalog` lists them all (``mrp plot``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

from mrptheory.errors import ConfigError  # noqa: E402
from mrptheory.results import load_result  # noqa: E402
from mrptheory.results import write as save_payloads  # noqa: E402

PlotFn = Callable[[dict[str, Any], Path], list[Path]]
_FIGURES: dict[str, PlotFn] = {}


def register_figure(kind: str):
    """Decorator: ``fn(payload, out_dir) -> [written paths]`` draws result payloads of ``kind``."""

    def decorate(fn: PlotFn) -> PlotFn:
        _FIGURES[kind] = fn
        return fn

    return decorate


def figure_kinds(modules: Sequence[str] = ()) -> dict[str, PlotFn]:
    """The registered kinds, after importing ``modules`` (those that exist) to register theirs."""
    for module in modules:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return dict(_FIGURES)


def draw(payload: dict[str, Any], out_dir: str | Path, source: str | Path = "payload") -> list[Path]:
    """Draw a results payload through the function registered for its ``figure_kind``.

    ``source`` names where the payload came from in the one-line error raised when the kind is
    unknown, the payload does not match its kind's declared fields
    (:mod:`mrptheory.plots.schemas`: keys, types, ranges) or lacks numbers its figure needs
    deeper down (an edited or foreign file).
    """
    kind = payload.get("figure_kind") if isinstance(payload, dict) else None
    kinds = figure_kinds()
    if kind not in kinds:
        raise ConfigError(f"{source} has an unknown figure_kind {kind!r}; known kinds: "
                          f"{', '.join(sorted(kinds))}")
    from mrptheory.plots.schemas import payload_problem
    from mrptheory.plots.style import output_root

    problem = payload_problem(kind, payload)
    if problem is not None:
        raise ConfigError(f"{source} is not a valid {kind!r} result: {problem}; was it edited, "
                          f"or written by another version? Rerun the command that wrote it")
    try:
        with output_root(out_dir):  # every figure file must land inside out_dir
            return kinds[kind](payload, Path(out_dir))
    except ConfigError as exc:  # a name in the file that cannot become a safe file name
        raise ConfigError(f"{source}: {exc}") from None
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{source} lacks numbers a {kind!r} figure needs "
                          f"({type(exc).__name__}: {exc}); was it edited, or written by another "
                          f"version? Rerun the command that wrote it") from None


def redraw(results_path: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Redraw the figure(s) of a saved result file into ``out_dir`` (default: next to it).

    The file is validated first (:func:`mrptheory.results.load_result`): anything that is not a
    results file is refused in one line naming it."""
    results_path = Path(results_path)
    payload = load_result(results_path)
    return draw(payload, Path(out_dir) if out_dir else results_path.parent, results_path)


def write(payloads: Mapping[str, dict[str, Any]], out_dir: str | Path, *,
          draw: bool = True) -> list[Path]:
    """The one write path of results: save each payload as ``OUT/<name>.json``
    (:func:`mrptheory.results.write`), then draw its figure(s) from the saved file, exactly as
    ``mrp plot OUT/<name>.json`` would redraw them.

    ``payloads`` maps file names (without ``.json``) to payloads; one without a ``figure_kind``
    (a summary table) is only saved, and ``draw=False`` saves every payload without drawing
    (numbers kept for a later ``mrp plot``). Returns the written paths, figures before each JSON
    file. The kinds drawn must be registered: the caller imports the figures module of its kinds.
    """
    out = Path(out_dir)
    written: list[Path] = []
    for name, payload in payloads.items():
        path, = save_payloads({name: payload}, out)
        if draw and "figure_kind" in payload:
            written += redraw(path, out)
        written.append(path)
    return written
