"""Single-node requests: ``dora node restart`` and ``dora node stop``.

The coordinator finds the daemon that runs the node and forwards the command; the daemon
runs the stop ladder on that node alone (see ``dora_daemon.supervisor``). A restart is
answered once it began, a stop once the node has exited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dora_coordinator.model import StateError, Status
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message import coordinator_to_daemon as to_daemon
from dora_message.daemon_to_coordinator import NodeEnded

if TYPE_CHECKING:
    from dora_coordinator.operations import DataflowOperations

COMMAND_TIMEOUT = 10.0
DEFAULT_STOP_GRACE = 10.0


async def node_request(
    ops: DataflowOperations, body: req.RestartNode | req.StopNode
) -> rep.NodeRestarting | rep.NodeStopped:
    """Forward a single-node request to the node's daemon and wait for its answer."""
    name = "restart_node" if isinstance(body, req.RestartNode) else "stop_node"
    with ops.tracer.span(name, dataflow=body.dataflow, node_id=body.node):
        return await _node_request(ops, body)


async def _node_request(
    ops: DataflowOperations, body: req.RestartNode | req.StopNode
) -> rep.NodeRestarting | rep.NodeStopped:
    dataflow = ops.state.resolve(body.dataflow)
    uuid = dataflow.uuid
    if dataflow.status is not Status.RUNNING:
        raise StateError(f"dataflow {uuid} is not running (it is {dataflow.status.lower()})")
    placement = dataflow.record.placement
    daemon_id = next((d for d, nodes in placement.items() if body.node in nodes), None)
    if daemon_id is None:
        known = ", ".join(n for nodes in placement.values() for n in nodes)
        raise StateError(f"dataflow {uuid} has no node `{body.node}` (nodes: {known})")
    link = ops.daemons.get(daemon_id)
    if link is None:
        raise StateError(f"daemon {daemon_id} of node `{body.node}` is not connected")
    if isinstance(body, req.RestartNode):
        restart = to_daemon.RestartNode(
            dataflow_id=uuid, node_id=body.node, grace_duration=body.grace_duration
        )
        await link.command(restart, COMMAND_TIMEOUT)
        return rep.NodeRestarting(uuid=uuid, node=body.node)
    grace = DEFAULT_STOP_GRACE if body.grace_duration is None else body.grace_duration
    stop = to_daemon.StopNode(dataflow_id=uuid, node_id=body.node, grace_duration=grace)
    ended = await link.command(stop, grace * 1.5 + COMMAND_TIMEOUT)
    result = ended.result if isinstance(ended, NodeEnded) else None
    return rep.NodeStopped(uuid=uuid, node=body.node, result=result)
