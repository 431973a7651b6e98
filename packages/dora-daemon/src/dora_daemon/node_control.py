"""Single-node commands of a coordinator-driven daemon, and node statuses for metrics.

``dora node restart`` / ``dora node stop`` reach the daemon as ``restart_node`` /
``stop_node`` commands; the dataflow's core (:mod:`dora_daemon.core.dataflow`) decides
what they do. A hot reload (``reload``, from ``dora start --hot-reload``) is pushed
into the node's event stream as a ``Reload`` message; the operator runtime re-imports
its file (see ``dora.runtime``). Node statuses (Running, Degraded, Restarting, Failed, Stopped),
restart counts and broken inputs travel to the coordinator inside ``node_metrics``.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from dora_daemon.core.status import NodeStatus
from dora_message import coordinator_to_daemon as cmd
from dora_message import daemon_to_coordinator as ev
from dora_message.common import NodeResult
from dora_message.node_protocol import DaemonToNode, Reload

__all__ = ["ControlledDataflow", "NodeStatus", "merge_statuses", "node_command", "reload_command"]


class ControlledDataflow(Protocol):
    """What single-node commands need of a running dataflow."""

    def restart_node(self, node_id: str, grace: float | None = None) -> None: ...

    async def stop_node(self, node_id: str, grace: float | None = None) -> NodeResult | None: ...

    def deliver(self, node_id: str, message: DaemonToNode) -> None: ...


async def node_command(
    dataflow: ControlledDataflow, command: cmd.RestartNode | cmd.StopNode
) -> ev.CommandResult:
    """Carry out a single-node command; raises ``NodeControlError`` (a DoraError)."""
    if isinstance(command, cmd.RestartNode):
        dataflow.restart_node(command.node_id, command.grace_duration)
        return ev.Done()
    result = await dataflow.stop_node(command.node_id, command.grace_duration)
    return ev.NodeEnded(result=result)


def reload_command(dataflow: ControlledDataflow, command: cmd.ReloadOperator) -> ev.CommandResult:
    """Push a hot reload to the operator's node; raises ``NodeControlError`` when the node
    is unknown here or cannot be reached."""
    dataflow.deliver(command.node_id, Reload(operator_id=command.operator_id))
    return ev.Done()


def merge_statuses(metrics: dict[str, ev.NodeMetric], statuses: dict[str, NodeStatus]) -> None:
    """Add supervision facts to process samples; nodes without a process get a row too."""
    for node_id, status in statuses.items():
        metric = metrics.get(node_id)
        if metric is None:
            if status.status in ("Running", "Degraded") and not status.dynamic:
                continue  # spawned since the sample was taken: next time
            metric = ev.NodeMetric(pid=status.pid or 0)
        metrics[node_id] = msgspec.structs.replace(
            metric,
            status=status.status,
            restarts=status.restarts,
            broken_inputs=list(status.broken_inputs),
            pending_messages=status.pending,
            dropped_messages=dict(status.dropped),
        )
