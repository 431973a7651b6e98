"""``dora param list|get|set|delete`` on the coordinator, and the catch-up after a reconnect.

Target resolution (spec/templates-and-misc.md §4): the dataflow is a UUID (any status the
coordinator still knows) or the name of an active dataflow, and the node must belong to
it. ``set`` and ``delete`` write the store first; while the dataflow is active the change
is then forwarded to the daemon running the node, which pushes ``PARAM_UPDATE`` /
``PARAM_DELETED`` into the node's event stream. A failed delivery fails the request but
the stored value stays. When a daemon reconnects and reports a dataflow the coordinator
knows, :func:`replay_params` sends it the complete stored state of its nodes; the daemon
delivers only what changed (see ``dora_daemon.params``).
"""

from __future__ import annotations

import logging

import msgspec

from dora_coordinator.links import Link, Links
from dora_coordinator.model import Dataflow
from dora_coordinator.params import (
    ParamError,
    check_key,
    check_room,
    check_value,
    decode_value,
    entry_bytes,
    not_found,
)
from dora_coordinator.state import CoordinatorState
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message import coordinator_to_daemon as to_daemon
from dora_message.errors import DoraError

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 10.0


async def param_request(
    state: CoordinatorState, links: Links, body: req.ParamRequest
) -> rep.ControlReply:
    """Answer one ``dora param`` request."""
    dataflow = state.resolve(body.dataflow)
    uuid = dataflow.uuid
    if body.node not in dataflow_nodes(dataflow):
        raise ParamError(f"node `{body.node}` not found in dataflow `{uuid}`")
    store = state.store
    match body:
        case req.ListParams(node=node):
            params = {}
            for _node, key, value_json in store.list_node_params(uuid, node):
                try:
                    params[key] = decode_value(value_json)
                except msgspec.DecodeError:
                    log.warning("param %s of node %s in %s is unreadable: skipped", key, node, uuid)
            return rep.ParamList(params=params)
        case req.GetParam(node=node, key=key):
            check_key(key)
            stored = store.get_node_param(uuid, node, key)
            if stored is None:
                raise not_found(key)
            return rep.ParamValue(key=key, value=decode_value(stored))
        case req.SetParam(node=node, key=key, value_json=value_json):
            value = value_json.encode()
            check_key(key)
            check_value(value)
            # no await between this check and the write: nothing else can fill the room
            usage = store.param_usage(uuid, node, key)
            check_room(state.limits, node, usage, entry_bytes(key, value))
            store.put_node_param(uuid, node, key, value)
            if dataflow.active:
                command = to_daemon.SetParam(
                    dataflow_id=uuid, node_id=node, key=key, value_json=value_json
                )
                await _forward(links, dataflow, node, command)
            return rep.ParamStored()
        case req.DeleteParam(node=node, key=key):
            check_key(key)
            if not store.delete_node_param(uuid, node, key):
                raise not_found(key)
            if dataflow.active:
                delete = to_daemon.DeleteParam(dataflow_id=uuid, node_id=node, key=key)
                await _forward(links, dataflow, node, delete)
            return rep.ParamRemoved()
    raise DoraError(f"unexpected request {type(body).__name__}")


def dataflow_nodes(dataflow: Dataflow) -> set[str]:
    """Every node id of the dataflow: placed ones and those of the stored descriptor."""
    nodes = {node for owned in dataflow.record.placement.values() for node in owned}
    for entry in dataflow.record.descriptor.get("nodes") or []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            nodes.add(entry["id"])
    return nodes


async def _forward(
    links: Links,
    dataflow: Dataflow,
    node: str,
    command: to_daemon.SetParam | to_daemon.DeleteParam,
) -> None:
    placement = dataflow.record.placement
    daemon_id = next((d for d, nodes in placement.items() if node in nodes), None)
    link = None if daemon_id is None else links.get(daemon_id)
    try:
        if link is None:
            raise DoraError(f"daemon {daemon_id or '?'} of node `{node}` is not connected")
        await link.command(command, COMMAND_TIMEOUT)
    except DoraError as error:
        raise ParamError(f"stored, but not delivered to node `{node}`: {error}") from None


async def replay_params(
    state: CoordinatorState, link: Link, dataflow_id: str, nodes: list[str]
) -> None:
    """State catch-up: send the daemon every stored parameter of its ``nodes``."""
    try:
        params: dict[str, dict[str, str]] = {node: {} for node in nodes}
        for node, key, value_json in state.store.list_node_params(dataflow_id):
            if node in params:
                params[node][key] = value_json.decode()
        replay = to_daemon.ReplayParams(dataflow_id=dataflow_id, params=params)
        await link.command(replay, COMMAND_TIMEOUT)
    except DoraError as error:
        log.warning("could not replay params of %s to %s: %s", dataflow_id, link.daemon_id, error)
