"""Tests of the up-front memory check (mrptheory.resources)."""

from __future__ import annotations

import pytest

from mrptheory.errors import ConfigError, MrpError
from mrptheory.resources import (InsufficientMemoryError, available_memory_bytes, check_fits,
                                 format_bytes)


def test_available_memory_is_positive_on_this_machine():
    available = available_memory_bytes()
    assert available is None or available > 0


def test_fits_passes_below_the_limit():
    check_fits(700, "x", "--flag", available=1000)  # limit 800


def test_refusal_is_one_line_naming_flag_estimate_and_limit():
    with pytest.raises(InsufficientMemoryError) as info:
        check_fits(3 * 2**30, "the D x D matrices (D = 40000)", "--image-shape", available=2**30)
    message = str(info.value)
    assert "\n" not in message
    assert "--image-shape" in message and "D = 40000" in message
    assert "3 GiB" in message and "819 MiB" in message and "1 GiB available" in message
    assert isinstance(info.value, ConfigError) and isinstance(info.value, MrpError)


def test_unknown_availability_checks_nothing(monkeypatch):
    import mrptheory.resources as resources
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: None)
    check_fits(1e30, "x", "--flag")


def test_an_absurd_request_is_refused_with_real_availability():
    if available_memory_bytes() is None:
        pytest.skip("available memory unknown on this platform")
    with pytest.raises(InsufficientMemoryError):
        check_fits(1e30, "x", "--flag")


@pytest.mark.parametrize("n, text", [(512, "512 B"), (2048, "2 KiB"), (1.5 * 2**30, "1.5 GiB")])
def test_format_bytes(n, text):
    assert format_bytes(n) == text
