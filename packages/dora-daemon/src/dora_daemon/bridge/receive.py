"""The bridge's receiving socket: the daemon as one more receiver of local producers.

A producer whose output has consumers on other machines finds the bridge in its routes
(``dora_daemon.bridge.BRIDGE_NODE_ID``) and sends to it exactly as to a node:
``Hello``, ``NewSegment`` with the segment's fd, ``Data`` inline or in shared memory,
``Closed``. The bridge encodes each message, copying the payload straight out of shared
memory (answering ``Release`` right away, so the producer's pool never waits on the
network), and publishes it. It runs in its own thread: publishing may block under
congestion, which must not stall the daemon's event loop.

An output's end is published behind its data: on the producer's ``Closed`` frame, or,
when the daemon reports that the producer exited (or closed outputs), once no connection
from it is left open — the kernel keeps what an exited process sent, and it is read
first.

Connections, ``Hello`` checks, segments and releases are the data-plane core's
(:class:`dora_message.dataplane.receiver.Receiver`), as in a node.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import selectors
import socket
import threading
from collections.abc import Callable

from dora_daemon.bridge.publish import Publishing
from dora_message.auth import link_token
from dora_message.data_protocol import Closed, Data
from dora_message.dataplane.receiver import InConn, Receiver
from dora_message.dataplane.sockets import listen_socket
from dora_message.peer import RefusalLog, allow_root_from_env

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 10.0


class BridgeReceiver(Receiver):
    """Accepts data connections of local producers and publishes what they send."""

    def __init__(
        self, dataflow_id: str, address: str, publishing: Publishing, key: bytes, node_id: str
    ) -> None:
        """``key`` is the dataflow run's key: a producer's ``Hello`` must carry
        ``link_token(key, producer, node_id)`` (``node_id``: ``dora/bridge`` or
        ``dora/watch``, as in the producers' routes)."""
        self._selector = selectors.DefaultSelector()
        super().__init__(
            dataflow_id,
            None,  # listens in start()
            lambda producer: link_token(key, producer, node_id),
            self._register_conn,
            self._unregister_conn,
            RefusalLog(f"the daemon's `{node_id}` socket"),
            allow_root_from_env(),
        )
        self.dataflow_id = dataflow_id
        self.address = address
        self._publishing = publishing
        self._wake_r, self._wake_w = socket.socketpair()
        self._commands: collections.deque[Callable[[], None]] = collections.deque()
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

    def _register_conn(self, sock: socket.socket, on_readable: Callable[[], None]) -> None:
        self._selector.register(sock, selectors.EVENT_READ, on_readable)

    def _unregister_conn(self, sock: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(sock)

    def _run(self) -> None:
        try:
            while self._running:
                for key, _events in self._selector.select():
                    if key.fileobj is self._listener:
                        self.on_accept()
                    elif key.fileobj is self._wake_r:
                        self._wake()
                    else:
                        key.data()
        except Exception:
            log.exception("the bridge of dataflow %s failed", self.dataflow_id)
        finally:
            self._teardown()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_r.recv(4096, socket.MSG_DONTWAIT)
        while self._commands:
            self._commands.popleft()()

    def _drain(self) -> None:
        """Accept and read everything available now (used before closing outputs)."""
        self.on_accept()
        for conn in list(self._conns):
            while conn.alive and self.on_readable(conn):
                pass

    # ---- frames ------------------------------------------------------------------

    def _dropping(self, conn: InConn, why: object) -> None:
        log.error("bridge: dropping the connection from `%s`: %s", conn.sender, why)

    def on_data(self, conn: InConn, msg: Data) -> None:
        """Encode the message (copying a shared-memory payload straight out of the
        producer's segment, which is then released at once, so the producer's pool
        never waits on the network) and publish it."""
        assert conn.sender is not None
        if msg.schema is not None:
            conn.schemas[msg.output_id] = msg.schema
        schema = conn.schemas.get(msg.output_id)
        publishing = self._publishing
        if msg.segment_id >= 0:
            segment = conn.maps.get(msg.segment_id)
            if segment is None or msg.offset < 0 or msg.offset + msg.length > len(segment):
                conn.release(msg.token)
                raise ValueError(f"message outside shared-memory segment {msg.segment_id}")
            try:
                # the views end before the release: the mapping may be dropped afterwards
                end = msg.offset + msg.length
                with memoryview(segment) as whole, whole[msg.offset : end] as view:
                    out = publishing.encode(conn.sender, msg, view, True, schema)
            finally:
                conn.release(msg.token)
        else:
            out = publishing.encode(conn.sender, msg, msg.inline or b"", False, schema)
        if out is not None:
            publishing.put(out)

    def on_closed(self, conn: InConn, msg: Closed) -> None:
        """The producer's own end of outputs, behind its data."""
        assert conn.sender is not None
        self._publishing.closed(conn.sender, list(msg.outputs), msg.stopping)

    def on_eof(self, conn: InConn) -> None:
        """Close ``conn``; an exited producer's outputs end with its last connection."""
        self.forget(conn)
        sender = conn.sender
        if sender is not None and sender in self._exited and not self.connected(sender):
            self._publishing.close_all(sender)

    # ---- commands ----------------------------------------------------------------

    def _on_exited(self, node_id: str) -> None:
        self._exited.add(node_id)
        self._drain()
        if not self.connected(node_id):
            self._publishing.close_all(node_id)

    def _on_outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        # The producer's own Closed frame comes behind its data; without a connection
        # there is no data to wait for.
        self._drain()
        if not self.connected(node_id):
            self._publishing.closed(node_id, outputs)

    def _stop(self) -> None:
        self._drain()
        for conn in list(self._conns):
            self.on_eof(conn)
        for producer in self._publishing.producers():
            self._publishing.close_all(producer)
        self._running = False

    def _teardown(self) -> None:
        self.close_connections()
        with contextlib.suppress(OSError):
            self._selector.close()
        self._wake_r.close()
        self._wake_w.close()
