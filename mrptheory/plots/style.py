"""Shared figure conventions: sizes, DPI, safe file names, the one save path, drawn intervals.

* :func:`slug` turns anything taken from a results file (a data-set name, a setting, a run id)
  into a safe file-name component, so a crafted ``"dataset": "/../../x"`` cannot steer a write.
* :func:`save` is the one way figures reach the disk; inside :func:`output_root` (which
  ``plots.registry.draw`` opens on ``--out``) it refuses any path that would land outside it.
* :func:`error_bar` and :func:`wilson_interval` build every interval the package draws, clipped
  so that matplotlib never sees a negative error bar (rounding made ``centre - half`` exceed a
  rate of exactly 0 or 1 by ~1e-17).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mrptheory.errors import ConfigError  # noqa: E402

DPI = 130

#: Folder every figure written now must stay inside (None: no check; see :func:`output_root`).
_OUTPUT_ROOT: contextvars.ContextVar[Path | None] = contextvars.ContextVar("mrp_output_root",
                                                                           default=None)

_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]+")


def slug(text: object, *, max_length: int = 120) -> str:
    """A safe file-name component made from ``text`` (taken from a results file).

    Runs of characters other than letters, digits and ``._+=-`` (path separators, spaces,
    control characters) become one ``_``; leading dots are dropped (no hidden files, no ``..``);
    the result is cut to ``max_length`` characters and must hold a letter or digit. Plain names (``fashion-mnist``,
    ``claims_quick``, ``sigma_p``) pass unchanged. An empty result is refused (ConfigError).
    """
    cleaned = _UNSAFE.sub("_", str(text)).lstrip(".")[:max_length]
    if not re.search(r"[A-Za-z0-9]", cleaned):
        raise ConfigError(f"cannot make a file name from {str(text)[:60]!r} (a name in the "
                          f"results file): no letters or digits left")
    return cleaned


@contextmanager
def output_root(folder: str | Path) -> Iterator[Path]:
    """Within the block, :func:`save` refuses to write anywhere outside ``folder``."""
    root = Path(folder)
    token = _OUTPUT_ROOT.set(root)
    try:
        yield root
    finally:
        _OUTPUT_ROOT.reset(token)


def checked_path(path: str | Path) -> Path:
    """``path`` when it lies inside the active :func:`output_root` (or none is active).

    Checked twice: lexically (no ``..`` component below the root, not an absolute path
    elsewhere) and after resolving symbolic links of the folder. Otherwise ConfigError, naming
    the folder: a file name in a results file tried to write outside ``--out``.
    """
    path = Path(path)
    root = _OUTPUT_ROOT.get()
    if root is None:
        return path
    inside = path.parts[:len(root.parts)] == root.parts and ".." not in path.parts[len(root.parts):]
    if inside:
        try:
            path.parent.resolve().relative_to(root.resolve())
        except ValueError:
            inside = False
    if not inside:
        raise ConfigError(f"refusing to write {path}: outside the output folder {root} (a name "
                          f"in the results file points elsewhere)")
    return path


def save(fig: "plt.Figure", path: str | Path, *, tight: bool = True, dpi: int = DPI) -> Path:
    """Save ``fig`` as PNG, creating the folder; close the figure.

    ``tight`` crops to the drawn content (``bbox_inches="tight"``); figures laid out with
    ``fig.tight_layout()`` alone keep their canvas size with ``tight=False``. Inside
    :func:`output_root` the path must stay in that folder (:func:`checked_path`). The PNG is
    rendered in memory and written atomically, so a full disk leaves no torn image behind and
    the error (:class:`~mrptheory.errors.DiskFullError`) says how many bytes were needed."""
    import io

    from mrptheory.cli_support.outputs import disk_full_error, is_disk_full
    from mrptheory.results import _atomic_write

    try:
        path = checked_path(path)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    finally:
        plt.close(fig)
    data = buffer.getvalue()
    try:
        _atomic_write(path, lambda fh: fh.write(data))
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full_error(exc, path.parent, len(data)) from None
        raise
    return path


def error_bar(y, lo, hi) -> np.ndarray:
    """Matplotlib ``yerr`` ``[2, n]`` of values ``y`` inside intervals ``[lo, hi]``.

    Each extent is ``y - lo`` below and ``hi - y`` above, clipped at 0 (a value a rounding error
    outside its interval gets a zero-length bar, never a negative one); NaN (no data) becomes 0.
    """
    y, lo, hi = (np.asarray(a, dtype=float) for a in (y, lo, hi))
    below = np.nan_to_num(np.clip(y - lo, 0.0, None), nan=0.0, posinf=0.0, neginf=0.0)
    above = np.nan_to_num(np.clip(hi - y, 0.0, None), nan=0.0, posinf=0.0, neginf=0.0)
    return np.stack([np.atleast_1d(below), np.atleast_1d(above)])


def wilson_interval(hits, counts, z: float = 1.96) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate ``hits / counts`` and its Wilson score interval (95% for ``z = 1.96``), per bin.

    Wilson: centre ``(p + z^2 / 2n) / (1 + z^2 / n)``, half-width
    ``z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n)``. Returns ``(rate, lo, hi)`` arrays;
    bins with ``counts == 0`` are NaN. ``lo, hi`` are clipped to ``[0, 1]`` and to contain the
    rate (in exact arithmetic they do; in floating point ``lo`` can exceed a rate of 0).
    """
    h = np.asarray(hits, dtype=float)
    n = np.asarray(counts, dtype=float)
    safe_n = np.maximum(n, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, h / safe_n, np.nan)
        den = 1 + z * z / safe_n
        centre = (rate + z * z / (2 * safe_n)) / den
        half = z * np.sqrt(np.clip(rate * (1 - rate), 0.0, None) / safe_n
                           + z * z / (4 * safe_n ** 2)) / den
        lo = np.clip(np.fmin(centre - half, rate), 0.0, 1.0)
        hi = np.clip(np.fmax(centre + half, rate), 0.0, 1.0)
    lo = np.where(n > 0, lo, np.nan)
    hi = np.where(n > 0, hi, np.nan)
    return rate, lo, hi
