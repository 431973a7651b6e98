"""How a log record looks on a terminal: `--log-format pretty|compact|json`."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime

import pytest

from dora_cli.log_lines import format_log
from dora_message.common import LogMessage
from tests.log_records import log_record

DF = "0193a3b4-0000-7000-8000-000000000001"


def _record(**changes: object) -> LogMessage:
    return log_record(DF, **changes)


def _local_clock(timestamp: str) -> str:
    moment = datetime.fromisoformat(timestamp).astimezone()
    return moment.strftime("%H:%M:%S") + f".{moment.microsecond // 1000:03d}"


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_pretty_format() -> None:
    clock = _local_clock("2026-03-01T10:00:00.123Z")
    assert format_log(_record(), "pretty", color=False) == f"{clock} INFO  sensor: hello"
    with_fields = format_log(_record(fields={"k": "v", "n": "1"}), "pretty", color=False)
    assert with_fields == f"{clock} INFO  sensor: hello k=v n=1"
    raw = format_log(_record(level="stdout", message="print"), "pretty", color=False)
    assert raw == f"{clock} STDOUT sensor: print"
    nanos = format_log(_record(timestamp="2026-03-01T10:00:00.123456789Z"), "pretty")
    assert nanos.startswith(clock + " ")


def test_pretty_format_colors_by_level() -> None:
    colored = format_log(_record(level="error", message="bad"), "pretty", color=True)
    assert "\x1b[31mERROR" in colored
    assert ANSI.sub("", colored) == format_log(
        _record(level="error", message="bad"), "pretty", color=False
    )
    assert "\x1b[" not in format_log(_record(), "json", color=True)


def test_compact_and_json_formats() -> None:
    record = _record(fields={"k": "v"})
    clock = _local_clock(record.timestamp)[:8]
    # as dora-rs: `HH:MM:SS LEVEL node: message`; json is dora-rs's log message layout
    assert format_log(record, "compact", color=False) == f"{clock} INFO sensor: hello"
    assert ANSI.sub("", format_log(record, "compact", color=True)) == f"{clock} INFO sensor: hello"
    assert json.loads(format_log(record, "json", color=False)) == {
        "build_id": None,
        "dataflow_id": DF,
        "node_id": "sensor",
        "daemon_id": None,
        "level": "INFO",
        "target": None,
        "module_path": None,
        "file": None,
        "line": None,
        "message": "hello",
        "timestamp": "2026-03-01T10:00:00.123000000Z",
        "fields": {"k": "v"},
    }
    with pytest.raises(ValueError, match="unknown log format `xml`"):
        format_log(record, "xml", color=False)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_clock_is_the_local_wall_clock_across_daylight_saving(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock column is the local time `astimezone` gives, on both sides of a change
    of daylight saving time (Lord Howe changes by half an hour), and before 1970."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        moments = [
            "2026-03-29T00:59:59.999Z",  # Berlin: the last second of winter time
            "2026-03-29T01:00:00.001Z",
            "2026-11-01T05:59:59.500Z",  # New York: the repeated hour
            "2026-11-01T06:00:00.250Z",
            "2026-04-04T14:59:59.000Z",  # Lord Howe: half an hour back
            "2026-04-04T15:00:00.000Z",
            "1969-12-31T23:59:59.500Z",
            "2026-07-01T23:59:59.999999+02:00",
        ]
        for moment in moments:
            record = _record(timestamp=moment)
            line = format_log(record, "pretty", color=False)
            assert line.startswith(_local_clock(moment) + " "), (zone, moment, line)
    finally:
        monkeypatch.undo()
        time.tzset()
