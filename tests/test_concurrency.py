"""Two real processes on one output folder compute each unit once (issue 17): ``mrp reproduce``
with instant fake claims that leave one marker file per computation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

DRIVER = """
import os, sys, time
from pathlib import Path
from mrptheory import catalog
from mrptheory.claims import registry
from mrptheory.claims.registry import ClaimResult, Verdict, register_claim

catalog.CLAIM_MODULES[:] = []
registry._REGISTRY.clear()
marks = Path(sys.argv[2])
for i in range(5):
    def check(ctx, i=i):
        (marks / f"claim{i}.{os.getpid()}").write_text("")
        time.sleep(0.3)
        return ClaimResult(f"value {i}", "e", Verdict.CONFIRMED)
    register_claim(f"fake-{i}", paper="p", statement=f"claim {i}")(check)
from mrptheory.cli import main
main(["reproduce", "--quick", "--no-progress", "--out", sys.argv[1]])
"""


def test_two_concurrent_reproduce_runs_check_each_claim_once(tmp_path):
    out, marks = tmp_path / "out", tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "MRP_NO_PROGRESS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", DRIVER, str(out), str(marks)], cwd=REPO,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    computed = sorted(m.name.split(".")[0] for m in marks.iterdir())
    assert computed == [f"claim{i}" for i in range(5)], (computed, outputs)  # none twice
    lines = (out / "claims.jsonl").read_text().splitlines()
    assert len(lines) == 5
    rows = json.loads((out / "claims.json").read_text())["claims"]
    assert [r["verdict"] for r in rows] == ["confirmed"] * 5
