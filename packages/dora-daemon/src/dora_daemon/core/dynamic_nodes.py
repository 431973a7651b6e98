"""Dynamic nodes (``path: dynamic``) of one dataflow while they are not connected."""

from __future__ import annotations

from collections.abc import Iterable

WAITING = "Waiting"  # never joined
LEFT = "Left"  # joined and left: may join again


class DynamicNodes:
    """node -> Waiting | Left (a connected node shows as Running in its status)."""

    def __init__(self, node_ids: Iterable[str]) -> None:
        self._states = dict.fromkeys(node_ids, WAITING)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._states

    def ids(self) -> list[str]:
        """Every dynamic node of the dataflow."""
        return list(self._states)

    def state(self, node_id: str) -> str:
        """Waiting or Left."""
        return self._states[node_id]

    def left(self, node_id: str) -> None:
        """The node's connection closed."""
        self._states[node_id] = LEFT

    def rejoins(self, node_id: str) -> bool:
        """Whether a node joining now had left before (its outputs open again)."""
        return self._states.get(node_id) == LEFT
