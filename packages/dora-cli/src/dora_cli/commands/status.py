"""``dora status`` (alias ``check``) and ``dora system status``: is the system up?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import EXIT_FAILURE, reports_errors
from dora_cli.options import PathType, format_option

if TYPE_CHECKING:
    from pathlib import Path

    from dora_cli.client import Target
    from dora_message import coordinator_to_cli as rep


async def probe(target: Target) -> tuple[rep.DaemonList, rep.DataflowList] | None:
    """The daemons and dataflows, or None when no coordinator answers."""
    from dora_cli.client import ControlClient, CoordinatorUnreachable
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    try:
        client = await ControlClient.connect(target)
    except CoordinatorUnreachable:
        return None
    async with client:
        daemons = await client.request_as(req.ListDaemons(), rep.DaemonList)
        dataflows = await client.request_as(req.ListDataflows(), rep.DataflowList)
    return daemons, dataflows


def report(target: Target, fmt: str, dataflow: Path | None) -> None:
    """Print the status and exit 1 unless coordinator and a daemon both run."""
    import asyncio
    import json

    from dora_message import coordinator_to_cli as rep

    if dataflow is not None:
        from dora_message.load import load_descriptor

        load_descriptor(dataflow)  # a DescriptorError is reported by the caller
    found = asyncio.run(probe(target))
    coordinator_ok = found is not None
    daemon_ok = found is not None and bool(found[0].daemons)
    active = (
        sum(1 for d in found[1].dataflows if d.status in rep.ACTIVE_STATUSES) if found else None
    )
    if fmt == "json":
        document = {
            "coordinator": {"status": "running" if coordinator_ok else "not running"}
            | ({"address": str(target)} if coordinator_ok else {}),
            "daemon": {
                "status": "unknown"
                if not coordinator_ok
                else ("running" if daemon_ok else "not running")
            },
            "active_dataflows": active,
        }
        click.echo(json.dumps(document, indent=2))
    else:
        mark = {True: "✓", False: "✗"}
        if coordinator_ok:
            click.echo(f"{mark[True]} Coordinator: Running")
            click.echo(f"  Address: {target}")
            click.echo(f"{mark[daemon_ok]} Daemon: {'Running' if daemon_ok else 'Not running'}")
            click.echo(f"  Active dataflows: {active}")
        else:
            click.echo(f"{mark[False]} Coordinator: Not running ({target})")
            click.echo(f"{mark[False]} Daemon: Unknown (coordinator not available)")
    if not (coordinator_ok and daemon_ok):
        click.echo("System check failed.", err=True)
        raise SystemExit(EXIT_FAILURE)


@click.command()
@format_option("Output format.")
@click.option("--dataflow", type=PathType(), help="Also check this dataflow file.")
@coordinator_options
@reports_errors
def status(fmt: str, dataflow: Path | None, target: Target) -> None:
    """Report coordinator connectivity, daemon status and the active dataflow count."""
    report(target, fmt, dataflow)


@click.group()
def system() -> None:
    """System management commands."""


system.add_command(status, "status")
