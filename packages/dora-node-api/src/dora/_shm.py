"""Shared memory for large payloads, the Arrow side: receiver mappings as Arrow buffers.

The segments and the sender's pool are the data-plane core's
(:mod:`dora_message.dataplane.pool`, no pyarrow); this module adds what the node API needs
on top: a mapping as one Arrow buffer, a writable Arrow buffer over a segment, and the
token object that releases a message when its last array is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from dora_message.dataplane.pool import (
    ALIGN,
    ARENA_MAX_MESSAGE,
    ARENA_SIZE,
    MAX_FREE_BYTES,
    MIN_SEGMENT,
    Segment,
    SegmentPool,
    map_segment,
    segment_size,
)

__all__ = [
    "ALIGN",
    "ARENA_MAX_MESSAGE",
    "ARENA_SIZE",
    "MAX_FREE_BYTES",
    "MIN_SEGMENT",
    "Mapping",
    "Segment",
    "ShmPool",
    "ShmToken",
    "segment_size",
    "writable",
]

ShmPool = SegmentPool
"""The node's pool: the core's, unbounded (a node never waits for its receivers)."""


def writable(seg: Segment, offset: int, size: int) -> pa.Buffer:
    """A mutable Arrow buffer over part of ``seg`` (for FixedSizeBufferWriter).

    Made per write and dropped after it, so no buffer export outlives the write.
    """
    return pa.py_buffer(memoryview(seg.mm)[offset : offset + size])


class Mapping:
    """A receiver's read-only mapping of one sender segment.

    Raises ``ProtocolError`` (fd closed) for a descriptor that is not a memfd sealed
    against shrinking, or smaller than ``size``: reading it could end in SIGBUS.
    """

    __slots__ = ("address", "buffer", "mm", "size")

    def __init__(self, fd: int, size: int) -> None:
        self.mm = map_segment(fd, size, populate=True)  # closes fd
        self.size = size
        self.buffer = pa.py_buffer(self.mm)
        self.address: int = self.buffer.address


class ShmToken:
    """Keeps a mapping alive while arrays point into it; releases the message when freed.

    It is the ``base`` of the foreign Arrow buffer built over the message, so Python
    frees it exactly when the last array (or slice, or numpy view) is gone.
    """

    __slots__ = ("mapping", "release", "token")

    def __init__(self, mapping: Mapping, token: int, release: Callable[[int], Any]) -> None:
        self.mapping = mapping
        self.token = token
        self.release = release

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown, closed connection
            self.release(self.token)
