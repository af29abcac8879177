"""Lazy package facades: an experiment's ``__init__`` lists its public API without importing it.

``lazy_exports(__name__, {"train_sl": "sl", "mrp_summary": "mrp:summarise_mrp"})`` returns
``(__all__, __getattr__, __dir__)`` for the package: a name is looked up in its module (relative
to the package; ``"module:attr"`` when the public name differs) the first time it is read, so
``import mrptheory.experiments.multiview`` stays cheap (no torch) and ``mrp --help`` stays fast,
while ``from mrptheory.experiments.multiview import train_sl`` works as an eager facade would.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]
                 ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` of a facade whose names load on first use."""
    names = sorted(exports)

    def __getattr__(name: str) -> Any:  # noqa: N807  (the module-level hook, PEP 562)
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(f"{package}.{module}"), attr or name)

    def __dir__() -> list[str]:  # noqa: N807
        return names

    return names, __getattr__, __dir__
