"""Delivering outputs of remote producers to the local nodes that consume them.

The daemon subscribes to the key of every remote output a local node reads. Per remote
producer there is one queue and one writer thread, fed by the subscribers' callbacks in
arrival order, so each output keeps its order. A callback only queues the sample's
payload, still zenoh's: it runs on zenoh's receiving thread, which must get back to the
network; the writer copies the payload out and decodes it without copying it again
(:data:`RemoteDataView`), then copies it once more into shared memory.

Every message goes through the queue, small ones too: delivering from zenoh's callback
would save a wake-up of the writer thread (~15-20 us measured), but a node that stops
reading would then hold zenoh's receiving thread, and with it every other key and the
liveliness tokens of the link.

Towards the local receivers the writer is that producer, speaking the node-to-node data
plane: ``Hello`` naming the remote producer, then messages the way the producer sent
them (inline, or in a shared-memory segment of the bridge's own pool, answered by
``Release``), and ``Closed`` when the output ends; the daemon then sends the receivers
``InputClosed`` as for a local producer. Connections, frames, segments and releases are
the data-plane core's (:class:`dora_message.dataplane.sender.Sender`), as in a node.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec
import zenoh

from dora_message.auth import link_token
from dora_message.data_protocol import Data, data_encoder
from dora_message.dataplane.framing import MAX_FRAME
from dora_message.dataplane.pool import SegmentPool
from dora_message.dataplane.sender import Peer, Sender
from dora_message.inter_daemon import (
    RemoteClosed,
    RemoteData,
    inter_daemon_encoder,
    output_key,
)
from dora_message.safe_decode import SafeDecoder

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 5.0
MAX_POOL_BYTES = 512 * 1024 * 1024  # then wait for releases (a receiver keeps arrays)
RELEASE_WAIT = 0.5  # seconds per wait for a release while the pool is full
GROW_WAIT = 0.005  # seconds to wait for a release before adding a segment to the pool
GROW_FREELY = 4  # segments the pool makes without waiting (the receivers work meanwhile)

OnClosed = Callable[[str, list[str]], None]


def _payload_view(struct: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """``struct`` with its ``payload`` decoded as a view of the frame instead of a copy
    (the same fields, tag and layout, so the same wire format)."""
    config = struct.__struct_config__
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in msgspec.structs.fields(struct):
        kind = memoryview if f.name == "payload" else f.type
        if f.required:
            fields.append((f.name, kind))
        else:
            default = msgspec.field(default=f.default, default_factory=f.default_factory)
            fields.append((f.name, kind, default))
    return msgspec.defstruct(
        f"{struct.__name__}View",
        fields,
        tag=config.tag,
        tag_field=config.tag_field,
        array_like=config.array_like,
        forbid_unknown_fields=config.forbid_unknown_fields,
        frozen=config.frozen,
    )


RemoteDataView: Any = _payload_view(RemoteData)
""":class:`~dora_message.inter_daemon.RemoteData` whose payload is a view of the frame
it was decoded from: a large payload is not copied twice on its way to shared memory."""

_decoder: SafeDecoder[Any] = SafeDecoder(msgspec.msgpack.Decoder(RemoteDataView | RemoteClosed))


class Link:
    """A local receiver of a remote producer's outputs (a route of the data-plane sender)."""

    __slots__ = ("address", "node_id", "token")

    def __init__(self, node_id: str, address: str, token: str) -> None:
        self.node_id = node_id
        self.address = address
        self.token = token


class SchemaRef:
    """An output's schema as the producer last sent it: one object per schema, so the
    sender's per-connection cache (compared by identity) resends it only on a change."""

    __slots__ = ("schema_bytes",)

    def __init__(self, schema_bytes: bytes) -> None:
        self.schema_bytes = schema_bytes


