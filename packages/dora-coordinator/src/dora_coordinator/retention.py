"""Which finished dataflows to forget (sans-I/O).

A finished dataflow is kept so that ``dora list``, ``dora info`` and ``dora logs <uuid>``
still find it, but every one holds its descriptor (up to 1 MiB) in memory and in the
store. The newest ``keep`` are kept, and none longer than ``max_age`` seconds after it
ended. Active dataflows are never chosen.
"""

from __future__ import annotations

from collections.abc import Iterable

from dora_coordinator.model import Dataflow


def expired(dataflows: Iterable[Dataflow], now: float, keep: int, max_age: float) -> list[str]:
    """The ids of the finished dataflows to forget, oldest first.

    A record's ``updated_at`` is when it last changed, which for a finished dataflow is
    when it ended.
    """
    finished = sorted(
        (d for d in dataflows if not d.active),
        key=lambda d: (d.record.updated_at, d.record.created_at),
    )
    surplus = max(0, len(finished) - keep)
    return [
        d.uuid
        for index, d in enumerate(finished)
        if index < surplus or now - d.record.updated_at > max_age
    ]
