"""Shared memory of the bridge: mapping senders' segments, and its own memfd segments.

The daemon speaks the node-to-node data plane (:mod:`dora_message.data_protocol`)
without importing the node API; sockets and frames come from
:mod:`dora_message.transport`, shared with the node API. Payloads stay opaque bytes.
"""

from __future__ import annotations

import contextlib
import mmap
import os

from dora_message.memfd import check_received, create_sealed
from dora_message.transport import (
    FrameReader,
    accept_pending,
    connect,
    encode_frame,
    listen_socket,
    send_with_fd,
)

__all__ = [
    "FrameReader",
    "Segment",
    "accept_pending",
    "connect",
    "encode_frame",
    "listen_socket",
    "map_segment",
    "send_with_fd",
]


def map_segment(fd: int, size: int) -> mmap.mmap:
    """Map a sender's segment read-only; the fd is closed (the mapping keeps the memory).

    Raises ``ProtocolError`` for a descriptor not sealed against shrinking or smaller
    than ``size`` (reading it could end in SIGBUS)."""
    try:
        check_received(fd, size)
        return mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


class Segment:
    """One memfd of the bridge's own pool, mapped read-write."""

    __slots__ = ("fd", "id", "mm", "size")

    def __init__(self, segment_id: int, size: int, name: str) -> None:
        self.id = segment_id
        self.size = size
        self.fd = create_sealed(name, size)  # receivers refuse resizable segments
        try:
            self.mm = mmap.mmap(self.fd, size, flags=mmap.MAP_SHARED)
        except OSError:
            os.close(self.fd)
            raise

    def close(self) -> None:
        """Unmap and close (receivers keep their own mappings)."""
        with contextlib.suppress(BufferError):
            self.mm.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)
