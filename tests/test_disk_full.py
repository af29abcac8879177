"""A full disk or a file size limit ends in one line naming the folder (exit 2), never a
traceback: ENOSPC / EFBIG / EDQUOT and torch's RuntimeError from ``torch.save`` are translated in
one place (``cli.MrpGroup.invoke`` through ``cli_support.outputs.disk_full_error``); figures are
rendered in memory first, so their message also says how many bytes were needed.

Before: ``mrp alignment`` on a 60 KB tmpfs ended in ``OSError ENOSPC``, ``mrp subspace`` under
``ulimit -f 40`` in a torch ``RuntimeError`` (or, without SIGXFSZ ignored, a kill by signal).
"""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from mrptheory.cli_support.outputs import disk_full_error, is_disk_full
from tests.cli_checks import assert_one_line_error
from tests.data.test_loaders import write_mnist_folder

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_fashion(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("tiny_fashion")
    write_mnist_folder(folder, n_train=400, n_test=200, hw=28)
    return str(folder)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 60 KB tmpfs (needs root and mount; skipped otherwise)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=60k", "tmpfs", str(mnt)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def _alignment(data_root: str, out: Path) -> list[str]:
    return ["alignment", "--data-root", data_root, "--noise", "gaussian:0.5", "--pool", "4",
            "--k-min", "1", "--out", str(out), "--no-progress"]


def test_alignment_on_a_full_tmpfs_is_one_line(tiny_fashion, small_tmpfs):
    out = small_tmpfs / "o"
    result = CliRunner().invoke(main, _alignment(tiny_fashion, out))
    line = assert_one_line_error(result, str(out), "no space left", "needed")
    assert "free there" in line
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # no torn temporary files


def _limited(limit_bytes: int):
    def preexec():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, resource.RLIM_INFINITY))
    return preexec


def _run_limited(args: list[str], limit: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "mrptheory.cli", *args], capture_output=True,
                          text=True, env=env, preexec_fn=_limited(limit), timeout=300)


def _one_line(done: subprocess.CompletedProcess, *needles: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_subspace_under_a_file_size_limit_is_one_line(tiny_fashion, tmp_path):
    """torch.save's RuntimeError (the checkpoint) and SIGXFSZ (ignored: EFBIG instead)."""
    out = tmp_path / "sub"
    done = _run_limited(["subspace", "--data-root", tiny_fashion, "--cuts", "0.5", "--seeds", "1",
                         "--epochs", "1", "--train-size", "200", "--test-size", "100",
                         "--examples", "0", "--out", str(out), "--no-progress"], 40 * 1024)
    _one_line(done, str(out), "ulimit -f", "40 KiB")


def test_alignment_under_a_file_size_limit_names_the_bytes_needed(tiny_fashion, tmp_path):
    out = tmp_path / "al"
    done = _run_limited(_alignment(tiny_fashion, out), 40 * 1024)
    _one_line(done, str(out), "file size limit", "needed")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EDQUOT])
def test_every_writer_of_json_results_gets_one_line(monkeypatch, tmp_path, code):
    """Any results write (here ``noise-check --json``; ``save_json`` is every payload's path)."""
    import mrptheory.results as results

    def full(path, payload):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(results, "save_json", full)
    target = tmp_path / "v.json"
    result = CliRunner().invoke(main, ["noise-check", "gaussian:0.5", "--trials", "1",
                                       "--mc-draws", "0", "--json", str(target)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    last = result.output.strip().splitlines()[-1]  # after the verdict, printed before the write
    assert last.startswith("Error: cannot write into " + str(tmp_path)), last


def test_other_errors_are_not_disguised_as_a_full_disk():
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(RuntimeError("shape mismatch"))
    assert is_disk_full(RuntimeError("PytorchStreamWriter failed writing file data/0: file write "
                                     "failed"))
    err = disk_full_error(OSError(errno.ENOSPC, "No space left", "/x/y/file.json"), needed=2048)
    assert "into /x/y" in str(err) and "2 KiB needed" in str(err)
