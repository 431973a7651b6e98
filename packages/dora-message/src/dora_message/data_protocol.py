"""Messages between two nodes on the direct data plane.

The receiving node listens on a Unix socket; each sender connects once and sends
:data:`SenderToReceiver` frames. Payloads below the zero-copy threshold travel inline
in the frame; larger ones live in a shared-memory segment of the sender's pool, whose
file descriptor is passed once over the socket (``SCM_RIGHTS``) with the
:class:`NewSegment` frame that introduces it. The receiver answers with
:class:`Release` once the last array built over a shared-memory message is gone, so
the sender can reuse the segment.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from dora_message.safe_decode import SafeDecoder

PayloadKind = Literal["empty", "ipc", "raw", "buffers"]


class _Msg(msgspec.Struct, frozen=True, array_like=True, tag=True):
    """Base: encoded as a msgpack array whose first item is the type tag."""


class Hello(_Msg, tag="hello"):
    """First frame of a data connection: who is sending. ``token`` is the link token
    the daemon gave the sender for this receiver (``Receiver.token``); the receiver
    drops the connection unless it equals its own ``NodeConfig.senders[sender_node]``."""

    dataflow_id: str
    sender_node: str
    protocol_version: str
    token: str = ""

    def __repr__(self) -> str:  # never print the token
        return f"Hello({self.dataflow_id!r}, {self.sender_node!r}, {self.protocol_version!r})"


class NewSegment(_Msg, tag="segment"):
    """The fd passed alongside this frame is shared-memory segment ``segment_id``."""

    segment_id: int
    size: int


class DropSegment(_Msg, tag="drop_segment"):
    """The sender no longer uses segment ``segment_id``; unmap it when free."""

    segment_id: int


class Data(_Msg, tag="data", gc=False):
    """One message on ``output_id``.

    Not tracked by the garbage collector (one is decoded per message; its ``layout`` list
    would make it tracked): nothing it holds can point back to it.

    ``kind`` says how to read the payload: ``ipc`` is an Arrow IPC record batch whose
    schema is ``schema`` (or the last schema sent on this output), ``raw`` is plain
    bytes that arrive as a ``UInt8Array``, ``empty`` carries nothing. The payload is
    either ``inline`` or at ``offset``/``length`` in segment ``segment_id``; in a
    segment, ``ipc`` is a whole Arrow IPC stream (schema, dictionaries, batch).

    ``buffers`` (inline only) is a flat array (no children, no dictionary) sent as its
    raw Arrow buffers, which avoids the IPC machinery for small messages: its type is
    field ``data`` of ``schema`` (or the last schema sent on this output), ``layout``
    is ``[length, null_count, offset, size_0, size_1, ...]`` with ``-1`` for an absent
    buffer, and ``inline`` holds the present buffers back to back, each padded to a
    multiple of 8 bytes.
    """

    output_id: str
    timestamp_ns: int
    parameters: dict[str, Any]
    kind: PayloadKind
    schema: bytes | None = None
    inline: bytes | None = None
    segment_id: int = -1
    offset: int = 0
    length: int = 0
    token: int = 0
    layout: list[int] | None = None


class Closed(_Msg, tag="closed"):
    """The sender will not send on these outputs again.

    ``stopping`` says the sender closes because the dataflow is being stopped: its
    receivers then stop with cause ``MANUAL`` too, whichever of this frame and the
    daemon's own STOP reaches them first.
    """

    outputs: list[str]
    stopping: bool = False


SenderToReceiver = Hello | NewSegment | DropSegment | Data | Closed


class Release(_Msg, tag="release"):
    """The receiver no longer references the message with ``token``."""

    tokens: list[int]


ReceiverToSender = Release

data_encoder = msgspec.msgpack.Encoder()
# Safe: `Data.parameters` may nest deep enough for RecursionError, which the receivers did
# not catch; every failure is MalformedMessage (a msgspec.ValidationError).
to_receiver_decoder: SafeDecoder[SenderToReceiver] = SafeDecoder(
    msgspec.msgpack.Decoder(SenderToReceiver)
)
to_sender_decoder = msgspec.msgpack.Decoder(ReceiverToSender)
