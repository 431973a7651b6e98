"""Single-node requests: ``dora node restart``, ``dora node stop`` and hot reload.

The coordinator finds the daemon that runs the node and forwards the command; the daemon
runs the stop ladder on that node alone (see ``dora_daemon.supervisor``). A restart is
answered once it began, a stop once the node has exited. A hot reload
(``dora start --hot-reload``) is answered once the daemon pushed it to the node.
"""

from __future__ import annotations

from dora_coordinator.links import Link, Links
from dora_coordinator.model import StateError, Status
from dora_coordinator.state import CoordinatorState
from dora_coordinator.tracing import SpanRecorder
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message import coordinator_to_daemon as to_daemon
from dora_message.daemon_to_coordinator import NodeEnded

COMMAND_TIMEOUT = 10.0
DEFAULT_STOP_GRACE = 10.0


async def node_request(
    state: CoordinatorState,
    links: Links,
    tracer: SpanRecorder,
    body: req.RestartNode | req.StopNode,
) -> rep.NodeRestarting | rep.NodeStopped:
    """Forward a single-node request to the node's daemon and wait for its answer."""
    name = "restart_node" if isinstance(body, req.RestartNode) else "stop_node"
    with tracer.span(name, dataflow=body.dataflow, node_id=body.node):
        return await _node_request(state, links, body)


async def reload_request(
    state: CoordinatorState, links: Links, tracer: SpanRecorder, body: req.ReloadOperator
) -> rep.OperatorReloading:
    """Forward a hot reload of one Python operator to the daemon running its node."""
    with tracer.span("reload_operator", dataflow=body.dataflow, node_id=body.node):
        uuid, link = _node_daemon(state, links, body.dataflow, body.node)
        reload = to_daemon.ReloadOperator(
            dataflow_id=uuid, node_id=body.node, operator_id=body.operator
        )
        await link.command(reload, COMMAND_TIMEOUT)
        return rep.OperatorReloading(uuid=uuid, node=body.node, operator=body.operator)


def _node_daemon(state: CoordinatorState, links: Links, ident: str, node: str) -> tuple[str, Link]:
    """The uuid of running dataflow ``ident`` and the link to the daemon running ``node``."""
    dataflow = state.resolve(ident)
    uuid = dataflow.uuid
    if dataflow.status is not Status.RUNNING:
        raise StateError(f"dataflow {uuid} is not running (it is {dataflow.status.lower()})")
    placement = dataflow.record.placement
    daemon_id = next((d for d, nodes in placement.items() if node in nodes), None)
    if daemon_id is None:
        known = ", ".join(n for nodes in placement.values() for n in nodes)
        raise StateError(f"dataflow {uuid} has no node `{node}` (nodes: {known})")
    link = links.get(daemon_id)
    if link is None:
        raise StateError(f"daemon {daemon_id} of node `{node}` is not connected")
    return uuid, link


async def _node_request(
    state: CoordinatorState, links: Links, body: req.RestartNode | req.StopNode
) -> rep.NodeRestarting | rep.NodeStopped:
    uuid, link = _node_daemon(state, links, body.dataflow, body.node)
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
