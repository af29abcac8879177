"""Launching units of work: in this process (``local``) or one Slurm job per unit (``submitit``).

A sweep is a list of :class:`~mrptheory.launch.unit.Unit` (a key, a picklable callable and its
arguments that give one result record, and a validator). A launcher turns the units into
records of a :class:`~mrptheory.results.JsonlStore`:

* :class:`~mrptheory.launch.local.LocalLauncher` computes each unit here, through
  ``JsonlStore.get_or_run`` (today's behaviour, byte for byte);
* :class:`~mrptheory.launch.submitit_launcher.SubmititLauncher` submits one job per missing
  unit; each job writes its record to its own file (atomic: temp file, fsync, rename) in the
  store's units folder, and the parent merges those files into the store, so no file lock is
  ever needed on the cluster's network file system.

The launcher is picked from the command's ``--launcher`` options
(:func:`~mrptheory.launch.options.launcher_from_options`).
"""

from __future__ import annotations

from mrptheory.launch.local import LocalLauncher
from mrptheory.launch.run import run_units
from mrptheory.launch.unit import Launcher, Unit, UnitsFailedError

__all__ = ["Launcher", "LocalLauncher", "Unit", "UnitsFailedError", "run_units"]
