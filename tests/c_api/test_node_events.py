"""Daemon messages become C events (ticks, text inputs, parameter updates, restarted and
failed producers, recovered inputs, stops), and closing follows the producer's data: the
daemon's InputClosed waits until the producer's connection has been drained."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from bench.fake_daemon import FakeDaemon
from dora_message.data_protocol import Closed, Data, Hello, data_encoder, to_receiver_decoder
from dora_message.dataplane.framing import FrameBuffer, encode_frame
from dora_message.node_protocol import (
    Heartbeat,
    InputClosed,
    InputRecovered,
    NodeFailed,
    NodeRestarted,
    ParamDeleted,
    ParamUpdate,
    Stop,
    TextInput,
    Tick,
)
from tests.c_api.conftest import CompileC
from tests.c_api.helpers import (
    CNode,
    hello_frame,
    raw_frame,
    running_watch,
    send_frame,
    topology,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def watch(compile_c: CompileC, daemon: FakeDaemon) -> Iterator[CNode]:
    """``c_watch`` as node ``c`` of ``topology()``, ready and subscribed."""
    with running_watch(daemon, compile_c(["c_watch.c"], "c_watch"), topology(daemon)["c"]) as node:
        yield node


@pytest.mark.timeout(60)
def test_daemon_messages_become_events(daemon: FakeDaemon, watch: CNode) -> None:
    now = time.time_ns()
    daemon.send("c", Tick(["tick"], now))
    watch.expect("watch: INPUT tick 0")
    daemon.send("c", TextInput(["tick"], "a log line", now, {"level": "info"}))
    watch.expect("watch: text a log line")
    daemon.send("c", ParamUpdate("gain", '{"a": [1, 2]}'))
    watch.expect('watch: PARAM_UPDATE  0 gain json={"a": [1, 2]}')
    daemon.send("c", ParamDeleted("gain"))
    watch.expect("watch: PARAM_DELETED  0 gain")
    daemon.send("c", NodeRestarted("py"))
    watch.expect("watch: NODE_RESTARTED  0 py")
    daemon.send("c", NodeFailed("py", "it crashed", ["in"]))
    watch.expect("watch: NODE_FAILED  0 it crashed")
    daemon.send("c", InputRecovered(["in"]))
    watch.expect("watch: INPUT_RECOVERED in 0")
    daemon.send("c", Stop())
    watch.expect("watch: STOP  0 MANUAL")
    watch.expect("watch: end")
    assert watch.wait() == 0


@pytest.mark.timeout(60)
def test_input_closed_waits_for_the_producers_data(daemon: FakeDaemon, watch: CNode) -> None:
    address = topology(daemon)["c"].listen_address  # type: ignore[attr-defined]
    frames = [raw_frame(b"m%d" % i) for i in range(3)]
    sock = send_frame(address, hello_frame(daemon), frames[0])
    watch.expect("watch: INPUT in 2 m0")
    # the daemon says the producer is done while its connection is still open
    daemon.send("c", InputClosed(["in"], "py"))
    sock.sendall(frames[1] + frames[2])
    watch.expect("watch: INPUT in 2 m1")
    watch.expect("watch: INPUT in 2 m2")
    sock.close()  # EOF: now the input closes, after its data
    watch.expect("watch: INPUT_CLOSED in 0")
    # the timer input is the last one open
    daemon.send("c", InputClosed(["tick"], "dora"))
    watch.expect("watch: INPUT_CLOSED tick 0")
    watch.expect("watch: STOP  0 ALL_INPUTS_CLOSED")
    watch.expect("watch: end")
    assert watch.wait() == 0


@pytest.mark.timeout(60)
def test_closed_frame_closes_behind_the_data(daemon: FakeDaemon, watch: CNode) -> None:
    address = topology(daemon)["c"].listen_address  # type: ignore[attr-defined]
    closed = encode_frame(data_encoder, Closed(["out"], True))
    sock = send_frame(address, hello_frame(daemon), raw_frame(b"last"), closed)
    # stopping=True: the dataflow stops (STOP MANUAL); data read before it is not lost
    watch.expect("watch: end")
    assert "watch: STOP  0 MANUAL" in watch.seen, watch.seen
    assert "watch: INPUT in 4 last" in watch.seen, watch.seen
    assert watch.wait() == 0
    sock.close()


@pytest.mark.timeout(60)
def test_a_restarted_producer_reopens_its_inputs(daemon: FakeDaemon, watch: CNode) -> None:
    address = topology(daemon)["c"].listen_address  # type: ignore[attr-defined]
    hello = hello_frame(daemon)
    first = send_frame(
        address, hello, raw_frame(b"one"), encode_frame(data_encoder, Closed(["out"]))
    )
    watch.expect("watch: INPUT in 3 one")
    watch.expect("watch: INPUT_CLOSED in 0")
    first.close()
    daemon.send("c", NodeRestarted("py"))
    watch.expect("watch: NODE_RESTARTED  0 py")
    # the new incarnation says hello again: the input is open again
    second = send_frame(address, hello, raw_frame(b"two"))
    watch.expect("watch: INPUT in 3 two")
    daemon.send("c", Stop())
    watch.expect("watch: end")
    second.close()


def _read_frames(sock: socket.socket, want: int, timeout: float = 10.0) -> list[object]:
    frames = FrameBuffer()
    got: list[object] = []
    sock.settimeout(timeout)
    while len(got) < want:
        chunk = sock.recv(65536)
        if not chunk:
            break
        frames.feed(chunk)
        got += [to_receiver_decoder.decode(body) for body in frames]
    return got


@pytest.mark.timeout(60)
def test_sender_reconnects_to_a_restarted_receiver(compile_c: CompileC, daemon: FakeDaemon) -> None:
    configs = daemon.configs(
        {
            "c": {"inputs": {"tick": "dora/timer/millis/10"}, "outputs": ["message"]},
            "py": {"inputs": {"in": "c/message"}},
        }
    )
    address = configs["py"].listen_address
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(4)
    try:
        with CNode(compile_c(["c_node.c"], "c_node_c"), configs["c"]) as node:
            node.expect("c_node: started")
            daemon.wait_subscribed()
            first, _ = listener.accept()
            daemon.send("c", Tick(["tick"], time.time_ns()))
            hello, data = _read_frames(first, 2)
            assert isinstance(hello, Hello) and hello.sender_node == "c"
            assert isinstance(data, Data) and bytes(data.inline) == b"message 0"
            # the receiver "restarts": its connection and listener go, a new one listens
            first.close()
            listener.close()
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(address)
            listener.listen(4)
            listener.settimeout(0.05)
            second = None
            deadline = time.monotonic() + 20
            while second is None and time.monotonic() < deadline:
                daemon.send("c", Tick(["tick"], time.time_ns()))
                try:
                    second, _ = listener.accept()
                except TimeoutError:
                    continue
            assert second is not None, "the sender did not reconnect"
            frames = _read_frames(second, 2)
            assert isinstance(frames[0], Hello)
            assert isinstance(frames[1], Data) and bytes(frames[1].inline).startswith(b"message ")
            second.close()
    finally:
        listener.close()


@pytest.mark.timeout(60)
def test_heartbeats_while_waiting(compile_c: CompileC, daemon: FakeDaemon) -> None:
    """A node with health_check_timeout keeps beating while it waits in dora_next_event."""
    configs = daemon.configs(
        {
            "c": {
                "inputs": {"tick": "dora/timer/millis/10"},
                "descriptor": {"health_check_timeout": 0.4},
            }
        }
    )
    with running_watch(daemon, compile_c(["c_watch.c"], "c_watch"), configs["c"]) as node:
        daemon.wait_for(lambda r: sum(isinstance(m, Heartbeat) for _n, m in r) >= 3, 10)
        daemon.send("c", Stop())
        node.expect("watch: end")


@pytest.mark.timeout(60)
def test_polling_with_a_zero_timeout(compile_c: CompileC, daemon: FakeDaemon) -> None:
    """dora_next_event_timeout(ctx, 0, ...) reads what arrived: a polling loop gets events."""
    binary = compile_c(["c_watch.c"], "c_watch")
    with running_watch(daemon, binary, topology(daemon)["c"], WATCH_POLL="1") as node:
        daemon.send("c", Tick(["tick"], time.time_ns()))
        node.expect("watch: INPUT tick 0")
        daemon.send("c", Stop())
        node.expect("watch: end")
