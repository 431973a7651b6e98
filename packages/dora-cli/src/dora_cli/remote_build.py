"""``dora build`` through the coordinator, for dataflows whose nodes are deployed.

When a node (or the dataflow) has a ``_unstable_deploy`` / ``deploy`` section naming a
machine or labels, and ``--local`` is not given, the build goes to the coordinator: it
places the nodes as for a start and each daemon builds its own nodes. The connection
attempt is short (:data:`PROBE_TIMEOUT`); when no coordinator answers, the caller builds
locally. Output lines arrive as ``build_output`` events and the end as
``build_finished`` (see :mod:`dora_message.coordinator_to_cli`).
"""

from __future__ import annotations

from collections.abc import Callable

from dora_cli.client import ControlClient, CoordinatorError, CoordinatorUnreachable, Target
from dora_cli.error_root import CliError
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message.descriptor import Descriptor

PROBE_TIMEOUT = 1.0


class RemoteBuildFailed(CliError):
    """A daemon's build failed; the message names the node and the machine."""


def is_deployed(descriptor: Descriptor) -> bool:
    """Whether any node is pinned to a machine or to labels."""
    sections = [node.placement for node in descriptor.nodes] + [descriptor.deploy]
    return any(s is not None and (s.machine or s.labels) for s in sections)


async def build_via_coordinator(
    target: Target,
    descriptor: Descriptor,
    working_dir: str,
    uv: bool,
    on_output: Callable[[str, str | None, str], None],
) -> bool:
    """Build on the daemons; False when no coordinator answers (nothing was sent).

    ``on_output(node_id, daemon_id, line)`` gets each output line. Raises
    :class:`RemoteBuildFailed` when a build failed, ``CoordinatorError`` when the
    coordinator refused the request (e.g. no daemon for a machine) or went away.
    """
    try:
        client = await ControlClient.connect(target, timeout=PROBE_TIMEOUT)
    except CoordinatorUnreachable:
        return False
    async with client:
        request = req.BuildDataflow(descriptor=descriptor, working_dir=working_dir, uv=uv)
        triggered = await client.request_as(request, rep.BuildTriggered)
        async for event in client.events():
            if isinstance(event, rep.BuildOutputEvent) and event.build_id == triggered.build_id:
                on_output(event.node_id, event.daemon_id, event.line)
            elif isinstance(event, rep.BuildFinishedEvent) and event.build_id == triggered.build_id:
                if event.error is not None:
                    raise RemoteBuildFailed(event.error)
                return True
    raise CoordinatorError(f"lost the connection to the coordinator at {target}")
