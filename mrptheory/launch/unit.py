"""One unit of work of a sweep, and the launcher interface that turns units into records.

A unit is a key (the record's key in the sweep's :class:`~mrptheory.results.JsonlStore`), a
picklable callable with its arguments that computes the record (a plain ``dict``), and an
optional validator (:data:`~mrptheory.results.Validator`) that a record must pass before it is
stored. ``threads`` is the torch CPU thread count the unit runs with (a job in another process
sets it first, so its numbers equal the in-process ones).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from mrptheory.errors import MrpError
from mrptheory.results import JsonlStore, Validator


@dataclasses.dataclass(frozen=True)
class Unit:
    """One result record to compute: ``fn(*args, **kwargs) -> dict``, stored under ``key``.

    ``fn`` must be picklable by reference (a module-level function) when the unit runs as a job.
    """

    key: str
    fn: Callable[..., dict]
    args: tuple = ()
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    validate: Validator | None = None
    threads: int | None = None

    def compute(self) -> dict:
        """The unit's record (without its key)."""
        return self.fn(*self.args, **self.kwargs)


class UnitsFailedError(MrpError):
    """Some units' jobs failed: one line per failed unit (its key, the error, the log paths).

    The finished units are already merged into the store, so a rerun submits only these."""

    exit_code = 1

    def __init__(self, failures: Sequence[tuple[str, str]], total: int):
        self.failures = list(failures)
        lines = [f"{len(failures)} of {total} units failed (the others are stored; rerun the "
                 f"same command to submit only the failed ones):"]
        lines += [f"  unit {key}: {why}" for key, why in failures]
        super().__init__("\n".join(lines))


class Launcher(Protocol):
    """Turns units into stored records: ``run(units, store)`` returns one record per unit, in
    the units' order (stored records that ``reuse`` accepts are kept, the others computed)."""

    name: str

    def run(self, units: Sequence[Unit], store: JsonlStore, *, desc: str = "",
            show_progress: bool | None = None,
            reuse: Callable[[dict], bool] | None = None) -> list[dict]: ...


__all__ = ["Unit", "Launcher", "UnitsFailedError"]
