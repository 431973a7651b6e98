"""Receiving side of the data plane, without pyarrow: accepted connections from senders.

A sender opens each connection with ``Hello`` (checked against the link token the
receiver expects from it), may announce segments (``NewSegment`` with the fd, mapped
read-only once its seals are checked; ``DropSegment``), then sends ``Data`` and
``Closed``. The receiver answers ``Release`` for each shared-memory message once done
with it: queued per connection, written in batches (:meth:`InConn.release`).

:class:`Receiver` handles the connection-level frames; what ``Data`` and ``Closed`` mean
is up to a subclass (the node API queues inputs, the bridge publishes to other
machines). :meth:`Receiver.on_readable` is the generic frame loop; the node API has its
own, with its common small message spelled out, and uses the same handlers for the rest.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Any

from dora_message.auth import secret_matches
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
from dora_message.dataplane.sockets import FrameReader, accept_pending
from dora_message.node_protocol import PROTOCOL_VERSION
from dora_message.peer import RefusalLog
from dora_message.quote import excerpt

logger = logging.getLogger(__name__)

RELEASE_BATCH = 64  # send releases at once when this many wait (bursts of large messages)
MAX_SEGMENTS_PER_CONN = 4096  # live shared-memory mappings one sender may hold here

Register = Callable[[socket.socket, Callable[[], None]], None]
Unregister = Callable[[socket.socket], None]


class InConn:
    """One connection from a sender."""

    __slots__ = (
        "alive",
        "dirty",
        "lock",
        "maps",
        "pending",
        "reader",
        "routes",
        "schemas",
        "sender",
        "sock",
    )

    def __init__(self, sock: socket.socket, dirty: Callable[[InConn], None]) -> None:
        self.sock = sock
        self.dirty = dirty
        self.reader = FrameReader(with_fds=True)
        self.sender: str | None = None
        self.routes: dict[str, list[str]] = {}  # output id -> our input ids (node API)
        self.schemas: dict[str, Any] = {}  # output id -> the schema in effect
        self.maps: dict[int, Any] = {}  # segment id -> its mapping
        self.lock = threading.Lock()
        self.pending: deque[int] = deque()
        self.alive = True

    def release(self, token: int) -> None:
        """We are done with message ``token`` (any thread, e.g. an array's finalizer).

        The first release since the last flush calls ``dirty`` (the node lists the
        connection and sends at its next poll: a write right here, when the consumer
        drops the previous event on its way to the next one, would delay that next
        event); a full batch is sent at once.
        """
        pending = self.pending
        pending.append(token)
        queued = len(pending)
        if queued == 1:  # the first one since the last flush: list the connection
            self.dirty(self)
        elif queued >= RELEASE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Send the queued releases. Never blocks on another flusher: whoever holds the
        lock also sends what others queued."""
        pending = self.pending
        lock = self.lock
        while pending:
            if not lock.acquire(False):
                return
            try:
                tokens: list[int] = []
                try:
                    while True:
                        tokens.append(pending.popleft())
                except IndexError:
                    pass
                if tokens and self.alive:
                    self.sock.sendall(encode_frame(data_encoder, Release(tokens)))
            except OSError:
                pass
            finally:
                lock.release()


def flush_now(conn: InConn) -> None:
    """A ``dirty`` callback that sends each release right away."""
    conn.flush()


class Receiver(ABC):
    """Accepts data connections and handles their connection-level frames.

    ``listener`` is the listening socket (None: set ``_listener`` before accepting).
    ``expected_token(sender)`` is the link token a sender's ``Hello`` must carry (None:
    not a sender of ours). ``register(sock, callback)`` hands each accepted connection to
    the poller. Subclasses implement :meth:`on_data` and :meth:`on_closed`.
    """

    def __init__(
        self,
        dataflow_id: str,
        listener: socket.socket | None,
        expected_token: Callable[[str], str | None],
        register: Register,
        unregister: Unregister,
        refusals: RefusalLog,
        allow_root: bool = False,
        dirty: Callable[[InConn], None] = flush_now,
    ) -> None:
        self._dataflow_id = dataflow_id
        self._listener = listener
        self._expected_token = expected_token
        self._register = register
        self._unregister = unregister
        self._refusals = refusals
        self._allow_root = allow_root
        self._dirty_conn = dirty
        self._conns: set[InConn] = set()

    # ---- accepting ----------------------------------------------------------------

    def on_accept(self) -> None:
        """Accept every pending connection and read what it already sent."""
        if self._listener is None:
            return
        try:
            for sock in accept_pending(self._listener, self._allow_root, self._refusals):
                conn = InConn(sock, self._dirty_conn)
                self._conns.add(conn)
                self._register(sock, functools.partial(self.on_readable, conn))
                self.on_readable(conn)
        except OSError as err:
            logger.error("accepting a data connection failed: %s", err)

    # ---- frames -------------------------------------------------------------------

    def on_readable(self, conn: InConn) -> bool:
        """Handle what arrived on ``conn``; True when bytes were read and it is open."""
        if not conn.alive:
            return False
        reader = conn.reader
        alive = reader.fill(conn.sock)
        count = reader.last_count
        if reader.error is not None:
            self._dropping(conn, reader.error)
        try:
            for body in reader.frames():
                msg = to_receiver_decoder.decode(body)
                if type(msg) is Data:
                    if conn.sender is None:
                        raise ValueError("data before hello")
                    self.on_data(conn, msg)
                else:
                    self.on_control(conn, msg)
            self.check_fds(conn)
        except Exception as err:  # a broken peer must not take the receiver down
            self._dropping(conn, err)
            alive = False
        if not alive:
            self.on_eof(conn)
        return alive and bool(count)

    def on_control(self, conn: InConn, msg: Any) -> None:
        """Every frame but ``Data``."""
        if type(msg) is NewSegment:
            self.on_segment(conn, msg)
        elif type(msg) is DropSegment:
            conn.maps.pop(msg.segment_id, None)  # arrays over it keep their own reference
        elif type(msg) is Closed:
            if conn.sender is None:
                raise ValueError("closed before hello")
            self.on_closed(conn, msg)
        elif type(msg) is Hello:
            self.on_hello(conn, msg)

    @staticmethod
    def check_fds(conn: InConn) -> None:
        """Every frame of the read was handled: a descriptor no segment claimed is an
        error."""
        if conn.reader.fds and not conn.reader.pending():
            raise ValueError("a descriptor came with a frame that is not `segment`")

    def on_segment(self, conn: InConn, msg: NewSegment) -> None:
        """Map the segment whose fd came with ``msg`` (seals and size checked)."""
        if conn.sender is None:
            raise ValueError("segment before hello")
        if not conn.reader.fds:
            raise ValueError(f"segment {msg.segment_id} arrived without its fd")
        fd = conn.reader.fds.pop(0)
        if msg.segment_id not in conn.maps and len(conn.maps) >= MAX_SEGMENTS_PER_CONN:
            os.close(fd)
            raise ValueError(f"more than {MAX_SEGMENTS_PER_CONN} shared-memory segments")
        conn.maps[msg.segment_id] = self.map_segment(fd, msg.size)

    def map_segment(self, fd: int, size: int) -> Any:
        """A read-only mapping of a received segment (closes ``fd``)."""
        return map_segment(fd, size)

    def on_hello(self, conn: InConn, msg: Hello) -> None:
        """Check who is sending: our dataflow, our protocol, the right link token."""
        if conn.sender is not None:
            raise ValueError("a second hello")
        if msg.protocol_version != PROTOCOL_VERSION or msg.dataflow_id != self._dataflow_id:
            raise ValueError(
                f"unexpected hello from `{excerpt(msg.sender_node)}` (dataflow "
                f"{excerpt(msg.dataflow_id)}, protocol {excerpt(msg.protocol_version)}; "
                f"we are {self._dataflow_id}, {PROTOCOL_VERSION})"
            )
        if not secret_matches(msg.token, self._expected_token(msg.sender_node)):
            # the token itself is never logged
            raise ValueError(
                f"refused hello from `{excerpt(msg.sender_node)}`: not a sender of this "
                "node, or a wrong link token"
            )
        conn.sender = msg.sender_node

    @abstractmethod
    def on_data(self, conn: InConn, msg: Data) -> None:
        """A message from ``conn``'s sender (after its ``Hello``)."""

    @abstractmethod
    def on_closed(self, conn: InConn, msg: Closed) -> None:
        """``conn``'s sender will not send on ``msg.outputs`` again."""

    def _dropping(self, conn: InConn, why: object) -> None:
        logger.error("dropping data connection from `%s`: %s", conn.sender, why)

    # ---- connections ending -------------------------------------------------------

    def on_eof(self, conn: InConn) -> None:
        """``conn`` ended (or broke): close it."""
        self.forget(conn)

    def forget(self, conn: InConn) -> None:
        """Close ``conn`` and drop its mappings (arrays still alive keep theirs)."""
        with conn.lock:
            conn.alive = False
        self._conns.discard(conn)
        self._unregister(conn.sock)
        conn.sock.close()
        conn.reader.close_fds()
        conn.maps.clear()

    def connected(self, sender: str) -> bool:
        """Whether a connection from ``sender`` is open."""
        return any(c.sender == sender and c.alive for c in self._conns)

    def close_connections(self) -> None:
        """Close the listener and every connection (caller holds the poll lock)."""
        for conn in list(self._conns):
            self.forget(conn)
        if self._listener is not None:
            self._unregister(self._listener)
            self._listener.close()
            self._listener = None

    close = close_connections
