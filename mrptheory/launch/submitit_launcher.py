"""The submitit launcher: one job per missing unit (a Slurm array on a cluster).

The parent submits every unit that has no record in the store yet, waits for the jobs, merges
the per-unit files they wrote (:mod:`mrptheory.launch.unit_files`) into the store, and reports
each failed job in one line with its log files (submitit's stdout / stderr paths). A failed job
leaves no file behind (its record is written atomically only after it is computed), so a rerun
of the same command submits exactly the units still missing.

submitit is an optional extra (``pip install -e ".[cluster]"``); :func:`require_submitit` says
so in one line (exit 2) when it is absent.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mrptheory.config_spec import choice, constrained, integer, real, text, unconstrained
from mrptheory.errors import ConfigError
from mrptheory.launch.unit import Unit, UnitsFailedError
from mrptheory.launch.unit_files import merge_unit_files, unit_file, write_unit_file
from mrptheory.progress import progress
from mrptheory.results import JsonlStore

#: Fault injection for tests: a unit whose key matches this glob raises in its job ...
FAIL_ENV = "MRP_LAUNCH_FAIL_UNIT"
#: ... or kills its own job process (SIGKILL), as a scheduler's kill or a node failure would.
KILL_ENV = "MRP_LAUNCH_KILL_UNIT"

#: ``cluster`` values: None = submitit's choice (Slurm when ``sbatch`` is found, else local
#: processes); "local" = local processes through submitit (what the tests use); "debug" = in
#: this process, through submitit's pickling (for debugging a job).
CLUSTERS = (None, "slurm", "local", "debug")


def require_submitit():
    """The submitit module, or a one-line ConfigError (exit 2) saying how to install it."""
    try:
        import submitit
    except ImportError:
        raise ConfigError("--launcher submitit needs the optional package submitit: "
                          "pip install -e \".[cluster]\" (or pip install submitit)") from None
    return submitit


@constrained()
@dataclasses.dataclass(frozen=True)
class SlurmConfig:
    """The Slurm parameters of every job of a sweep (one job = one unit).

    ``time_min``: the job's wall-clock limit in minutes; ``gpus_per_job`` / ``cpus_per_job`` /
    ``mem_gb``: what each job asks for; ``array_parallelism``: at most this many jobs of the
    array run at once; ``extra``: further ``slurm_*`` parameters passed through (e.g.
    ``{"slurm_account": "x"}``); ``folder``: where submitit keeps the pickles and the logs
    (default: ``<store>.jobs`` beside the store).
    """

    partition: str | None = text(None, optional=True)
    time_min: int = integer(60, 1, None)
    gpus_per_job: int = integer(0, 0, None)
    cpus_per_job: int = integer(1, 1, None)
    mem_gb: float | None = real(None, 0.0, None, low_open=True, optional=True)
    array_parallelism: int = integer(64, 1, None)
    cluster: str | None = choice(None, ("slurm", "local", "debug"), optional=True,
                                 doc="unset: submitit's choice")
    folder: str | None = text(None, optional=True)
    extra: dict[str, Any] = unconstrained(
        reason="further slurm_* parameters passed through to submitit, which checks them",
        default_factory=dict)

    def parameters(self) -> dict[str, Any]:
        """submitit ``update_parameters`` keywords (AutoExecutor's generic names; the
        ``slurm_`` ones are dropped by submitit on a non-Slurm cluster)."""
        params: dict[str, Any] = {"timeout_min": self.time_min, "nodes": 1, "tasks_per_node": 1,
                                  "cpus_per_task": self.cpus_per_job,
                                  "gpus_per_node": self.gpus_per_job,
                                  "slurm_array_parallelism": self.array_parallelism}
        if self.partition:
            params["slurm_partition"] = self.partition
        if self.mem_gb is not None:
            params["mem_gb"] = self.mem_gb
        params.update(self.extra)
        return params


def run_unit_job(unit: Unit, path: str) -> str:
    """The body of one job: compute ``unit`` and write its record to ``path`` atomically.

    Sets the unit's torch thread count first (so a job's numbers equal the in-process run's)."""
    if unit.threads:
        import torch

        torch.set_num_threads(int(unit.threads))
    if os.environ.get(KILL_ENV) and fnmatch.fnmatchcase(unit.key, os.environ[KILL_ENV]):
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(FAIL_ENV) and fnmatch.fnmatchcase(unit.key, os.environ[FAIL_ENV]):
        raise RuntimeError(f"injected failure of unit {unit.key} ({FAIL_ENV})")
    record = {"key": unit.key, **unit.compute()}
    record["key"] = unit.key
    write_unit_file(path, record)
    return path


