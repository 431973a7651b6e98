"""What ``dora top`` shows, from a ``GetNodeInfo`` snapshot (pure, no textual).

Turns :class:`~dora_message.coordinator_to_cli.NodeInfo` records into sorted table
rows of text: the column set, the sort order the keys ``n``/``c``/``m`` switch, and the
cell formats of templates-and-misc.md §6 (``-`` where nothing was measured or reported,
``N/A`` for a missing pid or I/O rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dora_message.coordinator_to_cli import NodeInfo

SortKey = Literal["name", "cpu", "memory"]

COLUMNS: tuple[str, ...] = (
    "NODE",
    "STATUS",
    "DATAFLOW",
    "PID",
    "CPU%",
    "MEMORY (MB)",
    "RESTARTS",
    "QUEUE",
    "DROPPED",
    "NET TX",
    "NET RX",
    "I/O READ (MB/s)",
    "I/O WRITE (MB/s)",
)
SORT_COLUMN: dict[SortKey, str] = {"name": "NODE", "cpu": "CPU%", "memory": "MEMORY (MB)"}
STATUS_STYLE = {"Degraded": "yellow", "Failed": "red", "Restarting": "red"}


@dataclass(frozen=True)
class SortOrder:
    """The active sort column and direction (default: CPU, descending)."""

    key: SortKey = "cpu"
    descending: bool = True

    def press(self, key: SortKey) -> SortOrder:
        """The order after pressing ``key``: the active key flips direction, another
        key starts descending."""
        if key == self.key:
            return SortOrder(key, not self.descending)
        return SortOrder(key, True)


def node_key(node: NodeInfo) -> tuple[str, str]:
    """Identity of a row across refreshes."""
    return (node.dataflow_id, node.node_id)


def sort_nodes(nodes: list[NodeInfo], order: SortOrder) -> list[NodeInfo]:
    """``nodes`` in display order; nodes without metrics sort as 0 CPU / memory."""

    def value(node: NodeInfo) -> tuple[float | str, str, str]:
        metrics = node.metrics
        primary: float | str
        if order.key == "name":
            primary = node.node_id
        elif order.key == "cpu":
            primary = metrics.cpu_usage if metrics else 0.0
        else:
            primary = metrics.memory_mb if metrics else 0.0
        return (primary, node.node_id, node.dataflow_id)

    return sorted(nodes, key=value, reverse=order.descending)


def header(order: SortOrder) -> list[str]:
    """Column labels with ▲ / ▼ on the active sort column."""
    active = SORT_COLUMN[order.key]
    arrow = "▼" if order.descending else "▲"
    return [f"{c} {arrow}" if c == active else c for c in COLUMNS]


def status_text(node: NodeInfo) -> str:
    """``Running``, ``Restarting``, ``Degraded``, ``Failed``, ``Stopped`` or ``Unknown``."""
    if node.metrics is None:
        return "Unknown"
    return node.metrics.status.capitalize()


def format_bytes(count: int) -> str:
    """``-`` for 0, else B / KB / MB / GB with one decimal (1024-based)."""
    if count <= 0:
        return "-"
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def _rate(value: float | None) -> str:
    return "N/A" if value is None else f"{value:.1f}"


def row_cells(node: NodeInfo) -> list[str]:
    """The cells of one row, in :data:`COLUMNS` order."""
    metrics = node.metrics
    network = node.network
    name = node.dataflow_name or "<unnamed>"
    tx = format_bytes(network.bytes_sent) if network else "-"
    rx = format_bytes(network.bytes_received) if network else "-"
    if metrics is None:
        return [node.node_id, "Unknown", name, "N/A", "-", "-", "-", "-", "-", tx, rx, "N/A", "N/A"]
    queue = metrics.pending_messages
    dropped = sum(metrics.dropped_messages.values())  # missed while restarting, all inputs
    return [
        node.node_id,
        status_text(node),
        name,
        str(metrics.pid) if metrics.pid else "N/A",
        f"{metrics.cpu_usage:.1f}%",
        f"{metrics.memory_mb:.1f}",
        str(metrics.restart_count),
        "-" if queue is None else str(queue),
        str(dropped) if dropped else "-",
        tx,
        rx,
        _rate(metrics.disk_read_mb_s),
        _rate(metrics.disk_write_mb_s),
    ]
