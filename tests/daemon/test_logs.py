"""Log capture: parsing node output, min_log_level, JSONL files, rotation, CLI formats."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dora_daemon.log_format import (
    decode_record,
    encode_record,
    parse_log_filter,
    passes_display_filter,
)
from dora_daemon.logs import (
    MAX_LINE_CHARS,
    TRUNCATED_MARKER,
    NodeLogger,
    RecordIds,
    existing_log_files,
    log_file_path,
    log_settings,
    parse_log_line,
    rfc3339_from_ns,
)
from dora_message.common import LogMessage
from dora_message.descriptor import Node, Operator
from tests.log_records import log_record

DF = "0193e0b2-aaaa-7bbb-8ccc-000000000001"


def structured(level: str = "info", message: str = "hello", **extra: object) -> str:
    obj = {"timestamp": "2026-03-01T10:00:00.123Z", "level": level, "message": message}
    obj.update(extra)
    return json.dumps(obj) + "\n"


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def make_logger(tmp_path: Path, **kwargs: object) -> NodeLogger:
    return NodeLogger(dataflow_id=DF, node_id="sensor", out_dir=tmp_path / "out", **kwargs)  # type: ignore[arg-type]


def test_structured_line_is_parsed_and_ids_are_ours(tmp_path: Path) -> None:
    with make_logger(tmp_path, daemon_id="d1") as logger:
        line = structured(
            "INFO",
            "reading",
            target="sensor::io",
            module_path="sensor.io",
            file="io.py",
            line="42",
            fields={"count": 3, "name": "x", "ok": True},
            node_id="someone-else",
            dataflow_id="other",
            fields_dropped=True,
        )
        record = logger.process_line("stdout", line)
    assert record is not None
    assert record.level == "info"
    assert record.message == "reading"
    assert record.timestamp == "2026-03-01T10:00:00.123Z"
    assert (record.node_id, record.dataflow_id, record.daemon_id) == ("sensor", DF, "d1")
    assert (record.target, record.module_path, record.file, record.line) == (
        "sensor::io",
        "sensor.io",
        "io.py",
        42,
    )
    assert record.fields == {"count": "3", "name": "x", "ok": "true", "fields_dropped": "true"}
    assert record.stream == "stdout"
    path = tmp_path / "out" / DF / "log_sensor.jsonl"
    assert path == log_file_path(tmp_path / "out", DF, "sensor")
    [written] = read_lines(path)
    assert written["node_id"] == "sensor" and written["message"] == "reading"
    assert decode_record(path.read_text().strip()) == record


def test_raw_lines_become_stdout_records(tmp_path: Path) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    with make_logger(tmp_path) as logger:
        raw = logger.process_line("stderr", "plain print output\r\n")
        not_a_log = logger.process_line("stdout", '{"level": "info"}\n')  # no timestamp
        array = logger.process_line("stdout", "[1, 2]")
        odd_level = logger.process_line("stdout", structured("loud"))
    assert raw is not None and not_a_log is not None and array is not None
    assert raw.level == "stdout" and raw.message == "plain print output"
    assert raw.stream == "stderr" and raw.node_id == "sensor"
    assert before <= datetime.fromisoformat(raw.timestamp) <= datetime.now(UTC)
    assert not_a_log.level == "stdout" and not_a_log.message == '{"level": "info"}'
    assert array.level == "stdout"
    assert odd_level is not None and odd_level.level == "stdout"
    assert len(read_lines(logger.path)) == 4


@pytest.mark.parametrize(
    "ns",
    [
        0,
        999,  # below a microsecond: truncated
        1_772_359_200_123_456_789,  # 2026-03-01T10:00:00.123456789Z
        1_772_359_199_999_999_999,  # the last microsecond of a second
        1_772_359_200_000_000_000,  # the next second: the cached date must change
        1_772_359_199_000_001_000,  # back a second (a clock step)
        4_102_444_799_999_999_000,  # 2099-12-31T23:59:59.999999Z
        -1_000,  # before 1970
    ],
)
def test_raw_line_stamps_are_rfc3339_utc_microseconds(ns: int) -> None:
    """The stamp of a raw line, whose date and time of day are formatted once a second,
    reads as datetime writes it, whatever second came before."""
    micros = ns // 1000
    expected = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=micros)
    text = expected.isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert rfc3339_from_ns(ns) == text
    assert rfc3339_from_ns(ns) == text  # the cached second gives the same text


def test_level_spellings_are_normalized() -> None:
    assert parse_log_line(structured("WARNING"), "stdout").level == "warn"
    assert parse_log_line(structured("critical"), "stdout").level == "error"
    assert parse_log_line(structured("Trace"), "stdout").level == "trace"


def test_overlong_lines_are_truncated() -> None:
    record = parse_log_line("x" * (MAX_LINE_CHARS + 10), "stdout")
    assert record.message == "x" * MAX_LINE_CHARS + TRUNCATED_MARKER


def test_min_log_level_drops_records_and_does_not_write_them(tmp_path: Path) -> None:
    with make_logger(tmp_path, min_log_level="INFO") as logger:
        kept = [
            logger.process_line("stdout", structured("error", "e")),
            logger.process_line("stdout", structured("info", "i")),
        ]
        dropped = [
            logger.process_line("stdout", structured("debug", "d")),
            logger.process_line("stdout", structured("trace", "t")),
            logger.process_line("stdout", "raw print"),  # stdout passes only a stdout filter
        ]
    assert all(record is not None for record in kept)
    assert dropped == [None, None, None]
    assert [line["message"] for line in read_lines(logger.path)] == ["e", "i"]


def test_stdout_threshold_keeps_everything(tmp_path: Path) -> None:
    with make_logger(tmp_path, min_log_level="stdout") as logger:
        assert logger.process_line("stdout", "raw") is not None
        assert logger.process_line("stdout", structured("trace", "t")) is not None
    # both reach the file, in order: the lowest threshold filters nothing
    lines = read_lines(logger.path)
    assert [(line["level"], line["message"]) for line in lines] == [
        ("stdout", "raw"),
        ("trace", "t"),
    ]
    assert {(line["dataflow_id"], line["node_id"]) for line in lines} == {(DF, "sensor")}


def test_rotation_keeps_max_rotated_files_with_exact_names(tmp_path: Path) -> None:
    def line(i: int) -> str:
        return structured("info", f"message-{i}")

    probe = parse_log_line(line(0), "stdout", RecordIds(DF, "sensor"))
    size = len(encode_record(probe)) + 1  # every line has the same length
    with make_logger(tmp_path, max_log_size=2 * size, max_rotated_files=2) as logger:
        for i in range(7):
            logger.process_line("stdout", line(i))
    directory = tmp_path / "out" / DF
    assert sorted(p.name for p in directory.iterdir()) == [
        "log_sensor.1.jsonl",
        "log_sensor.2.jsonl",
        "log_sensor.jsonl",
    ]

    def messages(name: str) -> list[object]:
        return [record["message"] for record in read_lines(directory / name)]

    assert messages("log_sensor.2.jsonl") == ["message-2", "message-3"]
    assert messages("log_sensor.1.jsonl") == ["message-4", "message-5"]
    assert messages("log_sensor.jsonl") == ["message-6"]
    assert [p.name for p in existing_log_files(tmp_path / "out", DF, "sensor")] == [
        "log_sensor.2.jsonl",
        "log_sensor.1.jsonl",
        "log_sensor.jsonl",
    ]


def test_reopened_log_counts_existing_bytes(tmp_path: Path) -> None:
    first = structured("info", "before restart")
    with make_logger(tmp_path) as logger:
        logger.process_line("stdout", first)
    size = logger.path.stat().st_size
    with make_logger(tmp_path, max_log_size=size + 1) as logger:
        logger.process_line("stdout", structured("info", "after restart"))
    rotated = log_file_path(tmp_path / "out", DF, "sensor", 1)
    assert [r["message"] for r in read_lines(rotated)] == ["before restart", "after restart"]
    assert logger.path.read_text() == ""


def test_closed_logger_refuses_lines_and_bad_settings_are_rejected(tmp_path: Path) -> None:
    logger = make_logger(tmp_path)
    logger.close()
    logger.close()
    with pytest.raises(ValueError, match="closed"):
        logger.process_line("stdout", "late")
    with pytest.raises(ValueError, match="max_rotated_files"):
        make_logger(tmp_path, max_rotated_files=0)
    with pytest.raises(ValueError, match="max_log_size"):
        make_logger(tmp_path, max_log_size=0)
    with pytest.raises(ValueError, match="unknown log level"):
        make_logger(tmp_path, min_log_level="loud")


def test_log_settings_from_node_and_operator() -> None:
    node = Node(id="a", path="a.py", min_log_level="WARN", max_log_size="1K")
    assert log_settings(node) == ("warn", 1024, 5)
    runtime = Node(
        id="r", operator=Operator(python="op.py", max_log_size="2MB", max_rotated_files=3)
    )
    assert log_settings(runtime) == (None, 2 * 1024 * 1024, 3)
    assert log_settings(Node(id="b", path="b")) == (None, None, 5)


def _record(**changes: object) -> LogMessage:
    return log_record(DF, **changes)


def test_parse_log_filter() -> None:
    assert parse_log_filter("node1=debug,node2=warn") == {"node1": "debug", "node2": "warn"}
    assert parse_log_filter(" a = WARNING , b=stdout, ") == {"a": "warn", "b": "stdout"}
    assert parse_log_filter("") == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("node1", "expected `<node>=<level>`"),
        ("=debug", "node name is empty"),
        ("a=", "level is empty"),
        ("a=loud", "unknown log level `loud`"),
        ("a=debug,a=info", "`a` is listed twice"),
    ],
)
def test_parse_log_filter_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_log_filter(text)


def test_display_filter_uses_per_node_overrides() -> None:
    overrides = parse_log_filter("sensor=debug")
    assert passes_display_filter(_record(level="debug"), "warn", overrides)
    assert not passes_display_filter(_record(level="debug", node_id="other"), "warn", overrides)
    assert not passes_display_filter(_record(level="stdout"), "info")
    assert passes_display_filter(_record(level="stdout"), "stdout")
