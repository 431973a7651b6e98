"""Sans-I/O tests of the coordinator's span recorder (``dora trace``)."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import pytest

from dora_cli.trace_format import render_tree
from dora_coordinator.tracing import (
    MAX_FIELD_BYTES,
    MAX_FIELDS,
    InvalidTraceId,
    SpanRecorder,
    current_span,
)
from dora_message import cli_to_coordinator as cli
from dora_message import coordinator_to_cli as to_cli


def fake_recorder(capacity: int = 4096) -> SpanRecorder:
    """Wall clock 1000 s + 1 ms per call; monotonic clock 1 ms per call."""
    wall = itertools.count(1_000_000)
    mono = itertools.count(0, 1_000_000)
    return SpanRecorder(
        capacity, wall_clock=lambda: next(wall) / 1000, monotonic_ns=lambda: next(mono)
    )


@pytest.mark.timeout(10)
def test_spans_nest_across_awaits_and_tasks() -> None:
    recorder = SpanRecorder()

    async def child(name: str) -> None:
        await asyncio.sleep(0)
        with recorder.span(name, node_id=name):
            await asyncio.sleep(0)
            with recorder.span("inner"):
                await asyncio.sleep(0)

    async def main() -> None:
        with recorder.span("spawn_dataflow", dataflow_id="d1"):
            await asyncio.sleep(0)
            await asyncio.gather(child("a"), child("b"))
            with recorder.span("after"):
                pass
        assert current_span() is None
        with recorder.span("another_root"):
            pass

    asyncio.run(main())
    spans = {(s.name, s.fields[0][1] if s.fields else ""): s for s in recorder.spans()}
    root = spans["spawn_dataflow", "d1"]
    assert root.parent_span_id is None and root.span_id == 1
    uuid.UUID(root.trace_id)  # a random UUID per root
    for name in ("a", "b"):
        assert spans[name, name].parent_span_id == root.span_id
        assert spans[name, name].trace_id == root.trace_id
    inner = [s for s in recorder.spans() if s.name == "inner"]
    assert sorted(s.parent_span_id for s in inner) == sorted(
        [spans["a", "a"].span_id, spans["b", "b"].span_id]
    )
    assert spans["after", ""].parent_span_id == root.span_id
    other = spans["another_root", ""]
    assert other.parent_span_id is None and other.trace_id != root.trace_id
    assert all(s.level == "INFO" and s.target == "dora_coordinator" for s in recorder.spans())


@pytest.mark.timeout(10)
def test_a_span_started_in_a_handler_can_be_finished_by_a_background_task() -> None:
    recorder = SpanRecorder()

    async def main() -> None:
        span = recorder.start("build_dataflow")
        with recorder.activate(span, finish=False), recorder.span("place_nodes"):
            pass
        assert recorder.spans()[-1].name == "place_nodes"  # the root is still open

        async def background() -> None:
            with recorder.activate(span):
                await asyncio.sleep(0)
                with recorder.span("build_on_daemon"):
                    await asyncio.sleep(0)

        await asyncio.create_task(background())

    asyncio.run(main())
    by_name = {s.name: s for s in recorder.spans()}
    root = by_name["build_dataflow"]
    assert by_name["place_nodes"].parent_span_id == root.span_id
    assert by_name["build_on_daemon"].parent_span_id == root.span_id
    assert {s.trace_id for s in recorder.spans()} == {root.trace_id}


def test_debug_spans_are_not_captured_and_their_children_attach_to_the_parent() -> None:
    recorder = SpanRecorder()
    with recorder.span("root"), recorder.span("noisy", level="DEBUG") as debug:
        debug.record("ignored", 1)
        with recorder.span("leaf", level="WARN"):
            pass
    names = {s.name: s for s in recorder.spans()}
    assert set(names) == {"root", "leaf"}
    assert names["leaf"].parent_span_id == names["root"].span_id
    assert names["leaf"].level == "WARN"


def test_a_failing_span_is_recorded_with_its_error() -> None:
    recorder = SpanRecorder()
    with pytest.raises(RuntimeError), recorder.span("stop_dataflow", dataflow="x"):
        raise RuntimeError("daemon gone")
    (span,) = recorder.spans()
    assert span.fields == [("dataflow", "x"), ("error", "daemon gone")]
    assert current_span() is None


def test_fields_are_capped_and_long_values_truncated() -> None:
    recorder = SpanRecorder()
    with recorder.span("big", first="1") as span:
        for index in range(MAX_FIELDS + 10):
            span.record(f"k{index}", index)
    (record,) = recorder.spans()
    assert len(record.fields) == MAX_FIELDS
    assert record.fields[0] == ("first", "1")
    assert record.fields[-1] == (f"k{MAX_FIELDS - 2}", str(MAX_FIELDS - 2))

    with recorder.span("named", name="demo", level="INFO") as named:
        named.record("target", "t")
    assert recorder.spans()[-1].fields == [("name", "demo"), ("target", "t")]

    with recorder.span("long", ascii="x" * 5000, wide="é" * 3000, exact="y" * MAX_FIELD_BYTES):
        pass
    fields = dict(recorder.spans()[-1].fields)
    assert fields["ascii"] == "x" * MAX_FIELD_BYTES + "..."
    assert fields["wide"] == "é" * (MAX_FIELD_BYTES // 2) + "..."  # cut on a char boundary
    assert fields["exact"] == "y" * MAX_FIELD_BYTES

    span.record("late", "after close")  # a closed span takes no more fields
    assert ("late", "after close") not in recorder.spans()[0].fields


def test_times_and_durations_come_from_the_clocks() -> None:
    recorder = fake_recorder()
    with recorder.span("root"), recorder.span("child"):
        pass
    child, root = recorder.spans()
    assert root.start_time == 1_000_000 and child.start_time == 1_000_001
    assert child.duration_us == 1_000  # one fake millisecond between its clock readings
    assert root.duration_us == 3_000


def test_trace_summaries_are_newest_first_with_root_name_count_and_duration() -> None:
    recorder = fake_recorder()
    with recorder.span("build_dataflow"), recorder.span("place_nodes"):
        pass
    with recorder.span("spawn_dataflow"):
        for _ in range(3):
            with recorder.span("spawn_on_daemon"):
                pass
    traces = recorder.traces().traces
    assert [(t.root_span_name, t.span_count) for t in traces] == [
        ("spawn_dataflow", 4),
        ("build_dataflow", 2),
    ]
    spawn_root = next(s for s in recorder.spans() if s.name == "spawn_dataflow")
    assert traces[0].duration_us == spawn_root.duration_us
    assert traces[0].start_time == spawn_root.start_time
    assert traces[0].trace_id == spawn_root.trace_id
    assert recorder.trace(traces[1].trace_id).spans[0].name == "place_nodes"
    assert recorder.trace(str(uuid.uuid4())).spans == []


def test_ring_eviction_leaves_a_partial_trace() -> None:
    recorder = SpanRecorder(capacity=3)
    root = recorder.start("spawn_dataflow")
    with recorder.activate(root, finish=False):
        late_child = recorder.start("wait_for_spawn")
    recorder.finish(root)
    for name in ("x1", "x2"):
        with recorder.span(name):
            pass
    recorder.finish(late_child)  # evicts the root, the oldest record
    assert [s.name for s in recorder.spans()] == ["x1", "x2", "wait_for_spawn"]
    trace = recorder.trace(root.trace_id)
    assert [s.name for s in trace.spans] == ["wait_for_spawn"]
    summary = next(t for t in recorder.traces().traces if t.trace_id == root.trace_id)
    assert summary.root_span_name == "wait_for_spawn"  # no parentless span left
    tree = render_tree(trace.spans)
    assert tree.partial
    assert tree.lines[0].startswith("wait_for_spawn [INFO ")


@pytest.mark.parametrize("bad", ["x" * 37, "ünicode", f"{uuid.uuid4()}0"])
def test_malformed_trace_ids_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidTraceId, match=r"^invalid trace_id format$"):
        SpanRecorder().trace(bad)


def test_trace_messages_round_trip() -> None:
    frame = cli.encode_request(3, cli.GetTraceSpans(trace_id="abc"))
    assert cli.decode_request(frame).request == cli.GetTraceSpans(trace_id="abc")
    assert cli.decode_request(cli.encode_request(4, cli.GetTraces())).request == cli.GetTraces()
    recorder = SpanRecorder()
    with recorder.span("root", k="v"):
        pass
    spans = recorder.trace(recorder.spans()[0].trace_id)
    for reply in (spans, recorder.traces()):
        decoded = to_cli.decode_frame(to_cli.encode_frame(to_cli.Reply(id=1, result=reply)))
        assert isinstance(decoded, to_cli.Reply) and decoded.result == reply
