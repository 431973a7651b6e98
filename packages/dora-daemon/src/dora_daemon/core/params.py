"""Parameters a node was told (``dora param``), told again to its next incarnation."""

from __future__ import annotations

from dora_message.node_protocol import DaemonToNode, ParamDeleted, ParamUpdate


def is_param(message: DaemonToNode) -> bool:
    """Whether ``message`` sets or deletes a parameter."""
    return isinstance(message, ParamUpdate | ParamDeleted)


class ParamMemory:
    """node -> {key: value JSON} of every parameter set and not deleted since."""

    def __init__(self) -> None:
        self._values: dict[str, dict[str, str]] = {}

    def remember(self, node_id: str, message: DaemonToNode) -> None:
        """``message`` reached the node (or waits for its next incarnation)."""
        if isinstance(message, ParamUpdate):
            self._values.setdefault(node_id, {})[message.key] = message.value_json
        elif isinstance(message, ParamDeleted):
            self._values.get(node_id, {}).pop(message.key, None)

    def replay(self, node_id: str) -> list[ParamUpdate]:
        """What a new incarnation of ``node_id`` is told, by key."""
        values = self._values.get(node_id, {})
        return [ParamUpdate(key=key, value_json=value) for key, value in sorted(values.items())]
