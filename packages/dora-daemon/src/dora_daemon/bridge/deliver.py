"""Delivering outputs of remote producers to the local nodes that consume them.

The daemon subscribes to the key of every remote output a local node reads. Per remote
producer there is one queue and one writer thread, fed by the subscribers' callbacks in
arrival order, so each output keeps its order. Towards the local receivers the writer
is that producer, speaking the node-to-node data plane: ``Hello`` naming the remote
producer, then messages the way the producer sent them (inline, or in a shared-memory
segment of the bridge's own pool, answered by ``Release``), and ``Closed`` when the
output ends; the daemon then sends the receivers ``InputClosed`` as for a local
producer.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping

import msgspec
import zenoh

from dora_message.auth import link_token
from dora_message.data_protocol import (
    Closed,
    Data,
    DropSegment,
    Hello,
    NewSegment,
    data_encoder,
    to_sender_decoder,
)
from dora_message.dataplane.framing import MAX_FRAME, encode_frame
from dora_message.dataplane.pool import Segment, SegmentPool
from dora_message.dataplane.sockets import FrameReader, connect, send_with_fd
from dora_message.inter_daemon import (
    RemoteClosed,
    RemoteData,
    inter_daemon_decoder,
    inter_daemon_encoder,
    output_key,
)
from dora_message.node_protocol import PROTOCOL_VERSION

log = logging.getLogger(__name__)

RETRY_INTERVAL = 0.1
CONNECT_TIMEOUT = 2.0
JOIN_TIMEOUT = 5.0
MAX_POOL_BYTES = 512 * 1024 * 1024  # then wait for releases (a receiver keeps arrays)

OnClosed = Callable[[str, list[str]], None]


class _Target:
    """The connection to one local receiver node."""

    __slots__ = ("alive", "node_id", "reader", "schemas", "segments", "sock")

    def __init__(self, node_id: str, sock: socket.socket) -> None:
        self.node_id = node_id
        self.sock = sock
        self.reader = FrameReader()
        self.segments: set[int] = set()  # segments whose fd this receiver has
        self.schemas: dict[str, bytes] = {}  # output id -> schema last sent
        self.alive = True


class Writer:
    """Delivers one remote producer's messages; owns a thread."""

    def __init__(
        self,
        dataflow_id: str,
        producer: str,
        routes: Mapping[str, list[str]],
        addresses: Mapping[str, str],
        on_closed: OnClosed,
        key: bytes,
    ) -> None:
        """``key``: the dataflow run's key, for the link token of each ``Hello``."""
        self.producer = producer
        self.outputs = list(routes)
        self.queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._dataflow_id = dataflow_id
        self._routes = {output: list(nodes) for output, nodes in routes.items()}
        self._open = set(self._routes)
        self._addresses = addresses
        self._on_closed = on_closed
        # one Hello per receiver: each carries the link token of (producer, receiver)
        self._hellos = {
            node: encode_frame(
                data_encoder,
                Hello(dataflow_id, producer, PROTOCOL_VERSION, link_token(key, producer, node)),
            )
            for nodes in self._routes.values()
            for node in nodes
        }
        self._targets: dict[str, _Target] = {}
        self._retry: dict[str, float] = {}
        self._unreachable: set[str] = set()  # warned about once
        self._schemas: dict[str, bytes] = {}  # output id -> latest schema from the producer
        self._pool = SegmentPool(
            f"dora-bridge-{dataflow_id}-{producer}",
            max_free_bytes=MAX_POOL_BYTES,
            max_bytes=MAX_POOL_BYTES,
        )
        self.delivered = 0
        self.too_large = 0  # inline messages over the readers' frame limit, not delivered
        # cumulative data traffic from the producer (``dora top``), written by the thread
        self.bytes_received = 0
        self.messages_received = 0
        self._thread = threading.Thread(
            target=self._run, name=f"dora-bridge-{producer}", daemon=True
        )

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def stop(self) -> None:
        """Deliver what is queued, then close the connections and the pool."""
        self.queue.put(None)
        self._thread.join(JOIN_TIMEOUT)
        if self._thread.is_alive():
            # a receiver that stopped reading holds us in sendall: cut it off
            for target in list(self._targets.values()):
                with contextlib.suppress(OSError):
                    target.sock.shutdown(socket.SHUT_RDWR)
            self._thread.join(JOIN_TIMEOUT)

    # ---- thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                try:
                    message = inter_daemon_decoder.decode(item)
                except msgspec.DecodeError as error:
                    log.error("bridge: unreadable message from `%s`: %s", self.producer, error)
                    continue
                self._poll_releases()
                if type(message) is RemoteData:
                    self.messages_received += 1
                    self.bytes_received += len(item)
                    self._deliver(message)
                else:
                    self._closed(message.output_id, message.stopping)
        except Exception:
            log.exception("bridge: delivering the outputs of `%s` failed", self.producer)
        finally:
            self._close_targets()
            self._pool.close()

    def _deliver(self, msg: RemoteData) -> None:
        output = msg.output_id
        if msg.schema is not None:
            self._schemas[output] = msg.schema
        if output not in self._open:
            return
        targets = [t for node in self._routes[output] if (t := self._target(node)) is not None]
        if not targets:
            return
        needs_schema = msg.kind == "buffers" or (msg.kind == "ipc" and not msg.shared)
        schema = self._schemas.get(output) if needs_schema else None
        if not msg.shared:
            size = _inline_frame_size(msg, schema)
            if size > MAX_FRAME:
                # a reader drops a connection whose frame is over the limit: this message
                # would take the others with it (`dora topic pub` refuses it already)
                self.too_large += 1
                log.error(
                    "bridge: a message of %d bytes on `%s/%s` is over the %d-byte frame "
                    "limit of the readers: not delivered",
                    size,
                    self.producer,
                    output,
                    MAX_FRAME,
                )
                return
            for target in targets:
                self._send(target, self._frame(target, msg, schema, inline=msg.payload))
            self.delivered += 1
            return
        size = len(msg.payload)
        segment, _ = self._pool.acquire(size, dedicated=True, wait=self._wait_releases)
        self._drop_segments(self._pool.evicted())
        segment.mm[:size] = msg.payload
        token, dropped = self._pool.publish(segment, 0, {t.node_id for t in targets})
        self._drop_segments(dropped)
        for target in targets:
            sent = False
            try:
                if segment.id not in target.segments:
                    announce = encode_frame(data_encoder, NewSegment(segment.id, segment.size))
                    send_with_fd(target.sock, announce, segment.fd)
                    target.segments.add(segment.id)
                frame = self._frame(target, msg, schema, segment=(segment.id, size, token))
                target.sock.sendall(frame)
                sent = True
            except OSError:
                self._lost(target)
            if not sent:
                self._drop_segments(self._pool.release(target.node_id, [token]))
        self.delivered += 1

    @staticmethod
    def _frame(
        target: _Target,
        msg: RemoteData,
        schema: bytes | None,
        inline: bytes | None = None,
        segment: tuple[int, int, int] | None = None,
    ) -> bytearray:
        described = None
        if schema is not None and target.schemas.get(msg.output_id) != schema:
            target.schemas[msg.output_id] = described = schema
        segment_id, length, token = segment if segment is not None else (-1, 0, 0)
        data = Data(
            msg.output_id,
            msg.timestamp_ns,
            msg.parameters,
            msg.kind,
            described,
            inline,
            segment_id,
            0,
            length,
            token,
            msg.layout,
        )
        return encode_frame(data_encoder, data)

    def _closed(self, output: str, stopping: bool) -> None:
        if output not in self._open:
            return
        self._open.discard(output)
        frame = encode_frame(data_encoder, Closed([output], stopping))
        for node in self._routes[output]:
            target = self._targets.get(node)
            if target is not None and target.alive:
                self._send(target, frame)
        self._on_closed(self.producer, [output])
        if not self._open:
            # nothing more from this producer: the EOF lets receivers finish closing
            self._close_targets()

    def _drop_segments(self, segments: list[Segment]) -> None:
        """Unmap segments the pool no longer keeps; tell the receivers that mapped them."""
        for segment in segments:
            frame = encode_frame(data_encoder, DropSegment(segment.id))
            for target in self._targets.values():
                if target.alive and segment.id in target.segments:
                    target.segments.discard(segment.id)
                    self._send(target, frame)
            segment.close()

    # ---- connections -------------------------------------------------------------

    def _target(self, node: str) -> _Target | None:
        target = self._targets.get(node)
        if target is not None and target.alive:
            return target
        now = time.monotonic()
        if now < self._retry.get(node, 0.0):
            return None
        try:
            sock = connect(self._addresses[node], CONNECT_TIMEOUT, data=True)
            sock.sendall(self._hellos[node])
        except OSError as error:
            self._retry[node] = now + RETRY_INTERVAL
            if node not in self._unreachable:
                self._unreachable.add(node)
                log.warning("bridge: cannot reach node `%s`: %s", node, error)
            return None
        target = self._targets[node] = _Target(node, sock)
        return target

    def _send(self, target: _Target, frame: bytes | bytearray) -> None:
        try:
            target.sock.sendall(frame)
        except OSError:
            self._lost(target)

    def _lost(self, target: _Target) -> None:
        if target.alive:
            target.alive = False
            log.debug("bridge: receiver `%s` went away", target.node_id)
            target.sock.close()
            self._drop_segments(self._pool.receiver_gone(target.node_id))

    def _poll_releases(self) -> None:
        for target in list(self._targets.values()):
            if not target.alive:
                continue
            while True:
                alive = target.reader.fill(target.sock)
                count = target.reader.last_count if alive else None
                try:
                    for body in target.reader.frames():
                        tokens = to_sender_decoder.decode(body).tokens
                        self._drop_segments(self._pool.release(target.node_id, tokens))
                except (msgspec.DecodeError, ValueError) as error:
                    log.error("bridge: bad frame from `%s`: %s", target.node_id, error)
                    count = None
                if count is None:
                    self._lost(target)
                    break
                if count == 0:
                    break

    def _wait_releases(self) -> None:
        """Block until some receiver answers (the pool is at its limit)."""
        socks = [t.sock for t in self._targets.values() if t.alive]
        if socks:
            select.select(socks, [], [], 0.5)
        self._poll_releases()

    def _close_targets(self) -> None:
        for target in self._targets.values():
            if target.alive:
                target.alive = False
                target.sock.close()
        self._targets.clear()


