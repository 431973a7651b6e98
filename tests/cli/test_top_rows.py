"""The pure part of `dora top`: sort order, cell formats, the JSON snapshot."""

from __future__ import annotations

import json

import msgspec

from dora_cli.commands.top import snapshot_json
from dora_cli.tui.top_rows import (
    COLUMNS,
    SortOrder,
    format_bytes,
    header,
    row_cells,
    sort_nodes,
)
from dora_message.coordinator_to_cli import (
    DaemonRef,
    NodeInfo,
    NodeInfoMetrics,
    NodeNetwork,
)


def node(
    node_id: str,
    cpu: float = 0.0,
    memory: float = 0.0,
    status: str = "running",
    measured: bool = True,
    network: NodeNetwork | None = None,
) -> NodeInfo:
    metrics = NodeInfoMetrics(pid=100, cpu_usage=cpu, memory_mb=memory, status=status)
    return NodeInfo(
        dataflow_id="df-1",
        dataflow_name="demo",
        node_id=node_id,
        daemon_id=DaemonRef(uuid="d-1"),
        metrics=metrics if measured else None,
        network=network,
    )


def test_sort_keys_toggle_and_start_descending() -> None:
    nodes = [node("b", cpu=5, memory=30), node("a", cpu=50, memory=10), node("c", cpu=1)]
    order = SortOrder()
    assert [n.node_id for n in sort_nodes(nodes, order)] == ["a", "b", "c"]  # CPU ▼
    order = order.press("memory")
    assert order == SortOrder("memory", True)
    assert [n.node_id for n in sort_nodes(nodes, order)] == ["b", "a", "c"]
    order = order.press("name")
    assert [n.node_id for n in sort_nodes(nodes, order)] == ["c", "b", "a"]
    order = order.press("name")
    assert order == SortOrder("name", False)
    assert [n.node_id for n in sort_nodes(nodes, order)] == ["a", "b", "c"]
    assert header(order)[0] == "NODE ▲" and header(SortOrder())[4] == "CPU% ▼"


def test_cells_show_measurements_and_honest_gaps() -> None:
    cells = row_cells(node("cam", cpu=123.45, memory=42.06, status="degraded"))
    assert len(cells) == len(COLUMNS)
    assert cells[:8] == ["cam", "Degraded", "demo", "100", "123.5%", "42.1", "0", "-"]
    assert cells[8:] == ["-", "-", "-", "N/A", "N/A"]  # no drops, network or I/O sample yet
    unknown = row_cells(node("new", measured=False))
    assert unknown[1] == "Unknown" and unknown[3] == "N/A"
    traffic = NodeNetwork(bytes_sent=1536, bytes_received=5 * 1024 * 1024)
    assert row_cells(node("x", network=traffic))[9:11] == ["1.5 KB", "5.0 MB"]
    missed = node("rx")
    assert missed.metrics is not None
    dropped = msgspec.structs.replace(missed.metrics, dropped_messages={"a": 3, "b": 4})
    missed = msgspec.structs.replace(missed, metrics=dropped)
    assert row_cells(missed)[8] == "7"  # DROPPED: every input


def test_format_bytes_units() -> None:
    assert format_bytes(0) == "-"
    assert format_bytes(512) == "512 B"
    assert format_bytes(2048) == "2.0 KB"
    assert format_bytes(3 * 1024**3) == "3.0 GB"
    assert format_bytes(5000 * 1024**3) == "5000.0 GB"


def test_snapshot_json_keeps_nulls_and_field_names() -> None:
    [entry] = json.loads(snapshot_json([node("cam", cpu=2.5, memory=9.0)]))
    assert entry["daemon_id"] == {"machine_id": None, "uuid": "d-1"}
    assert entry["network"] is None
    assert entry["metrics"]["cpu_usage"] == 2.5
    assert set(entry["metrics"]) == {
        "pid",
        "cpu_usage",
        "memory_mb",
        "disk_read_mb_s",
        "disk_write_mb_s",
        "restart_count",
        "broken_inputs",
        "status",
        "pending_messages",
        "dropped_messages",
    }
    assert json.loads(snapshot_json([])) == []
