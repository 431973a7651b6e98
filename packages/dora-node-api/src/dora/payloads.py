"""Turning a message's payload back into the pyarrow array its sender sent.

Public for tools that see messages outside a node (``dora topic echo`` reads them from
zenoh): the same decoding a node's receiver does, for one payload at a time. The
payload kinds and layouts are those of ``docs/protocol.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from dora._arrow import read_batch, read_flat, read_raw, read_stream


def array_from_payload(
    kind: str,
    payload: bytes | memoryview | pa.Buffer,
    *,
    schema: bytes | None = None,
    layout: Sequence[int] | None = None,
    stream: bool = False,
) -> pa.Array | None:
    """The array ``payload`` carries (None for an ``empty`` message).

    ``kind`` is ``dora_message.data_protocol.PayloadKind``. ``schema`` is the serialized
    Arrow schema a ``buffers`` or ``ipc`` message came with, ``layout`` a ``buffers``
    message's buffer layout; ``stream`` marks an ``ipc`` payload
    that is a whole IPC stream (schema included), as large messages are.
    Raises ``ValueError`` when what the kind needs is missing.
    """
    if kind == "empty":
        return None
    buffer = payload if isinstance(payload, pa.Buffer) else pa.py_buffer(payload)
    if kind == "raw":
        return read_raw(buffer)
    if kind == "ipc" and stream:
        return read_stream(buffer)
    if schema is None:
        raise ValueError("the message came without its schema")
    arrow_schema = pa.ipc.read_schema(pa.py_buffer(schema))
    if kind == "ipc":
        return read_batch(buffer, arrow_schema)
    if kind != "buffers":
        raise ValueError(f"unknown payload kind `{kind}`")
    if layout is None:
        raise ValueError("the message came without its layout")
    return read_flat(buffer, list(layout), arrow_schema.field(0).type)
