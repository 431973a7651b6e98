"""Finish graces, sans-I/O (spec/runtime.md §8, :mod:`dora_daemon.finish`).

Once every input of a running node closed for good, it gets its ``finish_grace_secs``
(else the dataflow's default) to exit; a node's grace is armed once, and forgotten
when the node ends.
"""

from __future__ import annotations

import msgspec


class Due(msgspec.Struct, frozen=True):
    """A grace that ran out: ``node_id`` outlived its inputs by ``grace`` seconds."""

    node_id: str
    grace: float


class FinishGraces:
    """The finish deadlines of one dataflow."""

    def __init__(self, default_grace: float | None) -> None:
        self.default_grace = default_grace  # None: off unless a node sets its own
        # node -> (deadline, grace); None once it fell due (never armed again)
        self._armed: dict[str, tuple[float, float] | None] = {}

    def arm(self, node_id: str, node_grace: float | None, now: float) -> None:
        """All inputs of ``node_id`` closed at ``now`` (a later call changes nothing)."""
        grace = node_grace if node_grace is not None else self.default_grace
        if grace is None or node_id in self._armed:
            return
        self._armed[node_id] = (now + grace, grace)

    def forget(self, node_id: str) -> None:
        """The node ended: its grace is moot."""
        self._armed.pop(node_id, None)

    def next_deadline(self) -> float | None:
        """When the next grace runs out (None: none armed)."""
        return min((armed[0] for armed in self._armed.values() if armed), default=None)

    def due(self, now: float) -> list[Due]:
        """Graces that ran out by ``now``; each is returned once."""
        due = []
        for node_id, armed in self._armed.items():
            if armed is not None and armed[0] <= now:
                self._armed[node_id] = None
                due.append(Due(node_id, armed[1]))
        return due
