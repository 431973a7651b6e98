"""Receiving side of the node's data plane: frames from sending nodes into input events.

Connections, ``Hello`` checks, segments and batched releases are the data-plane core's
(:class:`dora_message.dataplane.receiver.Receiver`, shared with the daemon's bridge);
this subclass turns ``Data`` into Arrow arrays on the node's inputs.

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
import logging
import socket
from collections import deque
from collections.abc import Callable

import msgspec
import pyarrow as pa

from dora._arrow import DataItem
from dora._inbox import Inbox, Op
from dora._shm import Mapping, ShmToken
from dora.events import stop_event
from dora_message.config import NodeConfig
from dora_message.data_protocol import Closed, Data, Hello, SenderToReceiver
from dora_message.dataplane.receiver import (
    MAX_SEGMENTS_PER_CONN,
    RELEASE_BATCH,
    InConn,
)
from dora_message.dataplane.receiver import Receiver as CoreReceiver
from dora_message.peer import RefusalLog

__all__ = ["MAX_SEGMENTS_PER_CONN", "RELEASE_BATCH", "InConn", "Receiver"]

logger = logging.getLogger(__name__)


_CORRELATION_KEYS = ("request_id", "goal_id", "goal_status")
_QUEUE_KEYS = frozenset((*_CORRELATION_KEYS, "flush"))
"""Parameters that change how a message is queued (one set lookup finds none of them)."""


def _queue_flags(params: dict[str, object]) -> tuple[bool, bool]:
    """``(protected, flush)``: correlated messages are evicted last; ``flush=True``
    discards the older unprotected messages of the input."""
    protected = any(key in params for key in _CORRELATION_KEYS)
    return protected, params.get("flush") is True


# The frame loop decodes with msgspec directly, not through ``to_receiver_decoder``
# (a SafeDecoder): one Python call less per frame, and every failure, RecursionError
# included, already drops the connection there.
_decode_frame = msgspec.msgpack.Decoder(SenderToReceiver).decode

_MAX_DRAIN_READS = 100_000  # reads per connection when leaving (a bound, never reached)


class Receiver(CoreReceiver):
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
        self._dirty: deque[InConn] = deque()  # connections with releases to send
        super().__init__(
            config.dataflow_id,
            listener,
            config.senders.get,  # sender node -> the token its Hello must carry
            register,
            unregister,
            RefusalLog(f"node `{config.node_id}`"),
            config.allow_root_peers,
            self._mark_dirty,
        )
        self._inbox = inbox
        self._wake_poller = wake_poller
        # sender node -> its output -> our input ids
        self._routes_in: dict[str, dict[str, list[str]]] = {}
        self._source_of: dict[str, str] = {}  # input id -> producing node
        for input_id, spec in config.inputs.items():
            node, _, output = spec.source.partition("/")
            self._source_of[input_id] = node
            self._routes_in.setdefault(node, {}).setdefault(output, []).append(input_id)
        self._deferred: dict[str, set[str]] = {}  # producer -> input ids to close at EOF

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

    def on_readable(self, conn: InConn) -> bool:
        """Handle what arrived on ``conn`` (polling thread); the core's frame loop with
        the common small message spelled out, and runs of a burst batched."""
        if not conn.alive:
            return False
        alive = conn.reader.fill(conn.sock)
        if conn.reader.error is not None:
            logger.error("dropping data connection from `%s`: %s", conn.sender, conn.reader.error)
        ops: list[Op] = []
        append = ops.append
        decode = _decode_frame
        try:
            bodies = conn.reader.frames()
            batch = len(bodies) > 1
            # The small message's output, resolved once per output and read (a burst's
            # read holds thousands of one output's messages), and the run op they join
            # while it is the last op. Anything else handled in between resets both.
            last_output: str | None = None
            input_ids: list[str] = []
            arrow_type = None
            single: str | None = None  # the one input of last_output, in a batch
            run: list[DataItem] | None = None
            for body in bodies:
                msg = decode(body)
                if type(msg) is Data:
                    if msg.kind == "buffers" and msg.segment_id < 0 and msg.schema is None:
                        # the common small message, spelled out (same rules as _on_data)
                        output_id = msg.output_id
                        if output_id != last_output:
                            run = None
                            input_ids = conn.routes.get(output_id) or []
                            if not input_ids or conn.sender is None:
                                last_output = None
                                self._on_data(conn, msg, ops)
                                continue
                            cached = conn.schemas.get(output_id)
                            arrow_type = None if cached is None else cached[1]
                            single = input_ids[0] if batch and len(input_ids) == 1 else None
                            last_output = output_id
                        item = DataItem(msg, arrow_type, None)
                        params = msg.parameters
                        if not params or _QUEUE_KEYS.isdisjoint(params):
                            if single is not None:
                                # a burst: plain messages of one input join one run op
                                # (Scheduler.push_run), which keeps its place in ops
                                if run is not None:
                                    run.append(item)
                                else:
                                    run = [item]
                                    append((single, run, False, False))
                                continue
                            protected = flush = False
                        else:
                            protected, flush = _queue_flags(params)
                        run = None
                        for input_id in input_ids:
                            append((input_id, item, protected, flush))
                        continue
                    last_output = run = None
                    self._on_data(conn, msg, ops)
                elif type(msg) is Closed:  # queued behind this read's data
                    last_output = run = None
                    if conn.sender is None:
                        raise ValueError("closed before hello")
                    self._on_closed(conn, msg, ops)
                else:  # hello and segments: the core's handlers
                    last_output = run = None
                    self.on_control(conn, msg)
            if conn.reader.fds and not conn.reader.pending():
                self.check_fds(conn)  # raises: a descriptor no segment claimed
        except Exception as err:  # a broken peer must not take the node down
            logger.error("dropping data connection from `%s`: %s", conn.sender, err)
            alive = False
        if ops:
            self._inbox.apply(ops)
        if not alive:
            self.on_eof(conn)
        return alive

    def map_segment(self, fd: int, size: int) -> Mapping:
        """The mapping as one Arrow buffer, every page mapped up front."""
        return Mapping(fd, size)

    def on_data(self, conn: InConn, msg: Data) -> None:
        """One message, queued on its inputs (the core's generic frame loop)."""
        ops: list[Op] = []
        self._on_data(conn, msg, ops)
        self._inbox.apply(ops)

    def on_closed(self, conn: InConn, msg: Closed) -> None:
        """The sender closed outputs (the core's generic frame loop)."""
        ops: list[Op] = []
        self._on_closed(conn, msg, ops)
        self._inbox.apply(ops)

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

    def on_hello(self, conn: InConn, msg: Hello) -> None:
        """Check the sender (the core), then route its outputs to our inputs."""
        super().on_hello(conn, msg)
        conn.routes = self._routes_in.get(msg.sender_node, {})
        # a new connection from a producer whose inputs were closed: it was restarted
        reopen = [iid for ids in conn.routes.values() for iid in ids]
        if reopen:
            self._inbox.reopen(reopen)

    def _on_closed(self, conn: InConn, msg: Closed, ops: list[Op]) -> None:
        if msg.stopping:
            # the dataflow is stopping: our own STOP is on its way from the daemon;
            # take it now so the cause does not depend on timing
            self._inbox.push_event(stop_event("MANUAL"))
        deferred = self._deferred.get(conn.sender or "")
        for output_id in msg.outputs:
            for input_id in conn.routes.get(output_id, ()):
                ops.append((input_id, None, False, False))
                if deferred:
                    deferred.discard(input_id)

    def on_eof(self, conn: InConn) -> None:
        """Close ``conn``; inputs whose closing waited for its data close now."""
        self.forget(conn)  # arrays still alive keep their mapping through their token
        sender = conn.sender
        if sender is not None and not self.connected(sender):
            waiting = self._deferred.pop(sender, None)
            if waiting:
                self._inbox.apply([(iid, None, False, False) for iid in sorted(waiting)])

    # ---- closing requested by the daemon ------------------------------------------

    def input_closed(self, input_ids: list[str], source_node: str) -> None:
        """The daemon says ``source_node`` finished: close these inputs after its data."""
        # a producer that connected, sent and exited may still sit in the backlog
        self.on_accept()
        if self.connected(source_node):
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
