"""Declarative config constraints: every config dataclass declares each field's constraint once.

A field is declared with one of the constructors below instead of a bare default::

    @constrained(Rule("d_holds_features", lambda c: c.d >= 2 * c.k,
                      lambda c: f"d must be >= 2k = {2 * c.k} ..."))
    @dataclass
    class MultiViewConfig:
        k: int = integer(10, 2, 100_000)                     # an int in [2, 100000]
        mu: float = real(0.02, 0.0, 1.0)                     # a finite float in [0, 1]
        target: str = choice("teacher", ("teacher", "pixel"))
        sigma_p: float | None = real(1e-4, 0.0, None, optional=True)   # None allowed

The constraint lives in the field's ``metadata`` (key ``"constraint"``); cross-field conditions
(``d >= 2k``, "patch_size divides the image side", "embed_dim divisible by num_heads") are named
:class:`Rule` predicates with their message, declared on the class by :func:`constrained`.
:func:`validate` (run at the end of the dataclass's ``__init__``) checks every field from that
table -- the range with open or closed ends, the type, the choices -- normalises the value (an
integral float to ``int``, an int to ``float``, a list to a tuple) and then the rules, raising
:class:`~mrptheory.errors.ConfigError` with the message style of :mod:`mrptheory.validation`
(``mu must be in [0, 1], got 1.5``). A field without a constraint must say so with
:func:`unconstrained` and a reason; :func:`check_declared` and the generic test
(``tests/test_config_constraints.py``) refuse a config class with an undeclared field.

The same table drives the generic CLI test: :meth:`Constraint.invalid_values` builds one value
below the range, one above, one of the wrong type and one outside the choices for each field.

Command-line names: a field's option is ``--`` + its name with ``_`` -> ``-`` (one name per
knob); a field declared ``prefixed=True`` takes its class's ``prefix`` instead
(``MRPConfig.steps`` -> ``--mrp-steps``), the structural rule for a command that shows two
configs with a field of the same name. :func:`option_key` gives that name with ``_`` (the key of
preset files, :mod:`mrptheory.presets`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass
from typing import Any

from mrptheory.errors import ConfigError
from mrptheory.validation import check_choice, check_float, check_int

#: every class decorated with :func:`constrained`, by class name
CONFIGS: dict[str, type] = {}

KINDS = ("int", "float", "str", "bool", "pair", "ints", "seq", "config", "any")


@dataclass(frozen=True)
class Constraint:
    """One field's declared constraint.

    Attributes:
        kind: ``"int"``, ``"float"``, ``"str"``, ``"bool"``, ``"pair"`` (a (low, high) pair of
            floats, each in the range, low <= high), ``"ints"`` (a tuple of ``length`` ints, each
            in the range, e.g. an image shape), ``"seq"`` (a non-empty tuple of ``item`` values,
            ``"int"`` or ``"float"``, each in the range, at least ``length`` of them; None items
            too when ``optional``, ``choices`` restricts string items), ``"config"`` (a nested constrained config;
            a mapping is built into ``nested``), ``"any"`` (unconstrained, with ``reason``).
        low, high: range ends (None: unbounded); ``low_open`` / ``high_open`` exclude the end.
        choices: allowed values of a ``"str"`` field.
        optional: None is allowed (its meaning is in the config's docstring). In preset files
            (TOML has no null) the string ``"none"`` stands for None.
        prefixed: the field's CLI option carries its class's prefix (``--mrp-steps``).
        nested: the config class of a ``"config"`` field.
        reason: why an ``"any"`` field is unconstrained.
        pattern, pattern_text: a regular expression a ``"str"`` value must match in full, and
            the allowed values in words for the message.
        zero_is_none: 0 stands for None (an optional size where None = "all of it", as the
            command line writes it: ``--train-samples 0``).
    """

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    optional: bool = False
    prefixed: bool = False
    nested: type | None = None
    reason: str = ""
    length: int = 0
    item: str = ""
    zero_is_none: bool = False
    pattern: str = ""
    pattern_text: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown constraint kind {self.kind!r}")
        if self.kind == "any" and not self.reason:
            raise ValueError("an unconstrained field needs a reason")

    def check(self, name: str, value: Any) -> Any:
        """``value`` normalised if it satisfies the constraint, else ConfigError naming ``name``."""
        if self.zero_is_none and not isinstance(value, bool) and isinstance(value, numbers.Number) \
                and value == 0:
            value = None
        if value is None or (self.optional and isinstance(value, str) and value == "none"):
            if self.optional or self.kind == "any":
                return None
            raise ConfigError(f"{name} must be given (None is not allowed here)")
        if self.kind == "int":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return check_int(name, value, _int_end(self.low, self.low_open, 1),
                             _int_end(self.high, self.high_open, -1))
        if self.kind == "float":
            if isinstance(value, bool) or isinstance(value, str):
                raise ConfigError(f"{name} must be a number, got {value!r}")
            return check_float(name, value, self.low, self.high, low_open=self.low_open,
                               high_open=self.high_open)
        if self.kind == "str":
            if not isinstance(value, str):
                raise ConfigError(f"{name} must be a string, got {value!r}")
            if self.pattern and not re.fullmatch(self.pattern, value):
                raise ConfigError(f"{name} must be {self.pattern_text}; got {value!r}")
            return check_choice(name, value, self.choices) if self.choices else value
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{name} must be true or false, got {value!r}")
            return value
        if self.kind == "pair":
            if isinstance(value, str) or not isinstance(value, Iterable) or len(list(value)) != 2:
                raise ConfigError(f"{name} must be a pair (low, high), got {value!r}")
            lo, hi = list(value)
            lo = check_float(f"{name}[0]", lo, self.low, self.high, low_open=self.low_open,
                             high_open=self.high_open)
            hi = check_float(f"{name}[1]", hi, lo, self.high, high_open=self.high_open)
            return (lo, hi)
        if self.kind == "ints":
            if isinstance(value, str) or not isinstance(value, Iterable) \
                    or len(list(value)) != self.length:
                raise ConfigError(f"{name} must be {self.length} integers, got {value!r}")
            return tuple(check_int(f"{name}[{i}]", v, _int_end(self.low, self.low_open, 1),
                                   _int_end(self.high, self.high_open, -1))
                         for i, v in enumerate(value))
        if self.kind == "seq":
            return self._check_seq(name, value)
        if self.kind == "config":
            if isinstance(value, Mapping):
                value = self.nested(**value)
            if not isinstance(value, self.nested):
                raise ConfigError(f"{name} must be a {self.nested.__name__}; got "
                                  f"{type(value).__name__}")
            return value
        return value  # "any"

    def _check_seq(self, name: str, value: Any) -> tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise ConfigError(f"{name} must be a list of {self.item} values, got {value!r}")
        items = list(value)
        if len(items) < self.length:
            raise ConfigError(f"{name} must not be empty" if self.length == 1 else
                              f"{name} must hold at least {self.length} values, got {value!r}")
        item = Constraint(self.item, self.low, self.high, self.low_open, self.high_open,
                          choices=self.choices)
        out = []
        for v in items:
            if v is None or (isinstance(v, str) and v == "none" and self.item != "str"):
                if not self.optional:
                    raise ConfigError(f"{name} must not hold None, got {value!r}")
                out.append(None)
            else:
                out.append(item.check(name, v))
        return tuple(out)

    def describe(self) -> str:
        """The constraint in words (``an int in [2, 100000]``), for ``--help`` and the docs."""
        if self.kind == "any":
            return f"unconstrained ({self.reason})"
        if self.kind in ("int", "float", "pair", "ints"):
            lb, rb = "(" if self.low_open else "[", ")" if self.high_open else "]"
            text = {"int": "an int", "float": "a number", "pair": "a pair (low <= high), each",
                    "ints": f"{self.length} ints, each"}[
                self.kind] + f" in {lb}{_fmt(self.low)}, {_fmt(self.high)}{rb}"
        elif self.kind == "str":
            text = f"one of {', '.join(self.choices)}" if self.choices else "a string"
        elif self.kind == "bool":
            text = "true or false"
        else:
            text = f"a {self.nested.__name__}"
        return text + (" or none" if self.optional else "")

    def invalid_values(self) -> list[tuple[str, Any]]:
        """Values this constraint refuses, each with what is wrong with it (for the generic test):
        below the range, above it, of the wrong type, outside the choices."""
        bad: list[tuple[str, Any]] = []
        if self.kind in ("int", "float"):
            step = 1 if self.kind == "int" else 0.5
            if self.low is not None:
                low = self.low if self.low_open else self.low - step
                if self.zero_is_none and low == 0:
                    low = -step
                bad.append(("below range", _cast(self.kind, low)))
            if self.high is not None:
                bad.append(("above range", _cast(self.kind, self.high if self.high_open
                                                 else self.high + step)))
            bad.append(("wrong type", "abc"))
            if self.kind == "int":
                bad.append(("not an integer", 2.5))
        elif self.kind == "str":
            if self.choices or self.pattern:
                bad.append(("not in choices", "not-a-choice"))
            bad.append(("wrong type", 3))
        elif self.kind == "bool":
            bad.append(("wrong type", "abc"))
        elif self.kind == "pair":
            if self.low is not None:
                low = self.low if self.low_open else self.low - 0.5
                bad.append(("below range", (low, abs(low) + 1.0)))
            bad.append(("wrong type", "abc"))
        elif self.kind == "seq":
            item = Constraint(self.item, self.low, self.high, self.low_open, self.high_open,
                              choices=self.choices)
            bad += [(what, (v,)) for what, v in item.invalid_values()]
        elif self.kind == "ints":
            if self.low is not None:
                bad.append(("below range", (int(self.low) - 1,) * self.length))
            bad.append(("wrong length", (1,) * (self.length + 1)))
        return bad


def _int_end(bound: float | None, is_open: bool, step: int) -> int | None:
    if bound is None:
        return None
    end = math.ceil(bound) if step > 0 else math.floor(bound)
    return end + step if is_open and end == bound else end


def _cast(kind: str, value: float) -> Any:
    return int(value) if kind == "int" and float(value).is_integer() else value


def _fmt(bound: float | None) -> str:
    return "inf" if bound is None else f"{bound:g}"


def _field(default: Any, default_factory: Any, constraint: Constraint, doc: str = "") -> Any:
    meta = {"constraint": constraint, "doc": doc}
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    if isinstance(default, (list, dict, set)):
        raise TypeError("use default_factory for a mutable default")
    return dataclasses.field(default=default, metadata=meta)


def integer(default: Any = MISSING, low: float | None = None, high: float | None = None, *,
            low_open: bool = False, high_open: bool = False, optional: bool = False,
            prefixed: bool = False, zero_is_none: bool = False, doc: str = "") -> Any:
    """A field holding an int in ``[low, high]`` (ends excluded when open); ``zero_is_none``:
    0 is read as None (an optional size where None means "all")."""
    return _field(default, MISSING, Constraint("int", low, high, low_open, high_open,
                                               optional=optional or zero_is_none,
                                               prefixed=prefixed, zero_is_none=zero_is_none), doc)


def real(default: Any = MISSING, low: float | None = None, high: float | None = None, *,
         low_open: bool = False, high_open: bool = False, optional: bool = False,
         prefixed: bool = False, doc: str = "") -> Any:
    """A field holding a finite float in the interval from ``low`` to ``high``."""
    return _field(default, MISSING, Constraint("float", low, high, low_open, high_open,
                                               optional=optional, prefixed=prefixed), doc)


def choice(default: Any, choices: Iterable[str], *, optional: bool = False,
           prefixed: bool = False, doc: str = "") -> Any:
    """A field holding one of ``choices`` (strings)."""
    return _field(default, MISSING, Constraint("str", choices=tuple(choices), optional=optional,
                                               prefixed=prefixed), doc)


def text(default: Any, *, optional: bool = False, doc: str = "") -> Any:
    """A field holding any string (its meaning checked where it is used, e.g. a device name)."""
    return _field(default, MISSING, Constraint("str", optional=optional), doc)


def device(default: str = "auto", *, doc: str = "") -> Any:
    """A device name: ``auto``, ``cpu`` or ``cuda[:N]`` (whether it exists is checked where the
    run starts, by :func:`mrptheory.device.resolve_device`)."""
    return _field(default, MISSING, Constraint("str", pattern=r"auto|cpu|cuda(:\d+)?",
                                               pattern_text="'auto', 'cpu' or 'cuda[:N]'"), doc)


def flag(default: bool, *, doc: str = "") -> Any:
    """A boolean field (true or false; no other value is read as one)."""
    return _field(default, MISSING, Constraint("bool"), doc)


def pair(default: Any, low: float | None = None, high: float | None = None, *,
         low_open: bool = False, high_open: bool = False, optional: bool = False,
         doc: str = "") -> Any:
    """A ``(low, high)`` pair of floats, both in the range and ``low <= high``."""
    return _field(default, MISSING, Constraint("pair", low, high, low_open, high_open,
                                               optional=optional), doc)


def ints(default: tuple, length: int, low: float | None = None, high: float | None = None, *,
         doc: str = "") -> Any:
    """A tuple of ``length`` ints, each in ``[low, high]`` (e.g. an image shape ``(C, H, W)``)."""
    return _field(default, MISSING, Constraint("ints", low, high, length=length), doc)


def seq(default: tuple, item: str, low: float | None = None, high: float | None = None, *,
        low_open: bool = False, high_open: bool = False, choices: Iterable[str] | None = None,
        optional: bool = False, prefixed: bool = False, min_len: int = 1, doc: str = "") -> Any:
    """A tuple of at least ``min_len`` ``item`` (``"int"``, ``"float"``, ``"str"``) values, each
    in the range (or one of ``choices``); ``optional``: None items are allowed."""
    return _field(default, MISSING, Constraint("seq", low, high, low_open, high_open,
                                               choices=tuple(choices) if choices else None,
                                               optional=optional, item=item,
                                               prefixed=prefixed, length=min_len), doc)


def nested(config: type, *, doc: str = "") -> Any:
    """A field holding another constrained config (a mapping is built into it)."""
    return _field(MISSING, config, Constraint("config", nested=config), doc)


def unconstrained(default: Any = MISSING, reason: str = "", *, default_factory: Any = MISSING,
                  doc: str = "") -> Any:
    """A field with no declared constraint, and the reason why (checked where it is used)."""
    return _field(default, default_factory, Constraint("any", reason=reason), doc)


@dataclass(frozen=True)
class Rule:
    """A cross-field condition: ``holds(cfg)`` must be true, else ConfigError(``message(cfg)``).

    ``fields`` names the fields the rule reads (documentation; the test lists them)."""

    name: str
    holds: Callable[[Any], bool]
    message: Callable[[Any], str]
    fields: tuple[str, ...] = ()


def constrained(*rules: Rule, prefix: str = "", after: str | None = None,
                normalise: bool = True):
    """Class decorator (above ``@dataclass``): registers the config, runs :func:`validate` at the
    end of its ``__init__`` (so also in ``dataclasses.replace``) and attaches ``rules`` (checked after the fields, in order).
    ``prefix`` is the CLI prefix of its ``prefixed`` fields; ``after`` names a method run after
    validation (derived values). ``normalise=False`` keeps a valid number as given (an int in a
    float field stays an int) instead of storing ``int(v)`` / ``float(v)``: the classes whose
    saved JSON and fingerprints were written that way keep them byte for byte."""

    def wrap(cls: type) -> type:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__}: put @constrained above @dataclass")
        cls.__rules__ = tuple(rules)
        cls.__option_prefix__ = prefix
        cls.__normalise__ = normalise

        if "__post_init__" in cls.__dict__:
            raise TypeError(f"{cls.__name__}: the constraints replace __post_init__ (use after=)")
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            validate(self)
            if after:
                getattr(self, after)()

        cls.__init__ = __init__
        check_declared(cls)
        CONFIGS[cls.__name__] = cls
        return cls

    return wrap


def constraints(cls: type) -> dict[str, Constraint]:
    """``{field name: Constraint}`` of a constrained config class (declaration order)."""
    return {f.name: f.metadata["constraint"] for f in dataclasses.fields(cls)
            if "constraint" in f.metadata}


def check_declared(cls: type) -> None:
    """TypeError if a field of ``cls`` has no declared constraint (nor an explicit
    :func:`unconstrained` with a reason)."""
    missing = [f.name for f in dataclasses.fields(cls) if "constraint" not in f.metadata]
    if missing:
        raise TypeError(f"{cls.__name__}: fields without a declared constraint: "
                        f"{', '.join(missing)} (use unconstrained(default, reason))")


def validate(cfg: Any) -> None:
    """Check (and normalise in place) every field of ``cfg`` from its class's table, then the
    class's rules; the first failure raises ConfigError."""
    keep_numbers = not getattr(type(cfg), "__normalise__", True)
    for name, constraint in constraints(type(cfg)).items():
        raw = getattr(cfg, name)
        value = constraint.check(name, raw)
        if keep_numbers and constraint.kind in ("int", "float") and value is not None \
                and isinstance(raw, numbers.Number):
            value = raw
        object.__setattr__(cfg, name, value)
    for rule in getattr(type(cfg), "__rules__", ()):
        if not rule.holds(cfg):
            raise ConfigError(rule.message(cfg))


def option_key(cls: type, name: str) -> str:
    """The CLI / preset key of field ``name``: the name itself, or ``<prefix>_<name>`` for a
    field declared ``prefixed`` (``MRPConfig.steps`` -> ``mrp_steps``)."""
    constraint = constraints(cls)[name]
    prefix = getattr(cls, "__option_prefix__", "")
    return f"{prefix}_{name}" if constraint.prefixed and prefix else name


def option_flag(cls: type, name: str) -> str:
    """``--`` + :func:`option_key` with ``_`` -> ``-`` (``--sigma-p``, ``--mrp-steps``)."""
    return "--" + option_key(cls, name).replace("_", "-")


def keys(cls: type) -> dict[str, str]:
    """``{option key: field name}`` of every field of ``cls`` (nested configs excluded)."""
    return {option_key(cls, name): name for name, c in constraints(cls).items()
            if c.kind != "config"}


def build(cls: type, values: Mapping[str, Any], **fixed: Any) -> Any:
    """``cls`` from ``values`` keyed by option key (:func:`option_key`): every key of ``cls``
    present in ``values`` and not None sets its field (others keep the class default); ``fixed``
    fields are set as given (the command's derived values)."""
    kw = {name: values[key] for key, name in keys(cls).items()
          if values.get(key) is not None and name not in fixed}
    return cls(**kw, **fixed)


__all__ = ["CONFIGS", "Constraint", "Rule", "build", "check_declared", "choice", "constrained", "device",
           "constraints", "flag", "integer", "ints", "keys", "nested", "option_flag", "option_key",
           "pair", "real", "seq", "text", "unconstrained", "validate"]
