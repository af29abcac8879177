"""The declarative constraints kernel (``mrptheory.config_spec``): each kind, open and closed
ends, rules, the undeclared-field refusal, option keys, and that every registered config refuses
every invalid value its own table produces (the library-level twin of the CLI test)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from mrptheory.config_spec import (CONFIGS, Constraint, Rule, build, choice, constrained,
                                   constraints, flag, integer, keys, option_flag, option_key,
                                   pair, real, seq, unconstrained)
from mrptheory.errors import ConfigError

import mrptheory.experiments.multiview.data  # noqa: F401  (registers the configs)
import mrptheory.experiments.mae.model  # noqa: F401
import mrptheory.experiments.dynamics.classifier_lag  # noqa: F401
import mrptheory.experiments.mae.protocol  # noqa: F401
import mrptheory.experiments.mae.sweep  # noqa: F401
import mrptheory.experiments.multiview.config  # noqa: F401
import mrptheory.experiments.subspace.budget  # noqa: F401


@constrained(Rule("lo_below_hi", lambda c: c.lo <= c.hi,
                  lambda c: f"lo must be <= hi = {c.hi:g}, got {c.lo:g}", ("lo", "hi")),
             prefix="toy")
@dataclass
class ToyConfig:
    n: int = integer(3, 1, 10)
    lo: float = real(0.0, 0.0, 1.0, high_open=True)
    hi: float = real(0.5, 0.0, 1.0, low_open=True)
    kind: str = choice("a", ("a", "b"))
    on: bool = flag(False)
    span: tuple[float, float] = pair((1.0, 2.0), 0.0, None, low_open=True)
    steps: int | None = integer(None, 1, optional=True, prefixed=True)
    items: tuple[int, ...] = seq((1, 2), "int", 0)
    size: int | None = integer(100, 2, zero_is_none=True)
    note: object = unconstrained(None, "free text for the test")


@pytest.mark.parametrize("changes, message", [
    (dict(n=0), "n must be in [1, 10], got 0"),
    (dict(n=11), "n must be in [1, 10], got 11"),
    (dict(n=2.5), "n must be an integer, got 2.5"),
    (dict(n=True), "n must be an integer"),
    (dict(lo=1.0), "lo must be in [0, 1), got 1"),
    (dict(hi=0.0), "hi must be in (0, 1], got 0"),
    (dict(hi="x"), "hi must be a number"),
    (dict(hi=float("nan")), "hi must be finite"),
    (dict(kind="c"), "kind must be one of a, b; got 'c'"),
    (dict(on="yes"), "on must be true or false"),
    (dict(span=(0.0, 1.0)), "span[0] must be in (0, inf], got 0"),
    (dict(span=(2.0, 1.0)), "span[1] must be in [2, inf], got 1"),
    (dict(span="ab"), "span must be a pair"),
    (dict(steps=0), "steps must be in [1, inf], got 0"),
    (dict(items=()), "items must not be empty"),
    (dict(items=(1, -1)), "items must be in [0, inf], got -1"),
    (dict(size=1), "size must be in [2, inf], got 1"),
    (dict(lo=0.6, hi=0.5), "lo must be <= hi = 0.5, got 0.6"),
])
def test_each_kind_refuses_with_the_field_range_and_value(changes, message):
    with pytest.raises(ConfigError) as exc:
        ToyConfig(**changes)
    assert str(exc.value).startswith(message), str(exc.value)


def test_values_are_normalised_and_none_spellings_accepted():
    cfg = ToyConfig(n=4.0, lo=0, span=[1, 3], items=[1.0, 2], size=0, steps="none")
    assert (cfg.n, type(cfg.n)) == (4, int) and (cfg.lo, type(cfg.lo)) == (0.0, float)
    assert cfg.span == (1.0, 3.0) and cfg.items == (1, 2) and cfg.size is None
    assert cfg.steps is None
    # dataclasses.replace validates too
    with pytest.raises(ConfigError, match="n must be"):
        dataclasses.replace(cfg, n=99)


def test_keys_and_flags_follow_the_field_names_and_the_prefix():
    assert option_key(ToyConfig, "n") == "n" and option_key(ToyConfig, "steps") == "toy_steps"
    assert option_flag(ToyConfig, "steps") == "--toy-steps"
    assert keys(ToyConfig)["toy_steps"] == "steps"
    cfg = build(ToyConfig, {"n": 5, "toy_steps": 7, "steps": 99, "unrelated": 1, "lo": None})
    assert (cfg.n, cfg.steps, cfg.lo) == (5, 7, 0.0)


def test_a_field_without_a_declared_constraint_is_refused():
    with pytest.raises(TypeError, match="without a declared constraint: b"):
        @constrained()
        @dataclass
        class Bad:
            a: int = integer(1, 0)
            b: int = 2
    with pytest.raises(ValueError, match="needs a reason"):
        Constraint("any")


def test_normalise_false_keeps_numbers_as_given():
    @constrained(normalise=False)
    @dataclass(frozen=True)
    class Kept:
        x: float = real(1, 0.0, None)

    assert type(Kept().x) is int and type(Kept(x=2.0).x) is float
    with pytest.raises(ConfigError, match="x must be in"):
        Kept(x=-1)


def _every_field():
    for cls in CONFIGS.values():
        for name, constraint in constraints(cls).items():
            for what, value in constraint.invalid_values():
                yield pytest.param(cls, name, value, id=f"{cls.__name__}.{name}:{what}")


@pytest.mark.parametrize("cls, name, value", list(_every_field()))
def test_every_registered_config_refuses_its_own_invalid_values(cls, name, value):
    with pytest.raises(ConfigError, match=name.split("[")[0]):
        cls(**{name: value})


def test_every_registered_config_builds_at_its_defaults():
    for cls in CONFIGS.values():
        cls()
