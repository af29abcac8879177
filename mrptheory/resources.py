"""Up-front memory estimates: refuse a run that cannot fit, before it allocates anything.

A command whose array sizes grow with user flags (an image shape, a sample count, a number of
seeds) estimates the bytes it will hold at its peak and calls :func:`check_fits` first. If the
estimate exceeds a safe share of the memory available now, the user gets one line naming the flag,
the estimate and the limit -- instead of the kernel's OOM killer or a MemoryError traceback after
minutes of work.
"""

from __future__ import annotations

import os

from mrptheory.errors import ConfigError

#: Share of the currently available memory a single run may plan to use (the rest is headroom for
#: Python, torch, temporaries the estimate does not count, and other processes).
SAFE_FRACTION = 0.8

#: Bytes per float64 entry (the closed forms work in float64).
FLOAT64 = 8


class InsufficientMemoryError(ConfigError):
    """The estimated peak memory of a run exceeds what is available; names the flag to reduce."""


def available_memory_bytes() -> int | None:
    """Memory a new allocation can use now, in bytes; None when it cannot be determined.

    ``MemAvailable`` from ``/proc/meminfo`` (Linux: free memory plus reclaimable caches), capped by
    a cgroup v2/v1 limit when one is set (containers); elsewhere ``os.sysconf`` free pages.
    """
    found: list[int] = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f:
                limit_text = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit_text.isdigit() and int(limit_text) < 1 << 60:  # "max" or a huge v1 sentinel: no limit
            found.append(max(int(limit_text) - usage, 0))
        break
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            return None
    return min(found)


def device_memory_bytes(device) -> int | None:
    """Memory a new allocation on ``device`` can use now: free GPU memory on CUDA, else
    :func:`available_memory_bytes` (host RAM)."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        return int(free)
    return available_memory_bytes()


def format_bytes(n: float) -> str:
    """``1.5e9`` -> ``"1.4 GiB"`` (binary units, three significant figures)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.3g} {unit}" if unit != "B" else f"{value:.0f} B"
        value /= 1024
    return f"{value:.3g} PiB"  # pragma: no cover (loop always returns)


def check_fits(bytes_needed: float, what: str, flag: str, *, available: int | None = None,
               fraction: float = SAFE_FRACTION) -> None:
    """Raise :class:`InsufficientMemoryError` if ``bytes_needed`` exceeds ``fraction`` of free memory.

    Args:
        bytes_needed: estimated peak bytes of the planned run (an estimate: count the big arrays).
        what: what needs the memory, for the message (``"the D x D moment matrices (D = 40000)"``).
        flag: the option the user should reduce (``"--image-shape"``).
        available: bytes available; default :func:`available_memory_bytes` (nothing is checked
            when that is unknown).
        fraction: share of ``available`` a run may use.

    The message is one line: the flag, the estimate, the limit and how it was derived.
    """
    if available is None:
        available = available_memory_bytes()
    if available is None:
        return
    limit = fraction * available
    if bytes_needed > limit:
        raise InsufficientMemoryError(
            f"{flag}: {what} needs about {format_bytes(bytes_needed)} of memory, more than the "
            f"limit of {format_bytes(limit)} ({fraction:.0%} of the {format_bytes(available)} "
            f"available now); reduce {flag}")
