"""``dora list`` (alias ``ps``): the dataflows the coordinator knows, with metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import reports_errors
from dora_cli.options import format_option

if TYPE_CHECKING:
    from dora_cli.client import Target
    from dora_message import coordinator_to_cli as rep

# "running" is any of rep.ACTIVE_STATUSES, looked up when the command runs (--help needn't
# import the message types)
STATUS_GROUPS: dict[str, set[str] | None] = {
    "running": None,
    "finished": {"Succeeded"},
    "failed": {"Failed"},
}


@click.command("list")
@format_option("table (default) or json (JSON Lines).", default=None)
@click.option("--status", type=click.Choice(sorted(STATUS_GROUPS)), help="Show only these.")
@click.option("--name", help="Only names containing this (case-insensitive).")
@click.option("--sort-by", type=click.Choice(["cpu", "memory"]), help="Sort, highest first.")
@click.option("--quiet", "-q", is_flag=True, help="Print only UUIDs.")
@coordinator_options
@reports_errors
def list_(
    fmt: str | None,
    status: str | None,
    name: str | None,
    sort_by: str | None,
    quiet: bool,
    target: Target,
) -> None:
    """List running and finished dataflows: UUID, Name, Status, Nodes, CPU, Memory.

    Status is Pending, Running, Stopping, Recovering, Succeeded or Failed; CPU and
    memory are summed over the dataflow's nodes. JSON keys: uuid, name, status, nodes,
    cpu (percent), memory (GB, as dora-rs) and memory_bytes (the table's figure).
    """
    import json

    from dora_cli.client import call
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    if quiet and fmt is not None:
        raise click.UsageError("--quiet and --format cannot be combined")
    listing: rep.DataflowList = call(target, req.ListDataflows())
    rows = listing.dataflows
    if status is not None:
        keep = STATUS_GROUPS[status] or set(rep.ACTIVE_STATUSES)
        rows = [row for row in rows if row.status in keep]
    if name is not None:
        rows = [row for row in rows if name.lower() in (row.name or "").lower()]
    if sort_by is not None:
        key = "cpu" if sort_by == "cpu" else "memory_mb"
        rows = sorted(rows, key=lambda row: getattr(row, key), reverse=True)
    if quiet:
        for row in rows:
            click.echo(row.uuid)
    elif fmt == "json":
        for row in rows:
            click.echo(json.dumps(_json_row(row)))
    else:
        _print_table(rows)


MIB = 1024 * 1024  # the table's "MB" and the daemons' memory_mb are MiB (RSS / 2**20)


def _json_row(row: rep.DataflowSummary) -> dict[str, object]:
    """dora-rs's keys (``cpu`` in percent, ``memory`` in GB) plus ``memory_bytes``: the
    figure the table shows, in bytes."""
    return {
        "uuid": row.uuid,
        "name": row.name or "",
        "status": row.status,
        "nodes": row.nodes,
        "cpu": row.cpu if row.cpu >= 0.1 else 0.0,
        "memory": round(row.memory_mb / 1024, 3) if row.memory_mb >= 0.1 else 0.0,
        "memory_bytes": round(row.memory_mb * MIB),
    }


def memory_text(megabytes: float) -> str:
    """``0.3 MB``, ``512 MB`` or ``1.5 GB`` (of MiB, as ``memory_mb`` counts)."""
    if megabytes < 1:
        return f"{megabytes:.1f} MB"
    if megabytes < 1024:
        return f"{megabytes:.0f} MB"
    return f"{megabytes / 1024:.1f} GB"


def _print_table(rows: list[rep.DataflowSummary]) -> None:
    from dora_cli.table import print_table

    print_table(
        ("UUID", "Name", "Status", "Nodes", "CPU", "Memory"),
        (
            (
                row.uuid,
                row.name or "<unnamed>",
                row.status,
                str(row.nodes),
                f"{row.cpu:.1f}%",
                memory_text(row.memory_mb),
            )
            for row in rows
        ),
    )
