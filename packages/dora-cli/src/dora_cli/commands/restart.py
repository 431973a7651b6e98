"""``dora restart``: stop a dataflow and start it again from the stored descriptor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.completion import complete_dataflows
from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import fail, reports_errors
from dora_cli.options import duration

if TYPE_CHECKING:
    from dora_cli.client import Target
    from dora_message import coordinator_to_cli as rep


@click.command()
@click.argument("dataflow", required=False, metavar="[UUID]", shell_complete=complete_dataflows)
@click.option("--name", "-n", help="Restart by name instead of UUID.")
@click.option("--grace-duration", callback=duration, help="Grace period of the stop phase.")
@click.option("--force", "-f", is_flag=True, help="Kill the nodes before restarting.")
@coordinator_options
@reports_errors
def restart(
    dataflow: str | None,
    name: str | None,
    grace_duration: float | None,
    force: bool,
    target: Target,
) -> None:
    """Restart a dataflow; no YAML needed, the coordinator kept the descriptor."""
    import asyncio

    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    if dataflow and name:
        raise click.UsageError("give the dataflow either as argument or with --name, not both")

    async def go() -> rep.DataflowRestarted | None:
        from dora_cli.client import ControlClient
        from dora_cli.summary import pick_dataflow

        async with await ControlClient.connect(target) as client:
            ident = dataflow or name or await pick_dataflow(client, "restart")
            if ident is None:
                return None
            timeout = (grace_duration or 10.0) * 1.5 + 120.0
            request = req.RestartDataflow(
                dataflow=ident, grace_duration=grace_duration, force=force
            )
            return await client.request_as(request, rep.DataflowRestarted, timeout)

    restarted = asyncio.run(go())
    if restarted is None:
        fail("no dataflows are running (name one with a UUID or --name)")
    click.echo(f"dataflow restarted: {restarted.old_uuid} -> {restarted.new_uuid}")
