"""Shared memory for large payloads: the sender's segment pool and receiver mappings.

Segments are anonymous memory files (``memfd_create``): nothing appears under
``/dev/shm``, so a crash can never leak one; the memory goes away with the last process
that maps it. The sender passes a segment's fd once per receiver connection, writes each
message once into a segment and hands the same segment reference to every receiver. A
segment is reused only after every receiver released the message it carries.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import mmap
import os
import threading
from collections.abc import Callable, Hashable
from typing import Any

import pyarrow as pa

logger = logging.getLogger(__name__)

MIN_SEGMENT = 64 * 1024
MAX_FREE_BYTES = 256 * 1024 * 1024


def segment_size(nbytes: int) -> int:
    """Power of two >= ``nbytes`` and >= 64 KiB."""
    size = MIN_SEGMENT
    while size < nbytes:
        size *= 2
    return size


class Segment:
    """One memfd of the sender's pool, mapped read-write."""

    __slots__ = ("buffer", "fd", "id", "mm", "size")

    def __init__(self, segment_id: int, size: int, name: str) -> None:
        self.id = segment_id
        self.size = size
        self.fd = os.memfd_create(name, os.MFD_CLOEXEC)
        try:
            os.ftruncate(self.fd, size)
            self.mm = mmap.mmap(
                self.fd,
                size,
                flags=mmap.MAP_SHARED | mmap.MAP_POPULATE,
                prot=mmap.PROT_READ | mmap.PROT_WRITE,
            )
        except OSError:
            os.close(self.fd)
            raise
        # a mutable Arrow buffer over the whole mapping, for FixedSizeBufferWriter
        self.buffer: pa.Buffer | None = pa.py_buffer(self.mm)

    def close(self) -> None:
        """Unmap and close (the receivers keep their own mappings)."""
        self.buffer = None
        with contextlib.suppress(BufferError):  # a user view is alive: the GC unmaps
            self.mm.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)


class ShmPool:
    """Segments owned by one sending node. Thread-safe."""

    def __init__(self, name: str, max_free_bytes: int = MAX_FREE_BYTES) -> None:
        self._name = name
        self._max_free = max_free_bytes
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._tokens = itertools.count(1)
        self._free: list[Segment] = []
        self._free_bytes = 0
        self._segments: dict[int, Segment] = {}
        # token -> (segment, receivers that still hold the message)
        self._busy: dict[int, tuple[Segment, set[Hashable]]] = {}
        self.created = 0

    # ---- allocation ---------------------------------------------------------------

    def acquire(self, nbytes: int) -> Segment:
        """A segment of at least ``nbytes`` owned by the caller until published."""
        with self._lock:
            best: Segment | None = None
            for seg in self._free:
                if seg.size >= nbytes and (best is None or seg.size < best.size):
                    best = seg
            if best is not None:
                self._free.remove(best)
                self._free_bytes -= best.size
                return best
            segment_id = next(self._ids)
        seg = Segment(segment_id, segment_size(nbytes), self._name)
        with self._lock:
            self._segments[seg.id] = seg
            self.created += 1
        return seg

    def publish(self, seg: Segment, receivers: set[Hashable]) -> tuple[int, list[Segment]]:
        """Hand ``seg`` to ``receivers``; returns the release token and segments to drop."""
        token = next(self._tokens)
        if not receivers:
            return token, self.discard(seg)
        with self._lock:
            self._busy[token] = (seg, receivers)
        return token, []

    def discard(self, seg: Segment) -> list[Segment]:
        """Give back a segment that was not (or no longer) sent."""
        with self._lock:
            return self._to_free(seg)

    # ---- release ------------------------------------------------------------------

    def release(self, receiver: Hashable, tokens: list[int]) -> list[Segment]:
        """``receiver`` is done with these messages; returns segments to drop."""
        dropped: list[Segment] = []
        with self._lock:
            for token in tokens:
                entry = self._busy.get(token)
                if entry is None:
                    continue
                entry[1].discard(receiver)
                if not entry[1]:
                    del self._busy[token]
                    dropped.extend(self._to_free(entry[0]))
        return dropped

    def receiver_gone(self, receiver: Hashable) -> list[Segment]:
        """A receiver disconnected: it holds nothing any more."""
        with self._lock:
            tokens = [t for t, (_seg, who) in self._busy.items() if receiver in who]
        return self.release(receiver, tokens)

    def _to_free(self, seg: Segment) -> list[Segment]:
        # caller holds the lock
        if seg.id not in self._segments:
            return []
        self._free.append(seg)
        self._free_bytes += seg.size
        dropped: list[Segment] = []
        while self._free_bytes > self._max_free and self._free:
            # unmap the largest free segments first: they are the rarest fits
            victim = max(self._free, key=lambda s: s.size)
            self._free.remove(victim)
            self._free_bytes -= victim.size
            del self._segments[victim.id]
            dropped.append(victim)
        return dropped

    # ---- introspection / teardown ---------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counters for tests and debugging."""
        with self._lock:
            return {
                "segments": len(self._segments),
                "created": self.created,
                "free": len(self._free),
                "busy_messages": len(self._busy),
            }

    def close(self) -> None:
        """Unmap every segment."""
        with self._lock:
            segments = list(self._segments.values())
            self._segments.clear()
            self._free.clear()
            self._busy.clear()
            self._free_bytes = 0
        for seg in segments:
            seg.close()


class Mapping:
    """A receiver's read-only mapping of one sender segment."""

    __slots__ = ("address", "buffer", "mm", "size")

    def __init__(self, fd: int, size: int) -> None:
        try:
            self.mm = mmap.mmap(
                fd, size, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE, prot=mmap.PROT_READ
            )
        finally:
            os.close(fd)  # the mapping keeps the memory alive
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