class Delivery:
    """The subscribers and writers of one dataflow on this daemon."""

    def __init__(
        self,
        session: zenoh.Session,
        dataflow_id: str,
        inputs: Mapping[str, Mapping[str, list[str]]],
        addresses: Mapping[str, str],
        on_closed: OnClosed,
        key_of: Callable[[str, str, str], str] = output_key,
        *,
        key: bytes,
    ) -> None:
        """``inputs``: remote producer -> its output -> local receiver nodes; ``key_of``
        gives the zenoh key of ``(dataflow, producer, output)`` to subscribe to."""
        self._session = session
        self._writers = {
            producer: Writer(dataflow_id, producer, routes, addresses, on_closed, key)
            for producer, routes in inputs.items()
        }
        self._keys = {
            key_of(dataflow_id, producer, output): producer
            for producer, routes in inputs.items()
            for output in routes
        }
        self._subscribers: list[zenoh.Subscriber] = []

    def start(self) -> None:
        """Start the writers and declare the subscribers."""
        for writer in self._writers.values():
            writer.start()
        for key, producer in self._keys.items():
            put = self._writers[producer].queue.put
            self._subscribers.append(self._session.declare_subscriber(key, _callback(put)))

    def received(self) -> tuple[int, int]:
        """Bytes and data messages received from remote producers so far."""
        writers = list(self._writers.values())
        return sum(w.bytes_received for w in writers), sum(w.messages_received for w in writers)

    def producers_lost(self, producers: Iterable[str]) -> None:
        """Their daemon is gone: end their outputs after what already arrived."""
        for producer in producers:
            writer = self._writers.get(producer)
            if writer is None:
                continue
            log.warning("bridge: the daemon of `%s` is gone; closing its outputs", producer)
            for output in writer.outputs:
                writer.queue.put(inter_daemon_encoder.encode(RemoteClosed(output)))

    def close(self) -> None:
        """Stop receiving, deliver what arrived, close the connections."""
        for subscriber in self._subscribers:
            with contextlib.suppress(zenoh.ZError):
                subscriber.undeclare()
        self._subscribers.clear()
        for writer in self._writers.values():
            writer.stop()


def _inline_frame_size(msg: RemoteData, schema: bytes | None) -> int:
    """The body of the frame ``Writer._frame`` makes for an inline ``msg`` (with the
    schema, as to a reader that has not seen it), without copying the payload."""
    head = Data(msg.output_id, msg.timestamp_ns, msg.parameters, msg.kind, schema, b"")
    head = msgspec.structs.replace(head, layout=msg.layout)
    size = len(msg.payload)
    extra = 3 if size > 0xFFFF else 1 if size > 0xFF else 0  # its bin header vs b""'s 2
    return len(data_encoder.encode(head)) + size + extra


def _callback(put: Callable[[bytes], None]) -> Callable[[zenoh.Sample], None]:
    def on_sample(sample: zenoh.Sample) -> None:
        put(sample.payload.to_bytes())

    return on_sample
