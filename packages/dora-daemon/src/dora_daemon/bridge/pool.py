"""The shared-memory pool of one bridge writer (single-threaded).

Segments are memfds sized to a power of two (at least 64 KiB). Each delivered message
gets a token; its segment is free again once every receiver released the token (or
went away). Past ``max_bytes`` of segments the writer waits for releases instead of
growing: a receiver that keeps every array alive slows its producer's stream down.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable

from dora_daemon.bridge.transport import Segment

MIN_SEGMENT = 64 * 1024
MAX_POOL_BYTES = 512 * 1024 * 1024


def segment_size(nbytes: int) -> int:
    """Power of two >= ``nbytes`` and >= 64 KiB."""
    size = MIN_SEGMENT
    while size < nbytes:
        size *= 2
    return size


class Pool:
    """Segments of one writer and who still holds which message."""

    def __init__(self, name: str, max_bytes: int = MAX_POOL_BYTES) -> None:
        self._name = name
        self._max = max_bytes
        self._ids = itertools.count(1)
        self._tokens = itertools.count(1)
        self._free: list[Segment] = []
        self._all: dict[int, Segment] = {}
        self._bytes = 0
        self._busy: dict[int, tuple[Segment, set[Hashable]]] = {}
        self.dropped: list[int] = []  # unmapped segment ids receivers should drop too

    def acquire(self, nbytes: int, wait: Callable[[], None]) -> Segment:
        """A free segment of at least ``nbytes``; calls ``wait`` while at the limit."""
        while True:
            fits = [s for s in self._free if s.size >= nbytes]
            if fits:
                best = min(fits, key=lambda s: s.size)
                self._free.remove(best)
                return best
            size = segment_size(nbytes)
            if self._bytes + size <= self._max or not self._busy:
                # unmap free segments that are too small before growing
                while self._free and self._bytes + size > self._max:
                    self._unmap(self._free.pop())
                segment = Segment(next(self._ids), size, self._name)
                self._all[segment.id] = segment
                self._bytes += size
                return segment
            wait()

    def publish(self, segment: Segment, receivers: set[Hashable]) -> int:
        """``segment`` now carries a message held by ``receivers``; its release token."""
        token = next(self._tokens)
        if receivers:
            self._busy[token] = (segment, set(receivers))
        else:
            self._free.append(segment)
        return token

    def release(self, receiver: Hashable, tokens: list[int]) -> None:
        """``receiver`` no longer holds these messages."""
        for token in tokens:
            entry = self._busy.get(token)
            if entry is None:
                continue
            entry[1].discard(receiver)
            if not entry[1]:
                del self._busy[token]
                self._free.append(entry[0])

    def receiver_gone(self, receiver: Hashable) -> None:
        """A receiver disconnected: it holds nothing any more."""
        self.release(receiver, [t for t, (_, who) in self._busy.items() if receiver in who])

    def stats(self) -> dict[str, int]:
        """Counters for tests and debugging."""
        return {"segments": len(self._all), "bytes": self._bytes, "busy": len(self._busy)}

    def _unmap(self, segment: Segment) -> None:
        del self._all[segment.id]
        self._bytes -= segment.size
        self.dropped.append(segment.id)
        segment.close()

    def close(self) -> None:
        """Unmap every segment (receivers keep their own mappings)."""
        for segment in list(self._all.values()):
            segment.close()
        self._all.clear()
        self._free.clear()
        self._busy.clear()
        self._bytes = 0
