"""Claim registry: each paper claim is a named, executable check with an honest verdict.

Verdicts:
    * ``confirmed``   -- the measurement meets the stated expectation within its tolerance.
    * ``refuted``     -- the measurement contradicts the expectation under the stated conditions.
    * ``inconclusive``-- the check could not decide (data missing, too small a run, in-between).

A check never tunes its threshold to pass: the expectation and tolerance are fixed in the code
before anything is measured, and are printed beside the measured value.

A claim is two functions: ``measure(ctx) -> Measurement`` (runs or loads the experiment and
returns plain numbers, the conditions and what could not be run) and a pure
``judge(Measurement) -> ClaimResult`` (the verdict ladder, the measured string and the
expectation), so every verdict ladder can be tested with literal numbers. Expensive studies that
several claims read are memoised on the context (:meth:`ClaimContext.shared`): they run once per
``mrp reproduce`` run and never leak into another run or test.
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Modules that register claims when imported (later work appends to this list).
CLAIM_MODULES: list[str] = [
    "mrptheory.claims.linear",
    "mrptheory.claims.multiview",
    "mrptheory.claims.real_data",
    "mrptheory.claims.mae",
]


class Verdict(str, enum.Enum):
    CONFIRMED = "confirmed"
    REFUTED = "refuted"
    INCONCLUSIVE = "inconclusive"


@dataclass
class ClaimContext:
    """What a check may use: run size, where to write figures/results, data and compute."""

    quick: bool = True
    out_dir: Path = Path("paper_figs")
    data_root: str | None = None
    device: str = "auto"
    seed: int = 0
    progress: bool = True
    _memo: dict[tuple, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def shared(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per context and ``key`` (a tuple naming the study and its inputs).

        The memo belongs to this context, so a study shared by several claims runs once per
        reproduce run and a new context (another run, another test) starts empty. A ``compute``
        that raises is not memoised (the next claim tries again and reports the same error).
        """
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


@dataclass
class Measurement:
    """What a claim's ``measure(ctx)`` returns and its ``judge`` reads.

    Attributes:
        values: the measured numbers (plain floats, lists, dicts), named by the claim.
        conditions: the conditions under which they were measured ("" when nothing ran).
        not_run: why the measurement (or part of it) could not be made, "" when complete.
    """

    values: dict[str, Any] = field(default_factory=dict)
    conditions: str = ""
    not_run: str = ""


@dataclass
class ClaimResult:
    """Outcome of one check.

    Attributes:
        measured: the measured value(s), human-readable (e.g. ``"top-90%: 0.85, bottom-20%: 0.80"``).
        expectation: what the paper predicts, with the tolerance and the reason for it.
        verdict: :class:`Verdict`.
        details: machine-readable numbers behind ``measured`` (saved to JSON).
        conditions: the conditions under which this was measured (data set, sizes, seeds).
    """

    measured: str
    expectation: str
    verdict: Verdict
    details: dict[str, Any] = field(default_factory=dict)
    conditions: str = ""


@dataclass(frozen=True)
class Claim:
    """A registered claim: id, source paper, the paper's statement, ``measure`` and ``judge``.

    ``measure(ctx)`` returns a :class:`Measurement` and the pure ``judge(measurement)`` turns it
    into a :class:`ClaimResult`. Without a judge, ``measure`` is a complete check returning the
    :class:`ClaimResult` itself (small ad-hoc claims, tests).
    """

    claim_id: str
    paper: str
    statement: str
    measure: Callable[[ClaimContext], Any]
    judge: Callable[[Any], ClaimResult] | None = None

    def check(self, ctx: ClaimContext) -> ClaimResult:
        """Measure, then judge."""
        measured = self.measure(ctx)
        return measured if self.judge is None else self.judge(measured)


_REGISTRY: dict[str, Claim] = {}


