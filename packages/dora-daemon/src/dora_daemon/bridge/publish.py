"""Publishing local outputs that nodes on other machines consume.

One zenoh publisher per (local producer, output) with remote consumers, on
:func:`~dora_message.inter_daemon.output_key`: reliable, blocking under congestion (a
slow network slows the producer down instead of losing messages), one publisher per
key so zenoh keeps them in order. The schema goes along whenever it changed since the
previous message of the output. Used from the bridge's receive thread only.

A payload is copied twice on its way out: once by the encoder, straight from the
producer's shared memory into a buffer the output keeps (:meth:`Publishing.encode`), and
once by zenoh, which takes its own copy in ``put``. The buffer is reused because a fresh
multi-megabyte allocation per message costs more than the copy itself (the kernel maps
and zeroes its pages).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import zenoh

from dora_message.data_protocol import Data
from dora_message.inter_daemon import (
    RemoteClosed,
    RemoteData,
    debug_key,
    inter_daemon_encoder,
    output_key,
)

log = logging.getLogger(__name__)


class _Output:
    __slots__ = ("buffer", "closed", "key", "publisher", "schema", "sent")

    def __init__(self, key: str, publisher: zenoh.Publisher) -> None:
        self.key = key
        self.publisher = publisher
        self.schema: bytes | None = None  # last schema published
        self.closed = False
        self.sent = 0
        self.buffer = bytearray()  # the frame being published (zenoh copies it in put)


class Publishing:
    """The publishers of one dataflow on this daemon."""

    def __init__(
        self,
        session: zenoh.Session,
        dataflow_id: str,
        outputs: Mapping[str, list[str]],
        *,
        for_watchers: bool = False,
    ) -> None:
        """``outputs``: local producer -> its outputs consumed on other machines.

        ``for_watchers``: publish for ``dora topic`` instead (:func:`debug_key`): every
        message carries its schema (a watcher joins at any time), and a slow watcher
        loses messages rather than slow the producer down.
        """
        self._outputs: dict[tuple[str, str], _Output] = {}
        self._always_schema = for_watchers
        # cumulative data traffic (``dora top``), written by the receiver thread only
        self.bytes_sent = 0
        self.messages_sent = 0
        self.publish_failures = 0
        key_of = debug_key if for_watchers else output_key
        congestion = zenoh.CongestionControl.DROP if for_watchers else zenoh.CongestionControl.BLOCK
        for producer, output_ids in outputs.items():
            for output_id in output_ids:
                key = key_of(dataflow_id, producer, output_id)
                publisher = session.declare_publisher(
                    key,
                    congestion_control=congestion,
                    reliability=zenoh.Reliability.RELIABLE,
                    priority=zenoh.Priority.DATA,
                )
                self._outputs[(producer, output_id)] = _Output(key, publisher)

    def matched(self) -> bool:
        """Whether every publisher has a subscriber somewhere."""
        return all(out.publisher.matching_status for out in self._outputs.values())

    def producers(self) -> set[str]:
        """The local producers with outputs consumed elsewhere."""
        return {node for node, _ in self._outputs}

    def encode(
        self,
        producer: str,
        msg: Data,
        payload: bytes | memoryview,
        shared: bool,
        schema: bytes | None,
    ) -> _Output | None:
        """Encode one message into its output's buffer; ``schema`` is the output's
        current schema, if any. Returns the output to :meth:`put` it on (None: the
        output is not published or already closed). ``payload`` may be a view of the
        producer's shared memory: it is copied here and not used afterwards."""
        out = self._outputs.get((producer, msg.output_id))
        if out is None or out.closed:
            return None
        changed = None
        if schema is not None and (self._always_schema or schema != out.schema):
            out.schema = changed = schema
        remote = RemoteData(
            msg.output_id,
            msg.timestamp_ns,
            msg.parameters,
            msg.kind,
            payload,  # type: ignore[arg-type]  # msgspec encodes any bytes-like object
            shared,
            changed,
            msg.layout,
        )
        inter_daemon_encoder.encode_into(remote, out.buffer)
        return out

    def put(self, out: _Output) -> None:
        """Publish the message :meth:`encode` left in ``out``'s buffer (may block
        under congestion)."""
        frame = out.buffer
        try:
            out.publisher.put(frame)
        except zenoh.ZError:
            self.publish_failures += 1
            raise
        out.sent += 1
        self.messages_sent += 1
        self.bytes_sent += len(frame)

    def closed(self, producer: str, output_ids: list[str], stopping: bool = False) -> None:
        """The producer closed these outputs: tell the consumers, behind the data."""
        for output_id in output_ids:
            out = self._outputs.get((producer, output_id))
            if out is not None and not out.closed:
                out.closed = True
                closed = RemoteClosed(output_id, stopping)
                out.publisher.put(inter_daemon_encoder.encode(closed))
                log.debug("published the end of %s after %d messages", out.key, out.sent)

    def close_all(self, producer: str) -> None:
        """Close every output of ``producer`` not closed yet."""
        self.closed(producer, [o for node, o in self._outputs if node == producer])

    def undeclare(self) -> None:
        """Drop the publishers (messages already put are still delivered)."""
        for out in self._outputs.values():
            try:
                out.publisher.undeclare()
            except zenoh.ZError as error:
                log.debug("undeclaring %s: %s", out.key, error)
        self._outputs.clear()
