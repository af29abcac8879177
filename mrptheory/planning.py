"""Dry runs: what a command would cost at its settings, estimated without running it.

A command's ``--dry-run`` (``mrp multiview regime``, ``mrp mae pretrain``, ``mrp subspace``; ``mrp
dry-run PRESET`` runs it for a preset) builds its configs as a real run would, then prints a
:class:`Plan` from its experiment's planner (``mrptheory.experiments.<name>.dry_run``):

* the memory of one job, from the package's estimator of that experiment;
* the number of jobs (the units a launcher would submit: regime-map cells, one data-parallel
  pretraining job, budget-curve units);
* a per-step time **measured here** on a reduced size (a few timed steps after one warm-up,
  :func:`timed_steps`) and **scaled by the ratio of FLOPs** (or of the dominant tensor sizes) of
  the full step to the reduced one: ``t_full = t_reduced x work_full / work_reduced``. That assumes
  the device runs the full size at the reduced size's FLOP rate; large steps usually run faster
  per FLOP on a GPU, so the estimate tends to be an upper bound there. It counts optimiser steps
  only (no data loading, logging or evaluation);
* steps per job from the run's own rules (a range where a run trains until it has converged).

Nothing is trained, loaded or written.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass
class Plan:
    """What a command would cost. ``steps_per_job`` / ``device_hours``: (low, high) when the run's
    length has a range (until converged), else equal; ``seconds_per_step``: per job and step, as
    measured at the reduced size and scaled; ``measured``: how that time was obtained."""

    label: str
    what: str
    memory_per_job: float
    jobs: int
    steps_per_job: tuple[int, int]
    seconds_per_step: float
    device_hours: tuple[float, float]
    measured: str
    notes: list[str] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        """The plan as printed: one quantity per line, then the notes."""
        from mrptheory.resources import format_bytes

        lo, hi = self.device_hours
        steps = (f"{self.steps_per_job[0]:,}" if self.steps_per_job[0] == self.steps_per_job[1]
                 else f"{self.steps_per_job[0]:,} to {self.steps_per_job[1]:,}")
        hours = f"{lo:,.1f}" if math.isclose(lo, hi) else f"{lo:,.1f} to {hi:,.1f}"
        return [f"{self.label}: {self.what}",
                f"  memory per job  {format_bytes(self.memory_per_job)} (the package's estimator)",
                f"  jobs            {self.jobs}",
                f"  steps per job   {steps}",
                f"  time per step   {self.seconds_per_step:.3g} s ({self.measured})",
                f"  device-hours    {hours} (jobs x steps x time per step)",
                *(f"  note: {n}" for n in self.notes),
                "  nothing was run (dry run)"]


def timed_steps(step: Callable[[], Any], n: int = 3) -> float:
    """Seconds per call of ``step``: one warm-up call, then the mean of ``n`` timed calls."""
    step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def print_dry_run(plan_on: Callable[[Any], Plan], device: str) -> None:
    """Measure and print a command's plan: ``plan_on(device)`` with ``device`` resolved as a run
    would resolve it and one torch thread (the timed steps run as a shared machine allows), then
    one line per quantity (:meth:`Plan.lines`)."""
    import click

    from mrptheory.device import resolve_device, set_cpu_threads

    resolved = resolve_device(device)
    set_cpu_threads(1)
    for line in plan_on(resolved).lines():
        click.echo(line)


__all__ = ["Plan", "timed_steps", "print_dry_run"]
