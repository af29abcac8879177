"""``mrp reproduce --launcher submitit``: the claims as jobs, one job per experiment.

The unit of work is an experiment's pending claims, not a single claim: the claims of one
experiment read the same studies (the multi-view comparison, the MAE protocol, a data set's
projection sweep), which :meth:`~mrptheory.claims.registry.ClaimContext.shared` computes once per
context. One job per experiment keeps that: each study is computed once, in one job, and the
experiments run side by side. (One job per claim would train each shared study once per claim,
or make the jobs wait on each other's store locks, which a cluster's network file system does
not honour reliably.)

A group's record (in ``OUT/claims_units.jsonl``) holds the claim records its job computed; the
parent then stores each of them under its claim key in ``OUT/claims.jsonl``, exactly as the local
run does, so the table, ``--only`` and resuming work the same. A group is keyed by its claims'
ids as well as the mode, seed and inputs, so a rerun submits a job for exactly the claims still
without a final record (crashed checks and "not run" rows included, as locally).

Inputs: a job resolves ``--device`` on its own node (a GPU node may serve a CPU-only login
node), so the inputs' fingerprint holds the device option as given (``job:auto``) and each claim
record says the device its job used (``job_device``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mrptheory.commands.claim_records import valid_claim_record
from mrptheory.errors import ConfigError
from mrptheory.launch.unit import Launcher, Unit, UnitsFailedError
from mrptheory.results import JsonlStore, fingerprint

#: The store of the groups' records, beside ``claims.jsonl``.
UNITS_STORE = "claims_units.jsonl"


def job_device_label(device: str) -> str:
    """The device entry of the inputs' fingerprint for claims run as jobs (see the module doc)."""
    return f"job:{device}"


def group_key(experiment: str, claim_ids: Sequence[str], mode: str, seed: int,
              inputs: str) -> str:
    """Key of one experiment's group of claims: the experiment, the claims (their ids'
    fingerprint), the mode, the seed and the inputs' fingerprint."""
    return (f"experiment={experiment or '-'}|{mode}|seed={seed}|inputs={inputs}"
            f"|claims={fingerprint(sorted(claim_ids))}")


def run_claim_group(claim_ids: list[str], *, quick: bool, out_dir: str, data_root: str | None,
                    device: str, seed: int, image_folder: str | None) -> dict[str, Any]:
    """The body of one job: the claims ``claim_ids`` (of one experiment, in registry order) run
    with one :class:`~mrptheory.claims.registry.ClaimContext`, so their shared studies are computed
    once. Returns ``{"claims": [claim record, ...], "job_device": resolved device}``."""
    from mrptheory.catalog import all_claims
    from mrptheory.claims.registry import ClaimContext, run_claim
    from mrptheory.commands.claim_records import image_folder_env
    from mrptheory.device import resolve_device

    claims = all_claims()
    unknown = [cid for cid in claim_ids if cid not in claims]
    if unknown:  # the job runs other code than the parent (a changed checkout)
        raise ConfigError(f"claims {', '.join(unknown)} are not registered in the job's package")
    job_device = str(resolve_device(device))
    with image_folder_env(image_folder):
        ctx = ClaimContext(quick=quick, out_dir=Path(out_dir), data_root=data_root, device=device,
                           seed=seed, progress=False)
        records = [run_claim(claims[cid], ctx) for cid in claim_ids]
    for record in records:
        record["job_device"] = job_device
    return {"claims": records, "job_device": job_device}


def _group_is_final(record: dict) -> bool:
    from mrptheory.claims.registry import is_final

    return all(is_final(r) for r in record.get("claims", []))


def _valid_group_record(record: dict) -> str | None:
    """Why a stored group record cannot be used (no claim list, an invalid claim record)."""
    claims = record.get("claims")
    if not isinstance(claims, list) or not all(isinstance(r, dict) for r in claims):
        return "no list of claim records"
    return next((why for why in map(valid_claim_record, claims) if why), None)


def run_claims_as_jobs(pending: dict[str, list[tuple[str, str]]], store: JsonlStore,
                       launcher: Launcher, *, out: Path, quick: bool, mode: str, seed: int,
                       inputs: str, data_root: str | None, device: str,
                       image_folder: str | None, echo: Callable[[str], None],
                       show_progress: bool | None) -> None:
    """Run ``pending`` (experiment -> [(claim id, claim key)]) as one job per experiment and
    store every claim record the jobs return under its claim key in ``store``.

    Groups whose jobs finished are stored even when others failed; the failures are then raised
    (:class:`~mrptheory.launch.unit.UnitsFailedError`: one line per failed job, with its log)."""
    from mrptheory.claims.registry import is_final
    from mrptheory.launch import run_units

    units_store = JsonlStore(out / UNITS_STORE, validate=_valid_group_record)
    units, keys_of = [], {}
    for experiment, claims in pending.items():
        ids = [cid for cid, _ in claims]
        key = group_key(experiment, ids, mode, seed, inputs)
        keys_of[key] = claims
        units.append(Unit(key, run_claim_group, (ids,),
                          dict(quick=quick, out_dir=str(out / experiment if experiment else out),
                               data_root=data_root, device=device, seed=seed,
                               image_folder=image_folder),
                          validate=_valid_group_record))
        echo(f"[job] {experiment or '(no experiment)'}: {', '.join(ids)}")
    failure: UnitsFailedError | None = None
    try:
        run_units(units, units_store, launcher, desc="claims", show_progress=show_progress,
                  reuse=_group_is_final)
    except UnitsFailedError as exc:
        failure = exc
    finished = {str(r["key"]): r for r in units_store.records() if r.get("key") in keys_of}
    for key, claims in keys_of.items():
        group = finished.get(key)
        if group is None:
            continue
        for (cid, claim_key), record in zip(claims, group["claims"]):
            stored = store.get_or_run(claim_key, lambda record=record: record, reuse=is_final)
            said = stored["measured"]
            echo(f"[done] {cid} ({stored.get('job_device', '?')}): " +
                 (said if said.startswith(stored["verdict"]) else f"{stored['verdict']}: {said}"))
    if failure is not None:
        raise failure


__all__ = ["run_claims_as_jobs", "run_claim_group", "group_key", "job_device_label",
           "UNITS_STORE"]
