"""The actions of the event being handled, in the order they were decided."""

from __future__ import annotations

from dora_daemon.core import actions as act
from dora_message.common import LogMessage
from dora_message.node_protocol import DaemonToNode


class Outbox:
    """Where every part of the core puts its actions; also the router's sender (its
    messages become ``Send`` actions) and its log sink (``Display``)."""

    def __init__(self) -> None:
        self._actions: list[act.Action] = []

    def add(self, action: act.Action) -> None:
        self._actions.append(action)

    def send(self, node_id: str, message: DaemonToNode) -> None:
        self._actions.append(act.Send(node_id, message))

    def send_droppable(self, node_id: str, message: DaemonToNode, limit: int) -> None:
        self._actions.append(act.SendDroppable(node_id, message, limit))

    def display(self, record: LogMessage) -> None:
        self._actions.append(act.Display(record))

    def take(self) -> list[act.Action]:
        """The actions so far, handed over once; the outbox starts empty again."""
        taken, self._actions = self._actions, []
        return taken
