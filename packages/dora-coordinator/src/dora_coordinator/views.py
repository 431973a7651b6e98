"""What the CLI is shown about dataflows and daemons, built from the state (sans-I/O)."""

from __future__ import annotations

from dora_coordinator.state import CoordinatorState, Dataflow, Status
from dora_message.coordinator_to_cli import (
    DaemonRef,
    DaemonSummary,
    DataflowSummary,
    NodeInfo,
    NodeInfoMetrics,
    NodeNetwork,
    NodeSummary,
)


def dataflow_summary(dataflow: Dataflow) -> DataflowSummary:
    """One ``dora list`` row; metrics count only while the dataflow is active."""
    record = dataflow.record
    nodes = [n for owned in record.placement.values() for n in owned]
    live = dataflow.metrics if dataflow.active else {}
    return DataflowSummary(
        uuid=record.uuid,
        status=record.status,
        name=record.name,
        nodes=len(nodes),
        cpu=round(sum(m.cpu for m in live.values()), 1),
        memory_mb=round(sum(m.memory_mb for m in live.values()), 1),
        created_at=record.created_at,
        error=record.error,
        daemons=sorted(record.placement),
    )


def node_summaries(dataflow: Dataflow) -> list[NodeSummary]:
    """Every node with its daemon, last sample and result."""
    results = {r.node_id: r for r in dataflow.record.results}
    for event in dataflow.finished.values():
        results.update({r.node_id: r for r in event.result.node_results})
    rows = []
    for daemon_id, owned in dataflow.record.placement.items():
        for node_id in owned:
            metric = dataflow.metrics.get(node_id) if dataflow.active else None
            result = results.get(node_id)
            if result is not None:
                status = "finished" if result.ok else "failed"
            elif metric is not None and metric.status:
                status = metric.status  # Running | Degraded | Restarting | Failed | Stopped
            elif metric is not None:
                status = "running"
            elif dataflow.status is Status.RECOVERING:
                status = "unknown"
            elif dataflow.active:
                status = "pending"
            else:
                status = "stopped"
            rows.append(
                NodeSummary(
                    node_id=node_id,
                    daemon_id=daemon_id,
                    status=status,
                    pid=metric.pid if metric and metric.pid else None,
                    cpu=metric.cpu if metric else None,
                    memory_mb=metric.memory_mb if metric else None,
                    result=result,
                    restarts=metric.restarts if metric else 0,
                    broken_inputs=list(metric.broken_inputs) if metric else [],
                    pending_messages=metric.pending_messages if metric else None,
                    dropped_messages=dict(metric.dropped_messages) if metric else {},
                )
            )
    return rows


_TOP_STATUSES = frozenset({"running", "restarting", "degraded", "failed", "stopped"})


def node_infos(state: CoordinatorState) -> list[NodeInfo]:
    """``dora top``: every node of every active dataflow with its latest sample.

    ``metrics`` is None while no daemon has reported the node; ``network`` is the
    dataflow's cross-daemon traffic summed over its daemons (None: it crosses none).
    """
    rows = []
    for dataflow in state.dataflows.values():
        if not dataflow.active:
            continue
        network = _network(dataflow)
        for summary in node_summaries(dataflow):
            daemon = state.daemons.get(summary.daemon_id or "")
            metric = dataflow.metrics.get(summary.node_id)
            metrics = None
            if metric is not None:
                status = summary.status.lower()
                if status == "finished":
                    status = "stopped"
                metrics = NodeInfoMetrics(
                    pid=metric.pid or None,
                    cpu_usage=metric.cpu,
                    memory_mb=metric.memory_mb,
                    disk_read_mb_s=metric.disk_read_mb_s,
                    disk_write_mb_s=metric.disk_write_mb_s,
                    restart_count=metric.restarts,
                    broken_inputs=list(metric.broken_inputs),
                    status=status if status in _TOP_STATUSES else "running",
                    pending_messages=metric.pending_messages,
                    dropped_messages=dict(metric.dropped_messages),
                )
            rows.append(
                NodeInfo(
                    dataflow_id=dataflow.uuid,
                    dataflow_name=dataflow.record.name,
                    node_id=summary.node_id,
                    daemon_id=DaemonRef(
                        machine_id=daemon.machine_id if daemon else None,
                        uuid=summary.daemon_id or "",
                    ),
                    metrics=metrics,
                    network=network,
                )
            )
    return rows


def _network(dataflow: Dataflow) -> NodeNetwork | None:
    if not dataflow.network:
        return None
    samples = list(dataflow.network.values())
    return NodeNetwork(
        bytes_sent=sum(s.bytes_sent for s in samples),
        bytes_received=sum(s.bytes_received for s in samples),
        messages_sent=sum(s.messages_sent for s in samples),
        messages_received=sum(s.messages_received for s in samples),
        publish_failures=sum(s.publish_failures for s in samples),
    )


def daemon_summaries(state: CoordinatorState, now: float) -> list[DaemonSummary]:
    """The connected daemons in registration order."""
    rows = []
    for daemon in state.daemons.values():
        count = sum(
            1
            for d in state.dataflows.values()
            if d.active and daemon.daemon_id in d.record.placement
        )
        rows.append(
            DaemonSummary(
                daemon_id=daemon.daemon_id,
                machine_id=daemon.machine_id,
                labels=daemon.labels,
                last_heartbeat_ago_ms=max(0, int((now - daemon.last_seen) * 1000)),
                dataflows=count,
                zenoh_endpoints=list(daemon.zenoh_endpoints),
            )
        )
    return rows
