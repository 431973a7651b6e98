"""The node's side of the daemon protocol without a socket: bytes in, events out."""

from __future__ import annotations

import pytest

from dora._daemon_protocol import (
    AllInputsClosed,
    DaemonProtocol,
    InputsClosed,
    Malformed,
    Notice,
    Phase,
    StartupError,
    Stopped,
    Text,
    TimerTick,
)
from dora_message.config import NodeConfig
from dora_message.dataplane.framing import HEADER, FrameParser, encode_frame
from dora_message.node_protocol import (
    PROTOCOL_VERSION,
    STOP_NODE,
    InputClosed,
    InputRecovered,
    NodeFailed,
    ParamUpdate,
    Register,
    RegisterReply,
    Stop,
    Subscribe,
    SubscribeReply,
    TextInput,
    Tick,
    node_encoder,
    to_daemon_decoder,
)

CONFIG = NodeConfig(
    dataflow_id="flow",
    node_id="camera",
    daemon_address="\0daemon",
    listen_address="\0camera",
    secret="s3cret",
)


def from_daemon(*messages: object) -> bytes:
    return b"".join(bytes(encode_frame(node_encoder, m)) for m in messages)


def to_daemon(data: bytes) -> list[object]:
    parser = FrameParser()
    parser.feed(data)
    return [to_daemon_decoder.decode(body) for body in parser.frames()]


def running() -> DaemonProtocol:
    protocol = DaemonProtocol(CONFIG)
    protocol.register(pid=42)
    protocol.receive(from_daemon(RegisterReply(protocol_version=PROTOCOL_VERSION)))
    protocol.data_to_send()
    protocol.receive(from_daemon(SubscribeReply()))
    return protocol


def test_start_up_registers_then_subscribes_then_runs() -> None:
    protocol = DaemonProtocol(CONFIG)
    (register,) = to_daemon(protocol.register(pid=42))
    assert register == Register("flow", "camera", PROTOCOL_VERSION, 42, "s3cret")
    assert protocol.phase is Phase.REGISTERING and protocol.data_to_send() == b""

    protocol.receive(from_daemon(RegisterReply(protocol_version=PROTOCOL_VERSION)))
    assert protocol.registered and not protocol.ready
    assert to_daemon(protocol.data_to_send()) == [Subscribe()]
    assert protocol.data_to_send() == b""  # said once

    protocol.receive(from_daemon(SubscribeReply()))
    assert protocol.ready


def test_messages_behind_the_barrier_reply_are_kept_in_order() -> None:
    protocol = DaemonProtocol(CONFIG)
    protocol.register(pid=1)
    protocol.receive(from_daemon(RegisterReply(protocol_version=PROTOCOL_VERSION)))
    wire = from_daemon(
        SubscribeReply(),
        Tick(input_ids=["t"], timestamp_ns=5),
        InputClosed(input_ids=["a"], source_node="up"),
    )
    # split mid-frame: a frame completes across reads
    protocol.receive(wire[:7])
    assert not protocol.ready and protocol.events() == []
    protocol.receive(wire[7:])
    assert protocol.ready
    assert protocol.events() == [TimerTick(["t"], 5), InputsClosed(["a"], "up")]
    assert protocol.events() == []


def test_a_refusal_raises_with_the_daemons_reason() -> None:
    protocol = DaemonProtocol(CONFIG)
    protocol.register(pid=1)
    refused = RegisterReply(protocol_version=PROTOCOL_VERSION, error="wrong secret")
    with pytest.raises(StartupError, match="refused node `camera`: wrong secret"):
        protocol.receive(from_daemon(refused))
    assert protocol.phase is Phase.FAILED


def test_a_version_mismatch_names_both_versions() -> None:
    protocol = DaemonProtocol(CONFIG)
    protocol.register(pid=1)
    with pytest.raises(StartupError, match=f"speaks {PROTOCOL_VERSION}, the daemon speaks old"):
        protocol.receive(from_daemon(RegisterReply(protocol_version="old")))


def test_a_failed_start_barrier_raises_its_error() -> None:
    protocol = DaemonProtocol(CONFIG)
    protocol.register(pid=1)
    protocol.receive(from_daemon(RegisterReply(protocol_version=PROTOCOL_VERSION)))
    with pytest.raises(StartupError, match="node lidar exited before initializing dora"):
        protocol.receive(
            from_daemon(SubscribeReply(error="node lidar exited before initializing dora"))
        )


def test_running_messages_become_node_events() -> None:
    protocol = running()
    protocol.receive(
        from_daemon(
            TextInput(input_ids=["log"], text="hi", timestamp_ns=3),
            Stop(cause="ALL_INPUTS_CLOSED"),
            Stop(scope=STOP_NODE),
            NodeFailed(source_node="up", error="boom", affected_input_ids=["a"]),
            InputRecovered(input_ids=["a", "b"]),
            ParamUpdate(key="gain", value_json="2.5"),
            ParamUpdate(key="bad", value_json="{"),
            SubscribeReply(),  # a late reply: nothing
        )
    )
    events = protocol.events()
    assert events[:3] == [Text(["log"], "hi", 3, {}), AllInputsClosed(), Stopped(STOP_NODE)]
    notices = [e for event in events[3:] if isinstance(event, Notice) for e in event.events]
    assert [n["type"] for n in notices] == [
        "NODE_FAILED",
        "INPUT_RECOVERED",
        "INPUT_RECOVERED",
        "PARAM_UPDATE",
        "ERROR",
    ]
    assert [n.get("id") for n in notices[:4]] == ["up", "a", "b", "gain"]
    assert notices[3]["value"] == 2.5
    assert "unreadable value of parameter `bad`" in notices[-1]["error"]
    assert len(events) == 7


def test_a_malformed_frame_is_reported_and_skipped() -> None:
    protocol = running()
    garbage = HEADER.pack(3) + b"abc"
    protocol.receive(garbage + from_daemon(Tick(input_ids=["t"], timestamp_ns=9)))
    first, second = protocol.events()
    assert isinstance(first, Malformed) and first.error
    assert second == TimerTick(["t"], 9)
