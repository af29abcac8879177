"""The one entry point of a sweep: its units' records, computed by the chosen launcher."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mrptheory.launch.local import LocalLauncher
from mrptheory.launch.unit import Launcher, Unit
from mrptheory.results import JsonlStore


def run_units(units: Sequence[Unit], store: JsonlStore, launcher: Launcher | None = None, *,
              desc: str = "", show_progress: bool | None = None,
              reuse: Callable[[dict], bool] | None = None) -> list[dict]:
    """The records of ``units`` in ``store``, computed by ``launcher`` (default: local).

    ``reuse(record)`` (default: always) says whether a stored record is final; a unit whose
    record is not is computed again and its new record replaces the old one."""
    return (launcher or LocalLauncher()).run(units, store, desc=desc, show_progress=show_progress,
                                             reuse=reuse)


__all__ = ["run_units"]
