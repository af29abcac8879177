"""``mrp datasets``: which real data sets are on this machine, where we looked, and their sizes."""

from __future__ import annotations

import click

from mrptheory.data.registry import DATASET_NAMES, DatasetStatus, canonical_name, dataset_status
from mrptheory.errors import ConfigError


def _parse_roots(values: tuple[str, ...]) -> dict[str, str]:
    """``("cifar10=/data/cifar", ...)`` -> ``{"cifar10": "/data/cifar"}``; ConfigError if bad."""
    roots: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not path:
            raise ConfigError(f"--data-root must be NAME=PATH (NAME one of "
                              f"{', '.join(DATASET_NAMES)}), got {value!r}")
        roots[canonical_name(name)] = path
    return roots


def _row(st: DatasetStatus) -> tuple[str, str, str, str]:
    if st.corrupt:
        state = "CORRUPT"
    else:
        state = "found" if st.found else "missing"
    where = f"{st.where} ({st.source})" if st.where is not None else f"- ({st.source})"
    sizes = str(st.summary) if st.summary is not None else ""
    return st.name, state, where, sizes


@click.command()
@click.option("--data-root", "data_roots", multiple=True, metavar="NAME=PATH",
              help="Look for data set NAME in PATH (repeatable), overriding MRP_<NAME>_DIR and "
                   "the default location.")
@click.option("--check", is_flag=True,
              help="Load every data set found (verifies every file; TinyImageNet's first load "
                   "decodes all JPEGs and writes its cache, which takes minutes).")
@click.option("--verbose", "-v", is_flag=True, help="Also print why each missing data set was "
                                                     "not found and how to get it.")
def datasets(data_roots: tuple[str, ...], check: bool, verbose: bool) -> None:
    """List the real data sets (found or missing, where we looked, sizes when found).

    Each data set is looked for in: --data-root NAME=PATH, else the environment variable
    MRP_<NAME>_DIR (MRP_FASHION_MNIST_DIR, MRP_MNIST_DIR, MRP_CIFAR10_DIR, MRP_CIFAR100_DIR,
    MRP_SVHN_DIR, MRP_TINYIMAGENET_DIR, MRP_FOLDER_DIR, MRP_CIFAR10_JPEG_DIR), else the default
    location (Fashion-MNIST: /usr/share/datasets/fashion-mnist from `apt-get install
    dataset-fashion-mnist`; MNIST: /usr/share/datasets/mnist; the others have none). Nothing is
    downloaded. Exits with 1 when a data set is found but corrupt.

    \b
    Image folders: 'folder' reads any train/<class>/ + test/<class>/ (or val/) folder of JPEG/PNG
    files, or a .tar/.tar.gz/.zip of one (read in memory, never extracted); 'cifar10-jpeg' is
    the same loader checked to hold CIFAR-10. The first look decodes every image into the cache
    ($MRP_CACHE_DIR, else $XDG_CACHE_HOME/mrptheory, else ~/.cache/mrptheory); later looks read
    the cache. Example: mrp datasets --data-root cifar10-jpeg=../shared/data/cifar10-jpeg-15k.tar.gz
    """
    roots = _parse_roots(data_roots)
    statuses = [dataset_status(n, roots.get(n), check=check) for n in DATASET_NAMES]
    header = ("data set", "status", "where", "sizes")
    rows = [header] + [_row(st) for st in statuses]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3])
    notes = [st for st in statuses if st.corrupt or (verbose and not st.found)]
    for st in notes:
        click.echo(f"{st.name}: {st.message}", err=st.corrupt)
    if any(st.corrupt for st in statuses):
        raise SystemExit(1)
