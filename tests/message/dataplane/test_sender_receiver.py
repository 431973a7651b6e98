"""The sender and receiver cores over real Unix sockets, in one thread (no processes)."""

from __future__ import annotations

import secrets
import select
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from dora_message.data_protocol import Closed, Data
from dora_message.dataplane.pool import SegmentPool
from dora_message.dataplane.receiver import InConn, Receiver
from dora_message.dataplane.sender import Sender
from dora_message.dataplane.sockets import listen_socket
from dora_message.peer import RefusalLog

TOKEN = "t" * 32
WAIT_S = 5.0


@dataclass
class Route:
    node_id: str
    address: str
    token: str


@dataclass
class Schema:
    schema_bytes: bytes


class Collecting(Receiver):
    """Keeps what arrives; releases shared-memory messages when told to."""

    def __init__(self, listener: socket.socket, tokens: dict[str, str]) -> None:
        self.callbacks: dict[socket.socket, Callable[[], None]] = {}
        self.data: list[tuple[Data, bytes]] = []
        self.closed: list[Closed] = []
        self.ended: list[str | None] = []
        super().__init__(
            "df",
            listener,
            tokens.get,
            lambda sock, callback: self.callbacks.__setitem__(sock, callback),
            lambda sock: self.callbacks.pop(sock, None),
            RefusalLog("test receiver"),
        )

    def on_data(self, conn: InConn, msg: Data) -> None:
        if msg.segment_id >= 0:
            mapping = conn.maps[msg.segment_id]
            payload = bytes(mapping[msg.offset : msg.offset + msg.length])
        else:
            payload = bytes(msg.inline or b"")
        self.data.append((msg, payload))

    def on_closed(self, conn: InConn, msg: Closed) -> None:
        self.closed.append(msg)

    def on_eof(self, conn: InConn) -> None:
        self.ended.append(conn.sender)
        super().on_eof(conn)

    def pump(self, until: Callable[[], bool]) -> None:
        """Read until ``until()`` holds (each read waits for the socket)."""
        while not until():
            socks = list(self.callbacks)
            assert socks, "no connection left"
            ready, _, _ = select.select(socks, [], [], WAIT_S)
            assert ready, "nothing arrived"
            for sock in ready:
                callback = self.callbacks.get(sock)
                if callback is not None:
                    callback()


@pytest.fixture
def pair() -> Iterator[tuple[Sender, Collecting, SegmentPool]]:
    address = f"\0dora-test-dataplane-{secrets.token_hex(6)}"
    receiver = Collecting(listen_socket(address), {"src": TOKEN})
    pool = SegmentPool("test-dataplane")
    sender = Sender("df", "src", {"out": [Route("dst", address, TOKEN)]}, pool)
    sender.connect_all()
    receiver.on_accept()
    yield sender, receiver, pool
    sender.close()
    receiver.close()
    pool.close()


def test_inline_messages_carry_the_schema_only_when_it_changes(
    pair: tuple[Sender, Collecting, SegmentPool],
) -> None:
    sender, receiver, _pool = pair
    first, second = Schema(b"schema-1"), Schema(b"schema-2")
    for ts, info in enumerate((first, first, second)):
        conns = sender.live("out")
        sender.send_inline("out", ts, {"n": ts}, info, "buffers", b"x" * 8, conns, [1, -1, 0])
    receiver.pump(lambda: len(receiver.data) == 3)
    assert [msg.schema for msg, _ in receiver.data] == [b"schema-1", None, b"schema-2"]
    assert [msg.parameters for msg, _ in receiver.data] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert receiver.data[0][1] == b"x" * 8


def test_a_segment_is_announced_once_and_reused_after_its_release(
    pair: tuple[Sender, Collecting, SegmentPool],
) -> None:
    sender, receiver, pool = pair
    size = 2 << 20
    for round_ in range(2):
        seg, offset = pool.acquire(size)
        seg.mm[offset : offset + size] = bytes([round_ + 1]) * size
        sender.send_segment("out", round_, {}, "raw", seg, offset, size)
        receiver.pump(lambda count=round_ + 1: len(receiver.data) == count)
        msg, payload = receiver.data[-1]
        assert payload == bytes([round_ + 1]) * size
        (conn,) = receiver._conns
        assert list(conn.maps) == [seg.id]  # mapped once
        conn.release(msg.token)  # flushed at once by default
        (out,) = sender.connections()
        for _ in range(100):
            sender.read_releases(out)
            if pool.stats()["busy_messages"] == 0:
                break
            select.select([out.sock], [], [], WAIT_S)
        assert pool.stats()["busy_messages"] == 0
    assert pool.stats()["created"] == 1


def test_closed_outputs_and_the_stopping_flag_arrive(
    pair: tuple[Sender, Collecting, SegmentPool],
) -> None:
    sender, receiver, _pool = pair
    sender.close_outputs(["out"], stopping=True)
    receiver.pump(lambda: bool(receiver.closed))
    assert receiver.closed == [Closed(["out"], True)]


def test_a_wrong_link_token_is_refused_and_nothing_is_delivered() -> None:
    address = f"\0dora-test-dataplane-{secrets.token_hex(6)}"
    receiver = Collecting(listen_socket(address), {"src": "right" * 8})
    pool = SegmentPool("test-dataplane")
    sender = Sender("df", "src", {"out": [Route("dst", address, "wrong" * 8)]}, pool)
    try:
        sender.connect_all()
        conns = sender.live("out")
        sender.send_inline("out", 1, {}, None, "raw", b"secret data", conns, None)
        receiver.on_accept()
        receiver.pump(lambda: bool(receiver.ended))
        assert receiver.data == [] and receiver.ended == [None]
    finally:
        sender.close()
        receiver.close()
        pool.close()


def test_a_receiver_that_is_not_there_is_counted_as_missed() -> None:
    reports: list[tuple[str, str, int, bool]] = []
    pool = SegmentPool("test-dataplane")
    gone = f"\0dora-test-dataplane-{secrets.token_hex(6)}"
    sender = Sender("df", "src", {"out": [Route("dst", gone, TOKEN)]}, pool)
    sender.report_drops = lambda *report: reports.append(report)
    try:
        assert sender.live("out") == []
        sender.flush_drops()
        assert reports == [("out", "dst", 1, False)]
    finally:
        sender.close()
        pool.close()
