"""``mrp reproduce``: run the registry of paper claims and write the claims table.

Each claim is an executable check with the paper's statement, the measured value, the expectation
(with its tolerance) and a verdict. Finished claims are appended to ``OUT/claims.jsonl`` as they
complete, so an interrupted run resumes where it stopped (``--fresh`` starts over); the table
goes to ``OUT/claims.md`` and ``OUT/claims.json``.

Resume keys hold a fingerprint of every input (:func:`run_inputs`: mode, seed, device, package
version, and each data set's folder and files), so a stored verdict is reused only by a run with
the same inputs: installing or replacing a data set re-runs the claims. A check that crashed or
could not run (missing data) is recorded but never reused. ``--only`` merges its rows into the
existing table of the same mode and seed (other claims' rows are kept).

Natural images: ``--image-folder PATH`` names a CIFAR-10 image folder or archive (the
``cifar10-jpeg`` data set) for the CIFAR-10 rows; a ``--data-root`` that is itself an image folder
or archive is taken as ``--image-folder`` (Fashion-MNIST then keeps its default location). Either
sets ``$MRP_CIFAR10_JPEG_DIR`` for the run, as a user may set it by hand.
"""

from __future__ import annotations

import fnmatch
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from mrptheory.commands.options import data_root_option, device_option, out_option, progress_option, seed_option
from mrptheory.errors import ConfigError


def run_inputs(mode: str, seed: int, device: str, data_root: str | None) -> dict[str, Any]:
    """Everything a claim's result depends on besides the code's claim id (see module doc).

    Data sets: Fashion-MNIST is read from ``--data-root`` (else its env var / default), the
    others from their env var / default location, as the claims do; each contributes its folder
    and its files' identity (:func:`~mrptheory.data.registry.dataset_identity`: a stat, no reading).
    """
    import mrptheory
    from mrptheory.data.registry import DATASET_NAMES, dataset_identity

    data = {name: dataset_identity(name, data_root if name == "fashion-mnist" else None)
            for name in DATASET_NAMES}
    return {"mode": mode, "seed": seed, "device": device, "version": mrptheory.__version__,
            "data": data}


def split_image_folder(data_root: str | None, image_folder: str | None
                       ) -> tuple[str | None, str | None]:
    """(Fashion-MNIST's data root, the image folder): a ``--data-root`` that is an image folder or
    archive (:func:`~mrptheory.data.loaders.imagefolder.is_image_folder`) becomes the image
    folder unless ``--image-folder`` is given."""
    from mrptheory.data.loaders.imagefolder import is_image_folder

    if image_folder is None and data_root is not None and is_image_folder(data_root):
        return None, data_root
    return data_root, image_folder


@contextmanager
def image_folder_env(image_folder: str | None):
    """``$MRP_CIFAR10_JPEG_DIR`` set to ``image_folder`` for the run (restored after)."""
    from mrptheory.data.registry import env_var

    var = env_var("cifar10-jpeg")
    old = os.environ.get(var)
    if image_folder is not None:
        os.environ[var] = str(Path(image_folder).expanduser().resolve())
    try:
        yield
    finally:
        if image_folder is not None:
            if old is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = old


def _merge(previous: dict[str, Any] | None, records: list[dict], order: list[str], mode: str,
           seed: int) -> list[dict]:
    """Rows of an earlier table (same mode and seed) updated with ``records``, in registry order."""
    rows: dict[str, dict] = {}
    if previous and previous.get("mode") == mode and previous.get("seed") == seed:
        rows = {r["claim_id"]: r for r in previous.get("claims", []) if "claim_id" in r}
    rows.update({r["claim_id"]: r for r in records})
    rank = {cid: i for i, cid in enumerate(order)}
    return sorted(rows.values(), key=lambda r: rank.get(r["claim_id"], len(rank)))


@click.command()
@click.option("--quick/--full", default=False, show_default=True,
              help="--quick: small, fast versions of every check (about 9 minutes on 2 CPU cores, "
                   "half of it the small MAE sweep; CIFAR-10, when present, adds about 5.5 minutes).")
@click.option("--only", "patterns", multiple=True, metavar="PATTERN",
              help="Run only claims whose id matches this glob (repeatable), e.g. 'bl-*'.")
