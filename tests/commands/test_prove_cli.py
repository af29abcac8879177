"""End-to-end tests of ``mrp prove`` (click CliRunner)."""

from __future__ import annotations

from click.testing import CliRunner

import mrptheory.proofs as proofs
from mrptheory.cli import main
from mrptheory.proofs._result import ProofResult


def test_prove_all_passes_and_prints_table() -> None:
    result = CliRunner().invoke(main, ["prove"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["proof", "result", "seconds"]
    for name in proofs.PROOFS:
        row = next(line for line in lines if line.startswith(name + " "))
        assert row.split()[1] == "PASS"
    assert f"{len(proofs.PROOFS)}/{len(proofs.PROOFS)} proofs passed" in result.output


def test_prove_only_verbose_prints_steps() -> None:
    result = CliRunner().invoke(main, ["prove", "--only", "masking_changes_subspace", "--verbose"])
    assert result.exit_code == 0, result.output
    assert "[ok]" in result.output and "det[P u, M2 u]" in result.output
    assert "1/1 proofs passed" in result.output
    assert "closed_form" not in result.output


def test_prove_unknown_name_exits_2_with_message() -> None:
    result = CliRunner().invoke(main, ["prove", "--only", "no_such_proof"])
    assert result.exit_code == 2
    assert "unknown proof 'no_such_proof'" in result.output
    assert "closed_form" in result.output  # the message lists the valid names
    assert "Traceback" not in result.output


def test_prove_exits_1_when_a_proof_fails(monkeypatch) -> None:
    def failing(name: str) -> ProofResult:
        return ProofResult(name, "a false statement", ["  [FAIL] x"], False,
                           {"checks": {"x": False}}, 0.0)

    monkeypatch.setattr(proofs, "run_one", failing)
    result = CliRunner().invoke(main, ["prove", "--only", "closed_form"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "failed: x" in result.output
    assert "0/1 proofs passed" in result.output
