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


# --- work-size policy: one rule for every command ------------------------------------------------
#
# 1. A size beyond the data (more train images than the split holds) is refused, never clamped:
#    :func:`check_within_data`.
# 2. Work that an up-front estimate puts past :data:`WORK_LIMIT_SECONDS` is refused unless the user
#    confirms with ``--yes`` (``cli_support.options.yes_option``): :func:`check_work`. Estimates use
#    rates measured on the development machine (a shared 2-core CPU, one thread), stated beside
#    each estimator; they are meant to catch runs of hours or days, not to predict minutes.

#: Longest work a command starts without ``--yes`` (seconds).
WORK_LIMIT_SECONDS = 3600.0


class TooMuchWorkError(ConfigError):
    """The estimated run time exceeds :data:`WORK_LIMIT_SECONDS` and ``--yes`` was not given."""


def format_seconds(seconds: float) -> str:
    """``90`` -> ``"1.5 min"``, ``7200`` -> ``"2 h"``, ``3e6`` -> ``"35 days"`` (two significant figures)."""
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 0.0)):
        if seconds >= size:
            value = seconds / size if size else seconds
            return f"{value:.2g} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    return f"{seconds:.2g} s"  # negative or NaN


def check_within_data(flag: str, requested: int, available: int, what: str) -> int:
    """``requested`` if it is at most ``available`` (``what``: "train images of fashion-mnist"),
    else ConfigError: a size beyond the data set is refused, not silently clamped."""
    if requested > available:
        raise ConfigError(f"{flag} {requested} is more than the {available} {what}; use at most "
                          f"{available}")
    return requested


def check_work(seconds: float, what: str, flag: str, *, yes: bool, rate: str,
               limit: float = WORK_LIMIT_SECONDS) -> None:
    """Refuse (:class:`TooMuchWorkError`) work estimated at more than ``limit`` seconds unless
    ``yes``. ``what`` says what takes the time, ``rate`` how it was estimated (for the message)."""
    if yes or seconds <= limit:
        return
    raise TooMuchWorkError(
        f"{flag}: {what} would take about {format_seconds(seconds)} ({rate}), past the "
        f"{format_seconds(limit)} limit for a run started without confirmation; reduce {flag} or "
        f"pass --yes to run it anyway")


#: Seconds per Monte-Carlo draw of ``noise-check``: a fixed ~2e-4 s (sampling, Python) plus
#: ~1e-8 s per entry of the D x D sums (measured: 61-145 us at D = 16, 750 us at D = 256).
MC_DRAW_SECONDS = (2e-4, 1e-8)


def monte_carlo_seconds(draws: int, dim: int) -> float:
    """Estimated seconds of ``draws`` Monte-Carlo draws on ``dim``-pixel images (noise-check)."""
    fixed, per_entry = MC_DRAW_SECONDS
    return draws * (fixed + per_entry * dim * dim)


#: Seconds per evaluation point of ``mrp dynamics`` and per pixel of D, for 7000 probe images
#: (two ridge probes, the reconstruction fractions; measured 1.2 s at D = 196, 4.1 s at D = 784).
DYNAMICS_EVAL_SECONDS_PER_DIM = 6e-3


def dynamics_eval_seconds(n_eval: int, n_models: int, dim: int, n_probe: int = 7000) -> float:
    """Estimated seconds of the evaluations of ``mrp dynamics``: ``n_eval`` points (an upper bound:
    repeated steps are merged) per model, each measured for the trained weights and for the
    closed form, at :data:`DYNAMICS_EVAL_SECONDS_PER_DIM` scaled by the probe size."""
    per_eval = DYNAMICS_EVAL_SECONDS_PER_DIM * dim * max(n_probe, 1) / 7000
    return 2.0 * n_eval * n_models * per_eval
