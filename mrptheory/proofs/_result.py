"""The result type every proof returns, and a small recorder that builds it.

A proof is a sequence of *steps* (human-readable lines, each carrying an expression that sympy
produced and rendered as text) interleaved with *checks* (a boolean that sympy or a numeric
cross-check established). A proof passes when every check holds; a failed check is kept in the
steps as ``[FAIL]`` so the printout shows where the derivation broke.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

#: Longest rendering of one expression inside a step; longer ones are cut with a marker.
MAX_EXPR_CHARS = 400


@dataclass
class ProofResult:
    """Outcome of one derivation.

    name: module name (``closed_form`` ...); statement: the theorem in one sentence; steps: the
    derivation as text lines; passed: every check held; details: the checks by label (bool) under
    ``"checks"`` plus any numbers the proof measured; seconds: wall time of ``derive()``.
    """

    name: str
    statement: str
    steps: list[str]
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed_checks(self) -> list[str]:
        """Labels of the checks that did not hold (empty when the proof passed)."""
        return [label for label, ok in self.details.get("checks", {}).items() if not ok]


def render(expr: Any) -> str:
    """Render a sympy object (or anything) as one line of text, cut at ``MAX_EXPR_CHARS``."""
    if isinstance(expr, str):
        text = expr
    elif isinstance(expr, (tuple, list)):
        text = "(" + ", ".join(render(e) for e in expr) + ")"
    elif isinstance(expr, sp.MatrixBase):
        text = "[" + "; ".join(", ".join(sp.sstr(e) for e in expr.row(i)) for i in range(expr.rows)) + "]"
    else:
        text = sp.sstr(expr)
    text = " ".join(text.split())
    if len(text) > MAX_EXPR_CHARS:
        text = text[:MAX_EXPR_CHARS] + f" ... ({len(text)} chars)"
    return text


class Derivation:
    """Collects the steps and checks of one proof and turns them into a :class:`ProofResult`."""

    def __init__(self, name: str, statement: str):
        self.name = name
        self.statement = statement
        self.steps: list[str] = []
        self.checks: dict[str, bool] = {}
        self.numbers: dict[str, Any] = {}
        self._start = time.perf_counter()

    def step(self, label: str, *exprs: Any) -> None:
        """Record a derivation step: ``label: expr1 = expr2 ...`` (sympy-rendered)."""
        if exprs:
            self.steps.append(f"{label}: " + " = ".join(render(e) for e in exprs))
        else:
            self.steps.append(label)

    def check(self, label: str, ok: bool) -> bool:
        """Record a check; the proof fails if any check is False. Returns ``ok``."""
        ok = bool(ok)
        key, n = label, 2
        while key in self.checks:  # keep labels unique so no check hides another
            key, n = f"{label} #{n}", n + 1
        self.checks[key] = ok
        self.steps.append(f"  [{'ok' if ok else 'FAIL'}] {label}")
        return ok

    def record(self, **numbers: Any) -> None:
        """Store measured numbers in ``details`` (JSON-friendly values please)."""
        self.numbers.update(numbers)

    def result(self) -> ProofResult:
        """Freeze into a :class:`ProofResult`; passes iff there was at least one check, all True."""
        details = {"checks": dict(self.checks), **self.numbers}
        passed = bool(self.checks) and all(self.checks.values())
        return ProofResult(self.name, self.statement, list(self.steps), passed, details,
                           time.perf_counter() - self._start)


def print_result(result: ProofResult) -> None:
    """Print a proof the way ``python -m mrptheory.proofs.<module>`` shows it."""
    print(f"== {result.name}: {result.statement}")
    for line in result.steps:
        print(line)
    verdict = "PASS" if result.passed else "FAIL: " + "; ".join(result.failed_checks)
    print(f"== {verdict} ({result.seconds:.2f} s)")


def main_for(derive: Any) -> None:
    """Entry point shared by the proof modules: derive, print, exit 1 on failure."""
    result = derive()
    print_result(result)
    raise SystemExit(0 if result.passed else 1)