@click.option("--list", "list_only", is_flag=True, help="List the registered claims and exit.")
@click.option("--fresh", is_flag=True, help="Ignore results of an earlier, interrupted run.")
@click.option("--image-folder", type=click.Path(), default=None,
              help="CIFAR-10 as an image folder (train/<class>/, test/<class>/ of JPEG/PNG) or a "
                   ".tar/.tar.gz/.zip of one, for the CIFAR-10 rows (default: the CIFAR-10 "
                   "pickles of $MRP_CIFAR10_DIR, else $MRP_CIFAR10_JPEG_DIR). A --data-root that "
                   "is an image folder or archive counts as --image-folder.")
@out_option
@data_root_option
@device_option
@seed_option
@progress_option
def reproduce(quick, patterns, list_only, fresh, image_folder, out_dir, data_root, device, seed,
              progress):
    """Check the papers' claims and write OUT/claims.md (statement, measured, expected, verdict)."""
    data_root, image_folder = split_image_folder(data_root, image_folder)
    if image_folder is not None and not Path(image_folder).expanduser().exists():
        raise ConfigError(f"--image-folder {image_folder} does not exist")
    with image_folder_env(image_folder):
        _reproduce(quick, patterns, list_only, fresh, out_dir, data_root, device, seed, progress)


def _reproduce(quick, patterns, list_only, fresh, out_dir, data_root, device, seed, progress):
    from mrptheory.claims.registry import (ClaimContext, all_claims, counts_line, is_final,
                                           markdown_table, run_claim, verdict_legend)
    from mrptheory.device import resolve_device
    from mrptheory.results import JsonlStore, fingerprint, load_json, save_json

    claims = all_claims()
    if patterns:
        selected = {cid: c for cid, c in claims.items()
                    if any(fnmatch.fnmatch(cid, p) for p in patterns)}
        if not selected:
            raise ConfigError(f"--only {' '.join(patterns)} matches no claim; "
                              f"known: {', '.join(claims)}")
        claims = selected
    if list_only:
        for cid, c in claims.items():
            click.echo(f"{cid:40s} [{c.paper}] {c.statement}")
        return
    resolved = resolve_device(device)  # a bad --device fails here, not inside a check
    registry_order = list(all_claims())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = JsonlStore(out / "claims.jsonl")
    if fresh and store.path.exists():
        store.path.unlink()
    ctx = ClaimContext(quick=quick, out_dir=out, data_root=data_root, device=device, seed=seed,
                       progress=progress)
    mode = "quick" if quick else "full"
    inputs = fingerprint(run_inputs(mode, seed, str(resolved), data_root))
    previous = {r["key"]: r for r in store.records()}
    records = []
    for cid, claim in claims.items():
        key = f"{cid}|{mode}|seed={seed}|inputs={inputs}"
        old = previous.get(key)
        if old is not None and is_final(old):
            click.echo(f"[resume] {cid}: {old['verdict']} (from {store.path})")
            records.append(old)
            continue
        why = "" if old is None else " (earlier attempt crashed or could not run)"
        click.echo(f"[run] {cid}{why} ...")
        record = run_claim(claim, ctx)
        record["key"] = key
        store.append(record)
        records.append(record)
        click.echo(f"      {record['verdict']}: {record['measured']}")
        if "error" in record:
            click.echo(record["details"].get("traceback", ""), err=True)
    earlier = None
    if patterns and (out / "claims.json").is_file():
        try:
            earlier = load_json(out / "claims.json")
        except (ValueError, OSError):
            click.echo(f"note: {out / 'claims.json'} is unreadable; writing a table of the "
                       f"selected claims only", err=True)
    rows = _merge(earlier if isinstance(earlier, dict) else None, records, registry_order, mode, seed)
    table = markdown_table(rows)
    header = (f"# Claims checked by `mrp reproduce{' --quick' if quick else ''}`\n\n"
              f"Mode: {mode}; seed {seed}. Verdicts are computed, never edited by hand.\n\n"
              f"{counts_line(rows)}.\n\n")
    legend = "\nVerdicts:\n" + verdict_legend() + "\n"
    (out / "claims.md").write_text(header + table + legend)
    save_json(out / "claims.json", {"mode": mode, "seed": seed, "claims": rows})
    click.echo("\n" + table)
    kept = len(rows) - len(records)
    merged = f" ({kept} rows kept from the earlier table)" if kept else ""
    click.echo(f"{counts_line(rows)}; wrote {out / 'claims.md'}{merged}")
    crashed = [r["claim_id"] for r in records
               if "error" in r or r["measured"].startswith("check failed")]
    if crashed:
        raise click.ClickException(f"checks that crashed (a bug, reported as inconclusive; rerun to "
                                   f"retry them): {', '.join(crashed)}")
