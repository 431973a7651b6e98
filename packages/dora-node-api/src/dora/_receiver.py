"""Receiving side of the data plane: accepted connections from sending nodes.

Runs in whichever thread polls. Frames become queue operations, applied in arrival order
through the :class:`~dora._inbox.Inbox`. Closing rules:

* ``Closed(outputs)`` from a sender is authoritative: its inputs close right there, behind
  the data that came before it on the same connection;
* an ``InputClosed`` from the daemon is deferred while a connection from that producer is
  still open, so data it sent before exiting is never overtaken; the connection's EOF (or
  ``Closed``) then closes the inputs. EOF alone closes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
from collections import deque
from collections.abc import Callable

import pyarrow as pa

from dora._arrow import DataItem
from dora._inbox import Inbox, Op
from dora._shm import Mapping, ShmToken
from dora.events import stop_event
from dora_message.auth import secret_matches
from dora_message.config import NodeConfig
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
from dora_message.node_protocol import PROTOCOL_VERSION
from dora_message.peer import RefusalLog
from dora_message.quote import excerpt
from dora_message.transport import FrameReader, accept_pending, encode_frame

logger = logging.getLogger(__name__)


_CORRELATION_KEYS = ("request_id", "goal_id", "goal_status")
_QUEUE_KEYS = frozenset((*_CORRELATION_KEYS, "flush"))
"""Parameters that change how a message is queued (one set lookup finds none of them)."""


def _queue_flags(params: dict[str, object]) -> tuple[bool, bool]:
    """``(protected, flush)``: correlated messages are evicted last; ``flush=True``
    discards the older unprotected messages of the input."""
    protected = any(key in params for key in _CORRELATION_KEYS)
    return protected, params.get("flush") is True


_MAX_DRAIN_READS = 100_000  # reads per connection when leaving (a bound, never reached)
RELEASE_BATCH = 64  # send releases at once when this many wait (bursts of large messages)
MAX_SEGMENTS_PER_CONN = 4096  # live shared-memory mappings one sender may hold here


class InConn:
    """One connection from a sending node."""

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
        self.routes: dict[str, list[str]] = {}  # output id -> our input ids
        self.schemas: dict[str, tuple[pa.Schema, pa.DataType]] = {}
        self.maps: dict[int, Mapping] = {}
        self.lock = threading.Lock()
        self.pending: deque[int] = deque()
        self.alive = True

    def release(self, token: int) -> None:
        """We are done with message ``token`` (any thread, e.g. an array's finalizer).

        The sender hears of it at the next poll, not now: the usual release happens
        when the consumer drops the previous event on its way to the next one, and a
        write (which wakes the sender) right there would delay that next event.
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


class Receiver:
    """Accepts data connections and turns their frames into input events."""

    def __init__(
        self,
        config: NodeConfig,
        listener: socket.socket,
        inbox: Inbox,
        register: Callable[[socket.socket, Callable[[], None]], None],
        unregister: Callable[[socket.socket], None],
        wake_poller: Callable[[], None],
    ) -> None:
        self._dataflow_id = config.dataflow_id
        self._senders = config.senders  # sender node -> the token its Hello must carry
        self._allow_root = config.allow_root_peers
        self._refusals = RefusalLog(f"node `{config.node_id}`")
        self._listener = listener
        self._inbox = inbox
        self._register = register
        self._unregister = unregister
        self._wake_poller = wake_poller
        self._dirty: deque[InConn] = deque()  # connections with releases to send
        # sender node -> its output -> our input ids
        self._routes_in: dict[str, dict[str, list[str]]] = {}
        self._source_of: dict[str, str] = {}  # input id -> producing node
        for input_id, spec in config.inputs.items():
            node, _, output = spec.source.partition("/")
            self._source_of[input_id] = node
            self._routes_in.setdefault(node, {}).setdefault(output, []).append(input_id)
        self._conns: set[InConn] = set()
        self._deferred: dict[str, set[str]] = {}  # producer -> input ids to close at EOF

    # ---- accepting ----------------------------------------------------------------

    def on_accept(self) -> None:
        """Accept every pending connection and read what it already sent."""
        try:
            for sock in accept_pending(self._listener, self._allow_root, self._refusals):
                conn = InConn(sock, self._mark_dirty)
                self._conns.add(conn)
                self._register(sock, functools.partial(self.on_readable, conn))
                self.on_readable(conn)
        except OSError as err:
            logger.error("accepting a data connection failed: %s", err)

    # ---- releases -----------------------------------------------------------------

    def _mark_dirty(self, conn: InConn) -> None:
        self._dirty.append(conn)
        self._wake_poller()  # only writes if a thread sleeps in the poll

    def flush_releases(self) -> None:
        """Send every queued release (the poller calls this before each poll)."""
        dirty = self._dirty
        while dirty:
            try:
                conn = dirty.popleft()
            except IndexError:
                return
            if conn.pending:
                conn.flush()

    # ---- frames -------------------------------------------------------------------

    def on_readable(self, conn: InConn) -> None:
        """Handle what arrived on ``conn`` (polling thread)."""
        if not conn.alive:
            return
        alive = conn.reader.fill(conn.sock)
        if conn.reader.error is not None:
            logger.error("dropping data connection from `%s`: %s", conn.sender, conn.reader.error)
        ops: list[Op] = []
        append = ops.append
        decode = to_receiver_decoder.decode
        try:
            bodies = conn.reader.frames()
            batch = len(bodies) > 1
            for body in bodies:
                msg = decode(body)
                if type(msg) is Data:
                    if msg.kind == "buffers" and msg.segment_id < 0 and msg.schema is None:
                        # the common small message, spelled out (same rules as _on_data)
                        input_ids = conn.routes.get(msg.output_id)
                        if input_ids and conn.sender is not None:
                            cached = conn.schemas.get(msg.output_id)
                            item = DataItem(msg, None if cached is None else cached[1], None)
                            params = msg.parameters
                            if params and not _QUEUE_KEYS.isdisjoint(params):
                                protected, flush = _queue_flags(params)
                            else:
                                protected = flush = False
                            if batch and len(input_ids) == 1 and not (protected or flush):
                                # a burst: plain messages of one input join one run op
                                # (Scheduler.push_run), which keeps its place in ops
                                input_id = input_ids[0]
                                if ops and ops[-1][0] == input_id and type(ops[-1][1]) is list:
                                    ops[-1][1].append(item)
                                else:
                                    append((input_id, [item], False, False))
                                continue
                            for input_id in input_ids:
                                append((input_id, item, protected, flush))
                            continue
                    self._on_data(conn, msg, ops)
                elif type(msg) is NewSegment:
                    self._on_segment(conn, msg)
                elif type(msg) is DropSegment:
                    conn.maps.pop(msg.segment_id, None)
                elif type(msg) is Closed:
                    if conn.sender is None:
                        raise ValueError("closed before hello")
                    if msg.stopping:
                        # the dataflow is stopping: our own STOP is on its way from the
                        # daemon; take it now so the cause does not depend on timing
                        self._inbox.push_event(stop_event("MANUAL"))
                    self._on_closed(conn, msg.outputs, ops)
                elif type(msg) is Hello:
                    self._on_hello(conn, msg)
            if conn.reader.fds and not conn.reader.pending():
                # every frame of the read was handled: a descriptor no segment claimed
                raise ValueError("a descriptor came with a frame that is not `segment`")
        except Exception as err:  # a broken peer must not take the node down
            logger.error("dropping data connection from `%s`: %s", conn.sender, err)
            alive = False
        if ops:
            self._inbox.apply(ops)
        if not alive:
            self._eof(conn)

    @staticmethod
    def _on_segment(conn: InConn, msg: NewSegment) -> None:
        if conn.sender is None:
            raise ValueError("segment before hello")
        if not conn.reader.fds:
            raise ValueError(f"segment {msg.segment_id} arrived without its fd")
        fd = conn.reader.fds.pop(0)
        if msg.segment_id not in conn.maps and len(conn.maps) >= MAX_SEGMENTS_PER_CONN:
            os.close(fd)
            raise ValueError(f"more than {MAX_SEGMENTS_PER_CONN} shared-memory segments")
        conn.maps[msg.segment_id] = Mapping(fd, msg.size)  # checks seals and size

    def _on_data(self, conn: InConn, msg: Data, ops: list[Op]) -> None:
        if conn.sender is None:
            raise ValueError("data before hello")
        token = None
        if msg.segment_id >= 0:
            mapping = conn.maps.get(msg.segment_id)
            if mapping is None:
                conn.release(msg.token)
                raise ValueError(f"unknown shared-memory segment {msg.segment_id}")
            # from here on the message is released when the last array over it dies
            token = ShmToken(mapping, msg.token, conn.release)
        input_ids = conn.routes.get(msg.output_id)
        if not input_ids:
            return
        schema = None
        kind = msg.kind
        if kind == "buffers" or (kind == "ipc" and token is None):
            # the schema cache is per output and changes with arrival order: resolve now
            if msg.schema is not None:
                parsed = pa.ipc.read_schema(pa.py_buffer(msg.schema))
                conn.schemas[msg.output_id] = (parsed, parsed.field(0).type)
            cached = conn.schemas.get(msg.output_id)
            if cached is not None:
                schema = cached[0] if kind == "ipc" else cached[1]
        item = DataItem(msg, schema, token)
        params = msg.parameters
        if params and not _QUEUE_KEYS.isdisjoint(params):
            protected, flush = _queue_flags(params)
        else:
            protected = flush = False
        for input_id in input_ids:
            ops.append((input_id, item, protected, flush))

    def _on_hello(self, conn: InConn, msg: Hello) -> None:
        if conn.sender is not None:
            raise ValueError("a second hello")
        if msg.protocol_version != PROTOCOL_VERSION or msg.dataflow_id != self._dataflow_id:
            raise ValueError(
                f"unexpected hello from `{excerpt(msg.sender_node)}` (dataflow "
                f"{excerpt(msg.dataflow_id)}, protocol {excerpt(msg.protocol_version)}; "
                f"we are {self._dataflow_id}, {PROTOCOL_VERSION})"
            )
        if not secret_matches(msg.token, self._senders.get(msg.sender_node)):
            # the token itself is never logged
            raise ValueError(
                f"refused hello from `{excerpt(msg.sender_node)}`: not a sender of this "
                "node, or a wrong link token"
            )
        conn.sender = msg.sender_node
        conn.routes = self._routes_in.get(msg.sender_node, {})
        # a new connection from a producer whose inputs were closed: it was restarted
        reopen = [iid for ids in conn.routes.values() for iid in ids]
        if reopen:
            self._inbox.reopen(reopen)

    def _on_closed(self, conn: InConn, outputs: list[str], ops: list[Op]) -> None:
        deferred = self._deferred.get(conn.sender or "")
        for output_id in outputs:
            for input_id in conn.routes.get(output_id, ()):
                ops.append((input_id, None, False, False))
                if deferred:
                    deferred.discard(input_id)

    def _eof(self, conn: InConn) -> None:
        with conn.lock:
            conn.alive = False
        self._conns.discard(conn)
        self._unregister(conn.sock)
        conn.sock.close()
        conn.reader.close_fds()
        conn.maps.clear()  # arrays still alive keep their mapping through their token
        sender = conn.sender
        if sender is not None and not self._has_conn(sender):
            waiting = self._deferred.pop(sender, None)
            if waiting:
                self._inbox.apply([(iid, None, False, False) for iid in sorted(waiting)])

    def _has_conn(self, sender: str) -> bool:
        return any(c.sender == sender and c.alive for c in self._conns)

    # ---- closing requested by the daemon ------------------------------------------

    def input_closed(self, input_ids: list[str], source_node: str) -> None:
        """The daemon says ``source_node`` finished: close these inputs after its data."""
        # a producer that connected, sent and exited may still sit in the backlog
        self.on_accept()
        if self._has_conn(source_node):
            self._deferred.setdefault(source_node, set()).update(input_ids)
        else:
            self._inbox.apply([(iid, None, False, False) for iid in input_ids])

    def close_all(self, input_ids: list[str]) -> None:
        """Close these inputs, each after the data of its own producer."""
        by_source: dict[str, list[str]] = {}
        for input_id in input_ids:
            by_source.setdefault(self._source_of.get(input_id, ""), []).append(input_id)
        for source, ids in by_source.items():
            self.input_closed(ids, source)

    def close(self) -> None:
        """Close the listener and every connection (caller holds the poll lock)."""
        for conn in list(self._conns):
            with conn.lock:
                conn.alive = False
            self._unregister(conn.sock)
            conn.sock.close()
            conn.reader.close_fds()
        self._conns.clear()
        self._unregister(self._listener)
        self._listener.close()

    # ---- leaving to be restarted ------------------------------------------------------

    def refuse_data(self) -> None:
        """Take no more data: new connections are refused and senders' next writes fail
        (``SHUT_RD`` reaches the peer of a Unix stream socket), so every message from now
        on is counted by its sender, and what was written before is still here to be
        counted (:meth:`drain`). Any thread."""
        socks = [self._listener, *(conn.sock for conn in list(self._conns))]
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RD)

    def drain(self) -> None:
        """Read everything still in the sockets after :meth:`refuse_data`, so that the
        scheduler counts it as discarded (caller holds the poll lock, the stream ended)."""
        self.on_accept()  # connections that were still in the backlog
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RD)
            for _ in range(_MAX_DRAIN_READS):  # EOF once empty: SHUT_RD ends the stream
                if not conn.alive:
                    break
                self.on_readable(conn)
