"""Runtime parameters on the daemon: ``set_param`` / ``delete_param`` / ``replay_params``.

The coordinator stores parameters (``dora param``) and forwards each change here; the
daemon pushes it into the node's event stream as ``ParamUpdate`` / ``ParamDeleted``,
which the node API yields as ``PARAM_UPDATE`` / ``PARAM_DELETED`` events. A change that
cannot be delivered (node not connected, channel closed or full) fails the command.

:class:`ParamMirror` (sans-I/O) remembers what each node was told. After a reconnect
the coordinator sends the complete stored state of this daemon's nodes
(``replay_params``); the mirror turns it into the updates and deletions the nodes missed,
so nothing is delivered twice.
"""

from __future__ import annotations

from typing import Protocol

from dora_message import coordinator_to_daemon as cmd
from dora_message import daemon_to_coordinator as ev
from dora_message.errors import DoraError
from dora_message.node_protocol import DaemonToNode, ParamDeleted, ParamUpdate

ParamMessage = ParamUpdate | ParamDeleted


class Deliverer(Protocol):
    """What the dataflow offers: push a message that must reach the node."""

    def deliver(self, node_id: str, message: DaemonToNode) -> None:
        """Send, or raise a DoraError saying why not."""


class ParamMirror:
    """What every node of every hosted dataflow was last told about its parameters."""

    def __init__(self) -> None:
        self._told: dict[tuple[str, str], dict[str, str]] = {}

    def delivered(self, dataflow_id: str, node_id: str, message: ParamMessage) -> None:
        """``message`` reached the node."""
        told = self._told.setdefault((dataflow_id, node_id), {})
        if isinstance(message, ParamUpdate):
            told[message.key] = message.value_json
        else:
            told.pop(message.key, None)

    def missed(
        self, dataflow_id: str, params: dict[str, dict[str, str]]
    ) -> list[tuple[str, ParamMessage]]:
        """The messages that bring the nodes named in ``params`` to that (complete) state."""
        changes: list[tuple[str, ParamMessage]] = []
        for node_id, wanted in sorted(params.items()):
            told = self._told.get((dataflow_id, node_id), {})
            for key in sorted(told.keys() - wanted.keys()):
                changes.append((node_id, ParamDeleted(key=key)))
            for key, value_json in sorted(wanted.items()):
                if told.get(key) != value_json:
                    changes.append((node_id, ParamUpdate(key=key, value_json=value_json)))
        return changes

    def forget(self, dataflow_id: str) -> None:
        """The dataflow ended here."""
        for ident in [ident for ident in self._told if ident[0] == dataflow_id]:
            del self._told[ident]


def param_command(
    mirror: ParamMirror,
    dataflow: Deliverer,
    command: cmd.SetParam | cmd.DeleteParam | cmd.ReplayParams,
) -> ev.Done:
    """Carry out a parameter command; raises DoraError when a node was not reached."""
    dataflow_id = command.dataflow_id
    if isinstance(command, cmd.ReplayParams):
        failures = []
        for node_id, message in mirror.missed(dataflow_id, command.params):
            try:
                _deliver(mirror, dataflow, dataflow_id, node_id, message)
            except DoraError as error:
                failures.append(f"{node_id}/{message.key}: {error}")
        if failures:
            raise DoraError("param catch-up incomplete: " + "; ".join(failures))
        return ev.Done()
    message: ParamMessage
    if isinstance(command, cmd.SetParam):
        message = ParamUpdate(key=command.key, value_json=command.value_json)
    else:
        message = ParamDeleted(key=command.key)
    _deliver(mirror, dataflow, dataflow_id, command.node_id, message)
    return ev.Done()


def _deliver(
    mirror: ParamMirror, dataflow: Deliverer, dataflow_id: str, node_id: str, message: ParamMessage
) -> None:
    dataflow.deliver(node_id, message)
    mirror.delivered(dataflow_id, node_id, message)
