"""The ``mrp`` entry point: one-line errors, exit codes, the interrupt message."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from tests.data.test_loaders import write_mnist_folder


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["no-such-command"],
    ["subspace", "--bogus"],
    ["subspace", "--seeds", "x"],
    ["mae", "pretrain", "--method", "nope"],
    ["multiview", "sl", "--seeds"],
    ["plot"],
])
def test_option_parser_errors_are_one_line_exit_2(args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = _lines(result.output)
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error:") and "--help" in lines[0]


@pytest.fixture
def corrupt_fashion(tmp_path, monkeypatch):
    folder = tmp_path / "fm"
    write_mnist_folder(folder, gz=False)
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08")  # truncated header
    monkeypatch.setenv("MRP_FASHION_MNIST_DIR", str(folder))
    return folder


@pytest.mark.parametrize("args", [
    ["alignment"], ["subspace"], ["dynamics"], ["mae", "pretrain", "--quick"],
])
def test_corrupt_data_is_an_input_error_exit_2(args, corrupt_fashion, tmp_path):
    from mrptheory.data.registry import clear_cache

    clear_cache()
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "train-images-idx3-ubyte" in _lines(result.output)[-1]


def test_data_root_that_is_a_file_says_so(tmp_path):
    f = tmp_path / "images.gz"
    f.write_bytes(b"x")
    result = CliRunner().invoke(main, ["subspace", "--data-root", str(f), "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "is a file, not a folder" in result.output
    assert "does not exist" not in result.output


def test_ctrl_c_in_a_resumable_command_says_rerun_resumes(monkeypatch, tmp_path):
    import mrptheory.data.registry as registry

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(registry, "load_dataset", interrupted)
    result = CliRunner().invoke(main, ["subspace", "--out", str(tmp_path)])
    assert result.exit_code == 130, result.output
    assert "rerun the same command to resume" in result.output
    assert "Traceback" not in result.output


def test_ctrl_c_elsewhere_just_says_interrupted(monkeypatch):
    import mrptheory.linear.noise as noise

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(noise, "parse_noise", interrupted)
    result = CliRunner().invoke(main, ["noise-check", "gaussian:1"])
    assert result.exit_code == 130
    assert "interrupted" in result.output and "resume" not in result.output


def test_bare_group_prints_its_help():
    result = CliRunner().invoke(main, [])
    assert "Commands:" in result.output and "Traceback" not in result.output
