"""Unit tests of metadata conversion and the node clock."""

from __future__ import annotations

import datetime as dt
import logging

from dora._metadata import Clock, decode_metadata, encode_parameters, ns_to_datetime

UTC = dt.UTC


def test_supported_types_pass_through():
    stamp = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, UTC)
    params = encode_parameters(
        {
            "b": True,
            "i": -3,
            "f": 1.5,
            "s": "x",
            "li": [1, 2],
            "lf": [1.5, 2],
            "ls": ["a"],
            "e": [],
            "t": (1, 2),
            "d": stamp,
        }
    )
    assert params == {
        "b": True,
        "i": -3,
        "f": 1.5,
        "s": "x",
        "li": [1, 2],
        "lf": [1.5, 2.0],
        "ls": ["a"],
        "e": [],
        "t": [1, 2],
        "d": stamp,
    }
    assert type(params["lf"][1]) is float


def test_other_types_become_strings_with_one_warning(caplog):
    with caplog.at_level(logging.WARNING):
        params = encode_parameters({"unusual_key": {"a": 1}, "n": None, "huge": 2**80})
        encode_parameters({"unusual_key": {"a": 2}})
    assert params == {"unusual_key": "{'a': 1}", "n": "None", "huge": str(2**80)}
    assert sum("unusual_key" in r.getMessage() for r in caplog.records) == 1


def test_naive_datetime_is_local_time():
    naive = dt.datetime(2024, 1, 1, 12, 0, 0)
    assert encode_parameters({"d": naive})["d"] == naive.astimezone(UTC)


def test_internal_keys_are_dropped_when_sent():
    params = encode_parameters({"k": 1, "_framing": "x", "__dora_startup_marker": True, "_own": 2})
    assert params == {"k": 1, "_own": 2}


def test_received_metadata_has_timestamp_then_parameters():
    ns = 1_700_000_000_123_456_789
    meta = decode_metadata(ns, {"k": 1})
    assert meta == {"timestamp": dt.datetime(2023, 11, 14, 22, 13, 20, 123456, UTC), "k": 1}
    assert list(meta) == ["timestamp", "k"]
    forwarded = dt.datetime(2020, 1, 1, tzinfo=UTC)
    assert decode_metadata(ns, {"timestamp": forwarded})["timestamp"] == forwarded


def test_ns_to_datetime_is_exact_to_the_microsecond():
    assert ns_to_datetime(1_999_999_999) == dt.datetime(1970, 1, 1, 0, 0, 1, 999999, UTC)


def test_clock_is_strictly_increasing_and_observes():
    clock = Clock()
    a, b = clock.now(), clock.now()
    assert b > a
    clock.observe(b + 10**12)
    assert clock.now() > b + 10**12
