"""The bridge's parts without zenoh: plan, keys, endpoints, receive and deliver sides.

The receive and deliver sides run their real threads and real Unix sockets with
memfd segments; only the zenoh session is replaced by a recorder.
"""

from __future__ import annotations

import mmap
import os
import queue
import secrets
import select
import socket
import threading
import time
from typing import Any

import pytest

from dora_daemon.bridge import BRIDGE_NODE_ID, deliver
from dora_daemon.bridge.deliver import Writer
from dora_daemon.bridge.mesh import MeshError, listen_endpoint
from dora_daemon.bridge.plan import plan_bridge
from dora_daemon.bridge.publish import Publishing
from dora_daemon.bridge.receive import BridgeReceiver
from dora_message.auth import link_token, new_key
from dora_message.data_protocol import (
    Closed,
    Data,
    Hello,
    NewSegment,
    Release,
    data_encoder,
    to_receiver_decoder,
    to_sender_decoder,
)
from dora_message.dataplane.framing import encode_frame
from dora_message.dataplane.sockets import FrameReader, send_with_fd
from dora_message.inter_daemon import (
    RemoteClosed,
    RemoteData,
    inter_daemon_decoder,
    inter_daemon_encoder,
    output_key,
)
from dora_message.memfd import create_sealed
from dora_message.node_protocol import PROTOCOL_VERSION

DEADLINE = 5.0


# ---- sans-I/O ----------------------------------------------------------------------


def test_plan_splits_outputs_by_where_their_readers_run() -> None:
    consumers = {
        ("cam", "frames"): {"det": ["frames"], "view": ["img"]},
        ("cam", "meta"): {"view": ["meta"]},
        ("det", "boxes"): {"view": ["boxes"], "log": ["b"]},
        ("far", "x"): {"det": ["x"], "other": ["x"]},
    }
    where = {"cam": "m1", "det": "m2", "view": "m1", "log": "m3", "far": "m3", "other": "m3"}
    on_m1 = plan_bridge(consumers, {"cam", "view"}, where)
    assert on_m1.published == {"cam": ["frames"]}
    assert on_m1.delivered == {"det": {"boxes": ["view"]}}
    assert on_m1.consumer_daemons == ["m2"]
    on_m2 = plan_bridge(consumers, {"det"}, where)
    assert on_m2.published == {"det": ["boxes"]}
    assert on_m2.delivered == {"cam": {"frames": ["det"]}, "far": {"x": ["det"]}}
    assert on_m2.consumer_daemons == ["m1", "m3"]
    assert plan_bridge({("a", "o"): {"b": ["i"]}}, {"a", "b"}, {"a": "m", "b": "m"}).empty


def test_output_keys_are_valid_zenoh_keys() -> None:
    assert output_key("df", "cam", "frames") == "dora/df/output/cam/frames"
    assert output_key("df", "op-node", "op/out") == "dora/df/output/op-node/op/out"
    odd = output_key("df", "n", "a//b")
    assert odd.startswith("dora/df/output/n/h") and "//" not in odd


def test_listen_endpoints() -> None:
    assert listen_endpoint("127.0.0.1:7447", None, "127.0.0.1", 6013) == "tcp/127.0.0.1:7447"
    # no port given: port 0, the system picks it when the session opens
    assert listen_endpoint(None, "0.0.0.0", "127.0.0.1", 6013) == "tcp/127.0.0.1:0"
    assert listen_endpoint(None, "127.0.0.1", "127.0.0.1", 6013) == "tcp/127.0.0.1:0"
    assert listen_endpoint("::1", None, "127.0.0.1", 6013) == "tcp/[::1]:0"
    with pytest.raises(MeshError, match="other daemons can dial"):
        listen_endpoint("0.0.0.0:7447", None, "127.0.0.1", 6013)
    with pytest.raises(MeshError, match="expected IP"):
        listen_endpoint("localhost:x", None, "127.0.0.1", 6013)


# ---- fakes -------------------------------------------------------------------------


class RecordingPublisher:
    def __init__(self, key: str, sink: queue.Queue[tuple[str, Any]]) -> None:
        self.key = key
        self.sink = sink
        self.matching_status = True

    def put(self, payload: bytes) -> None:
        self.sink.put((self.key, inter_daemon_decoder.decode(payload)))

    def undeclare(self) -> None:
        pass


