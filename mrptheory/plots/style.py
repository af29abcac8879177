"""Shared figure conventions (sizes, DPI, saving)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 130


def save(fig: "plt.Figure", path: str | Path, *, tight: bool = True) -> Path:
    """Save ``fig`` as PNG at the package's DPI, creating the folder; close the figure.

    ``tight`` crops to the drawn content (``bbox_inches="tight"``); figures laid out with
    ``fig.tight_layout()`` alone keep their canvas size with ``tight=False``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return path
