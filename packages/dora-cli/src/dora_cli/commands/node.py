"""``dora node list|info|restart|stop``: nodes of a running dataflow (needs a coordinator).

``list`` shows each node's status (Running, Degraded when an ``input_timeout`` circuit
breaker is open, Restarting, Failed, Stopped), pid, CPU, memory and restart count.
``restart`` stops the node (Stop, then SIGTERM after the grace, SIGKILL half a grace
later; default grace 5 s) and the daemon starts it again at once, whatever its restart
policy. ``stop`` stops it for good (default grace 10 s); the dataflow goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.completion import complete_running_node_ids
from dora_cli.coordinator_options import coordinator_options
from dora_cli.dataflow_query import dataflow_option
from dora_cli.errors import EXIT_FAILURE, reports_errors
from dora_cli.options import duration, format_option

if TYPE_CHECKING:
    from dora_cli.client import Target
    from dora_message import coordinator_to_cli as rep


@click.group()
def node() -> None:
    """Inspect, restart or stop single nodes of a running dataflow."""


@node.command("list")
@dataflow_option
@format_option("Output format.")
@coordinator_options
@reports_errors
def list_nodes(dataflow: str | None, fmt: str, target: Target) -> None:
    """List the nodes of a dataflow: status, PID, CPU, memory, restarts."""
    import json

    from dora_cli.dataflow_query import ask, details_request
    from dora_message import coordinator_to_cli as rep

    details = ask(target, dataflow, "node list", details_request, rep.DataflowDetails)
    rows = [_row(details.summary.uuid, n) for n in details.nodes]
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row))
        return
    _print_table(rows)


def _row(uuid: str, node: rep.NodeSummary) -> dict[str, object]:
    status = node.status[:1].upper() + node.status[1:]
    return {
        "node": node.node_id,
        "status": status,
        "pid": node.pid,
        "cpu": node.cpu,
        "memory_mb": node.memory_mb,
        "restarts": node.restarts,
        "broken_inputs": list(node.broken_inputs),
        "dataflow": uuid,
    }


def _print_table(rows: list[dict[str, object]]) -> None:
    from dora_cli.commands.list import memory_text
    from dora_cli.table import print_table

    def cells(row: dict[str, object]) -> tuple[str, ...]:
        cpu, memory = row["cpu"], row["memory_mb"]
        return (
            str(row["node"]),
            str(row["status"]),
            str(row["pid"] or "-"),
            f"{cpu:.1f}%" if isinstance(cpu, float) else "-",
            memory_text(memory) if isinstance(memory, float) else "-",
            str(row["restarts"]),
            str(row["dataflow"]),
        )

    columns = ("NODE", "STATUS", "PID", "CPU%", "MEMORY (MB)", "RESTARTS", "DATAFLOW")
    print_table(columns, (cells(row) for row in rows))


@node.command("restart")
@click.argument("node_id", metavar="NODE", shell_complete=complete_running_node_ids)
@dataflow_option
@click.option("--grace", callback=duration, help="Grace period before SIGTERM (default 5s).")
@coordinator_options
@reports_errors
def restart(node_id: str, dataflow: str | None, grace: float | None, target: Target) -> None:
    """Restart one node: the daemon stops the process and starts it again."""
    from dora_cli.dataflow_query import ask
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    ask(
        target,
        dataflow,
        "node restart",
        lambda ident: req.RestartNode(dataflow=ident, node=node_id, grace_duration=grace),
        rep.NodeRestarting,
    )
    click.echo(f"Node `{node_id}` restart initiated")


@node.command("stop")
@click.argument("node_id", metavar="NODE", shell_complete=complete_running_node_ids)
@dataflow_option
@click.option("--grace", callback=duration, help="Grace period before SIGTERM (default 10s).")
@coordinator_options
@reports_errors
def stop(node_id: str, dataflow: str | None, grace: float | None, target: Target) -> None:
    """Stop one node for good, whatever its restart policy; the dataflow goes on."""
    from dora_cli.dataflow_query import ask
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    stopped = ask(
        target,
        dataflow,
        "node stop",
        lambda ident: req.StopNode(dataflow=ident, node=node_id, grace_duration=grace),
        rep.NodeStopped,
        timeout=(10.0 if grace is None else grace) * 1.5 + 30.0,
    )
    result = stopped.result
    if result is not None and not result.ok:
        click.echo(f"Node `{node_id}` stopped: {result.cause or 'failed'}", err=True)
        raise SystemExit(EXIT_FAILURE)
    click.echo(f"Node `{node_id}` stopped")


@node.command("info")
@click.argument("node_id", metavar="NODE", shell_complete=complete_running_node_ids)
@dataflow_option
@format_option("Output format: a readable table, or one JSON object.")
@coordinator_options
@reports_errors
def info(node_id: str, dataflow: str | None, fmt: str, target: Target) -> None:
    """Show one node: status, where it runs, inputs, outputs and metrics."""
    import json

    from dora_cli.dataflow_query import ask, details_request
    from dora_cli.node_setup import node_setup
    from dora_message import coordinator_to_cli as rep

    details = ask(target, dataflow, "node info", details_request, rep.DataflowDetails)
    summary = next((n for n in details.nodes if n.node_id == node_id), None)
    if summary is None:
        known = ", ".join(sorted(n.node_id for n in details.nodes)) or "none"
        raise click.ClickException(
            f"dataflow {details.summary.uuid} has no node `{node_id}` (nodes: {known})"
        )
    nodes = details.descriptor.get("nodes", [])
    spec = next((n for n in nodes if n.get("id") == node_id), {})
    facts = _node_facts(details.summary.uuid, summary, spec)
    facts.update(node_setup(spec, nodes))
    if fmt == "json":
        click.echo(json.dumps(facts))
        return
    dropped = facts["dropped_messages"]
    assert isinstance(dropped, dict)
    facts["dropped_messages"] = [f"{iid}: {count}" for iid, count in sorted(dropped.items())]
    subscribers = facts.pop("subscribers")
    assert isinstance(subscribers, dict)
    facts["outputs"] = [
        f"{out} -> {', '.join(subscribers.get(out, [])) or '(no subscribers)'}"
        for out in facts["outputs"]  # type: ignore[attr-defined]
    ]
    width = max(len(key) for key in facts)
    for key, value in facts.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        click.echo(
            f"{key.replace('_', ' ').upper():<{width}}  {'-' if shown in (None, '') else shown}"
        )


def _node_facts(uuid: str, node: rep.NodeSummary, spec: dict[str, object]) -> dict[str, object]:
    """What ``dora node info`` shows, from the coordinator's summary and the descriptor."""
    inputs = spec.get("inputs") or {}
    assert isinstance(inputs, dict)
    row = _row(uuid, node)
    return {
        "node": node.node_id,
        "dataflow": uuid,
        "status": row["status"],
        "daemon": node.daemon_id,
        "pid": node.pid,
        "cpu": node.cpu,
        "memory_mb": node.memory_mb,
        "restarts": node.restarts,
        "pending_messages": node.pending_messages,
        # missed per input: sent while it restarted or was not running (see
        # docs/fault-tolerance.md); the table shows `input: count`
        "dropped_messages": dict(node.dropped_messages),
        "broken_inputs": list(node.broken_inputs),
        "inputs": [
            f"{iid} <- {src if isinstance(src, str) else src.get('source')}"
            for iid, src in inputs.items()
        ],
        "outputs": list(spec.get("outputs") or []),  # type: ignore[call-overload]
    }