class RecordingSession:
    """Stands in for a zenoh session: publishers record what they put."""

    def __init__(self) -> None:
        self.published: queue.Queue[tuple[str, Any]] = queue.Queue()

    def declare_publisher(self, key: str, **_options: Any) -> RecordingPublisher:
        return RecordingPublisher(key, self.published)


def next_published(session: RecordingSession) -> tuple[str, Any]:
    return session.published.get(timeout=DEADLINE)


KEY = new_key()  # the dataflow run's key (link tokens)
CAM_HELLO = Hello("df", "cam", PROTOCOL_VERSION, link_token(KEY, "cam", BRIDGE_NODE_ID))


def memfd_with(data: bytes) -> tuple[int, int]:
    size = 64 * 1024
    fd = create_sealed("bridge-test", size)
    with mmap.mmap(fd, size) as mapping:
        mapping[: len(data)] = data
    return fd, size


def read_frames(
    sock: socket.socket, reader: FrameReader, count: int, decoder: Any = None
) -> list[Any]:
    """The next ``count`` frames on ``sock`` (passed fds land in ``reader.fds``)."""
    decode = (decoder or to_receiver_decoder).decode
    frames: list[Any] = []
    deadline = time.monotonic() + DEADLINE
    while len(frames) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"got only {frames}"
        select.select([sock], [], [], remaining)
        assert reader.fill(sock), f"connection closed after {frames}"
        frames += [decode(body) for body in reader.frames()]
    return frames


# ---- receive side ------------------------------------------------------------------


def test_receiver_publishes_inline_and_shared_messages_then_the_end() -> None:
    session = RecordingSession()
    publishing = Publishing(session, "df", {"cam": ["frames", "meta"]})  # type: ignore[arg-type]
    address = f"\0dora-test-bridge-{secrets.token_hex(4)}"
    bridge = BridgeReceiver("df", address, publishing, KEY, BRIDGE_NODE_ID)
    bridge.start()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address)
        sock.sendall(encode_frame(data_encoder, CAM_HELLO))
        schema = b"fake-schema"
        inline = Data("meta", 1, {"seq": 0}, "buffers", schema, b"abc", layout=[1, 0, 0, -1, 3])
        sock.sendall(encode_frame(data_encoder, inline))
        again = Data("meta", 2, {}, "buffers", None, b"def", layout=[1, 0, 0, -1, 3])
        sock.sendall(encode_frame(data_encoder, again))
        fd, size = memfd_with(b"0123456789")
        send_with_fd(sock, encode_frame(data_encoder, NewSegment(7, size)), fd)
        os.close(fd)
        shared = Data("frames", 3, {}, "raw", None, None, 7, 2, 5, token=42)
        sock.sendall(encode_frame(data_encoder, shared))

        key, first = next_published(session)
        assert key == "dora/df/output/cam/meta"
        assert first == RemoteData(
            "meta", 1, {"seq": 0}, "buffers", b"abc", False, schema, [1, 0, 0, -1, 3]
        )
        _, second = next_published(session)
        assert second.payload == b"def" and second.schema is None  # schema only on change
        key, third = next_published(session)
        assert key == "dora/df/output/cam/frames"
        assert (third.payload, third.shared) == (b"23456", True)
        # the segment is released as soon as it was copied
        assert read_frames(sock, FrameReader(), 1, to_sender_decoder) == [Release([42])]

        sock.sendall(encode_frame(data_encoder, Closed(["meta"])))
        assert next_published(session) == ("dora/df/output/cam/meta", RemoteClosed("meta"))
    finally:
        sock.close()
        bridge.close()
    # closing the bridge ends every output still open, exactly once
    assert next_published(session) == ("dora/df/output/cam/frames", RemoteClosed("frames"))
    assert session.published.empty()


