"""Log fan-out on the coordinator and the shared filter pipeline."""

from __future__ import annotations

from dora_coordinator.logs import LogHub
from dora_message.cli_to_coordinator import LogQuery
from dora_message.common import LogMessage
from dora_message.log_filter import filter_records, format_timestamp, parse_timestamp, sort_records


def rec(
    node: str, message: str, level: str = "info", ts: float = 1000.0, df: str = "d1"
) -> LogMessage:
    return LogMessage(
        timestamp=format_timestamp(ts), level=level, message=message, dataflow_id=df, node_id=node
    )


def test_hub_buffers_and_fans_out_by_dataflow_and_node() -> None:
    hub = LogHub(per_dataflow=3)
    early = [rec("a", "one"), rec("b", "two")]
    hub.publish(early)
    seen_all: list[LogMessage] = []
    seen_b: list[LogMessage] = []
    sub_all = hub.subscribe("d1", seen_all.extend, replay=True)
    hub.subscribe("d1", seen_b.extend, nodes=["b"])
    assert [r.message for r in seen_all] == ["one", "two"]
    hub.publish([rec("a", "three"), rec("b", "four"), rec("a", "other", df="d2")])
    assert [r.message for r in seen_all] == ["one", "two", "three", "four"]
    assert [r.message for r in seen_b] == ["four"]
    assert [r.message for r in hub.buffered("d1")] == ["two", "three", "four"]  # bounded
    hub.unsubscribe(sub_all)
    hub.unsubscribe(sub_all)
    hub.publish([rec("a", "five")])
    assert seen_all[-1].message == "four"
    assert len(hub.subscribers("d1")) == 1


def test_hub_keeps_a_bounded_number_of_dataflows() -> None:
    hub = LogHub(dataflows=2)
    for df in ("x", "y", "z"):
        hub.publish([rec("a", df, df=df)])
    assert hub.buffered("x") == []
    assert [r.message for r in hub.buffered("z")] == ["z"]


def test_pipeline_time_then_grep_and_level_then_tail() -> None:
    records = sort_records(
        [
            rec("a", "late error", "error", ts=1040.0),
            rec("a", "old error", "error", ts=1000.0),
            rec("b", "timeout reached", "warn", ts=1010.0),
            rec("a", "raw line", "stdout", ts=1020.0),
            rec("b", "error again", "error", ts=1030.0),
        ]
    )
    assert next(r.message for r in records) == "old error"
    errors = filter_records(records, LogQuery(level="error", tail=2))
    assert [r.message for r in errors] == ["error again", "late error"]
    window = LogQuery(since=format_timestamp(1005.0), until=format_timestamp(1035.0))
    assert [r.message for r in filter_records(records, window)] == [
        "timeout reached",
        "raw line",
        "error again",
    ]
    assert [r.message for r in filter_records(records, LogQuery(grep="TIMEOUT"))] == [
        "timeout reached"
    ]
    assert len(filter_records(records, LogQuery(grep="b"))) == 2  # node id matches too
    only_a = filter_records(
        records, LogQuery(nodes=["a"], level="warn", level_overrides={"a": "stdout"})
    )
    assert len(only_a) == 3
    assert filter_records(records, LogQuery(tail=0)) == []


def test_timestamps() -> None:
    assert parse_timestamp("2026-03-01T10:00:00.500Z") == parse_timestamp(
        "2026-03-01T10:00:00.5+00:00"
    )
    assert parse_timestamp("not a time") is None
    assert format_timestamp(0.0) == "1970-01-01T00:00:00.000Z"
