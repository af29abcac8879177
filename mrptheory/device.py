"""Device selection: CUDA when present, CPU always.

Every training path takes a ``device`` argument resolved here, so a wrong flag such as
``--device cuda`` on a machine without a GPU gives a clear message instead of a torch traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from mrptheory.errors import ConfigError


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Map ``"auto"`` / ``None`` to ``cuda`` when available else ``cpu``; validate explicit names."""
    if isinstance(name, torch.device):
        name = str(name)
    if name is None or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda[:N]'; got {name!r}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device 'cuda' was requested but no CUDA GPU is available; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) are available"
            )
    elif device.type != "cpu":
        raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda[:N]'; got {name!r}")
    return device


@contextmanager
def cpu_threads(n: int | None, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads, then restore the previous setting.

    ``None`` or ``0`` (or a CUDA ``device``) leaves torch's setting alone. Small models on a shared
    CPU are often several times faster on one thread than on many (measured 8-38x on a busy
    2-core machine, see the benchmarks), because the threads mostly wait on each other.
    """
    if not n or torch.device(device).type != "cpu":
        yield
        return
    old = torch.get_num_threads()
    set_cpu_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask (``os.sched_getaffinity``, which honours
    ``taskset`` and container CPU sets) where the OS has one, else ``os.cpu_count()``."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


def check_threads(n: int | None, flag: str = "--threads") -> int | None:
    """``n`` if it is a valid CPU thread count: 0 / None (torch's default) up to
    :func:`available_cpus`. More threads than CPUs never helps these models, and torch's
    thread pool crashes (segmentation fault, exit 139) when asked for ~1e5; ConfigError instead."""
    if n is None or n == 0:
        return n
    if n < 0:
        raise ConfigError(f"{flag} must be an integer >= 0, got {n} (0: torch's default)")
    cpus = available_cpus()
    if n > cpus:
        raise ConfigError(f"{flag} must be at most {cpus} (the CPUs this process may use), got {n}")
    return n


def set_cpu_threads(n: int | None) -> None:
    """Set torch's CPU thread count for the rest of the process (None or 0: leave it alone);
    refuses more threads than :func:`available_cpus` (see :func:`check_threads`)."""
    if n is None or n == 0:
        return
    torch.set_num_threads(int(check_threads(n)))