def register_claim(claim_id: str, *, paper: str, statement: str,
                   judge: Callable[[Any], ClaimResult] | None = None):
    """Decorator registering ``measure(ctx)`` (and its pure ``judge``) under ``claim_id``.

    The id must be unique (re-importing the same module is fine). Without ``judge`` the decorated
    function is a complete ``check(ctx) -> ClaimResult``.
    """

    def decorate(measure: Callable[[ClaimContext], Any]):
        if claim_id in _REGISTRY and _REGISTRY[claim_id].measure is not measure:
            existing = _REGISTRY[claim_id].measure
            if (existing.__module__, existing.__qualname__) != (measure.__module__,
                                                                measure.__qualname__):
                raise ValueError(f"claim id {claim_id!r} registered twice")
        _REGISTRY[claim_id] = Claim(claim_id, paper, statement, measure, judge)
        return measure

    return decorate


def all_claims() -> dict[str, Claim]:
    """Import every module in CLAIM_MODULES and return the registry, in registration order."""
    for module in CLAIM_MODULES:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return dict(_REGISTRY)


#: Phrases in ``measured`` of an inconclusive check that could not run (or could run only in
#: part) because inputs were missing, e.g. "real data: not run (Fashion-MNIST not found ...)";
#: such a result is recorded but never reused by a resumed ``mrp reproduce``.
NOT_RUN_MARKERS: tuple[str, ...] = ("not run", "not measured")


def is_final(record: dict[str, Any]) -> bool:
    """Whether a stored claim record may be reused: it neither crashed nor lacked its inputs."""
    if record.get("error") or str(record.get("measured", "")).startswith("check failed"):
        return False
    measured = str(record.get("measured", ""))
    return not (record.get("verdict") == Verdict.INCONCLUSIVE.value
                and any(marker in measured for marker in NOT_RUN_MARKERS))


def run_claim(claim: Claim, ctx: ClaimContext) -> dict[str, Any]:
    """Run one check (measure, then judge); an exception is recorded, never swallowed, never final.

    A crash must not hide the other claims, so it becomes an inconclusive record carrying
    ``error`` (type and message) and the traceback in ``details``; the caller reports it (``mrp
    reproduce`` prints the traceback and exits non-zero) and a resumed run re-runs the check.
    A user-input error from a check (missing or corrupt data: an MrpError) is "not run".
    ``final`` is False for both (see :func:`is_final`).
    """
    from mrptheory.errors import MrpError

    start = time.perf_counter()
    error = None
    measurement = None
    try:
        if claim.judge is None:
            result = claim.measure(ctx)
        else:
            measurement = claim.measure(ctx)
            result = claim.judge(measurement)
    except MrpError as exc:
        result = ClaimResult(measured=f"not run: {exc}", expectation="",
                             verdict=Verdict.INCONCLUSIVE)
    except Exception as exc:  # noqa: BLE001 - a broken check must not hide the other claims
        error = f"{type(exc).__name__}: {exc}"
        result = ClaimResult(
            measured=f"check failed: {error}",
            expectation="",
            verdict=Verdict.INCONCLUSIVE,
            details={"traceback": traceback.format_exc()},
        )
    record = {
        "key": claim.claim_id,
        "claim_id": claim.claim_id,
        "paper": claim.paper,
        "statement": claim.statement,
        "measured": result.measured,
        "expectation": result.expectation,
        "verdict": Verdict(result.verdict).value,
        "conditions": result.conditions,
        "details": result.details,
        "seconds": round(time.perf_counter() - start, 2),
        "quick": ctx.quick,
    }
    if isinstance(measurement, Measurement):
        # what the judge read, so a stored run can be re-judged without re-measuring
        from mrptheory.results import to_jsonable

        record["measurement"] = to_jsonable(asdict(measurement))
    if error is not None:
        record["error"] = error
    record["final"] = is_final(record)
    return record


def markdown_table(records: list[dict[str, Any]]) -> str:
    """The claims table written next to the figures."""

    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| claim | paper | statement | measured | expectation (tolerance) | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        lines.append(
            "| " + " | ".join(cell(r[k]) for k in
                              ("claim_id", "paper", "statement", "measured", "expectation"))
            + f" | **{r['verdict']}** |"
        )
    return "\n".join(lines) + "\n"
