"""parse_duration and parse_size."""

from __future__ import annotations

import pytest

from dora_message.units import parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30.0),
        ("1.5", 1.5),
        ("30s", 30.0),
        ("500ms", 0.5),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("2d", 172800.0),
        ("1w", 604800.0),
        ("1h30m", 5400.0),
        ("1h 30m 15s", 5415.0),
        ("250us", 250e-6),
        ("100ns", 100e-9),
        ("2 Seconds", 2.0),
        ("3MIN", 180.0),
        ("  10s  ", 10.0),
        ("0", 0.0),
        (".5s", 0.5),
    ],
)
def test_parse_duration_strings(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("value", "seconds"), [(0, 0.0), (15, 15.0), (2.5, 2.5)])
def test_parse_duration_numbers(value: float, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("-5s", "negative"),
        (-1, "negative"),
        ("5 parsecs", "unknown unit `parsecs`"),
        ("abc", "invalid duration"),
        ("5s!", "invalid duration"),
        (float("inf"), "not a finite"),
        (float("nan"), "not a finite"),
        (True, "expected a duration"),
        (None, "expected a duration"),
    ],
)
def test_parse_duration_rejects(value: object, phrase: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)  # type: ignore[arg-type]
    assert phrase in str(info.value)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (0, 0),
        (1234, 1234),
        ("1234", 1234),
        ("10B", 10),
        ("1K", 1024),
        ("1kb", 1024),
        ("2KiB", 2048),
        ("50MB", 50 * 1024**2),
        ("8 MiB", 8 * 1024**2),
        ("8m", 8 * 1024**2),
        ("1G", 1024**3),
        ("1.5gb", 3 * 1024**3 // 2),
        ("2T", 2 * 1024**4),
        (" 16 mb ", 16 * 1024**2),
    ],
)
def test_parse_size(value: str | int, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        (-1, "negative"),
        ("-5MB", "negative"),
        ("50XB", "unknown unit `xb`"),
        ("lots", "invalid size"),
        ("", "invalid size"),
        ("1.5", "whole number of bytes"),
        (1.5, "integer number of bytes"),
        (False, "expected a size"),
    ],
)
def test_parse_size_rejects(value: object, phrase: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_size(value)  # type: ignore[arg-type]
    assert phrase in str(info.value)
