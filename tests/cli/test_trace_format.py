"""The pure half of ``dora trace``: durations, times, prefixes, the tree."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from dora_cli.trace_format import (
    TraceLookupError,
    align,
    format_duration,
    format_started,
    is_full_uuid,
    list_rows,
    render_tree,
    resolve_prefix,
)
from dora_message import cli_to_coordinator as cli
from dora_message.coordinator_to_cli import SpanRecord, TraceSummary


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (0, "0us"),
        (123, "123us"),
        (999, "999us"),
        (1_000, "1.0ms"),
        (12_345, "12.3ms"),
        (999_949, "999.9ms"),
        (1_000_000, "1.000s"),
        (1_234_567, "1.235s"),
        (61_000_000, "61.000s"),
    ],
)
def test_durations(micros: int, text: str) -> None:
    assert format_duration(micros) == text


def test_started_is_utc() -> None:
    assert format_started(0) == "1970-01-01 00:00:00"
    assert format_started(1_772_361_005_999) == "2026-03-01 10:30:05"


def test_full_uuids_are_recognised() -> None:
    assert is_full_uuid(str(uuid.uuid4()))
    assert not is_full_uuid("a1b2c3d4")
    assert not is_full_uuid(uuid.uuid4().hex)  # 32 hex digits: treated as a prefix


IDS = ["a1b2c3d4-0000-4000-8000-000000000001", "a1b2ffff-0000-4000-8000-000000000002"]


def test_prefix_resolution() -> None:
    assert resolve_prefix("a1b2c", IDS) == IDS[0]
    assert resolve_prefix("A1B2F", IDS) == IDS[1]
    assert resolve_prefix(IDS[0], IDS) == IDS[0]
    with pytest.raises(TraceLookupError) as none:
        resolve_prefix("zz", IDS)
    assert str(none.value) == "no trace found matching prefix `zz`"
    with pytest.raises(TraceLookupError) as several:
        resolve_prefix("a1b2", IDS)
    assert str(several.value) == "prefix `a1b2` is ambiguous (2 matches). Use a longer prefix."


def test_list_table_is_newest_first_with_short_ids() -> None:
    traces = [
        TraceSummary(
            trace_id=IDS[1], root_span_name="build_dataflow", span_count=5, start_time=1_000
        ),
        TraceSummary(
            trace_id=IDS[0],
            root_span_name="spawn_dataflow",
            span_count=12,
            start_time=1_772_361_005_000,
            duration_us=1_234_000,
        ),
    ]
    assert align(list_rows(traces)) == [
        "TRACE ID      ROOT SPAN       SPANS  STARTED              DURATION",
        "a1b2c3d4-000  spawn_dataflow  12     2026-03-01 10:30:05  1.234s",
        "a1b2ffff-000  build_dataflow  5      1970-01-01 00:00:01  0us",
    ]


def span(span_id: int, title: str, parent: int | None, start: int, **fields: str) -> SpanRecord:
    return SpanRecord(
        trace_id="t",
        span_id=span_id,
        parent_span_id=parent,
        name=title,
        start_time=start,
        duration_us=span_id * 1_500,
        fields=list(fields.items()),
    )


def test_tree_orders_children_by_start_and_indents_by_depth() -> None:
    spans = [
        span(4, "spawn_on_daemon", 3, 30, daemon_id="d2"),
        span(3, "wait_for_spawn", 1, 20),
        span(5, "spawn_on_daemon", 3, 25, daemon_id="d1", nodes="a,b"),
        span(2, "place_nodes", 1, 10),
        span(1, "spawn_dataflow", None, 5, name="demo", dataflow_id="u"),
    ]
    tree = render_tree(spans)
    assert not tree.partial
    assert tree.lines == [
        "spawn_dataflow [INFO 1.5ms] {name=demo, dataflow_id=u}",
        "  place_nodes [INFO 3.0ms]",
        "  wait_for_spawn [INFO 4.5ms]",
        "    spawn_on_daemon [INFO 7.5ms] {daemon_id=d1, nodes=a,b}",
        "    spawn_on_daemon [INFO 6.0ms] {daemon_id=d2}",
    ]


def test_orphans_and_cycles_become_roots_of_a_partial_tree() -> None:
    orphans = render_tree([span(7, "late", 99, 2), span(8, "leaf", 7, 3), span(9, "root", None, 1)])
    assert orphans.partial
    assert [line.split(" [")[0] for line in orphans.lines] == ["root", "late", "  leaf"]

    cycle = render_tree([span(1, "a", 2, 1), span(2, "b", 1, 2), span(3, "self", 3, 0)])
    assert cycle.partial
    assert [line.split(" [")[0] for line in cycle.lines] == ["self", "a", "  b"]


def test_deep_traces_do_not_recurse() -> None:
    chain = [span(1, "s", None, 0)] + [span(i, "s", i - 1, i) for i in range(2, 3000)]
    tree = render_tree(chain)
    assert len(tree.lines) == 2999 and tree.lines[-1].startswith("  " * 2998 + "s [")


class FakeClient:
    """Answers `get_traces` / `get_trace_spans` from fixed spans."""

    def __init__(self, spans: list[SpanRecord]) -> None:
        self.spans = spans

    async def __aenter__(self) -> FakeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def request_as(self, body: object, kind: type) -> object:
        if isinstance(body, cli.GetTraces):
            return kind(traces=[TraceSummary(trace_id=IDS[0], root_span_name="x", span_count=1)])
        assert isinstance(body, cli.GetTraceSpans) and body.trace_id == IDS[0]
        return kind(trace_id=body.trace_id, spans=self.spans)


def test_view_prints_the_tree_and_notes_a_partial_trace_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dora_cli.client import ControlClient
    from dora_cli.commands import trace as command

    async def connect(target: object) -> FakeClient:
        return FakeClient([span(2, "wait_for_spawn", 1, 0, daemons="1")])

    # the command imports the client when it runs: patch the class itself
    monkeypatch.setattr(ControlClient, "connect", connect)
    result = CliRunner().invoke(command.trace, ["view", "A1B2C"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "wait_for_spawn [INFO 3.0ms] {daemons=1}\n"
    assert "trace is partial" in result.stderr

    empty = CliRunner().invoke(command.trace, ["view", ""])
    assert empty.exit_code == 2 and "must not be empty" in empty.output
