"""Length-prefixed msgpack frames, sans-I/O: the one parser of the wire format.

A frame is a 4-byte little-endian body length followed by a msgpack body. A
:class:`FrameParser` owns a receive buffer: bytes go in (copied with :meth:`~FrameParser.feed`,
or read straight into :meth:`~FrameParser.room` by the socket layer), complete bodies come
out (:meth:`~FrameParser.frames`). Nothing here touches a socket.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from typing import Any

import msgspec

from dora_message.errors import ProtocolError

HEADER = struct.Struct("<I")
MAX_FRAME = 64 * 1024 * 1024

_INITIAL_BUFFER = 256 * 1024
_MIN_FREE = 64 * 1024


def _zeroed(size: int) -> bytearray | mmap.mmap:
    """A writable buffer of ``size`` zero bytes. A large one is an anonymous mapping: the
    kernel provides its pages when first written, where ``bytearray(size)`` writes every
    page at once (a connection that only ever sees small frames touches one or two of its
    64; in a freshly forked node each touched page is a fault)."""
    return mmap.mmap(-1, size) if size >= _MIN_FREE else bytearray(size)


def frame(body: bytes | bytearray | memoryview) -> bytes:
    """Prefix ``body`` with its length."""
    return HEADER.pack(len(body)) + bytes(body)


def encode_frame(encoder: msgspec.msgpack.Encoder, message: Any) -> bytearray:
    """Encode ``message`` as one length-prefixed frame."""
    buf = bytearray(4)
    encoder.encode_into(message, buf, 4)
    HEADER.pack_into(buf, 0, len(buf) - 4)
    return buf


class FrameTooLarge(ProtocolError):
    """A frame header announces more than the limit. ``complete`` holds the bodies that
    came before it (still valid until the next read)."""

    def __init__(self, size: int, limit: int, complete: list[memoryview]) -> None:
        super().__init__(f"frame of {size} bytes exceeds the {limit} limit")
        self.complete = complete


class FrameParser:
    """Receive buffer of one connection; yields complete frame bodies.

    Bodies are memoryviews into the buffer: use them before the next read into it
    (:meth:`feed`, or a read into :meth:`room`).
    """

    __slots__ = ("_buf", "_end", "_need", "_start", "_view", "_whole", "max_frame")

    def __init__(self, max_frame: int = MAX_FRAME, initial: int = _INITIAL_BUFFER) -> None:
        self._buf = _zeroed(max(initial, 16))
        self._view = memoryview(self._buf)
        self._whole = [self._view]  # recvmsg_into's buffer list for an empty buffer
        self._start = 0
        self._end = 0
        self._need = 0  # size of the incomplete frame at _start, when known
        self.max_frame = max_frame

    # ---- bytes in -------------------------------------------------------------------

    def room(self) -> memoryview:
        """The free end of the buffer, made large enough for the frame in progress;
        report what was written there with :meth:`wrote`."""
        if self._start == self._end:
            self._start = self._end = 0
            if self._need > len(self._buf):
                self._make_room()
        else:
            self._make_room()
        end = self._end
        return self._view[end:] if end else self._view

    def wrote(self, count: int) -> None:
        """``count`` bytes were written at the start of :meth:`room`."""
        self._end += count

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes (a copy)."""
        data = memoryview(data).cast("B")
        size = len(data)
        if self._start == self._end:
            self._start = self._end = 0
        if len(self._buf) - self._end < size:
            self._fit(self._end - self._start + size)
        end = self._end
        self._view[end : end + size] = data
        self._end = end + size

    # ---- frames out -----------------------------------------------------------------

    def frames(self) -> list[memoryview]:
        """Every complete frame body received so far.

        Raises :class:`FrameTooLarge` at a header over :attr:`max_frame`."""
        buf = self._buf
        view = self._view
        pos = self._start
        end = self._end
        limit = self.max_frame
        out: list[memoryview] = []
        unpack = HEADER.unpack_from
        while end - pos >= 4:
            (size,) = unpack(buf, pos)
            if size > limit:
                self._start = pos
                raise FrameTooLarge(size, limit, out)
            if end - pos - 4 < size:
                self._need = size + 4
                break
            out.append(view[pos + 4 : pos + 4 + size])
            pos += 4 + size
        else:
            self._need = 0
        self._start = pos
        return out

    def pending(self) -> int:
        """Bytes received but not yet returned as frames."""
        return self._end - self._start

    # ---- buffer ---------------------------------------------------------------------

    def _make_room(self) -> None:
        if self._start == self._end:
            self._start = self._end = 0
        start, end = self._start, self._end
        need = max(self._need, end - start)
        if need <= len(self._buf) and not (
            start and (len(self._buf) - end < _MIN_FREE or start + need > len(self._buf))
        ):
            return
        self._fit(need)

    def _fit(self, need: int) -> None:
        """Move the pending bytes to the front, in a buffer of at least ``need`` bytes."""
        start, end = self._start, self._end
        if need > len(self._buf):
            self._grow(need)
            return
        # copy first: source and destination may overlap
        self._buf[: end - start] = bytes(self._view[start:end])
        self._start = 0
        self._end = end - start

    def _grow(self, need: int) -> None:
        """A frame larger than the buffer: grow to fit it whole."""
        start, end = self._start, self._end
        new_size = len(self._buf)
        while new_size < need + _MIN_FREE:
            new_size *= 2
        new = _zeroed(new_size)
        new[: end - start] = self._view[start:end]
        self._buf = new
        self._view = memoryview(new)
        self._whole = [self._view]
        self._start = 0
        self._end = end - start


class FrameBuffer(FrameParser):
    """A :class:`FrameParser` for control connections: iterating yields each complete
    body as ``bytes`` (safe to keep), the bodies before an oversized frame first."""

    __slots__ = ()

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        super().__init__(max_frame, initial=4096)

    def __iter__(self) -> Iterator[bytes]:
        """Yield every complete frame body received so far."""
        try:
            bodies = self.frames()
        except FrameTooLarge as error:
            for body in error.complete:
                yield bytes(body)
            raise
        for body in bodies:
            yield bytes(body)

    def __len__(self) -> int:
        return self.pending()