def test_an_exited_producer_is_closed_behind_its_last_data() -> None:
    session = RecordingSession()
    publishing = Publishing(session, "df", {"cam": ["frames"]})  # type: ignore[arg-type]
    address = f"\0dora-test-bridge-{secrets.token_hex(4)}"
    bridge = BridgeReceiver("df", address, publishing, KEY, BRIDGE_NODE_ID)
    bridge.start()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address)
        sock.sendall(encode_frame(data_encoder, CAM_HELLO))
        for i in range(50):
            sock.sendall(encode_frame(data_encoder, Data("frames", i, {}, "raw", inline=b"x")))
        assert [next_published(session)[1].timestamp_ns for _ in range(50)] == list(range(50))
        # the process is gone but its connection is still open (a child may hold it):
        # what still comes on it goes out before the end
        bridge.producer_exited("cam")
        for i in range(50, 100):
            sock.sendall(encode_frame(data_encoder, Data("frames", i, {}, "raw", inline=b"x")))
        sock.close()
        got = [next_published(session)[1] for _ in range(51)]
        assert [m.timestamp_ns for m in got[:50]] == list(range(50, 100))
        assert got[50] == RemoteClosed("frames")
    finally:
        sock.close()
        bridge.close()
    assert session.published.empty()


# ---- deliver side ------------------------------------------------------------------


def test_writer_delivers_like_the_producer_and_reuses_released_segments() -> None:
    address = f"\0dora-test-node-{secrets.token_hex(4)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(1)
    closed: list[tuple[str, list[str]]] = []
    done = threading.Event()

    def on_closed(producer: str, outputs: list[str]) -> None:
        closed.append((producer, outputs))
        done.set()

    writer = Writer("df", "cam", {"frames": ["det"]}, {"det": address}, on_closed, KEY)
    writer.start()
    try:
        put = writer.offer
        schema = b"schema-1"
        layout = [1, 0, 0, -1, 8]
        put(
            inter_daemon_encoder.encode(
                RemoteData("frames", 1, {}, "buffers", b"a" * 8, False, schema, layout)
            )
        )
        put(
            inter_daemon_encoder.encode(
                RemoteData("frames", 2, {}, "buffers", b"b" * 8, False, None, layout)
            )
        )
        big = bytes(range(256)) * 400
        put(inter_daemon_encoder.encode(RemoteData("frames", 3, {"k": 1}, "raw", big, True)))
        conn, _ = listener.accept()
        reader = FrameReader(with_fds=True)
        hello, first, second, segment, third = read_frames(conn, reader, 5)
        assert hello == Hello("df", "cam", PROTOCOL_VERSION, link_token(KEY, "cam", "det"))
        assert (first.inline, first.schema, first.layout) == (b"a" * 8, schema, layout)
        assert (second.inline, second.schema) == (b"b" * 8, None)
        assert isinstance(segment, NewSegment) and len(reader.fds) == 1
        with mmap.mmap(reader.fds.pop(), segment.size, prot=mmap.PROT_READ) as mapping:
            assert mapping[third.offset : third.offset + third.length] == big
        assert (third.segment_id, third.parameters, third.kind) == (
            segment.segment_id,
            {"k": 1},
            "raw",
        )
        conn.sendall(encode_frame(data_encoder, Release([third.token])))
        # released: the next shared message reuses the segment (no new NewSegment)
        put(inter_daemon_encoder.encode(RemoteData("frames", 4, {}, "raw", big[:100], True)))
        (fourth,) = read_frames(conn, reader, 1)
        assert isinstance(fourth, Data) and fourth.segment_id == segment.segment_id
        put(inter_daemon_encoder.encode(RemoteClosed("frames")))
        (end,) = read_frames(conn, reader, 1)
        assert end == Closed(["frames"])
        assert done.wait(DEADLINE) and closed == [("cam", ["frames"])]
        conn.settimeout(DEADLINE)
        assert conn.recv(1) == b""  # every output ended: the connection closes
        conn.close()
    finally:
        writer.stop()
        listener.close()


