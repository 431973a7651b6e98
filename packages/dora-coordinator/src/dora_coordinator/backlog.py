"""How much may wait for one CLI connection before it counts as not reading (sans-I/O).

Replies cannot be dropped without breaking the client's request, so a reply that does
not fit means the client is not reading: the connection is closed and its backlog freed.
Log events can be dropped (the log files keep everything), so they only use the first
half of the budget and are counted when dropped; replies always find the other half.
A frame is always admitted into an empty backlog, so one large reply (a log read) still
reaches a client that reads.
"""

from __future__ import annotations

import enum

# What a queued frame costs beyond its payload (the str object, the queue slot): keeps
# a flood of tiny error replies bounded too.
FRAME_OVERHEAD = 128


class Admission(enum.Enum):
    """What to do with a frame offered to the backlog."""

    QUEUE = "queue"
    DROP = "drop"  # a log event that does not fit
    OVERFLOW = "overflow"  # a reply that does not fit: disconnect the client


class ReplyBacklog:
    """Bytes queued for one connection, against a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.queued = 0  # bytes, overhead included, until written
        self.frames = 0
        self.dropped = 0  # events dropped since the last report

    def admit(self, size: int, droppable: bool) -> Admission:
        """Account for a frame of ``size`` bytes if it fits."""
        cost = size + FRAME_OVERHEAD
        room = self.limit // 2 if droppable else self.limit
        if self.frames and self.queued + cost > room:
            if droppable:
                self.dropped += 1
                return Admission.DROP
            return Admission.OVERFLOW
        self.queued += cost
        self.frames += 1
        return Admission.QUEUE

    def written(self, size: int) -> None:
        """A frame admitted with ``size`` has left the queue (sent or discarded)."""
        self.queued -= size + FRAME_OVERHEAD
        self.frames -= 1
