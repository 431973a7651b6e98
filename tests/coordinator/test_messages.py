"""The four control-plane message modules: round trips, evolution, garbage."""

from __future__ import annotations

import msgspec
import pytest

from dora_message import cli_to_coordinator as cli
from dora_message import coordinator_to_cli as to_cli
from dora_message import coordinator_to_daemon as to_daemon
from dora_message import daemon_to_coordinator as from_daemon
from dora_message.common import DataflowResult, LogMessage, NodeResult
from dora_message.descriptor import Descriptor, Node


def test_cli_requests_round_trip_and_ignore_unknown_fields() -> None:
    frame = cli.encode_request(7, cli.StopDataflow(dataflow="app", grace_duration=2.5, force=True))
    assert cli.decode_request(frame) == cli.Request(
        id=7, request=cli.StopDataflow(dataflow="app", grace_duration=2.5, force=True)
    )
    newer = '{"id": 1, "request": {"type": "list", "added_later": [1, 2]}, "extra": true}'
    assert cli.decode_request(newer).request == cli.ListDataflows()
    logs = cli.decode_request(cli.encode_request(2, cli.GetLogs(dataflow="x")))
    assert logs.request == cli.GetLogs(dataflow="x", query=cli.LogQuery())


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "{",
        "[]",
        '{"id": 1}',
        '{"id": "x", "request": {"type": "list"}}',
        '{"id": 1, "request": {"type": "nope"}}',
    ],
)
def test_garbage_requests_raise_msgspec_errors(garbage: str) -> None:
    with pytest.raises((msgspec.DecodeError, msgspec.ValidationError)):
        cli.decode_request(garbage)


def test_coordinator_to_cli_frames() -> None:
    result = DataflowResult(
        dataflow_id="u", node_results=[NodeResult(node_id="a", ok=False, cause="x")]
    )
    frames = [
        to_cli.Reply(id=3, result=to_cli.DataflowStopped(uuid="u", status="Failed", result=result)),
        to_cli.Reply(id=4, error="no such dataflow"),
        to_cli.Event(
            event=to_cli.LogEvent(records=[LogMessage(timestamp="t", level="info", message="m")])
        ),
        to_cli.Event(event=to_cli.DataflowFinishedEvent(uuid="u", status="Succeeded")),
    ]
    for frame in frames:
        assert to_cli.decode_frame(to_cli.encode_frame(frame)) == frame


def test_daemon_frames_both_ways() -> None:
    register = from_daemon.EventFrame(
        event=from_daemon.Register(
            protocol_version=from_daemon.DAEMON_PROTOCOL_VERSION,
            instance_id="i",
            machine_id="m",
            labels={"a": "b"},
        )
    )
    report = from_daemon.EventFrame(
        event=from_daemon.StatusReport(
            running=[
                from_daemon.RunningDataflow(
                    dataflow_id="d", nodes=["a"], descriptor=Descriptor(nodes=[])
                )
            ]
        )
    )
    reply = from_daemon.ReplyFrame(id=9, result=from_daemon.NodeLogs(records=[]))
    for frame in (register, report, reply):
        assert from_daemon.decode_frame(from_daemon.encode_frame(frame)) == frame
    command = to_daemon.CommandFrame(
        id=1,
        command=to_daemon.SpawnDataflow(
            dataflow_id="d", descriptor=Descriptor(nodes=[Node(id="a", path="a.py")]), nodes=["a"]
        ),
    )
    heartbeat = to_daemon.EventFrame(event=to_daemon.Heartbeat())
    for frame in (command, heartbeat):
        assert to_daemon.decode_frame(to_daemon.encode_frame(frame)) == frame
    with pytest.raises(msgspec.ValidationError):
        to_daemon.decode_frame('{"kind": "request", "id": 1, "command": {"type": "format_disk"}}')
