"""Up-front parameter validation with messages that name the parameter and the allowed range.

Used by every dataclass config's ``__post_init__`` so that a bad value fails at construction,
not deep inside numpy or torch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from mrptheory.errors import ConfigError


def check_int(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer in ``[low, high]``; else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{name} must be in [{_fmt(low)}, {_fmt(high)}], got {value}")
    return value


def check_float(
    name: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float inside the given (half-)open interval, else ConfigError."""
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(f):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    too_low = low is not None and (f <= low if low_open else f < low)
    too_high = high is not None and (f >= high if high_open else f > high)
    if too_low or too_high:
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        raise ConfigError(f"{name} must be in {lb}{_fmt(low)}, {_fmt(high)}{rb}, got {f:g}")
    return f


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; else ConfigError listing them."""
    options = list(choices)
    if value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, options))}; got {value!r}")
    return str(value)


def check_pool_factor(name: str, factor: int, image_shape: tuple[int, ...]) -> int:
    """``factor`` if it is an integer >= 1 that divides the image height and width, else
    ConfigError. One rule for every option that average-pools images (``alignment --pool``,
    ``dynamics --downsample``): pooling by a factor that does not divide a side would silently drop
    the last rows and columns. ``image_shape`` is ``(C, H, W)``."""
    factor = check_int(name, factor, 1)
    h, w = image_shape[-2:]
    if h % factor or w % factor:
        fits = [f for f in range(1, min(h, w) + 1) if h % f == 0 and w % f == 0]
        raise ConfigError(f"{name} {factor} does not divide the image size {h}x{w}; use one of "
                          f"{', '.join(map(str, fits))}")
    return factor


def _fmt(bound: float | None) -> str:
    if bound is None:
        return "inf"
    return f"{bound:g}"
