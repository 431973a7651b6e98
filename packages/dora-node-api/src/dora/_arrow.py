"""Arrow payloads: what ``send_output`` accepts, how it is encoded, how inputs are built.

Encodings (``data_protocol.Data.kind``):

* ``raw``: bytes; arrive as ``UInt8Array`` over the received memory.
* ``ipc`` inline: one Arrow IPC *record batch message* (column ``data``); the schema is
  sent in ``Data.schema`` when it changed for that output on that connection.
* ``buffers`` (inline or in shared memory): a *flat* array (no children, no dictionary: numbers,
  booleans, temporal, decimals, strings, binaries) as its raw Arrow buffers plus a
  ``layout``. Building arrays from buffers skips the Arrow IPC code entirely, which on
  a node that just woke up costs more than everything else together (measured: ~140 µs
  of a ~300 µs one-way latency at 100 Hz).
* ``ipc`` in shared memory: a whole Arrow IPC *stream* (schema, dictionaries, batch).
  Types containing dictionaries always take this path, whatever their size, because a
  bare batch message cannot carry dictionary batches.

Queued input items (:class:`DataItem`, :class:`TickItem`, :class:`TextItem`) resolve
everything order-dependent (schema, segment mapping) on arrival, and build the pyarrow
value only when the consumer takes the event.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import msgspec
import pyarrow as pa

from dora._metadata import UTC, Clock, decode_metadata
from dora._shm import ShmToken
from dora.events import input_event
from dora_message.data_protocol import Data

UINT8 = pa.uint8()
_py_buffer = pa.py_buffer
_from_buffers = pa.Array.from_buffers
_EMPTY_NULLS = pa.nulls(0)
_fromtimestamp = datetime.datetime.fromtimestamp


def as_payload(data: Any) -> memoryview | pa.Array:
    """Normalize ``send_output`` data: a flat byte view or a pyarrow Array."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
        return view
    if isinstance(data, pa.Array):
        return data
    if isinstance(data, pa.ChunkedArray):
        return data.combine_chunks()
    if hasattr(data, "__arrow_c_array__"):
        return pa.array(data)
    raise TypeError(f"invalid `data` type {type(data).__name__}: expected bytes or a pyarrow Array")


class TypeInfo:
    """Per-type encoding facts, cached by the sender."""

    __slots__ = (
        "flat",
        "num_buffers",
        "plain_id",
        "schema",
        "schema_bytes",
        "small_width",
        "stream_only",
        "type",
    )

    def __init__(self, arrow_type: pa.DataType) -> None:
        self.type = arrow_type
        # the type id, for a type its id alone determines (-1 otherwise): every array has
        # its own type object, and comparing ids is much cheaper than ``DataType.equals``
        self.plain_id = arrow_type.id if arrow_type.id in _PLAIN_TYPE_IDS else -1
        self.schema = pa.schema([pa.field("data", arrow_type)])
        self.schema_bytes = self.schema.serialize().to_pybytes()
        self.stream_only = _has_dictionary(arrow_type)
        self.num_buffers = arrow_type.num_buffers
        self.flat = (
            arrow_type.num_fields == 0
            and not self.stream_only
            and not isinstance(arrow_type, pa.BaseExtensionType)
            and not pa.types.is_string_view(arrow_type)
            and not pa.types.is_binary_view(arrow_type)
        )
        # bytes per value of a flat fixed-width type sent as one data buffer (no offsets):
        # lets the sender tell a small array from a large one without looking at buffers
        self.small_width = 0
        if self.flat and self.num_buffers == 2:
            try:
                bits = arrow_type.bit_width
            except ValueError:
                bits = 0
            if bits % 8 == 0:
                self.small_width = bits // 8


_PLAIN_TYPE_IDS = frozenset(
    t.id
    for t in (
        pa.null(),
        pa.bool_(),
        *(pa.int8(), pa.int16(), pa.int32(), pa.int64()),
        *(pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()),
        *(pa.float16(), pa.float32(), pa.float64()),
        *(pa.string(), pa.binary(), pa.large_string(), pa.large_binary()),
        *(pa.date32(), pa.date64()),
    )
)
"""Types without parameters: equal whenever their ids are (unlike timestamps, decimals,
fixed-size binaries, lists ...)."""


