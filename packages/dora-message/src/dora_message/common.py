"""Types shared by the daemon, the coordinator and the CLI: log records, node results.

Every Struct here is frozen: a change is a new value (``msgspec.structs.replace``).
"""

from __future__ import annotations

from typing import Literal

import msgspec

LEVELS: tuple[str, ...] = ("error", "warn", "info", "debug", "trace", "stdout")
"""Log levels from most to least severe; ``stdout`` is raw, unstructured output."""


def level_passes(level: str, threshold: str) -> bool:
    """Whether a record at ``level`` is shown with minimum level ``threshold``.

    ``stdout`` as a threshold shows everything; a ``stdout`` record passes only a
    ``stdout`` threshold.
    """
    level, threshold = normalize_level(level), normalize_level(threshold)
    if threshold == "stdout":
        return True
    if level == "stdout":
        return False
    return LEVELS.index(level) <= LEVELS.index(threshold)


def normalize_level(level: str) -> str:
    """Lower-case a level name and map ``warning`` to ``warn``; unknown names raise."""
    name = level.strip().lower()
    if name == "warning":
        name = "warn"
    if name not in LEVELS:
        raise ValueError(f"unknown log level `{level}` (expected one of {', '.join(LEVELS)})")
    return name


class LogMessage(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """One log record of a node, as written to ``log_<node>.jsonl`` and shown by the CLI."""

    timestamp: str
    level: str
    message: str
    dataflow_id: str | None = None
    node_id: str | None = None
    daemon_id: str | None = None
    stream: Literal["stdout", "stderr"] | None = None
    target: str | None = None
    module_path: str | None = None
    file: str | None = None
    line: int | None = None
    fields: dict[str, str] | None = None


class NodeResult(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """How one node ended."""

    node_id: str
    ok: bool
    exit_code: int | None = None
    signal: int | None = None
    cause: str | None = None
    stderr_tail: list[str] = []


class DataflowResult(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """How a whole dataflow ended: one result per spawned node, in descriptor order."""

    dataflow_id: str
    node_results: list[NodeResult] = []

    @property
    def ok(self) -> bool:
        """True when every node ended well."""
        return all(result.ok for result in self.node_results)

    @property
    def error(self) -> str | None:
        """The failed nodes as ``node: cause; ...`` (mainline's summary), or None."""
        failed = [f"{r.node_id}: {r.cause or 'failed'}" for r in self.node_results if not r.ok]
        return "; ".join(failed) or None
