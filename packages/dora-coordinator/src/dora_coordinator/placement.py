"""Which daemon runs which node (spec/runtime.md §14.4), sans-I/O.

A node's ``_unstable_deploy`` / ``deploy`` section (or the dataflow-level ``deploy``)
picks its daemon: ``machine`` names the daemon's machine id; otherwise ``labels`` must all
be present on the daemon; otherwise the node goes to the local daemon (the first one
registered without a machine id), or to the first daemon registered when every daemon
has a machine id.

Nodes reading from nodes on other daemons are fine: the daemons carry that data over
zenoh (see docs/distributed.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dora_coordinator.errors import CoordinatorServerError
from dora_message.descriptor import Deploy, Descriptor, Node


class PlacementError(CoordinatorServerError):
    """The nodes of a dataflow cannot be assigned to the connected daemons."""


@dataclass
class DaemonCandidate:
    """What placement needs to know about a connected daemon."""

    daemon_id: str
    machine_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def place_nodes(descriptor: Descriptor, daemons: Sequence[DaemonCandidate]) -> dict[str, str]:
    """Map every node id to a daemon id; ``daemons`` in registration order."""
    if not daemons:
        raise PlacementError("no daemon is connected to the coordinator (run `dora up`)")
    placement: dict[str, str] = {}
    for node in descriptor.nodes:
        deploy = node.placement or descriptor.deploy
        placement[node.id] = _pick(node, deploy, daemons).daemon_id
    return placement


def _pick(node: Node, deploy: Deploy | None, daemons: Sequence[DaemonCandidate]) -> DaemonCandidate:
    if deploy is not None and deploy.machine:
        for daemon in daemons:
            if daemon.machine_id == deploy.machine:
                return daemon
        known = ", ".join(sorted(d.machine_id for d in daemons if d.machine_id)) or "none"
        raise PlacementError(
            f"node `{node.id}` must run on machine `{deploy.machine}`, but no daemon with "
            f"that machine id is connected (connected machine ids: {known})"
        )
    if deploy is not None and deploy.labels:
        wanted = deploy.labels
        for daemon in daemons:
            if all(daemon.labels.get(key) == value for key, value in wanted.items()):
                return daemon
        shown = ",".join(f"{k}={v}" for k, v in sorted(wanted.items()))
        raise PlacementError(
            f"node `{node.id}` needs a daemon with labels {shown}, but no connected daemon "
            "has all of them"
        )
    for daemon in daemons:
        if daemon.machine_id is None:
            return daemon
    return daemons[0]


def group_by_daemon(placement: dict[str, str]) -> dict[str, list[str]]:
    """``{daemon id: [node ids]}`` in descriptor order."""
    grouped: dict[str, list[str]] = {}
    for node_id, daemon_id in placement.items():
        grouped.setdefault(daemon_id, []).append(node_id)
    return grouped
