"""The local launcher: every unit computed in this process, one after the other.

Each unit goes through :meth:`~mrptheory.results.JsonlStore.get_or_run` (claim, compute, append),
exactly as the sweeps did before launchers existed, so ``--launcher local`` stores the same
bytes as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mrptheory.launch.unit import Unit
from mrptheory.progress import progress
from mrptheory.results import JsonlStore


class LocalLauncher:
    """Compute the units here, in order (stored units are reused)."""

    name = "local"

    def run(self, units: Sequence[Unit], store: JsonlStore, *, desc: str = "",
            show_progress: bool | None = None,
            reuse: Callable[[dict], bool] | None = None) -> list[dict]:
        records = []
        for unit in progress(list(units), desc=desc, enabled=show_progress):
            records.append(store.get_or_run(unit.key, unit.compute, reuse=reuse))
        return records


__all__ = ["LocalLauncher"]