def test_offer_never_writes_to_a_node_on_the_callers_thread() -> None:
    """zenoh's receiving thread calls ``offer``: it must never block on a node's socket
    (a node that stops reading would stall the whole link), so even a small inline
    message waits for the writer's thread, and all arrive in order once it runs."""
    address = f"\0dora-test-node-{secrets.token_hex(4)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(1)
    listener.setblocking(False)
    writer = Writer("df", "cam", {"frames": ["det"]}, {"det": address}, lambda *_: None, KEY)
    conn: socket.socket | None = None
    try:

        def message(timestamp: int, payload: bytes, shared: bool = False) -> bytes:
            remote = RemoteData("frames", timestamp, {}, "raw", payload, shared)
            return inter_daemon_encoder.encode(remote)

        writer.offer(message(1, b"a" * 8))
        writer.offer(message(2, bytes(range(256)) * 400, shared=True))
        writer.offer(message(3, b"c" * 8))
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected: nothing was delivered by `offer`
        listener.setblocking(True)
        writer.start()
        conn, _ = listener.accept()
        reader = FrameReader(with_fds=True)
        hello, first, segment, second, third = read_frames(conn, reader, 5)
        assert isinstance(hello, Hello) and isinstance(segment, NewSegment)
        assert [first.timestamp_ns, second.timestamp_ns, third.timestamp_ns] == [1, 2, 3]
        assert (first.inline, third.inline) == (b"a" * 8, b"c" * 8)
        conn.sendall(encode_frame(data_encoder, Release([second.token])))
        writer.offer(inter_daemon_encoder.encode(RemoteClosed("frames")))
        (end,) = read_frames(conn, reader, 1)
        assert end == Closed(["frames"])
    finally:
        writer.stop()
        listener.close()
        if conn is not None:
            conn.close()


def test_the_writer_waits_for_a_release_before_growing_its_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pool makes its first GROW_FREELY segments without waiting; once they are all
    out, a release that arrives while the writer waits lets it reuse a segment instead
    of making a new one."""
    monkeypatch.setattr(deliver, "GROW_WAIT", 60.0)  # the release always comes first
    monkeypatch.setattr(deliver, "GROW_FREELY", 2)
    address = f"\0dora-test-node-{secrets.token_hex(4)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(1)
    writer = Writer("df", "cam", {"frames": ["det"]}, {"det": address}, lambda *_: None, KEY)
    writer.start()
    conn: socket.socket | None = None
    reader = FrameReader(with_fds=True)
    try:
        big = bytes(range(256)) * 400
        for timestamp in (1, 2, 3):
            remote = RemoteData("frames", timestamp, {}, "raw", big, True)
            writer.offer(inter_daemon_encoder.encode(remote))
        conn, _ = listener.accept()
        # nothing released, no wait: a second segment
        _hello, new_first, first, new_second, second = read_frames(conn, reader, 5)
        assert isinstance(new_first, NewSegment) and isinstance(new_second, NewSegment)
        assert (first.timestamp_ns, second.timestamp_ns) == (1, 2)
        assert first.segment_id != second.segment_id
        conn.sendall(encode_frame(data_encoder, Release([first.token])))
        (third,) = read_frames(conn, reader, 1)
        assert isinstance(third, Data) and third.timestamp_ns == 3
        assert third.segment_id == first.segment_id
    finally:
        writer.stop()
        listener.close()
        if conn is not None:
            conn.close()
        for fd in reader.fds:
            os.close(fd)


@pytest.mark.parametrize(
    "message",
    [
        RemoteData(output_id="o", timestamp_ns=1, parameters={}, kind="raw", payload=b"x"),
        RemoteData(
            output_id="o",
            timestamp_ns=2,
            parameters={"k": [1, "v"]},
            kind="buffers",
            payload=bytes(range(256)) * 64,
            shared=True,
            schema=b"schema",
            layout=[0, 8, 16],
        ),
    ],
    ids=["inline", "shared-schema-layout"],
)
def test_the_writers_view_of_remote_data_is_the_same_wire_message(message: RemoteData) -> None:
    import msgspec

    from dora_daemon.bridge.deliver import RemoteDataView

    wire = msgspec.msgpack.encode(message)
    view = msgspec.msgpack.decode(wire, type=RemoteDataView)
    assert isinstance(view.payload, memoryview)
    assert bytes(view.payload) == message.payload
    for field in msgspec.structs.fields(RemoteData):
        if field.name != "payload":
            assert getattr(view, field.name) == getattr(message, field.name)
    # the same bytes back: the view is RemoteData's wire format, tag and layout alike
    assert msgspec.msgpack.encode(view) == wire
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(view), type=RemoteData) == message
