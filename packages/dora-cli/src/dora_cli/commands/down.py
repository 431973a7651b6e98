"""``dora down`` (alias ``destroy``): stop every dataflow, then the daemons and coordinator."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import reports_errors
from dora_cli.options import duration

if TYPE_CHECKING:
    from dora_cli.client import Target

EXIT_WAIT = 10.0


@click.command()
@click.option(
    "--force", "-f", is_flag=True, help="Kill running dataflows instead of stopping them."
)
@click.option(
    "--grace-duration", callback=duration, help="Grace period for stopping dataflows (10s)."
)
@coordinator_options
@reports_errors
def down(force: bool, grace_duration: float | None, target: Target) -> None:
    """Stop all running dataflows, then shut down the coordinator and its daemons.

    Processes started by `dora up` for this port are waited for and, if they linger,
    terminated by PID, so nothing is left running.
    """
    import asyncio

    from dora_cli import background
    from dora_cli.client import CoordinatorUnreachable

    reached = True
    try:
        asyncio.run(_destroy(target, force, grace_duration))
    except CoordinatorUnreachable:
        reached = False
    leftovers = 0
    for module in (background.DAEMON, background.COORDINATOR):
        process = background.recorded(module, target.port)
        if process is not None:
            leftovers += 1
            if background.end(process, EXIT_WAIT if reached else 0.0):
                click.echo(f"terminated {module} (pid {process.pid})", err=True)
        background.forget(module, target.port)
    if not reached and not leftovers:
        raise CoordinatorUnreachable(target)
    click.echo("Coordinator and daemons destroyed successfully", err=True)


async def _destroy(target: Target, force: bool, grace: float | None) -> None:
    from dora_cli.client import ControlClient
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    async with await ControlClient.connect(target) as client:
        click.echo(f"Destroying coordinator at {target}", err=True)
        timeout = (grace or 10.0) * 1.5 + 30.0
        await client.request_as(
            req.Destroy(grace_duration=grace, force=force), rep.Destroyed, timeout
        )
