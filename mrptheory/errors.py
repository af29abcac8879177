"""Exceptions a user can act on.

Every error that stems from user input (a bad config value, a missing data set, a corrupt file)
derives from :class:`MrpError`. The CLI turns these into a one-line message and a non-zero exit
code instead of a traceback; library users can catch them by type.
"""

from __future__ import annotations


class MrpError(Exception):
    """Base class of user-actionable errors. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 2


class ConfigError(MrpError, ValueError):
    """A parameter is outside its allowed range; the message names the parameter and the range."""


class DatasetNotFoundError(MrpError, FileNotFoundError):
    """A data set is not where we looked; the message says where, and how to get it."""


class CorruptDatasetError(MrpError):
    """A data file exists but cannot be parsed (truncated, wrong magic number...); names the file.

    Bad input like any other: the CLI exits with code 2 (``mrp datasets`` reports corrupt files in
    its table and exits 1).
    """


class CorruptCheckpointError(MrpError):
    """A checkpoint file exists but cannot be loaded (empty, truncated, not a checkpoint).

    Checkpoints are written atomically, so this means outside damage (a full disk, a partial
    copy); the message names the file and how to start that run over.
    """


class DiskFullError(MrpError):
    """A write failed for lack of space: the disk or quota is full (ENOSPC, EDQUOT) or a file
    size limit was hit (EFBIG, ``ulimit -f``). The message names the folder and, where known,
    the space needed; what was already stored stays intact (writes are atomic)."""


class MrpWarning(UserWarning):
    """Something the user should know that does not stop the run (e.g. a torn store line).

    The CLI prints these as one ``warning: ...`` line (no source-code location).
    """
