"""``mrp noise-check``: every bad flag and noise spec is refused up front in one line (exit 2)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mrptheory.cli import main
from tests.cli_checks import refused


def test_an_image_shape_too_large_for_memory_is_refused_with_the_estimate():
    # D = 40000: one D x D float64 matrix is 12.8 GB; the search holds more than a dozen.
    message = refused("noise-check", "mask:0.5", "--image-shape", "1,200,200")
    assert "--image-shape" in message and "D = 40000" in message
    assert "GiB" in message and "available" in message


def test_memory_refusal_uses_the_limit(monkeypatch):
    import mrptheory.resources as resources
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 5 * 2**20)  # 5 MiB
    message = refused("noise-check", "mask:0.5", "--image-shape", "1,16,16")  # D = 256: ~8 MiB
    assert "--image-shape" in message and "D = 256" in message and "5 MiB available" in message


def test_huge_sigma_is_refused_naming_the_spec():
    message = refused("noise-check", "gaussian:1e200", "--mc-draws", "0")
    assert "gaussian:1e200" in message and "sigma" in message


@pytest.mark.parametrize("spec", ["diag-gaussian:1e200", "gaussian:-1", "gaussian:nan",
                                  "mask:1", "random-mask:0.7-0.2", "mask:0.5:0x2"])
def test_bad_noise_parameters_name_the_spec(spec):
    assert spec in refused("noise-check", spec, "--mc-draws", "0")


def test_one_mc_draw_is_refused_before_the_search_naming_the_flag(monkeypatch):
    import mrptheory.linear.never_beneficial as nb

    def no_search(*args, **kwargs):
        raise AssertionError("the search ran before the flags were validated")

    monkeypatch.setattr(nb, "check_never_beneficial", no_search)
    message = refused("noise-check", "gaussian:1", "--mc-draws", "1")
    assert "--mc-draws" in message and "draws must" not in message.replace("--mc-draws", "")


@pytest.mark.parametrize("args, flag", [
    (("--trials", "0"), "--trials"),
    (("--mc-draws", "-3"), "--mc-draws"),
    (("--seed", "-1"), "--seed"),
    (("--image-shape", "1,0,4"), "--image-shape"),
])
def test_bad_flags_name_the_flag(args, flag):
    assert flag in refused("noise-check", "gaussian:1", *args)


def test_a_small_run_still_works():
    result = CliRunner().invoke(main, ["noise-check", "mask:0.5", "--trials", "5",
                                       "--mc-draws", "50"])
    assert result.exit_code == 0, result.output
    assert "CAN change" in result.output