_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def _last_line(exc: BaseException) -> str:
    """The job's error in one line: submitit's FailedJobError quotes the job's traceback, whose
    last ``SomeError: ...`` line is the error itself; otherwise the message's first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR_LINE.match(line)]
    if errors:
        return errors[-1][:300]
    if len(lines) > 1 and lines[1].startswith("has not produced any output"):
        return f"the job ended without a result (killed?): it {lines[1]}"[:300]
    return (lines[0] if lines else type(exc).__name__)[:300]


class SubmititLauncher:
    """One submitit job per unit missing from the store (see the module doc)."""

    name = "submitit"

    def __init__(self, config: SlurmConfig | None = None, poll_s: float = 0.5):
        self.config = config or SlurmConfig()
        self.poll_s = poll_s

    def _executor(self, store: JsonlStore):
        submitit = require_submitit()
        folder = Path(self.config.folder) if self.config.folder else store.path.with_name(
            store.path.name + ".jobs")
        executor = submitit.AutoExecutor(folder=folder / "%j", cluster=self.config.cluster)
        executor.update_parameters(name=store.path.stem, **self.config.parameters())
        return executor

    def run(self, units: Sequence[Unit], store: JsonlStore, *, desc: str = "",
            show_progress: bool | None = None,
            reuse: Callable[[dict], bool] | None = None) -> list[dict]:
        units = list(units)
        keys = [u.key for u in units]
        reuse = reuse or (lambda record: True)

        def stale() -> set[str]:  # stored, but not final: computed again, then replaced
            return {str(r["key"]) for r in store.records() if "key" in r and not reuse(r)}

        # files a previous parent left unmerged (it was killed while its jobs finished); a
        # rejected (unreadable, invalid) file is removed, so its unit is simply submitted again
        merge_unit_files(store, keys, self._validator(units), replace=stale())
        replace = stale()
        done = store.done_keys() - replace
        missing = [u for u in units if u.key not in done]
        failures: list[tuple[str, str]] = []
        if missing:
            executor = self._executor(store)
            with executor.batch():
                jobs = [executor.submit(run_unit_job, u, str(unit_file(store, u.key)))
                        for u in missing]
            failures = self._wait(missing, jobs, desc, show_progress)
            failed = {k for k, _ in failures}
            for key, why in merge_unit_files(store, [u.key for u in missing],
                                             self._validator(missing), replace=replace).items():
                if key not in failed:
                    failures.append((key, why))
        if failures:
            raise UnitsFailedError(failures, len(units))
        stored = {str(r["key"]): r for r in store.records() if "key" in r}
        return [stored[k] for k in keys]

    @staticmethod
    def _validator(units: Sequence[Unit]):
        checks = {u.key: u.validate for u in units if u.validate is not None}

        def validate(record: dict) -> str | None:
            check = checks.get(str(record.get("key")))
            return check(record) if check else None

        return validate

    def _wait(self, units: list[Unit], jobs: list, desc: str,
              show_progress: bool | None) -> list[tuple[str, str]]:
        """Wait for every job; ``(key, why + log paths)`` of those that failed."""
        failures = []
        pending = list(zip(units, jobs))
        bar = progress(total=len(jobs), desc=f"{desc} ({len(jobs)} jobs)".strip(),
                       enabled=show_progress)
        try:
            while pending:
                still = []
                for unit, job in pending:
                    if not job.done():
                        still.append((unit, job))
                        continue
                    bar.update(1)
                    try:
                        job.result()
                    except Exception as exc:  # the job's error, or submitit's: it did not finish
                        failures.append((unit.key, f"job {job.job_id} failed: {_last_line(exc)}; "
                                                   f"log {job.paths.stderr} (stdout "
                                                   f"{job.paths.stdout})"))
                pending = still
                if pending:
                    time.sleep(self.poll_s)
        finally:
            bar.close()
        return failures


__all__ = ["SlurmConfig", "SubmititLauncher", "require_submitit", "run_unit_job",
           "FAIL_ENV", "KILL_ENV", "CLUSTERS"]
