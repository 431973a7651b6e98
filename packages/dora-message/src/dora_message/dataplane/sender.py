"""Sending side of the data plane, without pyarrow: connections to receivers, fan-out.

One connection per receiver, shared by every output routed to it. A message goes out as
one ``Data`` frame, inline or as a reference into a segment of the sender's
:class:`~dora_message.dataplane.pool.SegmentPool` (written once, the same reference to
every receiver); each receiver answers ``Release`` when it no longer uses it. Frame
writes on a connection happen under that connection's lock, so ``NewSegment`` always
precedes the data that uses it and the per-connection schema cache stays consistent with
what was sent.

Who reads the releases is the caller's business: ``register(sock, callback)`` hands each
new connection to a poller that calls ``callback`` when the socket is readable (the
node's poller), or the caller calls :meth:`Sender.read_releases` itself (the bridge).

What a payload is stays outside: the node API encodes Arrow arrays (``dora._sender``),
the bridge forwards what a remote producer sent.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import msgspec

from dora_message.data_protocol import (
    Closed,
    Data,
    DropSegment,
    Hello,
    NewSegment,
    data_encoder,
    to_sender_decoder,
)
from dora_message.dataplane.framing import encode_frame
from dora_message.dataplane.pool import Segment, SegmentPool
from dora_message.dataplane.sockets import FrameReader, connect, send_with_fd
from dora_message.node_protocol import PROTOCOL_VERSION

logger = logging.getLogger(__name__)

RETRY_INTERVAL = 0.1
CONNECT_TIMEOUT = 2.0
Register = Callable[[socket.socket, Callable[[], None]], None]
Unregister = Callable[[socket.socket], None]
ReportDrops = Callable[[str, str, int, bool], object]
"""``(output_id, receiver, count, resumed)``: see ``node_protocol.DroppedMessages``."""


class Described(Protocol):
    """The type of an output's messages, as the per-connection schema cache keeps it:
    compared by identity, so a sender makes one object per type."""

    @property
    def schema_bytes(self) -> bytes: ...


class Route(Protocol):
    """One receiver of an output (``NodeConfig.routes``' items have these fields)."""

    node_id: str
    address: str
    token: str


class OutConn:
    """One connection to a receiver."""

    __slots__ = ("alive", "lock", "node_id", "reader", "segments", "sock", "types")

    def __init__(self, node_id: str, sock: socket.socket) -> None:
        self.node_id = node_id
        self.sock = sock
        self.lock = threading.Lock()
        self.alive = True
        self.reader = FrameReader()
        self.segments: set[int] = set()  # segment ids this receiver has mapped
        self.types: dict[str, Described] = {}  # output id -> last schema sent inline


class Peer:
    """A receiver, its current connection, and the ``Hello`` that opens one (it carries
    the link token the daemon gave us for this receiver)."""

    __slots__ = ("address", "conn", "hello", "missed", "next_retry", "node_id", "outage")

    def __init__(self, node_id: str, address: str, hello: bytearray) -> None:
        self.node_id = node_id
        self.address = address
        self.hello = hello
        self.conn: OutConn | None = None
        self.next_retry = 0.0
        # Messages this receiver did not get: per output, not yet reported (``missed``),
        # and the outputs that lost any since the connection was last up (``outage``:
        # each gets a ``resumed`` report when it comes back). Under ``Sender._drop_lock``.
        self.missed: dict[str, int] = {}
        self.outage: set[str] = set()


def _no_register(_sock: socket.socket, _callback: Callable[[], None]) -> None:
    """Default ``register``: the caller reads releases with ``read_releases``."""


def _no_unregister(_sock: socket.socket) -> None:
    """Default ``unregister``."""


class Sender:
    """Everything a sender needs to reach the receivers of its outputs. Thread-safe."""

    def __init__(
        self,
        dataflow_id: str,
        node_id: str,
        routes: Mapping[str, list[Route]],
        pool: SegmentPool,
        register: Register = _no_register,
        unregister: Unregister = _no_unregister,
        threshold: int = 0,
    ) -> None:
        """``routes``: output id -> its receivers; ``threshold``: the payload size from
        which messages go through shared memory (for the subclass's encoders)."""
        self.threshold = threshold
        self.stopping = False  # the dataflow is being stopped: our Closed frames say so
        self._pool = pool
        self._register = register
        self._unregister = unregister
        self._peers: dict[str, Peer] = {}
        self._routes: dict[str, list[Peer]] = {}
        for output_id, receivers in routes.items():
            peers = self._routes.setdefault(output_id, [])
            for receiver in receivers:
                peer = self._peers.get(receiver.node_id)
                if peer is None:
                    hello = Hello(dataflow_id, node_id, PROTOCOL_VERSION, receiver.token)
                    peer = Peer(
                        receiver.node_id, receiver.address, encode_frame(data_encoder, hello)
                    )
                    self._peers[receiver.node_id] = peer
                if peer not in peers:
                    peers.append(peer)
        self._connect_lock = threading.Lock()
        self._closed = False
        # where drop counts go (the node's daemon link); set once it is connected
        self.report_drops: ReportDrops | None = None
        self._drop_lock = threading.Lock()

    # ---- connections ------------------------------------------------------------

    def connect_all(self) -> None:
        """Connect to every receiver; one that is already gone is skipped."""
        for peer in self._peers.values():
            self._connect(peer)

    def _connect(self, peer: Peer) -> OutConn | None:
        try:
            sock = connect(peer.address, timeout=CONNECT_TIMEOUT, data=True)
        except OSError as err:
            peer.next_retry = time.monotonic() + RETRY_INTERVAL
            self._unreachable(peer, err)
            return None
        conn = OutConn(peer.node_id, sock)
        try:
            sock.sendall(peer.hello)
        except OSError:
            sock.close()
            peer.next_retry = time.monotonic() + RETRY_INTERVAL
            return None
        peer.conn = conn
        self._register(sock, functools.partial(self._on_readable, conn))
        self._resumed(peer)
        return conn

    def _unreachable(self, peer: Peer, err: OSError) -> None:
        """A connection attempt failed (retried at the next message, rate-limited)."""
        logger.debug("receiver `%s` is not reachable: %s", peer.node_id, err)

    def _live(self, peers: list[Peer], output_id: str) -> list[OutConn]:
        """The connections to ``peers`` that are up; a message of ``output_id`` that
        will not reach the others is counted for each of them."""
        conns: list[OutConn] = []
        for peer in peers:
            conn = peer.conn
            if conn is not None and conn.alive:
                conns.append(conn)
                continue
            if not self._closed and time.monotonic() >= peer.next_retry:
                # the receiver may have been restarted: reconnect (rate-limited)
                with self._connect_lock:
                    conn = peer.conn
                    if conn is None or not conn.alive:
                        conn = self._connect(peer)
                if conn is not None and conn.alive:
                    conns.append(conn)
                    continue
            self._missed(peer, output_id)
        return conns

    def live(self, output_id: str) -> list[OutConn]:
        """The connections to the receivers of ``output_id`` that are up (reconnecting
        where due); the message will not reach the others and is counted for them."""
        return self._live(self._routes.get(output_id, []), output_id)

    def connections(self) -> list[OutConn]:
        """Every current connection, up or not yet closed."""
        return [peer.conn for peer in self._peers.values() if peer.conn is not None]

    # ---- messages that did not reach a receiver ---------------------------------------

    def _missed(self, peer: Peer, output_id: str) -> None:
        with self._drop_lock:
            peer.missed[output_id] = peer.missed.get(output_id, 0) + 1
            peer.outage.add(output_id)

    def _missed_conn(self, conn: OutConn, output_id: str) -> None:
        peer = self._peers.get(conn.node_id)
        if peer is not None:
            self._missed(peer, output_id)

    # Reports are sent under _drop_lock: a periodic report taken before a reconnection
    # must reach the daemon before that reconnection's ``resumed``, or its count would be
    # logged with the next outage instead of this one.

    def _resumed(self, peer: Peer) -> None:
        """``peer`` is reachable again: the outage of each output that lost messages to
        it ends with one ``resumed`` report (the daemon logs its total then)."""
        with self._drop_lock:
            if not peer.outage:
                return
            ended = [(output_id, peer.missed.pop(output_id, 0)) for output_id in peer.outage]
            peer.outage.clear()
            report = self.report_drops
            if report is not None:
                for output_id, count in sorted(ended):
                    report(output_id, peer.node_id, count, True)

    def flush_drops(self) -> None:
        """Report the counts not reported yet (the node's watch thread, and at exit)."""
        with self._drop_lock:
            counts = [
                (output_id, peer.node_id, count)
                for peer in self._peers.values()
                for output_id, count in peer.missed.items()
                if count
            ]
            for peer in self._peers.values():
                peer.missed.clear()
            report = self.report_drops
            if report is not None:
                for output_id, receiver, count in sorted(counts):
                    report(output_id, receiver, count, False)

    def has_receivers(self, output_id: str) -> bool:
        """Whether ``output_id`` is routed anywhere."""
        return bool(self._routes.get(output_id))

    def receivers(self, output_id: str) -> list[str]:
        """Receiver ids of ``output_id``."""
        return [peer.node_id for peer in self._routes.get(output_id, ())]

    # ---- sending ------------------------------------------------------------------

    def send_inline(
        self,
        output_id: str,
        ts: int,
        params: dict[str, Any],
        info: Described | None,
        kind: str,
        inline: Any,
        conns: list[OutConn],
        layout: list[int] | None,
    ) -> None:
        """Send a payload inside the frame to ``conns``; ``info`` is the type that goes
        along where this output last sent another one (``buffers`` and inline ``ipc``)."""
        msg = Data(output_id, ts, params, kind, None, inline, layout=layout)
        self.fan_out(msg, info, conns, None)

    def send_segment(
        self,
        output_id: str,
        ts: int,
        params: dict[str, Any],
        kind: str,
        seg: Segment,
        offset: int,
        length: int,
        conns: list[OutConn] | None = None,
        info: Described | None = None,
        layout: list[int] | None = None,
    ) -> None:
        """Send a message already written at ``offset`` in ``seg`` (fan-out, no copy).

        ``info`` (with ``layout``) is given for the ``buffers`` kind, whose type travels
        in the per-connection schema cache like the inline encodings.
        """
        if conns is None:
            conns = self._live(self._routes.get(output_id, []), output_id)
        token, dropped = self._pool.publish(seg, offset, set(conns))
        msg = Data(output_id, ts, params, kind, None, None, seg.id, offset, length, token, layout)
        for conn in self.fan_out(msg, info, conns, seg):
            dropped += self._pool.release(conn, [token])  # it will never release it
        self.drop_segments(dropped)

    def fan_out(
        self, msg: Data, info: Described | None, conns: list[OutConn], seg: Segment | None
    ) -> list[OutConn]:
        """Send ``msg`` on every connection; returns those that did not take it.

        The schema goes along only where this output last sent another type; a segment
        is announced (with its fd) the first time a connection sees it.
        """
        output_id = msg.output_id
        plain: bytearray | None = None
        described: bytearray | None = None
        failed: list[OutConn] = []
        for conn in conns:
            with conn.lock:
                if not conn.alive:
                    failed.append(conn)
                    continue
                if info is None or conn.types.get(output_id) is info:
                    if plain is None:
                        plain = encode_frame(data_encoder, msg)
                    frame = plain
                else:
                    if described is None:
                        with_schema = msgspec.structs.replace(msg, schema=info.schema_bytes)
                        described = encode_frame(data_encoder, with_schema)
                    frame = described
                try:
                    if seg is not None and seg.id not in conn.segments:
                        announce = encode_frame(data_encoder, NewSegment(seg.id, seg.size))
                        send_with_fd(conn.sock, announce, seg.fd)
                        conn.segments.add(seg.id)
                    conn.sock.sendall(frame)
                    if info is not None:
                        conn.types[output_id] = info
                except OSError:
                    self._mark_dead(conn)
                    failed.append(conn)
        for conn in failed:
            self._missed_conn(conn, output_id)
        return failed

    def _write(self, conn: OutConn, frame: bytes | bytearray) -> bool:
        """Write one frame; False when the connection is (now) dead."""
        with conn.lock:
            if conn.alive:
                try:
                    conn.sock.sendall(frame)
                    return True
                except OSError:
                    self._mark_dead(conn)
            return False

    @staticmethod
    def _mark_dead(conn: OutConn) -> None:
        # caller holds conn.lock; the socket is closed where its EOF is seen (_lost)
        if conn.alive:
            conn.alive = False
            logger.debug("receiver `%s` went away", conn.node_id)

    # ---- control ------------------------------------------------------------------

    def close_outputs(self, outputs: list[str], stopping: bool | None = None) -> None:
        """Tell every receiver of these outputs that nothing more comes on them
        (``stopping``: because the dataflow stops; default :attr:`stopping`)."""
        per_peer: dict[str, list[str]] = {}
        for output_id in outputs:
            for peer in self._routes.get(output_id, ()):
                per_peer.setdefault(peer.node_id, []).append(output_id)
        flag = self.stopping if stopping is None else stopping
        for node_id, outs in per_peer.items():
            conn = self._peers[node_id].conn
            if conn is not None:
                self._write(conn, encode_frame(data_encoder, Closed(outs, flag)))

    def discard_segment(self, seg: Segment, offset: int) -> None:
        """Give back acquired room that will not be sent."""
        self.drop_segments(self._pool.discard(seg, offset))

    def drop_segments(self, segments: list[Segment]) -> None:
        """Unmap segments the pool no longer keeps; tell the receivers that mapped them."""
        for seg in segments:
            frame = encode_frame(data_encoder, DropSegment(seg.id))
            for peer in self._peers.values():
                conn = peer.conn
                if conn is None:
                    continue
                with conn.lock:
                    if seg.id in conn.segments:
                        conn.segments.discard(seg.id)
                        if conn.alive:
                            try:
                                conn.sock.sendall(frame)
                            except OSError:
                                self._mark_dead(conn)
            seg.close()

    # ---- releases -----------------------------------------------------------------

    def _on_readable(self, conn: OutConn) -> None:
        """Release frames from a receiver (runs in the polling thread)."""
        alive = conn.reader.fill(conn.sock)
        dropped: list[Segment] = []
        try:
            for body in conn.reader.frames():
                msg = to_sender_decoder.decode(body)
                dropped += self._pool.release(conn, msg.tokens)
        except Exception as err:  # a broken peer must not take the sender down
            logger.error("bad frame from receiver `%s`: %s", conn.node_id, err)
            alive = False
        if not alive:
            self._lost(conn)
        self.drop_segments(dropped)

    def read_releases(self, conn: OutConn) -> None:
        """Read every release ``conn`` has sent so far, without blocking (for a caller
        that polls itself); a dead connection is closed."""
        if conn.sock.fileno() < 0:
            return
        while conn.alive:
            self._on_readable(conn)
            if not conn.reader.last_count:
                break
        if not conn.alive and conn.sock.fileno() >= 0:
            self._lost(conn)

    def _lost(self, conn: OutConn) -> None:
        with conn.lock:
            self._mark_dead(conn)
        self._unregister(conn.sock)
        conn.sock.close()
        self.drop_segments(self._pool.receiver_gone(conn))

    def close(self) -> None:
        """Close every connection (the caller holds the poll lock, if any)."""
        self._closed = True
        for peer in self._peers.values():
            conn = peer.conn
            if conn is None:
                continue
            with conn.lock:
                conn.alive = False
            self._unregister(conn.sock)
            conn.sock.close()
