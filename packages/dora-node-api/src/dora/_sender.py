"""Sending side of the data plane: connections to receivers, encoding, fan-out.

One connection per receiver node, shared by every output routed to it. Small payloads
travel inline; large ones are written once into a segment of the shared-memory pool and
the same segment reference goes to every receiver. Frame writes on a connection happen
under that connection's lock, so ``NewSegment`` always precedes the data that uses it and
the per-connection schema cache stays consistent with what was sent.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec
import pyarrow as pa

from dora._arrow import (
    _PAD,
    TypeInfo,
    as_payload,
    batch_message,
    flat_parts,
    join_parts,
    stream_size,
    write_parts,
    write_stream,
)
from dora._shm import Segment, ShmPool, writable
from dora_message.config import NodeConfig
from dora_message.data_protocol import (
    Closed,
    Data,
    DropSegment,
    Hello,
    NewSegment,
    data_encoder,
    to_sender_decoder,
)
from dora_message.node_protocol import PROTOCOL_VERSION
from dora_message.transport import FrameReader, connect, encode_frame, send_with_fd

logger = logging.getLogger(__name__)

RETRY_INTERVAL = 0.1
_ARRAY = pa.Array
Register = Callable[[socket.socket, Callable[[], None]], None]
Unregister = Callable[[socket.socket], None]
ReportDrops = Callable[[str, str, int, bool], object]
"""``(output_id, receiver, count, resumed)``: see ``node_protocol.DroppedMessages``."""


class OutConn:
    """One connection to a receiver node."""

    __slots__ = ("alive", "lock", "node_id", "reader", "segments", "sock", "types")

    def __init__(self, node_id: str, sock: socket.socket) -> None:
        self.node_id = node_id
        self.sock = sock
        self.lock = threading.Lock()
        self.alive = True
        self.reader = FrameReader()
        self.segments: set[int] = set()  # segment ids this receiver has mapped
        self.types: dict[str, TypeInfo] = {}  # output id -> last schema sent inline


class Peer:
    """A receiver node, its current connection, and the ``Hello`` that opens one (it
    carries the link token the daemon gave us for this receiver)."""

    __slots__ = ("address", "conn", "hello", "missed", "next_retry", "node_id", "outage")

    def __init__(self, node_id: str, address: str, hello: bytearray) -> None:
        self.node_id = node_id
        self.address = address
        self.hello = hello
        self.conn: OutConn | None = None
        self.next_retry = 0.0
        # Messages this receiver did not get: per output, not yet reported to the daemon
        # (``missed``), and the outputs that lost any since the connection was last up
        # (``outage``: each gets a ``resumed`` report when it comes back). Under
        # ``Sender._drop_lock``.
        self.missed: dict[str, int] = {}
        self.outage: set[str] = set()


class Sender:
    """Everything a node needs to send on its outputs."""

    def __init__(
        self, config: NodeConfig, pool: ShmPool, register: Register, unregister: Unregister
    ) -> None:
        self.threshold = config.zero_copy_threshold
        self.stopping = False  # the daemon asked us to stop: our Closed frames say so
        self._pool = pool
        self._register = register
        self._unregister = unregister
        self._peers: dict[str, Peer] = {}
        self._routes: dict[str, list[Peer]] = {}
        for output_id, receivers in config.routes.items():
            peers = self._routes.setdefault(output_id, [])
            for receiver in receivers:
                peer = self._peers.get(receiver.node_id)
                if peer is None:
                    hello = Hello(
                        config.dataflow_id, config.node_id, PROTOCOL_VERSION, receiver.token
                    )
                    peer = Peer(
                        receiver.node_id, receiver.address, encode_frame(data_encoder, hello)
                    )
                    self._peers[receiver.node_id] = peer
                if peer not in peers:
                    peers.append(peer)
        self._infos: dict[str, TypeInfo] = {}
        self._connect_lock = threading.Lock()
        self._closed = False
        # where drop counts go (the daemon link); set by the node once it is connected
        self.report_drops: ReportDrops | None = None
        self._drop_lock = threading.Lock()

    # ---- connections ------------------------------------------------------------

    def connect_all(self) -> None:
        """Connect to every receiver; one that is already gone is skipped."""
        for peer in self._peers.values():
            self._connect(peer)

    def _connect(self, peer: Peer) -> OutConn | None:
        try:
            sock = connect(peer.address, timeout=2.0, data=True)
        except OSError as err:
            peer.next_retry = time.monotonic() + RETRY_INTERVAL
            logger.debug("receiver `%s` is not reachable: %s", peer.node_id, err)
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
        """Receiver node ids of ``output_id``."""
        return [peer.node_id for peer in self._routes.get(output_id, ())]

    # ---- sending ------------------------------------------------------------------

    def send(self, output_id: str, data: Any, params: dict[str, Any], ts: int) -> None:
        """Send ``data`` (bytes-like or pyarrow Array; anything else raises TypeError)."""
        payload = data if isinstance(data, _ARRAY) else as_payload(data)
        peers = self._routes.get(output_id)
        if not peers:
            return
        if len(peers) == 1 and type(payload) is not memoryview:
            conn = peers[0].conn
            if conn is not None and conn.alive:
                info = self._info(output_id, payload.type)
                width = info.small_width
                if (
                    width
                    and len(payload) * width < self.threshold
                    and self._send_small(output_id, ts, params, info, payload, conn)
                ):
                    return
        conns = self._live(peers, output_id)
        if not conns:
            return
        if type(payload) is memoryview:
            size = payload.nbytes
            if size < self.threshold:
                msg = Data(output_id, ts, params, "raw", inline=payload)
                frame = encode_frame(data_encoder, msg)
                for conn in conns:
                    if not self._write(conn, frame):
                        self._missed_conn(conn, output_id)
                return
            seg, offset = self._pool.acquire(size)
            seg.mm[offset : offset + size] = payload
            self.send_segment(output_id, ts, params, "raw", seg, offset, size, conns)
            return
        info = self._info(output_id, payload.type)
        if info.flat:
            layout, parts, total = flat_parts(payload)
            if len(layout) == 3 + info.num_buffers:
                if total < self.threshold:
                    inline = join_parts(parts)
                    self._send_inline(output_id, ts, params, info, "buffers", inline, conns, layout)
                    return
                seg, offset = self._pool.acquire(total)
                try:
                    write_parts(parts, seg.mm, offset, total)
                except BaseException:
                    self.discard_segment(seg, offset)
                    raise
                self.send_segment(
                    output_id, ts, params, "buffers", seg, offset, total, conns, info, layout
                )
                return
        elif not info.stream_only and payload.get_total_buffer_size() < self.threshold:
            body = memoryview(batch_message(payload, info))
            self._send_inline(output_id, ts, params, info, "ipc", body, conns, None)
            return
        batch = pa.RecordBatch.from_arrays([payload], schema=info.schema)
        size = stream_size(batch)
        seg, offset = self._pool.acquire(size)
        try:
            write_stream(batch, writable(seg, offset, size))
        except BaseException:
            self.discard_segment(seg, offset)
            raise
        self.send_segment(output_id, ts, params, "ipc", seg, offset, size, conns)

    def _send_small(
        self,
        output_id: str,
        ts: int,
        params: dict[str, Any],
        info: TypeInfo,
        array: pa.Array,
        conn: OutConn,
    ) -> bool:
        """The common small message: a validity-free primitive array, sent inline to the
        output's one receiver, which already knows its type. Same frame as the generic
        path, without its per-message lists and calls (the whole send costs a few µs,
        so they count). False when the message does not fit this case (nothing sent)."""
        buffers = array.buffers()
        if len(buffers) != 2 or buffers[0] is not None or buffers[1] is None:
            return False
        data = buffers[1]
        size = data.size
        pad = -size % 8
        if size + pad >= self.threshold:
            return False
        inline = memoryview(data) if not pad else b"".join((data, _PAD[:pad]))
        layout = [len(array), -1, array.offset, -1, size]
        with conn.lock:
            if not conn.alive or conn.types.get(output_id) is not info:
                return False  # let the generic path send (or skip) it with its schema
            frame = encode_frame(
                data_encoder, Data(output_id, ts, params, "buffers", None, inline, layout=layout)
            )
            try:
                conn.sock.sendall(frame)
                return True
            except OSError:
                self._mark_dead(conn)
        self._missed_conn(conn, output_id)  # outside conn.lock: the count has its own
        return True

    def _info(self, output_id: str, arrow_type: pa.DataType) -> TypeInfo:
        info = self._infos.get(output_id)
        if info is None or not (info.type is arrow_type or info.type.equals(arrow_type)):
            info = self._infos[output_id] = TypeInfo(arrow_type)
        return info

    def _send_inline(
        self,
        output_id: str,
        ts: int,
        params: dict[str, Any],
        info: TypeInfo,
        kind: str,
        inline: Any,
        conns: list[OutConn],
        layout: list[int] | None,
    ) -> None:
        msg = Data(output_id, ts, params, kind, None, inline, layout=layout)
        self._fan_out(msg, info, conns, None)

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
        info: TypeInfo | None = None,
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
        for conn in self._fan_out(msg, info, conns, seg):
            dropped += self._pool.release(conn, [token])  # it will never release it
        self._drop(dropped)

    def _fan_out(
        self, msg: Data, info: TypeInfo | None, conns: list[OutConn], seg: Segment | None
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
        # caller holds conn.lock; the poller closes the socket when it sees the EOF
        if conn.alive:
            conn.alive = False
            logger.debug("receiver `%s` went away", conn.node_id)

    # ---- control ------------------------------------------------------------------

    def close_outputs(self, outputs: list[str]) -> None:
        """Tell every receiver of these outputs that nothing more comes on them."""
        per_peer: dict[str, list[str]] = {}
        for output_id in outputs:
            for peer in self._routes.get(output_id, ()):
                per_peer.setdefault(peer.node_id, []).append(output_id)
        for node_id, outs in per_peer.items():
            conn = self._peers[node_id].conn
            if conn is not None:
                self._write(conn, encode_frame(data_encoder, Closed(outs, self.stopping)))

    def discard_segment(self, seg: Segment, offset: int) -> None:
        """Give back acquired room that will not be sent."""
        self._drop(self._pool.discard(seg, offset))

    def _drop(self, segments: list[Segment]) -> None:
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

    # ---- poller side ----------------------------------------------------------------

    def _on_readable(self, conn: OutConn) -> None:
        """Release frames from a receiver (runs in the polling thread)."""
        alive = conn.reader.fill(conn.sock)
        dropped: list[Segment] = []
        try:
            for body in conn.reader.frames():
                msg = to_sender_decoder.decode(body)
                dropped += self._pool.release(conn, msg.tokens)
        except Exception as err:  # a broken peer must not take the node down
            logger.error("bad frame from receiver `%s`: %s", conn.node_id, err)
            alive = False
        if not alive:
            self._lost(conn)
        self._drop(dropped)

    def _lost(self, conn: OutConn) -> None:
        with conn.lock:
            self._mark_dead(conn)
        self._unregister(conn.sock)
        conn.sock.close()
        self._drop(self._pool.receiver_gone(conn))

    def close(self) -> None:
        """Close every connection (the caller holds the poll lock)."""
        self._closed = True
        for peer in self._peers.values():
            conn = peer.conn
            if conn is None:
                continue
            with conn.lock:
                conn.alive = False
            self._unregister(conn.sock)
            conn.sock.close()
