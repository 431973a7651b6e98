"""Shared memory for large payloads: a sender's segment pool and receiver mappings.

Segments are anonymous memory files (``memfd_create``, sealed against resizing, see
:mod:`dora_message.memfd`): nothing appears under ``/dev/shm``, so a crash can never leak
one; the memory goes away with the last process that maps it. The sender passes a
segment's fd once per receiver connection, writes each message once into a segment and
hands the same segment reference to every receiver. A segment is reused only after every
receiver released the message it carries.
"""

from __future__ import annotations

import contextlib
import itertools
import mmap
import os
import threading
from collections.abc import Callable, Hashable

from dora_message.memfd import check_received, create_sealed

MIN_SEGMENT = 64 * 1024
MAX_FREE_BYTES = 256 * 1024 * 1024
ARENA_SIZE = 4 * 1024 * 1024
ARENA_MAX_MESSAGE = 1024 * 1024
ALIGN = 64  # message offsets inside a segment: Arrow-friendly alignment


def segment_size(nbytes: int) -> int:
    """Power of two >= ``nbytes`` and >= 64 KiB."""
    size = MIN_SEGMENT
    while size < nbytes:
        size *= 2
    return size


class Segment:
    """One memfd of a sender's pool, mapped read-write."""

    __slots__ = ("fd", "id", "mm", "rooms", "size")

    def __init__(self, segment_id: int, size: int, name: str) -> None:
        self.id = segment_id
        self.size = size
        self.rooms: dict[int, int] = {}  # offset -> size of each message not yet released
        # sealed against resizing: receivers refuse segments that could shrink under them
        self.fd = create_sealed(name, size)
        try:
            self.mm = mmap.mmap(
                self.fd,
                size,
                flags=mmap.MAP_SHARED | mmap.MAP_POPULATE,
                prot=mmap.PROT_READ | mmap.PROT_WRITE,
            )
        except OSError:
            os.close(self.fd)
            raise

    def fit(self, nbytes: int) -> int | None:
        """The lowest aligned offset with ``nbytes`` free, if any (first fit).

        Lowest first keeps a steady stream of messages on the same few, warm pages.
        """
        pos = 0
        rooms = self.rooms
        for start in sorted(rooms):
            if start - pos >= nbytes:
                return pos
            pos = -(-(start + rooms[start]) // ALIGN) * ALIGN
        return pos if pos + nbytes <= self.size else None

    def has_views(self) -> bool:
        """Whether some buffer (a user's memoryview, say) still exports the mapping."""
        try:
            self.mm.resize(self.size)  # same size: a no-op, refused while exported
        except BufferError:
            return True
        return False

    def close(self) -> None:
        """Unmap and close (the receivers keep their own mappings)."""
        with contextlib.suppress(BufferError):  # a user view is alive: the GC unmaps
            self.mm.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)


