"""The input-mapping grammar: parse_input_source, input_source_of, input_options."""

from __future__ import annotations

import pytest

from dora_message.descriptor import InputSpec
from dora_message.sources import (
    InputOptions,
    LogsSource,
    TimerSource,
    UserSource,
    input_options,
    input_source_of,
    parse_input_source,
)


@pytest.mark.parametrize(
    ("text", "interval_ns", "canonical"),
    [
        ("dora/timer/secs/2", 2_000_000_000, "dora/timer/secs/2"),
        ("dora/timer/millis/100", 100_000_000, "dora/timer/millis/100"),
        ("dora/timer/millis/1000", 1_000_000_000, "dora/timer/secs/1"),
        ("dora/timer/micros/500", 500_000, "dora/timer/micros/500"),
        ("dora/timer/micros/2000", 2_000_000, "dora/timer/millis/2"),
        ("dora/timer/nanos/1", 1, "dora/timer/nanos/1"),
        ("dora/timer/nanos/1500", 1500, "dora/timer/nanos/1500"),
        ("dora/timer/hz/30", 33_333_333, "dora/timer/nanos/33333333"),
        ("dora/timer/hz/0.5", 2_000_000_000, "dora/timer/secs/2"),
        ("dora/timer/hz/1000", 1_000_000, "dora/timer/millis/1"),
        ("dora/timer/hz/1e9", 1, "dora/timer/nanos/1"),
    ],
)
def test_timers(text: str, interval_ns: int, canonical: str) -> None:
    source = parse_input_source(text)
    assert source == TimerSource(interval_ns=interval_ns)
    assert str(source) == canonical
    assert parse_input_source(canonical) == source
    assert source.interval == pytest.approx(interval_ns / 1e9)


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("dora/logs", LogsSource()),
        ("dora/logs/", LogsSource()),
        ("dora/logs/error", LogsSource(level="error")),
        ("dora/logs/WARN", LogsSource(level="warn")),
        ("dora/logs/stdout", LogsSource(level="stdout")),
        ("dora/logs/info/camera", LogsSource(level="info", node="camera")),
        ("dora/logs/trace/", LogsSource(level="trace")),
    ],
)
def test_logs(text: str, source: LogsSource) -> None:
    assert parse_input_source(text) == source


def test_logs_render() -> None:
    assert str(LogsSource()) == "dora/logs"
    assert str(LogsSource(level="debug", node="cam")) == "dora/logs/debug/cam"


@pytest.mark.parametrize(
    ("text", "node", "output"),
    [
        ("camera/image", "camera", "image"),
        ("runtime-node/preprocessor/processed", "runtime-node", "preprocessor/processed"),
        ("a.b/c.d", "a.b", "c.d"),
        ("dora-x/out", "dora-x", "out"),
    ],
)
def test_user_sources(text: str, node: str, output: str) -> None:
    source = parse_input_source(text)
    assert source == UserSource(node=node, output=output)
    assert str(source) == text


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("camera", "expected `<node>/<output>`"),
        ("", "expected `<node>/<output>`"),
        ("/out", "node id before `/` is empty"),
        ("camera/", "output id after `/` is empty"),
        ("dora", "expected `<node>/<output>`"),
        ("dora/timer", "expected `dora/timer/<unit>/<n>`"),
        ("dora/timer/millis", "expected `dora/timer/<unit>/<n>`"),
        ("dora/timer/millis/", "expected `dora/timer/<unit>/<n>`"),
        ("dora/timer/weeks/1", "unknown unit `weeks`"),
        ("dora/timer/Millis/1", "unknown unit `Millis`"),
        ("dora/timer/secs/0", "greater than zero"),
        ("dora/timer/nanos/0", "greater than zero"),
        ("dora/timer/millis/1.5", "not a whole number"),
        ("dora/timer/millis/-5", "not a whole number"),
        ("dora/timer/millis/+5", "not a whole number"),
        ("dora/timer/millis/100/x", "not a whole number"),
        ("dora/timer/secs/99999999999999999999", "too large"),
        ("dora/timer/hz/0", "finite number > 0"),
        ("dora/timer/hz/-3", "finite number > 0"),
        ("dora/timer/hz/inf", "finite number > 0"),
        ("dora/timer/hz/nan", "finite number > 0"),
        ("dora/timer/hz/fast", "not a number"),
        ("dora/timer/hz/1e12", "faster than 1 tick per ns"),
        ("dora/logs/loud", "unknown level `loud`"),
        ("dora/logs/info/cam/extra", "extra `/` parts"),
        ("dora/foo", "unknown dora source"),
        ("dora/tick/millis/5", "unknown dora source"),
    ],
)
def test_bad_sources(text: str, phrase: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_input_source(text)
    assert phrase in str(info.value)
    if text:
        assert text in str(info.value) or text.startswith("/") or text.endswith("/")


def test_non_string_source() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_input_source(5)  # type: ignore[arg-type]


def test_sources_are_hashable_values() -> None:
    assert {parse_input_source("a/b"), parse_input_source("a/b")} == {UserSource("a", "b")}


def test_input_source_of() -> None:
    assert input_source_of("a/b") == "a/b"
    assert input_source_of(InputSpec(source="c/d", queue_size=3)) == "c/d"


def test_input_options_defaults() -> None:
    assert input_options("a/b") == InputOptions("a/b", 10, "drop_oldest", None)
    assert input_options(InputSpec(source="a/b")) == InputOptions("a/b", 10, "drop_oldest", None)


def test_input_options_long_form() -> None:
    spec = InputSpec(source="a/b", queue_size=3, queue_policy="backpressure", input_timeout=2.5)
    assert input_options(spec) == InputOptions("a/b", 3, "backpressure", 2.5)


def test_input_options_queue_size_zero_means_one() -> None:
    assert input_options(InputSpec(source="a/b", queue_size=0)).queue_size == 1
