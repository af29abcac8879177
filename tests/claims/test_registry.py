"""The claims registry: registration, crash isolation, table rendering."""

from __future__ import annotations

import pytest

from mrptheory.catalog import all_claims
from mrptheory.claims.registry import (Claim, ClaimContext, ClaimResult, Verdict,
                                       markdown_table, register_claim, run_claim)


def test_registered_claims_have_statements_and_papers():
    claims = all_claims()
    assert "bl-masking-changes-subspace" in claims
    for claim in claims.values():
        assert claim.statement and claim.paper


def test_a_crashing_check_is_reported_inconclusive_not_raised():
    def boom(ctx):
        raise RuntimeError("kaput")

    record = run_claim(Claim("x", "p", "s", boom), ClaimContext())
    assert record["verdict"] == "inconclusive"
    assert "kaput" in record["measured"]


def test_duplicate_ids_from_different_functions_are_rejected(monkeypatch):
    from mrptheory.claims import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # leave no trace
    @register_claim("test-dup-id", paper="p", statement="s")
    def first(ctx):
        return ClaimResult("m", "e", Verdict.CONFIRMED)

    with pytest.raises(ValueError):
        @register_claim("test-dup-id", paper="p", statement="s")
        def second(ctx):
            return ClaimResult("m", "e", Verdict.REFUTED)


def test_markdown_table_escapes_pipes_and_bolds_verdicts():
    record = run_claim(Claim("c", "p", "a | b", lambda ctx: ClaimResult("1 | 2", "e", Verdict.REFUTED)),
                       ClaimContext())
    table = markdown_table([record])
    assert "a \\| b" in table and "**refuted**" in table


def test_records_that_crashed_or_lacked_data_are_not_final():
    from mrptheory.claims.registry import is_final

    done = {"verdict": "refuted", "measured": "0.8 vs 0.9"}
    assert is_final(done)
    assert not is_final({"verdict": "inconclusive", "measured": "not run: no data"})
    assert not is_final({"verdict": "inconclusive",
                         "measured": "symbolic proof: yes; real data: not run (not found)"})
    assert not is_final({**done, "error": "RuntimeError: x"})
    assert is_final({"verdict": "inconclusive", "measured": "difference within noise"})


def test_run_claim_measures_then_judges_and_records_a_crashing_judge():
    from mrptheory.claims.registry import Measurement

    def judge(m):
        return ClaimResult(f"x = {m.values['x']}", "x > 1", Verdict.CONFIRMED, conditions=m.conditions)

    record = run_claim(Claim("c", "p", "s", lambda ctx: Measurement({"x": 2}, "toy"), judge),
                       ClaimContext())
    assert (record["measured"], record["verdict"], record["conditions"]) == ("x = 2", "confirmed", "toy")
    broken = run_claim(Claim("c", "p", "s", lambda ctx: Measurement({}), judge), ClaimContext())
    assert broken["error"].startswith("KeyError") and broken["final"] is False


def test_the_context_memo_runs_a_study_once_per_context_and_never_caches_a_failure():
    calls = []

    def study():
        calls.append(1)
        return len(calls)

    ctx = ClaimContext()
    assert ctx.shared(("study", 1), study) == 1 and ctx.shared(("study", 1), study) == 1
    assert ctx.shared(("study", 2), study) == 2                 # other inputs: another run
    assert ClaimContext().shared(("study", 1), study) == 3      # a new context starts empty

    def failing():
        calls.append(1)
        raise RuntimeError("no data")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            ctx.shared(("fails",), failing)
    assert len(calls) == 5


def test_the_gate_keeps_unconverged_and_off_condition_runs_from_being_judged():
    from mrptheory.claims.registry import Measurement, gate

    def judge(m):
        return ClaimResult(f"x = {m.values['x']}", "x > 1",
                           Verdict.CONFIRMED if m.values["x"] > 1 else Verdict.REFUTED)

    claim = Claim("c", "p", "s", lambda ctx: None, judge)
    ok = claim.judge_measurement(Measurement({"x": 2}, converged=True,
                                             convergence={"fraction_converged": 1.0}))
    assert ok.verdict is Verdict.CONFIRMED and ok.details["convergence"]["fraction_converged"] == 1.0
    short = claim.judge_measurement(Measurement({"x": 0}, converged=False,
                                                convergence={"fraction_converged": 0.5,
                                                             "budget": 100}))
    assert short.verdict is Verdict.NOT_CONVERGED
    assert "fraction converged 0.5" in short.measured and "x = 0" in short.measured
    off = claim.judge_measurement(Measurement({"x": 0}, off_conditions="pretrained on 4k images"))
    assert off.verdict is Verdict.OFF_CONDITIONS and "4k images" in off.measured
    missing = claim.judge_measurement(Measurement({}, not_run="CIFAR-10 not found"))
    assert missing.verdict is Verdict.NOT_RUN and missing.measured == "not run: CIFAR-10 not found"
    assert gate(Measurement({"x": 2})) is None


def test_not_run_rows_are_never_final_and_counts_list_every_verdict():
    from mrptheory.claims.registry import counts_line, is_final, verdict_legend

    assert not is_final({"verdict": "not run", "measured": "not run: x"})
    assert is_final({"verdict": "not converged", "measured": "not converged (budget 5)"})
    line = counts_line([{"verdict": "confirmed"}, {"verdict": "not converged"}])
    assert line == "1 confirmed, 0 refuted, 0 inconclusive, 1 not converged"
    assert verdict_legend().count("\n") == len(Verdict) - 1


def test_a_not_run_reason_that_already_says_not_run_is_not_repeated():
    from mrptheory.claims.registry import Measurement, gate

    assert gate(Measurement(not_run="not run: MNIST not found")).measured == "not run: MNIST not found"


def test_a_claim_measured_in_part_keeps_what_was_measured_under_not_run():
    from mrptheory.claims.registry import Measurement

    def judge(m):
        if m.not_run:
            return ClaimResult(f"symbolic proof: yes; real data: not run ({m.not_run})", "e",
                               Verdict.INCONCLUSIVE)
        return ClaimResult("all", "e", Verdict.CONFIRMED)

    claim = Claim("c", "p", "s", lambda ctx: None, judge)
    result = claim.judge_measurement(Measurement({}, not_run="no data"))
    assert result.verdict is Verdict.NOT_RUN
    assert result.measured == "symbolic proof: yes; real data: not run (no data)"


def test_a_judge_text_that_only_says_not_measured_gives_way_to_the_gate():
    from mrptheory.claims.registry import Measurement

    claim = Claim("c", "p", "s", lambda ctx: None,
                  lambda m: ClaimResult(f"not measured: {m.not_run}", "e", Verdict.INCONCLUSIVE))
    result = claim.judge_measurement(Measurement({}, not_run="no sweep"))
    assert (result.verdict, result.measured) == (Verdict.NOT_RUN, "not run: no sweep")
