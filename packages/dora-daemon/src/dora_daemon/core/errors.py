"""Errors of the dataflow core."""

from __future__ import annotations

from dora_message.errors import DoraError


class NodeControlError(DoraError):
    """A single-node command that cannot be carried out (unknown node, not running)."""
