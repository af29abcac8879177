"""Limits shared by every command: thread counts, work sizes, contradictory options.

Each refusal is one line with exit 2 (``tests/cli_checks.refused``), before any work starts.
"""

from __future__ import annotations

import pytest

from mrptheory.device import available_cpus, check_threads
from mrptheory.errors import ConfigError
from tests.cli_checks import refused

#: A command line of each command that takes --threads (the refusal comes before any work).
THREADS_COMMANDS = {
    "dynamics": ["dynamics"],
    "subspace": ["subspace"],
    "multiview sl": ["multiview", "sl"],
    "multiview compare": ["multiview", "compare"],
    "mae pretrain": ["mae", "pretrain"],
    "mae sweep": ["mae", "sweep", "--quick"],
}


@pytest.mark.parametrize("name", sorted(THREADS_COMMANDS))
def test_more_threads_than_cpus_is_refused(name, tmp_path):
    """``--threads 100000`` segfaulted (exit 139) in ``multiview sl`` and ``mae pretrain``."""
    line = refused(*THREADS_COMMANDS[name], "--threads", "100000", "--out", str(tmp_path))
    assert "--threads" in line and f"at most {available_cpus()}" in line and "100000" in line


def test_check_threads_accepts_up_to_the_cpu_count():
    cpus = available_cpus()
    assert check_threads(cpus) == cpus and check_threads(0) == 0 and check_threads(None) is None
    for bad in (cpus + 1, -1):
        with pytest.raises(ConfigError, match="--threads"):
            check_threads(bad)
