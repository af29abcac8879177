"""The launcher options every unit-based command shares (one decorator), and the launcher they
select.

    --launcher local|submitit      where the units run (default local: in this process)
    --slurm-partition P  --slurm-time MIN  --slurm-gpus-per-job G  --slurm-cpus-per-job C
    --slurm-mem-gb M  --slurm-array-parallelism A  --slurm-config FILE.toml
    --submitit-cluster slurm|local|debug   (default: submitit's choice, Slurm where sbatch is)

A ``--slurm-config`` TOML file holds the same keys without the ``slurm-`` prefix and with ``_``
(``partition``, ``time``, ``gpus_per_job``, ``cpus_per_job``, ``mem_gb``, ``array_parallelism``)
plus an optional ``[extra]`` table of further submitit ``slurm_*`` parameters; an option given on
the command line wins over the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mrptheory.errors import ConfigError

#: option name (python) -> SlurmConfig field
_SLURM_FIELDS = {"slurm_partition": "partition", "slurm_time": "time_min",
                 "slurm_gpus_per_job": "gpus_per_job", "slurm_cpus_per_job": "cpus_per_job",
                 "slurm_mem_gb": "mem_gb", "slurm_array_parallelism": "array_parallelism",
                 "submitit_cluster": "cluster"}
#: TOML key -> SlurmConfig field
_FILE_KEYS = {"partition": "partition", "time": "time_min", "time_min": "time_min",
              "gpus_per_job": "gpus_per_job", "cpus_per_job": "cpus_per_job",
              "mem_gb": "mem_gb", "array_parallelism": "array_parallelism",
              "cluster": "cluster", "folder": "folder", "extra": "extra"}
LAUNCHER_KEYS = ("launcher", "slurm_config", *_SLURM_FIELDS)


def launcher_options(fn):
    """Add ``--launcher`` and the Slurm options (see the module doc) to a click command."""
    opts = [
        click.option("--launcher", type=click.Choice(["local", "submitit"]), default="local",
                     show_default=True,
                     help="Where the units (cells, sweep points, claims) run: local = one after "
                          "the other in this process; submitit = one job per missing unit "
                          "(Slurm; needs pip install -e \".[cluster]\"). Results land in the same "
                          "resumable store; a rerun submits only the missing units."),
        click.option("--slurm-partition", default=None, help="Slurm partition of the jobs."),
        click.option("--slurm-time", type=int, default=None,
                     help="Wall-clock limit per job in minutes [60]."),
        click.option("--slurm-gpus-per-job", type=int, default=None, help="GPUs per job [0]."),
        click.option("--slurm-cpus-per-job", type=int, default=None, help="CPUs per job [1]."),
        click.option("--slurm-mem-gb", type=float, default=None, help="Memory per job in GB."),
        click.option("--slurm-array-parallelism", type=int, default=None,
                     help="At most this many jobs of the array at once [64]."),
        click.option("--slurm-config", type=click.Path(dir_okay=False), default=None,
                     help="TOML file of the Slurm parameters (keys: partition, time, "
                          "gpus_per_job, cpus_per_job, mem_gb, array_parallelism, [extra]); "
                          "options given here win."),
        click.option("--submitit-cluster", type=click.Choice(["slurm", "local", "debug"]),
                     default=None,
                     help="submitit's executor [its own choice: Slurm where sbatch exists, else "
                          "local processes]; local runs each job as a process here."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def read_slurm_file(path: str | Path) -> dict[str, Any]:
    """SlurmConfig fields from a TOML file (unknown keys refused in one line)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise ConfigError("--slurm-config needs Python >= 3.11 (tomllib); give the Slurm "
                          "parameters as options instead") from None
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"--slurm-config {path}: cannot read it ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--slurm-config {path} is not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(_FILE_KEYS))
    if unknown:
        raise ConfigError(f"--slurm-config {path}: unknown key(s) {', '.join(unknown)}; allowed: "
                          f"{', '.join(sorted(set(_FILE_KEYS) - {'time_min'}))}")
    return {_FILE_KEYS[k]: v for k, v in data.items()}


def slurm_config_from_options(kw: dict[str, Any]):
    """The :class:`~mrptheory.launch.submitit_launcher.SlurmConfig` of a command's options."""
    from mrptheory.launch.submitit_launcher import SlurmConfig

    fields: dict[str, Any] = read_slurm_file(kw["slurm_config"]) if kw.get("slurm_config") else {}
    fields.update({field: kw[opt] for opt, field in _SLURM_FIELDS.items()
                   if kw.get(opt) is not None})
    return SlurmConfig(**fields)


def launcher_from_options(kw: dict[str, Any]):
    """The launcher a command's options select (submitit checked to be installed, and the Slurm
    parameters validated, before any work); ``kw`` keeps the launcher options (see
    :func:`pop_launcher_options` to remove them)."""
    from mrptheory.launch.local import LocalLauncher

    name = kw.get("launcher") or "local"
    if name == "local":
        given = [f"--{k.replace('_', '-')}" for k in ("slurm_config", *_SLURM_FIELDS)
                 if kw.get(k) is not None]
        if given:
            raise ConfigError(f"{given[0]} applies to --launcher submitit only")
        return LocalLauncher()
    from mrptheory.launch.submitit_launcher import SubmititLauncher, require_submitit

    require_submitit()
    return SubmititLauncher(slurm_config_from_options(kw))


def unit_device(launcher, option: str) -> str:
    """The device a sweep's units get: for units run here, ``option`` resolved here (a bad or
    missing device fails before any work); for jobs, the option as given, resolved on each job's
    node (``auto`` takes the job's GPU, and ``cuda`` is fine from a login node without one)."""
    from mrptheory.device import resolve_device

    return str(resolve_device(option)) if launcher.name == "local" else option


def job_data_source(launcher, dataset: str, data_root: str | None, splits):
    """Where a sweep's jobs read its data: a :class:`~mrptheory.data.source.DataSource` of the
    ``splits`` loaded here (name, folder, fingerprint; no arrays), or None for units run here,
    which use ``splits`` themselves."""
    from mrptheory.data.source import DataSource

    return None if launcher.name == "local" else DataSource.of(dataset, data_root, splits)


def pop_launcher_options(kw: dict[str, Any]):
    """Remove the launcher options from ``kw`` and return the launcher they select."""
    launcher = launcher_from_options(kw)
    for key in LAUNCHER_KEYS:
        kw.pop(key, None)
    return launcher


__all__ = ["launcher_options", "launcher_from_options", "pop_launcher_options",
           "slurm_config_from_options", "read_slurm_file", "unit_device", "job_data_source",
           "LAUNCHER_KEYS"]