def _has_dictionary(arrow_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(arrow_type):
        return True
    return any(_has_dictionary(arrow_type.field(i).type) for i in range(arrow_type.num_fields))


_PAD = bytes(8)
_PARALLEL_COPY = 2 * 1024 * 1024
_CPUS = os.cpu_count() or 1


def flat_parts(array: pa.Array) -> tuple[list[int], list[Any], int]:
    """``(layout, parts, total size)`` of a flat array for the ``buffers`` encoding.

    ``parts`` are the present buffers, each followed by its padding to 8 bytes.
    """
    # null_count -1: the receiver counts lazily, one pyarrow call less per message
    layout = [len(array), -1, array.offset]
    parts: list[Any] = []
    total = 0
    for buf in array.buffers():
        if buf is None:
            layout.append(-1)
            continue
        size = buf.size
        layout.append(size)
        parts.append(buf)
        pad = -size % 8
        if pad:
            parts.append(_PAD[:pad])
        total += size + pad
    return layout, parts, total


def join_parts(parts: list[Any]) -> Any:
    """The parts as one msgpack-encodable bytes-like object."""
    if len(parts) == 1:
        return memoryview(parts[0])
    return b"".join(parts)


def write_parts(parts: list[Any], target: Any, offset: int, total: int) -> None:
    """Copy the parts to ``target`` (an mmap or bytearray) at ``offset``: the only copy.

    Large payloads use Arrow's two-thread memcpy (16 MB: 1.9 -> 1.05 ms on 2 cores);
    smaller ones a plain slice assignment, whose cold cost is lower than Arrow's writer.
    """
    if total >= _PARALLEL_COPY and _CPUS > 1:
        sink = pa.FixedSizeBufferWriter(pa.py_buffer(memoryview(target)[offset : offset + total]))
        sink.set_memcopy_threads(2)
        for part in parts:
            sink.write(part)
        return
    pos = offset
    for part in parts:
        size = part.size if type(part) is pa.Buffer else len(part)
        target[pos : pos + size] = part
        pos += size


def read_flat(base: pa.Buffer, layout: list[int], arrow_type: pa.DataType) -> pa.Array:
    """Rebuild a flat array from its buffers, zero-copy over ``base``."""
    buffers: list[pa.Buffer | None] = []
    pos = 0
    for size in layout[3:]:
        if size < 0:
            buffers.append(None)
        else:
            buffers.append(base.slice(pos, size))
            pos += size + (-size % 8)
    if pos > base.size + 8:
        raise ValueError(f"buffers of {pos} bytes do not fit a {base.size}-byte payload")
    return pa.Array.from_buffers(arrow_type, layout[0], buffers, layout[1], layout[2])


def batch_message(array: pa.Array, info: TypeInfo) -> pa.Buffer:
    """The array as one serialized record batch message (no schema)."""
    return pa.RecordBatch.from_arrays([array], schema=info.schema).serialize()


def stream_size(batch: pa.RecordBatch) -> int:
    """Exact size of the IPC stream holding ``batch`` (nothing is copied)."""
    sink = pa.MockOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.size()


def write_stream(batch: pa.RecordBatch, target: pa.Buffer) -> int:
    """Write the IPC stream of ``batch`` at the start of mutable ``target``."""
    sink = pa.FixedSizeBufferWriter(target)
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.tell()


def read_raw(buffer: pa.Buffer) -> pa.Array:
    """Bytes as a UInt8Array, zero-copy."""
    return pa.Array.from_buffers(UINT8, buffer.size, [None, buffer])


def read_batch(buffer: pa.Buffer, schema: pa.Schema) -> pa.Array:
    """Column ``data`` of a serialized record batch message, zero-copy."""
    return pa.ipc.read_record_batch(pa.ipc.read_message(buffer), schema).column(0)


def read_stream(buffer: pa.Buffer) -> pa.Array:
    """Column ``data`` of the first batch of an IPC stream, zero-copy."""
    return pa.ipc.open_stream(buffer).read_next_batch().column(0)


class DataItem(msgspec.Struct, frozen=True, gc=False):
    """A Data frame received from another node, queued on one or more inputs.

    ``schema`` is the batch schema for inline ``ipc`` and the array type for ``buffers``.

    A struct, not a plain class: one is made per message on arrival, and a struct's
    constructor runs no Python code (half the instructions of an ``__init__``). It is
    never tracked by the garbage collector (``gc=False``): nothing it holds refers back
    to it, and a burst's queue holds thousands of them.
    """

    msg: Data
    schema: Any
    token: ShmToken | None

    def event(self, input_id: str, clock: Clock) -> dict[str, Any]:
        """Build the INPUT event (pyarrow value over the received memory).

        This runs once per message on the consumer thread: the common inline cases are
        spelled out here rather than split into helpers, as each Python call counts.
        """
        msg = self.msg
        ts = msg.timestamp_ns
        if ts > clock._last:  # Clock.observe, inlined
            clock._last = ts
        kind = msg.kind
        if self.token is not None:
            value = self._from_segment(input_id)
        elif kind == "buffers":
            layout = msg.layout
            if self.schema is None or layout is None:
                raise ValueError(f"message on `{input_id}` has no type")
            inline = msg.inline or b""
            if len(layout) == 5 and layout[3] < 0 and layout[4] == len(inline):
                # the usual shape: no validity bitmap (so no nulls), one data buffer
                value = _from_buffers(
                    self.schema, layout[0], [None, _py_buffer(inline)], 0, layout[2]
                )
            else:
                value = read_flat(_py_buffer(inline), layout, self.schema)
        elif kind == "raw":
            inline = msg.inline or b""
            value = _from_buffers(UINT8, len(inline), [None, _py_buffer(inline)])
        elif kind == "ipc":
            if self.schema is None:
                raise ValueError(f"message on `{input_id}` has no schema")
            value = read_batch(_py_buffer(msg.inline or b""), self.schema)
        else:
            value = _EMPTY_NULLS
        return {
            "kind": "dora",
            "type": "INPUT",
            "id": input_id,
            "value": value,
            # decode_metadata, inlined (parameters after the timestamp: see there)
            "metadata": {"timestamp": _fromtimestamp(ts // 1000 / 1e6, UTC), **msg.parameters},
        }

    def _from_segment(self, input_id: str) -> pa.Array:
        msg = self.msg
        token = self.token
        assert token is not None
        mapping = token.mapping
        if msg.offset < 0 or msg.length < 0 or msg.offset + msg.length > mapping.size:
            raise ValueError(
                f"message on `{input_id}` lies outside its shared-memory segment "
                f"({msg.offset}+{msg.length} > {mapping.size})"
            )
        buffer = pa.foreign_buffer(mapping.address + msg.offset, msg.length, base=token)
        kind = msg.kind
        if kind == "buffers":
            layout = msg.layout
            if self.schema is None or layout is None:
                raise ValueError(f"message on `{input_id}` has no type")
            if len(layout) == 5 and layout[3] < 0 and layout[4] == msg.length:
                # the usual shape, as inline: one data buffer filling the message (no
                # validity bitmap, so no nulls); no slice of it to make
                return _from_buffers(self.schema, layout[0], [None, buffer], 0, layout[2])
            return read_flat(buffer, layout, self.schema)
        return read_raw(buffer) if kind == "raw" else read_stream(buffer)


class TickItem:
    """A timer tick from the daemon: an empty NullArray."""

    __slots__ = ("timestamp_ns",)

    def __init__(self, timestamp_ns: int) -> None:
        self.timestamp_ns = timestamp_ns

    def event(self, input_id: str, clock: Clock) -> dict[str, Any]:
        """Build the INPUT event."""
        clock.observe(self.timestamp_ns)
        return input_event(input_id, _EMPTY_NULLS, decode_metadata(self.timestamp_ns, {}))


class TextItem:
    """A one-string input built by the daemon (logs, stdout lines)."""

    __slots__ = ("parameters", "text", "timestamp_ns")

    def __init__(self, text: str, timestamp_ns: int, parameters: dict[str, Any]) -> None:
        self.text = text
        self.timestamp_ns = timestamp_ns
        self.parameters = parameters

    def event(self, input_id: str, clock: Clock) -> dict[str, Any]:
        """Build the INPUT event."""
        clock.observe(self.timestamp_ns)
        value = pa.array([self.text], type=pa.string())
        return input_event(input_id, value, decode_metadata(self.timestamp_ns, self.parameters))
