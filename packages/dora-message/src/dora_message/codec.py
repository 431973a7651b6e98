"""Length-prefixed msgpack framing, sans-I/O.

A frame is a 4-byte little-endian body length followed by a msgpack body. The
:class:`FrameBuffer` accumulates received bytes and yields complete bodies; nothing
here touches a socket.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from dora_message.errors import ProtocolError

HEADER = struct.Struct("<I")
MAX_FRAME = 64 * 1024 * 1024


def frame(body: bytes | bytearray | memoryview) -> bytes:
    """Prefix ``body`` with its length."""
    return HEADER.pack(len(body)) + bytes(body)


class FrameBuffer:
    """Reassembles frames from a byte stream."""

    __slots__ = ("_buf", "_max")

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes."""
        self._buf += data

    def __iter__(self) -> Iterator[bytes]:
        """Yield every complete frame body received so far."""
        buf = self._buf
        pos = 0
        end = len(buf)
        try:
            while end - pos >= 4:
                (size,) = HEADER.unpack_from(buf, pos)
                if size > self._max:
                    raise ProtocolError(f"frame of {size} bytes exceeds the {self._max} limit")
                if end - pos - 4 < size:
                    break
                yield bytes(buf[pos + 4 : pos + 4 + size])
                pos += 4 + size
        finally:
            if pos:
                del buf[:pos]

    def __len__(self) -> int:
        return len(self._buf)
