"""What `dora topic echo|hz|info` compute and print, from given messages."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from dora_cli.topic_view import RateWindow, TopicSummary, echo_line, hz_table, rate_of


def test_echo_table_and_json_lines() -> None:
    array = pa.array([1.5, 2.0])
    params = {"seq": 3, "when": dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "raw": b"\x00\x01"}
    assert echo_line("cam/image", array, params, 1000, "table") == (
        'cam/image\tdata=[1.5,2.0] metadata={"seq":3,"when":"2026-01-02T00:00:00+00:00",'
        '"raw":"AAE="}'
    )
    assert echo_line("cam/image", None, {}, 1000, "table") == "cam/image"
    record = json.loads(echo_line("cam/image", pa.array(["a", None]), {}, 1234, "json"))
    assert record == {"timestamp": 1234, "name": "cam/image", "data": ["a", None], "metadata": None}


def test_echo_of_values_json_cannot_spell() -> None:
    line = echo_line("t/x", pa.array([float("nan"), 1.0]), {}, 0, "table")
    assert line == 't/x\tdata=["nan",1.0]'
    nested = echo_line("t/x", pa.array([{"a": [1, 2]}]), {}, 0, "table")
    assert nested == 't/x\tdata=[{"a":[1,2]}]'


def test_rate_of_intervals() -> None:
    rate = rate_of([0.0, 0.1, 0.3, 0.3, 0.4])  # the repeated instant is left out
    assert rate.samples == 5
    assert rate.avg_ms == pytest.approx(400 / 3)
    assert rate.min_ms == pytest.approx(100) and rate.max_ms == pytest.approx(200)
    assert rate.hz == pytest.approx(7.5)
    assert rate.std_ms == pytest.approx(47.14, abs=0.01)
    assert rate_of([1.0]).cells() == ["-"] * 5
    assert rate_of([]).samples == 0


def test_rate_window_slides_and_aggregates() -> None:
    window = RateWindow(window_s=1.0, topics=["a/x", "b/y"])
    for i in range(5):
        window.add("a/x", i * 0.5)
    window.add("b/y", 1.75)
    window.add("c/z", 1.8)  # not selected: ignored
    rows = dict(window.rows(now=2.0))
    assert list(rows) == ["ALL", "a/x", "b/y"]
    assert rows["a/x"].samples == 3  # 1.0, 1.5, 2.0
    assert rows["a/x"].avg_ms == pytest.approx(500)
    assert rows["b/y"].samples == 1 and rows["b/y"].avg_ms is None
    assert rows["ALL"].samples == 4
    table = hz_table(window.rows(now=2.0)).splitlines()
    assert table[0].split("\t") == [
        "topic",
        "avg_ms",
        "avg_hz",
        "min_ms",
        "max_ms",
        "std_ms",
        "samples",
    ]
    assert table[2].split("\t") == ["a/x", "500.00", "2.00", "500.00", "500.00", "0.00", "3"]


def test_info_report() -> None:
    summary = TopicSummary("cam/image", ["det/img", "rec/cam___image"])
    for i in range(11):
        summary.add(pa.array([1, 2], pa.uint8()), 1000, i * 0.1)
    text = summary.report(elapsed_s=2.0)
    assert "Topic: cam/image" in text
    assert "Type: uint8" in text
    assert "  * cam (10.0 Hz)" in text
    assert "  * det/img\n  * rec/cam___image" in text
    assert "Total messages: 11" in text
    assert "Bandwidth: 0.04 Mbps" in text
    empty = TopicSummary("cam/image", []).report(elapsed_s=5.0)
    assert "Type: <unknown> (no messages received)" in empty
    assert "(frequency unknown)" in empty and "<none>" in empty and "<unknown>" in empty