class SegmentPool:
    """Segments owned by one sender. Thread-safe.

    Messages up to :data:`ARENA_MAX_MESSAGE` are packed one after the other into a
    4 MiB *arena* segment, so a burst of mid-size messages does not create (and pass,
    and map) one segment per message; larger ones (and ``dedicated`` requests) get a
    segment of their own. A segment goes back to the free list once every message in it
    was released by every receiver; past ``max_free_bytes`` of free segments the largest
    are unmapped.

    With ``max_bytes`` the pool does not grow past that many bytes of segments while
    messages are out: :meth:`acquire` first unmaps free segments (see :meth:`evicted`),
    then calls its ``wait`` until a release makes room, so a receiver that keeps every
    array alive slows its producer down.
    """

    def __init__(
        self, name: str, max_free_bytes: int = MAX_FREE_BYTES, max_bytes: int | None = None
    ) -> None:
        self._name = name
        self._max_free = max_free_bytes
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._tokens = itertools.count(1)
        self._free: list[Segment] = []
        self._free_bytes = 0
        self._bytes = 0
        self._segments: dict[int, Segment] = {}
        self._arena: Segment | None = None
        # token -> (segment, offset, receivers that still hold the message)
        self._busy: dict[int, tuple[Segment, int, set[Hashable]]] = {}
        self._evicted: list[Segment] = []
        self.created = 0

    # ---- allocation ---------------------------------------------------------------

    def acquire(
        self, nbytes: int, dedicated: bool = False, wait: Callable[[], None] | None = None
    ) -> tuple[Segment, int]:
        """Room for ``nbytes``: ``(segment, offset)``, the caller's until published.

        ``dedicated`` asks for a segment of its own (offset 0). ``wait`` is called
        (without the lock) while the pool is at ``max_bytes``; it should read releases.
        """
        while True:
            with self._lock:
                if nbytes <= ARENA_MAX_MESSAGE and not dedicated:
                    arena = self._arena
                    if arena is not None:
                        offset = arena.fit(nbytes)
                        if offset is not None:
                            arena.rooms[offset] = nbytes
                            return arena, offset
                        self._arena = None  # full: freed once its messages are released
                    arena = self._take(ARENA_SIZE, wait is not None)
                    self._arena = arena
                else:
                    arena = self._take(nbytes, wait is not None)
                if arena is not None:
                    arena.rooms[0] = nbytes
                    return arena, 0
            assert wait is not None
            wait()

    def _take(self, nbytes: int, may_wait: bool) -> Segment | None:
        # caller holds the lock: the smallest free segment that fits, or a new one
        # (None: at max_bytes, wait for a release)
        best: Segment | None = None
        for seg in self._free:
            if seg.size >= nbytes and (best is None or seg.size < best.size):
                best = seg
        if best is not None:
            self._free.remove(best)
            self._free_bytes -= best.size
            return best
        size = segment_size(nbytes)
        limit = self._max_bytes
        if limit is not None:
            # unmap free segments that are too small before growing
            while self._free and self._bytes + size > limit:
                self._evict(self._free.pop())
            if self._bytes + size > limit and self._busy and may_wait:
                return None
        seg = Segment(next(self._ids), size, self._name)
        self._segments[seg.id] = seg
        self._bytes += size
        self.created += 1
        return seg

    def publish(
        self, seg: Segment, offset: int, receivers: set[Hashable]
    ) -> tuple[int, list[Segment]]:
        """Hand the message at ``offset`` to ``receivers``: its token, segments to drop."""
        token = next(self._tokens)
        if not receivers:
            return token, self.discard(seg, offset)
        with self._lock:
            self._busy[token] = (seg, offset, receivers)
        return token, []

    def discard(self, seg: Segment, offset: int) -> list[Segment]:
        """Give back a message room that was not (or no longer) sent."""
        with self._lock:
            return self._message_done(seg, offset)

    # ---- release ------------------------------------------------------------------

    def release(self, receiver: Hashable, tokens: list[int]) -> list[Segment]:
        """``receiver`` is done with these messages; returns segments to drop."""
        dropped: list[Segment] = []
        with self._lock:
            for token in tokens:
                entry = self._busy.get(token)
                if entry is None:
                    continue
                seg, offset, holders = entry
                holders.discard(receiver)
                if not holders:
                    del self._busy[token]
                    dropped.extend(self._message_done(seg, offset))
        return dropped

    def receiver_gone(self, receiver: Hashable) -> list[Segment]:
        """A receiver disconnected: it holds nothing any more."""
        with self._lock:
            tokens = [t for t, (_s, _o, who) in self._busy.items() if receiver in who]
        return self.release(receiver, tokens)

    def evicted(self) -> list[Segment]:
        """Segments :meth:`acquire` unmapped to stay under ``max_bytes``, since the
        last call: their receivers should drop them too."""
        with self._lock:
            evicted, self._evicted = self._evicted, []
        return evicted

    def _message_done(self, seg: Segment, offset: int) -> list[Segment]:
        # caller holds the lock
        seg.rooms.pop(offset, None)
        if seg.rooms or seg is self._arena:
            return []
        return self._to_free(seg)

    def _to_free(self, seg: Segment) -> list[Segment]:
        # caller holds the lock
        if seg.id not in self._segments:
            return []
        seg.rooms.clear()
        self._free.append(seg)
        self._free_bytes += seg.size
        dropped: list[Segment] = []
        while self._free_bytes > self._max_free and self._free:
            # unmap the largest free segments first: they are the rarest fits
            victim = max(self._free, key=lambda s: s.size)
            self._free.remove(victim)
            self._free_bytes -= victim.size
            self._forget(victim)
            dropped.append(victim)
        return dropped

    def _evict(self, seg: Segment) -> None:
        # caller holds the lock; seg was just taken off the free list
        self._free_bytes -= seg.size
        self._forget(seg)
        self._evicted.append(seg)

    def _forget(self, seg: Segment) -> None:
        del self._segments[seg.id]
        self._bytes -= seg.size

    # ---- introspection / teardown ---------------------------------------------------

    def busy_when_full(self) -> int:
        """How many messages hold segments when none is free (0 while one is free)."""
        with self._lock:
            return 0 if self._free else len(self._busy)

    def stats(self) -> dict[str, int]:
        """Counters for tests and debugging."""
        with self._lock:
            return {
                "segments": len(self._segments),
                "created": self.created,
                "free": len(self._free),
                "busy_messages": len(self._busy),
                "bytes": self._bytes,
            }

    def close(self) -> None:
        """Unmap every segment."""
        with self._lock:
            segments = [*self._segments.values(), *self._evicted]
            self._segments.clear()
            self._free.clear()
            self._busy.clear()
            self._evicted.clear()
            self._arena = None
            self._free_bytes = 0
            self._bytes = 0
        for seg in segments:
            seg.close()


def map_segment(fd: int, size: int, populate: bool = False) -> mmap.mmap:
    """Map a sender's segment read-only; ``fd`` is closed (the mapping keeps the memory).

    Raises ``ProtocolError`` (fd closed) for a descriptor that is not a memfd sealed
    against shrinking, or smaller than ``size``: reading it could end in SIGBUS.
    ``populate`` maps every page up front (the node reads what it maps; the bridge only
    copies a message out).
    """
    flags = mmap.MAP_SHARED | mmap.MAP_POPULATE if populate else mmap.MAP_SHARED
    try:
        check_received(fd, size)
        return mmap.mmap(fd, size, flags=flags, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
