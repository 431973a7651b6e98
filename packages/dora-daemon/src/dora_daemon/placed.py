"""The part of a coordinator command that concerns this daemon.

A spawn or build command carries the whole descriptor, the ids of the nodes placed on
this daemon and the CLI's dataflow directory. Both commands pick their nodes and their
directory the same way, here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec

from dora_daemon.errors import DaemonError
from dora_message.descriptor import Descriptor

log = logging.getLogger(__name__)


class PlacedNodesError(DaemonError):
    """The command is unusable here: its descriptor lacks a node placed on this daemon."""


def placed_nodes(full: Descriptor, nodes: list[str]) -> tuple[Descriptor, Descriptor]:
    """The full descriptor, and a copy holding only ``nodes`` (those placed here).

    The descriptor arrives decoded and checked with the command; a node placed here that
    it lacks makes the command unusable."""
    wanted = set(nodes)
    missing = wanted - {node.id for node in full.nodes}
    if missing:
        raise PlacedNodesError(f"nodes not in the descriptor: {', '.join(sorted(missing))}")
    ours = msgspec.structs.replace(full, nodes=[n for n in full.nodes if n.id in wanted])
    return full, ours


def local_dir(requested: str | None) -> Path:
    """The CLI's dataflow directory when it exists on this machine, else the daemon's own."""
    if requested:
        path = Path(requested)
        if path.is_dir():
            return path
        log.warning("dataflow dir %s does not exist on this machine; using %s", path, Path.cwd())
    return Path.cwd()
