"""How much may wait for CLI connections before one counts as not reading (sans-I/O).

Replies cannot be dropped without breaking the client's request, so a reply that does
not fit means the client is not reading: the connection is closed and its backlog freed.
Log events can be dropped (the log files keep everything), so they only use the first
half of the budget and are counted when dropped; replies always find the other half.
A frame is always admitted into an empty backlog, so one large reply (a log read) still
reaches a client that reads.

Each connection has its own limit, and all of them share a :class:`BacklogPool`, since
many connections each just under their limit would add up. When the pool is full, the
connection with the largest backlog is the one that does not keep up: it is closed to
make room (which may be the connection asking).
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
    POOL_FULL = "pool_full"  # a reply that fits here but not in the pool: evict the largest


class BacklogPool:
    """The bytes queued for every CLI connection together, against a total."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.queued = 0
        self._members: set[ReplyBacklog] = set()

    def join(self, backlog: ReplyBacklog) -> None:
        """Count ``backlog`` in the pool (done by :class:`ReplyBacklog` itself)."""
        self._members.add(backlog)

    def leave(self, backlog: ReplyBacklog) -> None:
        """Stop counting ``backlog``; what it still holds is given back."""
        if backlog in self._members:
            self._members.discard(backlog)
            self.queued -= backlog.queued

    def written(self, backlog: ReplyBacklog, cost: int) -> None:
        """``backlog`` no longer holds ``cost`` bytes (ignored once it has left)."""
        if backlog in self._members:
            self.queued -= cost

    def largest(self) -> ReplyBacklog | None:
        """The member with the most bytes queued."""
        return max(self._members, key=lambda b: b.queued, default=None)


class ReplyBacklog:
    """Bytes queued for one connection, against its limit and the pool's total."""

    def __init__(self, limit: int, pool: BacklogPool | None = None) -> None:
        self.limit = limit
        self.pool = pool
        self.queued = 0  # bytes, overhead included, until written
        self.frames = 0
        self.dropped = 0  # events dropped since the last report
        if pool is not None:
            pool.join(self)

    def admit(self, size: int, droppable: bool) -> Admission:
        """Account for a frame of ``size`` bytes if it fits."""
        cost = size + FRAME_OVERHEAD
        if self.frames:
            room = self.limit // 2 if droppable else self.limit
            pool = self.pool
            pool_room = 0 if pool is None else (pool.total // 2 if droppable else pool.total)
            if self.queued + cost > room:
                return self._refuse(droppable, Admission.OVERFLOW)
            if pool is not None and pool.queued + cost > pool_room:
                return self._refuse(droppable, Admission.POOL_FULL)
        self.queued += cost
        self.frames += 1
        if self.pool is not None:
            self.pool.queued += cost
        return Admission.QUEUE

    def _refuse(self, droppable: bool, verdict: Admission) -> Admission:
        if droppable:
            self.dropped += 1
            return Admission.DROP
        return verdict

    def written(self, size: int) -> None:
        """A frame admitted with ``size`` has left the queue (sent or discarded)."""
        cost = size + FRAME_OVERHEAD
        self.queued -= cost
        self.frames -= 1
        if self.pool is not None:
            self.pool.written(self, cost)

    def close(self) -> None:
        """Leave the pool; frames written later are no longer counted there."""
        if self.pool is not None:
            self.pool.leave(self)
