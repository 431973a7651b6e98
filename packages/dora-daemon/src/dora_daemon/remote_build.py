"""Builds the coordinator asks for (``dora build`` of a dataflow with deployed nodes).

The daemon builds only the nodes placed on it: a sub-descriptor holding just those nodes
goes through the same :func:`~dora_daemon.sources.resolve_sources` and
:func:`~dora_daemon.build.build_dataflow` as a local build, in the CLI's dataflow
directory when it exists on this machine (else the daemon's own directory). Each output
line goes back as a ``build_output`` event; a failure raises
:class:`~dora_daemon.build.BuildError`, which becomes the command's error reply.

The build commands see ``DORA_MACHINE_ID`` (this daemon's machine id, when it has one)
and ``DORA_DAEMON_ID``, set as dataflow-level ``env`` so a node's own ``env`` still wins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from dora_daemon.build import build_dataflow
from dora_daemon.placed import local_dir, placed_nodes
from dora_daemon.sources import default_cache_dir, resolve_sources
from dora_message import coordinator_to_daemon as cmd
from dora_message import daemon_to_coordinator as ev
from dora_message.constants import ENV_DAEMON_ID, ENV_MACHINE_ID
from dora_message.descriptor import Descriptor, EnvValue

log = logging.getLogger(__name__)


def build_descriptor(
    command: cmd.BuildDataflow, daemon_id: str | None
) -> tuple[Descriptor, list[str]]:
    """The sub-descriptor of the nodes placed here, with the machine env added."""
    full, ours = placed_nodes(command.descriptor, command.nodes)
    env: dict[str, EnvValue] = dict(full.env or {})
    if command.machine_id:
        env[ENV_MACHINE_ID] = command.machine_id
    if daemon_id:
        env[ENV_DAEMON_ID] = daemon_id
    return msgspec.structs.replace(ours, env=env or None), sorted(command.nodes)


async def run_remote_build(
    command: cmd.BuildDataflow,
    emit: Callable[[ev.DaemonEvent], None],
    daemon_id: str | None,
) -> None:
    """Fetch the sources of and build the nodes placed here; raises on the first failure."""
    descriptor, nodes = build_descriptor(command, daemon_id)
    base_dir = local_dir(command.working_dir)
    log.info("build %s: building %s in %s", command.build_id, ", ".join(nodes), base_dir)

    def on_output(node_id: str, line: str) -> None:
        emit(ev.BuildOutput(build_id=command.build_id, node_id=node_id, line=line))

    sources = await resolve_sources(descriptor, base_dir, default_cache_dir())
    working_dirs = {node: source.working_dir for node, source in sources.items()}
    await build_dataflow(
        descriptor, base_dir, uv=command.uv, working_dirs=working_dirs, on_output=on_output
    )
    log.info("build %s: done", command.build_id)
