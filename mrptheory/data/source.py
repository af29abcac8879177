"""What a job needs to read a sweep's data on its own node: a small, picklable reference.

A sweep run as jobs (one per unit, :mod:`mrptheory.launch`) must not pickle its image arrays into
every job. It hands each job a :class:`DataSource` instead: the data set's registry name, the
folder it was read from (``--data-root``; None = ``$MRP_<NAME>_DIR`` or the default location, as
on the submitting node) and the content fingerprint of the splits the parent loaded
(:func:`~mrptheory.data.registry.splits_fingerprint`: a SHA-256 of both splits' images, labels and
class names). :meth:`DataSource.load` reads the splits there and refuses, in one line, splits
whose fingerprint differs (another copy of the files on the job's node, a folder that changed
since the sweep was submitted), so a unit is never computed from other data than its key names.
"""

from __future__ import annotations

import dataclasses

from mrptheory.data.dataset import DatasetSplits
from mrptheory.errors import MrpError


class DataMismatchError(MrpError):
    """The data a job loaded are not the data its sweep was submitted with."""


@dataclasses.dataclass(frozen=True)
class DataSource:
    """A data set by name and folder, with the fingerprint its loaded splits must have.

    ``fingerprint``: :func:`~mrptheory.data.registry.splits_fingerprint` of the splits the
    submitting process loaded (:meth:`of` computes it).
    """

    dataset: str
    data_root: str | None
    fingerprint: str

    @classmethod
    def of(cls, dataset: str, data_root: str | None, splits: DatasetSplits) -> DataSource:
        """The source of ``splits``, loaded here from ``dataset`` at ``data_root``."""
        from mrptheory.data.registry import splits_fingerprint

        return cls(dataset, None if data_root is None else str(data_root),
                   splits_fingerprint(splits))

    def load(self) -> DatasetSplits:
        """The splits, read on this node; :class:`DataMismatchError` (one line) when their
        fingerprint is not :attr:`fingerprint`."""
        from mrptheory.data.registry import load_dataset, splits_fingerprint

        splits = load_dataset(self.dataset, self.data_root)
        found = splits_fingerprint(splits)
        if found != self.fingerprint:
            where = self.data_root or "its default location"
            raise DataMismatchError(
                f"data set {self.dataset} read from {where} has fingerprint {found}, not "
                f"{self.fingerprint} as when the sweep was submitted: the job's node sees other "
                "files; give --data-root a folder every node shares")
        return splits


__all__ = ["DataSource", "DataMismatchError"]
