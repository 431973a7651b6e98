"""Errors of the dataflow core."""

from __future__ import annotations

from dora_daemon.errors import DaemonError


class NodeControlError(DaemonError):
    """A single-node command that cannot be carried out (unknown node, not running)."""