class _BridgeSender(Sender):
    """The data-plane sender, warning once per receiver it cannot reach."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unreachable: set[str] = set()

    def _unreachable(self, peer: Peer, err: OSError) -> None:
        if peer.node_id not in self.unreachable:
            self.unreachable.add(peer.node_id)
            log.warning("bridge: cannot reach node `%s`: %s", peer.node_id, err)


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
        # encoded messages in arrival order: samples' payloads as zenoh handed them over,
        # bytes made here (the end of the outputs of a lost producer); None: stop
        self._queue: queue.SimpleQueue[zenoh.ZBytes | bytes | None] = queue.SimpleQueue()
        self._open = set(routes)
        self._on_closed = on_closed
        self._pool = SegmentPool(
            f"dora-bridge-{dataflow_id}-{producer}",
            max_free_bytes=MAX_POOL_BYTES,
            max_bytes=MAX_POOL_BYTES,
        )
        # one Hello per receiver: each carries the link token of (producer, receiver)
        links = {
            output: [Link(node, addresses[node], link_token(key, producer, node)) for node in nodes]
            for output, nodes in routes.items()
        }
        self._sender = _BridgeSender(dataflow_id, producer, links, self._pool)
        self._schemas: dict[str, SchemaRef] = {}  # output id -> latest schema from the producer
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

    def offer(self, item: zenoh.ZBytes | bytes) -> None:
        """One encoded message, in arrival order (any thread: zenoh's callbacks)."""
        self._queue.put(item)

    def stop(self) -> None:
        """Deliver what is queued, then close the connections and the pool."""
        self._queue.put(None)
        join_or_cut(self._thread, self._sender)

    # ---- thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (queued := self._queue.get()) is not None:
                self._handle(queued if isinstance(queued, bytes) else queued.to_bytes())
        except Exception:
            log.exception("bridge: delivering the outputs of `%s` failed", self.producer)
        finally:
            self._sender.close()
            self._pool.close()

    def _handle(self, item: bytes) -> None:
        try:
            message = _decoder.decode(item)
        except msgspec.DecodeError as error:
            log.error("bridge: unreadable message from `%s`: %s", self.producer, error)
            return
        self._poll_releases()
        if type(message) is RemoteDataView:
            self.messages_received += 1
            self.bytes_received += len(item)
            self._deliver(message, len(item))
        else:
            self._closed(message.output_id, message.stopping)

    def _deliver(self, msg: Any, wire_size: int) -> None:
        """``msg``: a :data:`RemoteDataView`; ``wire_size``: the encoded ``msg``
        (bounds its inline frame, see below)."""
        output = msg.output_id
        latest = latest_schema(self._schemas, output, msg.schema)
        if output not in self._open:
            return
        conns = self._sender.live(output)
        if not conns:
            return
        needs_schema = msg.kind == "buffers" or (msg.kind == "ipc" and not msg.shared)
        schema = latest if needs_schema else None
        if not msg.shared:
            schema_bytes = None if schema is None else schema.schema_bytes
            # the frame holds what ``msg`` holds, maybe the schema, and a few small ints:
            # only a message near the limit is measured exactly
            if (
                wire_size + len(schema_bytes or b"") + _FRAME_SLACK > MAX_FRAME
                and (size := inline_frame_size(_inline_data(msg, msg.payload), schema_bytes))
                > MAX_FRAME
            ):
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
            self._sender.fan_out(_inline_data(msg, msg.payload), schema, conns, None)
            self.delivered += 1
            return
        size = len(msg.payload)
        self._before_growing()
        segment, _ = self._pool.acquire(size, dedicated=True, wait=self._wait_releases)
        self._sender.drop_segments(self._pool.evicted())
        segment.mm[:size] = msg.payload
        self._sender.send_segment(
            output,
            msg.timestamp_ns,
            msg.parameters,
            msg.kind,
            segment,
            0,
            size,
            conns,
            schema,
            msg.layout,
        )
        self.delivered += 1

    def _closed(self, output: str, stopping: bool) -> None:
        if output not in self._open:
            return
        self._open.discard(output)
        self._sender.close_outputs([output], stopping)
        self._on_closed(self.producer, [output])
        if not self._open:
            # nothing more from this producer: the EOF lets receivers finish closing
            self._sender.close()

    # ---- releases ----------------------------------------------------------------

    def _poll_releases(self) -> None:
        for conn in self._sender.connections():
            self._sender.read_releases(conn)

    def _before_growing(self) -> None:
        """Every one of at least :data:`GROW_FREELY` segments is out: give the
        receivers :data:`GROW_WAIT` to release one before the pool makes a new one. A
        new segment costs about as long (the kernel zeroes its pages, the receivers map
        it), on the CPUs the receivers need. Below that depth the writer does not wait:
        it fills the next segment while the receivers read the previous ones. A receiver
        that keeps its arrays costs the wait once per segment the pool grows."""
        if self._pool.busy_when_full() >= GROW_FREELY:
            self._wait_releases(GROW_WAIT)

    def _wait_releases(self, timeout: float = RELEASE_WAIT) -> None:
        """Block until some receiver answers, at most ``timeout`` (the pool is at its
        limit, or about to grow: :meth:`_before_growing`)."""
        socks = [conn.sock for conn in self._sender.connections() if conn.alive]
        if socks:
            select.select(socks, [], [], timeout)
        self._poll_releases()


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
            offer = self._writers[producer].offer
            self._subscribers.append(self._session.declare_subscriber(key, _callback(offer)))

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
                writer.offer(inter_daemon_encoder.encode(RemoteClosed(output)))

    def close(self) -> None:
        """Stop receiving, deliver what arrived, close the connections."""
        undeclare_all(self._subscribers)
        for writer in self._writers.values():
            writer.stop()


_FRAME_SLACK = 64
"""Bytes an inline ``Data`` frame may take beyond its ``RemoteData`` and schema: the
schema's bin header (5) and segment_id, offset, length, token (9 each)."""


def latest_schema(
    schemas: dict[str, SchemaRef], output: str, schema_bytes: bytes | None
) -> SchemaRef | None:
    """``output``'s schema in ``schemas`` after a message carrying ``schema_bytes`` (None:
    the producer did not resend it); a new object only when the schema changed."""
    known = schemas.get(output)
    if schema_bytes is not None and (known is None or known.schema_bytes != schema_bytes):
        known = schemas[output] = SchemaRef(schema_bytes)
    return known


def _inline_data(msg: Any, payload: bytes | memoryview) -> Data:
    """The ``Data`` frame of an inline remote message, as the writer sends it (the
    sender adds the schema where a receiver has not seen it)."""
    return Data(
        msg.output_id,
        msg.timestamp_ns,
        msg.parameters,
        msg.kind,
        None,
        payload,  # type: ignore[arg-type]  # msgspec encodes any bytes-like object
        layout=msg.layout,
    )


def inline_frame_size(data: Data, schema: bytes | None) -> int:
    """The body of the frame carrying ``data`` inline with ``schema`` (as to a reader
    that has not seen it), without copying the payload."""
    payload = data.inline or b""
    head = msgspec.structs.replace(data, schema=schema, inline=b"")
    size = len(payload)
    extra = 3 if size > 0xFFFF else 1 if size > 0xFF else 0  # its bin header vs b""'s 2
    return len(data_encoder.encode(head)) + size + extra


def undeclare_all(entities: list[Any]) -> None:
    """Undeclare zenoh subscribers or queryables and forget them (one already gone with
    its session is no error at close)."""
    for entity in entities:
        with contextlib.suppress(zenoh.ZError):
            entity.undeclare()
    entities.clear()


def join_or_cut(thread: threading.Thread, sender: Sender) -> None:
    """Wait for a writer ``thread`` that was told to stop; a receiver that stopped reading
    holds it in ``sendall``: then cut that receiver's connection off."""
    thread.join(JOIN_TIMEOUT)
    if thread.is_alive():
        for conn in sender.connections():
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        thread.join(JOIN_TIMEOUT)


def _callback(offer: Callable[[zenoh.ZBytes], None]) -> Callable[[zenoh.Sample], None]:
    def on_sample(sample: zenoh.Sample) -> None:
        offer(sample.payload)

    return on_sample
