"""The input-mapping grammar: what an input of a node is wired to.

An input is written ``<node>/<output>`` (``<output>`` may itself contain ``/``, e.g.
``runtime/op/out``), ``dora/timer/<unit>/<n>`` with unit secs, millis, micros, nanos or
``hz`` (a float), or ``dora/logs[/<level>[/<node>]]``. Parsing is pure and raises
:class:`ValueError` with a message the validator prefixes with the document path.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import msgspec

from dora_message.descriptor import Input, InputSpec
from dora_message.quote import excerpt

__all__ = [
    "DEFAULT_QUEUE_POLICY",
    "DEFAULT_QUEUE_SIZE",
    "LOG_LEVELS",
    "InputOptions",
    "InputSource",
    "LogsSource",
    "TimerSource",
    "UserSource",
    "input_options",
    "input_source_of",
    "parse_input_source",
]

DEFAULT_QUEUE_SIZE = 10
DEFAULT_QUEUE_POLICY = "drop_oldest"

#: Levels accepted by ``dora/logs/<level>`` and ``min_log_level`` (case-insensitive).
LOG_LEVELS = ("stdout", "error", "warn", "info", "debug", "trace")

# Nanoseconds per timer unit, coarsest first: the canonical form uses the first exact one.
_TIMER_UNITS: dict[str, int] = {
    "secs": 1_000_000_000,
    "millis": 1_000_000,
    "micros": 1_000,
    "nanos": 1,
}

_MAX_U64 = 2**64 - 1


class UserSource(msgspec.Struct, frozen=True):
    """Output ``output`` of node ``node`` (``output`` may contain ``/``: ``op/out``)."""

    node: str
    output: str

    def __str__(self) -> str:
        return f"{self.node}/{self.output}"


class TimerSource(msgspec.Struct, frozen=True):
    """A built-in timer ticking every ``interval_ns`` nanoseconds (always > 0)."""

    interval_ns: int

    @property
    def interval(self) -> float:
        """The interval in seconds."""
        return self.interval_ns / 1e9

    def __str__(self) -> str:
        for unit, scale in _TIMER_UNITS.items():
            if self.interval_ns % scale == 0:
                return f"dora/timer/{unit}/{self.interval_ns // scale}"
        raise AssertionError("unreachable: nanos always divides")


class LogsSource(msgspec.Struct, frozen=True):
    """Log messages of all nodes, or of ``node``, at ``level`` or more severe."""

    level: str | None = None
    node: str | None = None

    def __str__(self) -> str:
        parts = ["dora", "logs"]
        if self.level is not None:
            parts.append(self.level)
            if self.node is not None:
                parts.append(self.node)
        return "/".join(parts)


InputSource = UserSource | TimerSource | LogsSource


class InputOptions(NamedTuple):
    """An input with every default filled in."""

    source: str
    queue_size: int
    queue_policy: str
    input_timeout: float | None


def parse_input_source(text: str) -> InputSource:
    """Parse an input mapping string such as ``camera/image`` or ``dora/timer/millis/100``."""
    if not isinstance(text, str):
        raise ValueError(f"an input source must be a string, got {type(text).__name__}")
    first, sep, rest = text.partition("/")
    if not sep:
        raise ValueError(
            f"invalid input source `{excerpt(text)}`: expected `<node>/<output>`, "
            "`dora/timer/millis/<n>` or `dora/logs`"
        )
    if first == "dora":
        return _parse_dora_source(text, rest)
    if not first:
        raise ValueError(f"invalid input source `{excerpt(text)}`: the node id before `/` is empty")
    if not rest:
        raise ValueError(
            f"invalid input source `{excerpt(text)}`: the output id after `/` is empty"
        )
    return UserSource(node=first, output=rest)


def _parse_dora_source(text: str, rest: str) -> InputSource:
    kind, _, args = rest.partition("/")
    if kind == "timer":
        return _parse_timer(text, args)
    if kind == "logs":
        return _parse_logs(text, args)
    raise ValueError(
        f"unknown dora source `{excerpt(text)}`: the only built-in sources are "
        "`dora/timer/<secs|millis|micros|nanos|hz>/<n>` and `dora/logs[/<level>[/<node>]]`"
    )


def _parse_timer(text: str, args: str) -> TimerSource:
    unit, _, amount = args.partition("/")
    if not unit or not amount:
        raise ValueError(
            f"invalid timer `{excerpt(text)}`: expected `dora/timer/<unit>/<n>` with unit "
            "secs, millis, micros, nanos or hz (e.g. `dora/timer/millis/100`)"
        )
    if unit == "hz":
        return TimerSource(interval_ns=_hz_interval(text, amount))
    scale = _TIMER_UNITS.get(unit)
    if scale is None:
        raise ValueError(
            f"invalid timer `{excerpt(text)}`: unknown unit `{excerpt(unit)}`; "
            "use secs, millis, micros, nanos or hz"
        )
    if not amount.isascii() or not amount.isdigit():
        raise ValueError(
            f"invalid timer `{excerpt(text)}`: `{excerpt(amount)}` is not a whole number "
            f"(use `dora/timer/hz/<f>` for fractional rates)"
        )
    # over 20 digits is over u64 anyway; int() of a huge string is slow, then refused
    count = int(amount) if len(amount) <= 20 else _MAX_U64 + 1
    if count > _MAX_U64:
        raise ValueError(f"invalid timer `{excerpt(text)}`: `{excerpt(amount)}` is too large")
    if count == 0:
        raise ValueError(f"invalid timer `{excerpt(text)}`: the interval must be greater than zero")
    return TimerSource(interval_ns=count * scale)


def _hz_interval(text: str, amount: str) -> int:
    try:
        hz = float(amount)
    except ValueError:
        raise ValueError(
            f"invalid timer `{excerpt(text)}`: `{excerpt(amount)}` is not a number"
        ) from None
    if not math.isfinite(hz) or hz <= 0:
        raise ValueError(f"invalid timer `{excerpt(text)}`: the rate must be a finite number > 0")
    interval = 1e9 / hz  # inf for a subnormal rate such as 1e-320
    if not math.isfinite(interval) or interval > _MAX_U64:
        raise ValueError(
            f"invalid timer `{excerpt(text)}`: {excerpt(amount)} Hz is slower than "
            f"1 tick per {_MAX_U64} ns"
        )
    interval_ns = round(interval)
    if interval_ns == 0:
        raise ValueError(
            f"invalid timer `{excerpt(text)}`: {excerpt(amount)} Hz is faster than 1 tick per ns"
        )
    return interval_ns


def _parse_logs(text: str, args: str) -> LogsSource:
    if not args:
        return LogsSource()
    level, _, node = args.partition("/")
    if level.lower() not in LOG_LEVELS:
        raise ValueError(
            f"invalid log source `{excerpt(text)}`: unknown level `{excerpt(level)}`; "
            f"expected one of {', '.join(LOG_LEVELS)}"
        )
    if "/" in node:
        raise ValueError(
            f"invalid log source `{excerpt(text)}`: expected `dora/logs/<level>/<node>`, "
            "got extra `/` parts"
        )
    return LogsSource(level=level.lower(), node=node or None)


def input_source_of(spec: Input) -> str:
    """The mapping string of an input, short or long form."""
    return spec.source if isinstance(spec, InputSpec) else spec


def input_options(spec: Input) -> InputOptions:
    """The source string and queue options of an input, defaults filled in.

    A ``queue_size`` of 0 means 1 (the validator warns about it), as in mainline, where
    the drop-oldest capacity is ``max(queue_size, 1)``.
    """
    if not isinstance(spec, InputSpec):
        return InputOptions(spec, DEFAULT_QUEUE_SIZE, DEFAULT_QUEUE_POLICY, None)
    size = DEFAULT_QUEUE_SIZE if spec.queue_size is None else max(spec.queue_size, 1)
    return InputOptions(
        source=spec.source,
        queue_size=size,
        queue_policy=spec.queue_policy or DEFAULT_QUEUE_POLICY,
        input_timeout=spec.input_timeout,
    )
