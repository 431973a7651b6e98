"""The bridge's receiving socket: the daemon as one more receiver of local producers.

A producer whose output has consumers on other machines finds the bridge in its routes
(``dora_daemon.bridge.BRIDGE_NODE_ID``) and sends to it exactly as to a node:
``Hello``, ``NewSegment`` with the segment's fd, ``Data`` inline or in shared memory,
``Closed``. The bridge copies
each payload out (answering ``Release`` right away, so the producer's pool never waits
on the network) and publishes it. It runs in its own thread: publishing may block under
congestion, which must not stall the daemon's event loop.

An output's end is published behind its data: on the producer's ``Closed`` frame, or,
when the daemon reports that the producer exited (or closed outputs), once no connection
from it is left open — the kernel keeps what an exited process sent, and it is read
first.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import mmap
import selectors
import socket
import threading
from collections.abc import Callable

import msgspec

from dora_daemon.bridge.publish import Publishing
from dora_message.auth import link_token, secret_matches
from dora_message.data_protocol import (
    Closed,
    Data,
    DropSegment,
    Hello,
    NewSegment,
    Release,
    data_encoder,
    to_receiver_decoder,
)
from dora_message.dataplane.framing import encode_frame
from dora_message.dataplane.pool import map_segment
from dora_message.dataplane.sockets import FrameReader, accept_pending, listen_socket
from dora_message.errors import ProtocolError
from dora_message.node_protocol import PROTOCOL_VERSION
from dora_message.peer import RefusalLog, allow_root_from_env
from dora_message.quote import excerpt

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 10.0
MAX_SEGMENTS_PER_CONN = 4096  # live mappings one producer may hold here


class _Conn:
    __slots__ = ("alive", "maps", "reader", "schemas", "sender", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = FrameReader(with_fds=True)
        self.sender: str | None = None
        self.maps: dict[int, mmap.mmap] = {}
        self.schemas: dict[str, bytes] = {}  # output id -> schema in effect
        self.alive = True


class BridgeReceiver:
    """Accepts data connections of local producers and publishes what they send."""

    def __init__(
        self, dataflow_id: str, address: str, publishing: Publishing, key: bytes, node_id: str
    ) -> None:
        """``key`` is the dataflow run's key: a producer's ``Hello`` must carry
        ``link_token(key, producer, node_id)`` (``node_id``: ``dora/bridge`` or
        ``dora/watch``, as in the producers' routes)."""
        self.dataflow_id = dataflow_id
        self.address = address
        self._key = key
        self._node_id = node_id
        self._allow_root = allow_root_from_env()
        self._refusals = RefusalLog(f"the daemon's `{node_id}` socket")
        self._publishing = publishing
        self._listener: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._commands: collections.deque[Callable[[], None]] = collections.deque()
        self._conns: set[_Conn] = set()
        self._exited: set[str] = set()  # producers whose process ended
        self._running = True
        self._thread = threading.Thread(
            target=self._run, name=f"dora-bridge-rx-{dataflow_id[:8]}", daemon=True
        )

    # ---- API (any thread) -------------------------------------------------------

    def start(self) -> None:
        """Listen on :attr:`address` (before any node starts) and start the thread."""
        self._listener = listen_socket(self.address)
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread.start()

    def producer_exited(self, node_id: str) -> None:
        """``node_id``'s process ended: close its outputs once its data is read."""
        self._call(lambda: self._on_exited(node_id))

    def outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        """``node_id`` told the daemon it closed ``outputs``."""
        self._call(lambda: self._on_outputs_closed(node_id, outputs))

    def close(self) -> None:
        """Read what is left, publish the end of every output, stop the thread."""
        if not self._thread.is_alive():
            self._teardown()
            return
        self._call(self._stop)
        self._thread.join(JOIN_TIMEOUT)
        if self._thread.is_alive():
            log.warning("the bridge of dataflow %s did not stop in time", self.dataflow_id)

    def _call(self, command: Callable[[], None]) -> None:
        self._commands.append(command)
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # ---- thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while self._running:
                for key, _events in self._selector.select():
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj is self._wake_r:
                        self._wake()
                    else:
                        self._readable(key.data)
        except Exception:
            log.exception("the bridge of dataflow %s failed", self.dataflow_id)
        finally:
            self._teardown()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_r.recv(4096, socket.MSG_DONTWAIT)
        while self._commands:
            self._commands.popleft()()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            for sock in accept_pending(self._listener, self._allow_root, self._refusals):
                conn = _Conn(sock)
                self._conns.add(conn)
                self._selector.register(sock, selectors.EVENT_READ, conn)
                self._readable(conn)
        except OSError as error:
            log.error("bridge: accepting a data connection failed: %s", error)

    def _drain(self) -> None:
        """Accept and read everything available now (used before closing outputs)."""
        self._accept()
        for conn in list(self._conns):
            while conn.alive and self._readable(conn):
                pass

    def _readable(self, conn: _Conn) -> bool:
        """Handle what arrived on ``conn``; True when bytes were read and it is open."""
        if not conn.alive:
            return False
        alive = conn.reader.fill(conn.sock)
        count = conn.reader.last_count
        if conn.reader.error is not None:
            log.error(
                "bridge: dropping the connection from `%s`: %s", conn.sender, conn.reader.error
            )
        try:
            for body in conn.reader.frames():
                self._frame(conn, to_receiver_decoder.decode(body))
            if conn.reader.fds and not conn.reader.pending():
                raise ValueError("a descriptor came with a frame that is not `segment`")
        except (ProtocolError, msgspec.DecodeError, ValueError, OSError) as error:
            log.error("bridge: dropping the connection from `%s`: %s", conn.sender, error)
            alive = False
        if not alive:
            self._eof(conn)
        return alive and bool(count)

    def _frame(self, conn: _Conn, msg: object) -> None:
        if type(msg) is Data:
            self._data(conn, msg)
        elif type(msg) is Hello:
            self._hello(conn, msg)
        elif conn.sender is None:
            raise ValueError(f"`{type(msg).__name__}` before hello")
        elif type(msg) is NewSegment:
            if not conn.reader.fds:
                raise ValueError(f"segment {msg.segment_id} arrived without its fd")
            fd = conn.reader.fds.pop(0)
            if msg.segment_id not in conn.maps and len(conn.maps) >= MAX_SEGMENTS_PER_CONN:
                conn.reader.fds.insert(0, fd)  # closed with the connection
                raise ValueError(f"more than {MAX_SEGMENTS_PER_CONN} shared-memory segments")
            old = conn.maps.pop(msg.segment_id, None)
            if old is not None:
                old.close()
            conn.maps[msg.segment_id] = map_segment(fd, msg.size)
        elif type(msg) is DropSegment:
            segment = conn.maps.pop(msg.segment_id, None)
            if segment is not None:
                segment.close()
        elif type(msg) is Closed:
            self._publishing.closed(conn.sender, list(msg.outputs), msg.stopping)

    def _hello(self, conn: _Conn, msg: Hello) -> None:
        if conn.sender is not None:
            raise ValueError("a second hello")
        if msg.dataflow_id != self.dataflow_id or msg.protocol_version != PROTOCOL_VERSION:
            raise ValueError(
                f"unexpected hello from `{excerpt(msg.sender_node)}` (dataflow "
                f"{excerpt(msg.dataflow_id)}, protocol {excerpt(msg.protocol_version)})"
            )
        expected = link_token(self._key, msg.sender_node, self._node_id)
        if not secret_matches(msg.token, expected):  # the token is never logged
            raise ValueError(f"refused hello from `{excerpt(msg.sender_node)}`: wrong link token")
        conn.sender = msg.sender_node

    def _data(self, conn: _Conn, msg: Data) -> None:
        if conn.sender is None:
            raise ValueError("data before hello")
        if msg.schema is not None:
            conn.schemas[msg.output_id] = msg.schema
        if msg.segment_id >= 0:
            segment = conn.maps.get(msg.segment_id)
            if segment is None or msg.offset < 0 or msg.offset + msg.length > len(segment):
                self._release(conn, msg.token)
                raise ValueError(f"message outside shared-memory segment {msg.segment_id}")
            payload = segment[msg.offset : msg.offset + msg.length]
            self._release(conn, msg.token)  # copied: the producer may reuse the segment
            shared = True
        else:
            payload = msg.inline or b""
            shared = False
        schema = conn.schemas.get(msg.output_id)
        self._publishing.data(conn.sender, msg, payload, shared, schema)

    @staticmethod
    def _release(conn: _Conn, token: int) -> None:
        with contextlib.suppress(OSError):
            conn.sock.sendall(encode_frame(data_encoder, Release([token])))

    def _eof(self, conn: _Conn) -> None:
        conn.alive = False
        self._conns.discard(conn)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        conn.sock.close()
        conn.reader.close_fds()
        for segment in conn.maps.values():
            segment.close()
        conn.maps.clear()
        sender = conn.sender
        if sender is not None and sender in self._exited and not self._connected(sender):
            self._publishing.close_all(sender)

    def _connected(self, node_id: str) -> bool:
        return any(c.sender == node_id and c.alive for c in self._conns)

    def _on_exited(self, node_id: str) -> None:
        self._exited.add(node_id)
        self._drain()
        if not self._connected(node_id):
            self._publishing.close_all(node_id)

    def _on_outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        # The producer's own Closed frame comes behind its data; without a connection
        # there is no data to wait for.
        self._drain()
        if not self._connected(node_id):
            self._publishing.closed(node_id, outputs)

    def _stop(self) -> None:
        self._drain()
        for conn in list(self._conns):
            self._eof(conn)
        for producer in self._publishing.producers():
            self._publishing.close_all(producer)
        self._running = False

    def _teardown(self) -> None:
        for conn in list(self._conns):
            conn.alive = False
            conn.sock.close()
            conn.reader.close_fds()
            for segment in conn.maps.values():
                segment.close()
        self._conns.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with contextlib.suppress(OSError):
            self._selector.close()
        self._wake_r.close()
        self._wake_w.close()
