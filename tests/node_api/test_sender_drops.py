"""The sender counts what a receiver could not take (issue 13 item 2): per output and
receiver, reported once a second (``flush_drops``) and at once when the receiver is
reachable again (``resumed``). Real sockets, no daemon."""

from __future__ import annotations

import socket
import uuid

import pyarrow as pa
import pytest

from dora._sender import RETRY_INTERVAL, Sender
from dora._shm import ShmPool
from dora_message.config import decode_node_config
from dora_message.dataplane.sockets import listen_socket


def test_drops_are_counted_and_the_end_of_an_outage_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    address = f"\0dora-test-drops-{uuid.uuid4().hex}"
    config = decode_node_config(
        '{"dataflow_id": "df", "node_id": "tx", "daemon_address": "\\u0000d",'
        '"listen_address": "\\u0000l", "outputs": ["out", "other"],'
        f'"routes": {{"out": [{{"node_id": "rx", "address": "\\u0000{address[1:]}"}}],'
        f'"other": [{{"node_id": "rx", "address": "\\u0000{address[1:]}"}}]}}}}'
    )
    pool = ShmPool(f"test-drops-{uuid.uuid4().hex}")
    reports: list[tuple[str, str, int, bool]] = []
    sender = Sender(config, pool, lambda _sock, _handler: None, lambda _sock: None)
    sender.report_drops = lambda *report: reports.append(report)
    clock = [1000.0]
    monkeypatch.setattr("dora_message.dataplane.sender.time.monotonic", lambda: clock[0])
    try:
        sender.connect_all()  # nobody listens: the receiver is "restarting"
        for _ in range(3):
            sender.send("out", pa.array([1]), {}, 0)
            clock[0] += RETRY_INTERVAL  # each send tries to reconnect
        sender.send("other", b"raw", {}, 0)
        sender.flush_drops()
        assert sorted(reports) == [("other", "rx", 1, False), ("out", "rx", 3, False)]
        reports.clear()
        sender.flush_drops()
        assert reports == []  # nothing new: nothing sent

        sender.send("out", pa.array([2]), {}, 0)
        listener = listen_socket(address)  # the receiver is back
        clock[0] += RETRY_INTERVAL
        sender.send("out", pa.array([3]), {}, 0)  # reconnects: this one is delivered
        # both outputs that lost messages end their outage; the last count rides along
        assert sorted(reports) == [("other", "rx", 0, True), ("out", "rx", 1, True)]
        conn, _ = listener.accept()
        conn.settimeout(5)
        assert conn.recv(65536)  # the Hello and the message arrived
        conn.close()
        listener.close()
    finally:
        sender.close()
        pool.close()


def test_a_receiver_that_shuts_its_reads_makes_the_next_write_fail() -> None:
    """What a node leaving to be restarted relies on (``Receiver.refuse_data``): after
    ``SHUT_RD`` the sender's write fails at once (and is counted), while what was
    written before can still be read and counted by the receiver."""
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        left.sendall(b"before")
        right.shutdown(socket.SHUT_RD)
        try:
            left.sendall(b"after")
        except BrokenPipeError:
            pass
        else:
            raise AssertionError("a write after the receiver's SHUT_RD succeeded")
        assert right.recv(100) == b"before"
        assert right.recv(100) == b""  # then end of stream, not a wait
    finally:
        left.close()
        right.close()
