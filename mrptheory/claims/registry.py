"""Claim registry: each paper claim is a named, executable check with an honest verdict.

Verdicts (:data:`VERDICT_MEANINGS` gives each one's line for the table and README):
    * ``confirmed``   -- the measurement meets the stated expectation within its tolerance.
    * ``refuted``     -- the measurement contradicts the expectation under the stated conditions.
    * ``inconclusive``-- measured at the claim's conditions, but in between (within noise).
    * ``not converged`` -- the run stopped before its dynamics settled; never judged.
    * ``not at the paper's conditions`` -- measured outside a condition the claim assumes
      (a scaling, the pretraining protocol...); never judged.
    * ``not run`` -- an input is missing (a data set not installed); nothing was measured.

Only a converged run at the claim's conditions may confirm or refute: :func:`gate` turns a
:class:`Measurement` that says otherwise into one of the last three verdicts before the judge's
ladder is consulted (the judge's numbers are still shown beside it).

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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

class Verdict(str, enum.Enum):
    CONFIRMED = "confirmed"
    REFUTED = "refuted"
    INCONCLUSIVE = "inconclusive"
    NOT_CONVERGED = "not converged"
    OFF_CONDITIONS = "not at the paper's conditions"
    NOT_RUN = "not run"


#: One line per verdict, for the claims table's legend and the README.
VERDICT_MEANINGS: dict[Verdict, str] = {
    Verdict.CONFIRMED: "measured at the claim's conditions, converged, and within the stated "
                       "tolerance of the paper's prediction",
    Verdict.REFUTED: "measured at the claim's conditions, converged, and contradicting the "
                     "prediction beyond its tolerance",
    Verdict.INCONCLUSIVE: "measured at the claim's conditions and converged, but in between: "
                          "the difference is within the stated noise",
    Verdict.NOT_CONVERGED: "the run stopped before its dynamics settled (the row gives the "
                           "fraction converged and the budget); not judged",
    Verdict.OFF_CONDITIONS: "measured outside a condition the claim assumes (the row names it); "
                            "not judged",
    Verdict.NOT_RUN: "an input is missing (a data set not installed, the row says which); "
                     "nothing measured",
}

#: Verdicts that judge the paper (the others say why a claim was not judged).
JUDGED_VERDICTS: tuple[Verdict, ...] = (Verdict.CONFIRMED, Verdict.REFUTED, Verdict.INCONCLUSIVE)


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
        not_run: why the measurement could not be made (a missing data set), "" when complete.
        off_conditions: which of the claim's registered conditions the run did not meet (a
            scaling outside the theorem's regime, another pretraining protocol), "" when all hold.
        converged: whether every unit the claim reads (class, feature, seed, run) settled
            before the run stopped (None: the claim has no training dynamics to settle).
        convergence: the numbers behind ``converged`` (fraction converged, the budget, the
            step at which the last unit converged, the rule), shown in the row.
    """

    values: dict[str, Any] = field(default_factory=dict)
    conditions: str = ""
    not_run: str = ""
    off_conditions: str = ""
    converged: bool | None = None
    convergence: dict[str, Any] = field(default_factory=dict)


def _convergence_text(convergence: dict[str, Any]) -> str:
    parts = [f"{k.replace('_', ' ')} {v}" for k, v in convergence.items() if k != "rule"]
    return ", ".join(parts)


def gate(measurement: Measurement) -> ClaimResult | None:
    """The verdict of a measurement that may not be judged, or None when it may.

    In order: ``not run`` (an input is missing), ``not at the paper's conditions`` (a registered
    condition fails; the row names it), ``not converged`` (the dynamics had not settled; the row
    gives the fraction converged and the budget). Only a measurement that passes all three goes
    to the claim's judge, so a run cut short or outside the theorem's regime never confirms or
    refutes anything.
    """
    m = measurement
    if m.not_run:
        reason = m.not_run.removeprefix("not run: ")  # a loader's message may already say so
        return ClaimResult(measured=f"not run: {reason}", expectation="",
                           verdict=Verdict.NOT_RUN, conditions=m.conditions)
    reasons = []
    verdict = None
    if m.off_conditions:
        reasons.append(f"not at the paper's conditions: {m.off_conditions}")
        verdict = Verdict.OFF_CONDITIONS
    if m.converged is False:
        detail = _convergence_text(m.convergence)
        reasons.append("not converged" + (f" ({detail})" if detail else ""))
        verdict = verdict or Verdict.NOT_CONVERGED
    if verdict is None:
        return None
    return ClaimResult(measured="; ".join(reasons), expectation="", verdict=verdict,
                       details={"convergence": m.convergence} if m.convergence else {},
                       conditions=m.conditions)


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
        """Measure, then judge (through :meth:`judge_measurement`)."""
        measured = self.measure(ctx)
        return measured if self.judge is None else self.judge_measurement(measured)

    def judge_measurement(self, measurement: Measurement) -> ClaimResult:
        """The verdict of ``measurement``: :func:`gate` first, then the claim's judge.

        A gated measurement keeps the gate's verdict and the judge's expectation; where the judge
        can still read its numbers they are appended (``numbers: ...``) so the row shows what was
        measured. A ``not run`` row shows the judge's text only when the claim was measured in
        part (it starts with none of :data:`NOT_RUN_MARKERS`, e.g. a proof whose real-data check
        is missing). Convergence numbers are added to every judged row's details.
        """
        assert self.judge is not None
        gated = gate(measurement)
        if gated is None:
            result = self.judge(measurement)
            if measurement.convergence:
                result.details = {**result.details, "convergence": measurement.convergence}
            return result
        try:
            judged = self.judge(measurement)
        except Exception:  # noqa: BLE001 - partial numbers need not be judgeable
            return gated
        gated.expectation = judged.expectation
        gated.conditions = gated.conditions or judged.conditions
        if gated.verdict is not Verdict.NOT_RUN:
            gated.measured = f"{gated.measured}; numbers: {judged.measured}"
            gated.details = {**judged.details, **gated.details}
        elif not judged.measured.startswith(NOT_RUN_MARKERS):
            # a claim measured in part (a proof without its real-data check): the judge's text
            # says what was measured and what was not
            gated.measured = judged.measured
            gated.details = {**judged.details, **gated.details}
        return gated


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


def all_claims(modules: Sequence[str] = ()) -> dict[str, Claim]:
    """Import ``modules`` (those that exist; they register claims) and return the registry, in
    registration order. The experiments' claim modules are listed by the top layer:
    :func:`mrptheory.catalog.all_claims` passes them."""
    for module in modules:
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
    if record.get("verdict") == Verdict.NOT_RUN.value:
        return False
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
            result = claim.judge_measurement(measurement)
    except MrpError as exc:
        result = ClaimResult(measured=f"not run: {exc}", expectation="",
                             verdict=Verdict.NOT_RUN)
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


def verdict_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    """How many rows carry each verdict (every verdict listed, zeros included), in ladder order."""
    return {v.value: sum(r.get("verdict") == v.value for r in records) for v in Verdict}


def counts_line(records: list[dict[str, Any]]) -> str:
    """``"3 confirmed, 1 refuted, ..."``: the judged verdicts, then the reasons not to judge."""
    counts = verdict_counts(records)
    return ", ".join(f"{n} {v}" for v, n in counts.items()
                     if n or Verdict(v) in JUDGED_VERDICTS)


def verdict_legend() -> str:
    """One line per verdict, as written under the claims table."""
    return "\n".join(f"- **{v.value}**: {meaning}." for v, meaning in VERDICT_MEANINGS.items())


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
