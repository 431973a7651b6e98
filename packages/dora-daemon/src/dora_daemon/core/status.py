"""What ``dora node list`` / ``dora node info`` show about one node."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from dora_daemon.core.dynamic_nodes import DynamicNodes
from dora_daemon.core.supervised import Supervised
from dora_daemon.health import FaultCounters
from dora_daemon.missed import MissedMessages


class NodeStatus(msgspec.Struct, frozen=True):
    """Supervision facts of one node, for the coordinator's ``node_metrics``."""

    status: str  # Running | Degraded | Restarting | Failed | Stopped (dynamic: Waiting | Left)
    restarts: int
    pid: int | None
    broken_inputs: tuple[str, ...] = ()
    pending: int | None = None  # messages in its input queues (None: no process)
    # messages it missed per input (restarts, not running: see dora_daemon.missed)
    dropped: dict[str, int] = {}
    dynamic: bool = False  # a `path: dynamic` node: its process is not the daemon's child


def node_statuses(
    nodes: Mapping[str, Supervised],
    dynamic: DynamicNodes,
    *,
    pids: Mapping[str, int],
    dynamic_peers: Mapping[str, int | None],
    pending: Mapping[str, int],
    fault_counters: FaultCounters,
    missed: MissedMessages,
) -> dict[str, NodeStatus]:
    """Every node's status: ``nodes`` spawned (``pids``: their live processes), then the
    ``dynamic`` ones (``dynamic_peers``: connected, with their pid; None: unknown);
    ``pending``: messages in each node's input queues."""
    statuses = {}
    for node_id, node in nodes.items():
        alive = node_id in pids
        broken = tuple(fault_counters.broken(node_id)) if alive else ()
        status = "Degraded" if node.status == "Running" and broken else node.status
        statuses[node_id] = NodeStatus(
            status=status,
            restarts=node.restarts,
            pid=pids.get(node_id),
            broken_inputs=broken,
            pending=pending.get(node_id, 0) if alive else None,
            dropped=missed.totals(node_id),
        )
    for node_id in dynamic.ids():
        connected = node_id in dynamic_peers
        statuses[node_id] = NodeStatus(
            status="Running" if connected else dynamic.state(node_id),
            restarts=0,
            pid=dynamic_peers.get(node_id),
            pending=pending.get(node_id) if connected else None,
            dropped=missed.totals(node_id),
            dynamic=True,
        )
    return statuses
