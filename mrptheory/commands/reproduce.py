"""``mrp reproduce``: run the registry of paper claims and write the claims table.

Each claim is an executable check with the paper's statement, the measured value, the expectation
(with its tolerance) and a verdict. Finished claims are appended to ``OUT/claims.jsonl`` as they
complete, so an interrupted run resumes where it stopped (``--fresh`` starts over); the table
goes to ``OUT/claims.md`` and ``OUT/claims.json``. Each experiment's figures and numbers go to
``OUT/<experiment>/`` (``OUT/multiview/``, ``OUT/mae/``, ...: :func:`mrptheory.catalog.experiment_of`).

Resume keys hold a fingerprint of every input (:func:`run_inputs`: mode, seed, device, package
version, and each data set's folder and files), so a stored verdict is reused only by a run with
the same inputs: installing or replacing a data set re-runs the claims. A check that crashed or
could not run (missing data) is recorded but never reused. The table is a view of the store for
the chosen mode and seed: every registered claim has a row, its stored result for these inputs or
"not run" (not run yet in this mode/seed), so ``--only`` and a switch of ``--seed`` never drop
rows. Each claim runs through :meth:`~mrptheory.results.JsonlStore.get_or_run`, so two concurrent
runs into one folder check each claim once.

Jobs: ``--launcher submitit`` (and the Slurm options, :mod:`mrptheory.launch.options`) runs each
experiment's claims without a final record as one job (:mod:`mrptheory.commands.reproduce_jobs`:
the claims of an experiment share their studies); the stored records and the table are the same.

Natural images: ``--image-folder PATH`` names a CIFAR-10 image folder or archive (the
``cifar10-jpeg`` data set) for the CIFAR-10 rows; a ``--data-root`` that is itself an image folder
or archive is taken as ``--image-folder`` (Fashion-MNIST then keeps its default location). Either
sets ``$MRP_CIFAR10_JPEG_DIR`` for the run, as a user may set it by hand.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import click

from mrptheory.cli_support.options import (data_root_option, device_option, out_option,
                                           progress_option, seed_option)
from mrptheory.commands.claim_records import image_folder_env, valid_claim_record
from mrptheory.errors import ConfigError
from mrptheory.launch.options import launcher_options, pop_launcher_options


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


#: The reason shown for a registered claim that has no result yet in the chosen mode and seed.
NOT_RUN_YET = "not run yet in this mode/seed"


def claim_key(claim_id: str, mode: str, seed: int, inputs: str) -> str:
    """Store key of one claim's result: its id, the mode, the seed and the inputs' fingerprint."""
    return f"{claim_id}|{mode}|seed={seed}|inputs={inputs}"


def table_rows(stored: list[dict], claims: dict[str, Any], mode: str, seed: int,
               inputs: str) -> list[dict]:
    """The claims table as a view of the store: one row per registered claim, in registry order.

    A claim's row is its stored result for this mode, seed and inputs; a claim without one is
    shown as "not run" (reason :data:`NOT_RUN_YET`, plus a note when results of this mode and
    seed exist for other inputs: changed data, device or package version).
    """
    from mrptheory.claims.registry import Verdict

    by_key = {str(r.get("key")): r for r in stored}
    rows = []
    for cid, claim in claims.items():
        row = by_key.get(claim_key(cid, mode, seed, inputs))
        if row is None:
            prefix = claim_key(cid, mode, seed, "")
            other = any(k.startswith(prefix) for k in by_key)
            reason = NOT_RUN_YET + ("; its earlier results were computed from other inputs (data, "
                                    "device or package version)" if other else "")
            row = {"claim_id": cid, "paper": claim.paper, "statement": claim.statement,
                   "measured": reason, "expectation": "", "verdict": Verdict.NOT_RUN.value,
                   "conditions": "", "details": {}, "final": False}
        rows.append(row)
    return rows


def split_image_folder(data_root: str | None, image_folder: str | None
                       ) -> tuple[str | None, str | None]:
    """(Fashion-MNIST's data root, the image folder): a ``--data-root`` that is an image folder or
    archive (:func:`~mrptheory.data.loaders.imagefolder.is_image_folder`) becomes the image
    folder unless ``--image-folder`` is given."""
    from mrptheory.data.loaders.imagefolder import is_image_folder

    if image_folder is None and data_root is not None and is_image_folder(data_root):
        return None, data_root
    return data_root, image_folder


def _run_here(claims: dict, store, context_of, mode: str, seed: int, inputs: str) -> list[dict]:
    """Every claim in this process, in registry order (stored final records reused)."""
    from mrptheory.claims.registry import is_final, run_claim

    records = []
    for cid, claim in claims.items():
        key = claim_key(cid, mode, seed, inputs)
        old = store.get(key)
        ran: list[dict] = []

        def compute(claim=claim, cid=cid, old=old) -> dict:
            why = "" if old is None else " (earlier attempt crashed or could not run)"
            click.echo(f"[run] {cid}{why} ...")
            ran.append(run_claim(claim, context_of(claim)))
            return ran[-1]

        record = store.get_or_run(key, compute, reuse=is_final)
        records.append(record)
        if not ran:
            click.echo(f"[resume] {cid}: {record['verdict']} (from {store.path})")
            continue
        said = record["measured"]  # a "not run: ..." row already starts with its verdict
        click.echo(f"      {said}" if said.startswith(record["verdict"])
                   else f"      {record['verdict']}: {said}")
        if "error" in record:
            click.echo(record["details"].get("traceback", ""), err=True)
    return records


def _run_as_jobs(claims: dict, store, launcher, *, out: Path, quick: bool, mode: str, seed: int,
                 inputs: str, data_root, device: str, image_folder, progress
                 ) -> tuple[list[dict], Exception | None]:
    """The claims without a final record, one job per experiment
    (:mod:`mrptheory.commands.reproduce_jobs`); returns every selected claim's stored record and
    the jobs' failure (:class:`~mrptheory.launch.unit.UnitsFailedError`, or None), which the
    caller raises after writing the table of what finished."""
    from mrptheory.launch.unit import UnitsFailedError
    from mrptheory.catalog import experiment_of
    from mrptheory.claims.registry import is_final
    from mrptheory.commands.reproduce_jobs import run_claims_as_jobs

    pending: dict[str, list[tuple[str, str]]] = {}
    for cid, claim in claims.items():
        key = claim_key(cid, mode, seed, inputs)
        old = store.get(key)
        if old is not None and is_final(old):
            click.echo(f"[resume] {cid}: {old['verdict']} (from {store.path})")
        else:
            pending.setdefault(experiment_of(claim), []).append((cid, key))
    folder = None if image_folder is None else str(Path(image_folder).expanduser().resolve())
    failure = None
    try:
        run_claims_as_jobs(pending, store, launcher, out=out, quick=quick, mode=mode, seed=seed,
                           inputs=inputs, data_root=data_root, device=device, image_folder=folder,
                           echo=click.echo, show_progress=progress)
    except UnitsFailedError as exc:
        failure = exc
    records = [store.get(claim_key(cid, mode, seed, inputs)) for cid in claims]
    return [r for r in records if r is not None], failure


@click.command()
@click.option("--quick/--full", default=False, show_default=True,
              help="--quick: small, fast versions of every check (about 6 minutes on 2 CPU cores, "
                   "over a third of it the MAE protocol; CIFAR-10, when present, adds about 3 minutes).")
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
@launcher_options
def reproduce(quick, patterns, list_only, fresh, image_folder, out_dir, data_root, device, seed,
              progress, **launch):
    """Check the papers' claims and write OUT/claims.md (statement, measured, expected, verdict).

    With --launcher submitit, each experiment's pending claims run as one job (they share their
    studies); the table is written from the store when the jobs are done."""
    launcher = pop_launcher_options(launch)
    if data_root is not None and not Path(data_root).exists():
        raise ConfigError(f"--data-root {data_root}: no such file or folder")
    data_root, image_folder = split_image_folder(data_root, image_folder)
    if image_folder is not None and not Path(image_folder).expanduser().exists():
        raise ConfigError(f"--image-folder {image_folder} does not exist")
    with image_folder_env(image_folder):
        _reproduce(quick, patterns, list_only, fresh, out_dir, data_root, device, seed, progress,
                   launcher, image_folder)


def _reproduce(quick, patterns, list_only, fresh, out_dir, data_root, device, seed, progress,
               launcher, image_folder):
    from mrptheory.catalog import all_claims, experiment_of
    from mrptheory.claims.registry import ClaimContext, counts_line, markdown_table, verdict_legend
    from mrptheory.commands.reproduce_jobs import UNITS_STORE, job_device_label
    from mrptheory.device import resolve_device
    from mrptheory.results import JsonlStore, fingerprint, save_json

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
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = JsonlStore(out / "claims.jsonl", validate=valid_claim_record)
    if fresh and store.path.exists():
        store.path.unlink()
    contexts: dict[str, ClaimContext] = {}  # one per experiment: its figures go to OUT/<name>/

    def context_of(claim) -> ClaimContext:
        name = experiment_of(claim)
        if name not in contexts:
            contexts[name] = ClaimContext(quick=quick, out_dir=out / name if name else out,
                                          data_root=data_root, device=device, seed=seed,
                                          progress=progress)
        return contexts[name]

    mode = "quick" if quick else "full"
    jobs = launcher.name != "local"
    inputs = fingerprint(run_inputs(mode, seed, job_device_label(device) if jobs else str(resolved),
                                    data_root))
    if fresh:
        (out / UNITS_STORE).unlink(missing_ok=True)
    failure = None
    if jobs:
        records, failure = _run_as_jobs(claims, store, launcher, out=out, quick=quick, mode=mode,
                               seed=seed, inputs=inputs, data_root=data_root, device=device,
                               image_folder=image_folder, progress=progress)
    else:
        records = _run_here(claims, store, context_of, mode, seed, inputs)
    rows = table_rows(list(store.records()), all_claims(), mode, seed, inputs)
    table = markdown_table(rows)
    header = (f"# Claims checked by `mrp reproduce{' --quick' if quick else ''}`\n\n"
              f"Mode: {mode}; seed {seed}. Verdicts are computed, never edited by hand.\n\n"
              f"{counts_line(rows)}.\n\n")
    legend = "\nVerdicts:\n" + verdict_legend() + "\n"
    (out / "claims.md").write_text(header + table + legend)
    save_json(out / "claims.json", {"mode": mode, "seed": seed, "claims": rows})
    click.echo("\n" + table)
    this_run = {r["claim_id"] for r in records}
    missing = sum(r["measured"].startswith(NOT_RUN_YET) for r in rows)
    kept = len(rows) - len(this_run) - missing
    notes = ([f"{kept} rows from earlier runs"] if kept else []) + \
        ([f"{missing} {NOT_RUN_YET}"] if missing else [])
    merged = f" ({'; '.join(notes)})" if notes else ""
    click.echo(f"{counts_line(rows)}; wrote {out / 'claims.md'}{merged}")
    if failure is not None:
        raise failure
    crashed = [r["claim_id"] for r in records
               if "error" in r or r["measured"].startswith("check failed")]
    if crashed:
        raise click.ClickException(f"checks that crashed (a bug, reported as inconclusive; rerun to "
                                   f"retry them): {', '.join(crashed)}")
