"""Refusing compressed Arrow IPC bodies before pyarrow decompresses them.

An IPC record batch may carry LZ4 or ZSTD compressed buffers, each prefixed by the length
it claims to decompress to; pyarrow allocates that length and inflates into it. Zeros
compress about 30,000 to 1, so a recording of a few kilobytes could demand gigabytes: an
allocation from an untrusted length. Recordings are written uncompressed, so a compressed
body is refused as damage, before it is decoded.

pyarrow does not expose the flag, so :func:`body_compressed` reads it from the message's
flatbuffer metadata (``Message.header`` -> ``RecordBatch.compression``, format/Message.fbs),
with every offset bounds-checked: the bytes are untrusted too.
"""

from __future__ import annotations

import struct

from dora_record.errors import MalformedMetadata

_MESSAGE_HEADER = 2  # Message: version, header_type, header, bodyLength, custom_metadata
_BATCH_COMPRESSION = 3  # RecordBatch: length, nodes, buffers, compression, variadic...


def _read(fmt: str, data: bytes, offset: int) -> int:
    if offset < 0 or offset + struct.calcsize(fmt) > len(data):
        raise MalformedMetadata(f"message metadata offset {offset} is out of bounds")
    value: int = struct.unpack_from(fmt, data, offset)[0]
    return value


def _field(data: bytes, table: int, index: int) -> int | None:
    """The absolute offset of field ``index`` of the table at ``table``, None if absent."""
    vtable = table - _read("<i", data, table)
    vtable_size = _read("<H", data, vtable)
    slot = 4 + 2 * index
    if slot + 2 > vtable_size:
        return None
    relative = _read("<H", data, vtable + slot)
    return table + relative if relative else None


def body_compressed(metadata: bytes) -> bool:
    """Whether a record-batch message's body is compressed (:class:`MalformedMetadata`
    when the metadata is not a sound flatbuffer)."""
    root = _read("<I", metadata, 0)
    header = _field(metadata, root, _MESSAGE_HEADER)
    if header is None:
        return False
    batch = header + _read("<I", metadata, header)
    return _field(metadata, batch, _BATCH_COMPRESSION) is not None
