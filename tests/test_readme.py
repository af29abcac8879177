"""README statements that quote numbers or files must match what the package writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_alignment_at_k32_quoted_in_readme_matches_the_results_file():
    results = ROOT / "paper_figs" / "alignment" / "alignment_fashion-mnist.json"
    if not results.exists():
        pytest.skip("paper_figs/alignment/alignment_fashion-mnist.json not generated")
    payload = json.loads(results.read_text())
    measured = payload["baseline"][payload["ks"].index(32)]
    text = " ".join((ROOT / "README.md").read_text().split())
    match = re.search(r"aligned with the labels \((?:about )?([\d.]+)% at K = 32\)", text)
    assert match, "README no longer quotes the K = 32 alignment"
    assert abs(float(match.group(1)) - measured) < 0.05 + 0.5 * ("about" in match.group(0))


def test_readme_credits_the_alignment_rank_figure_to_reproduce():
    # only `mrp reproduce` (experiments/mae/claims.py) writes mae_alignment_rank_*.json/png
    claims = (ROOT / "mrptheory" / "experiments" / "mae" / "claims.py").read_text()
    commands = (ROOT / "mrptheory" / "experiments" / "mae" / "cli.py").read_text()
    assert "mae_alignment_rank" in claims and "mae_alignment_rank" not in commands
    text = " ".join((ROOT / "README.md").read_text().split())
    assert re.search(r"run \(`mrp reproduce`, protocol `default`\) draws `mae_alignment_rank_default\.png`",
                     text)
