"""``dora stop``: stop a running dataflow (by UUID or name, or picked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.completion import complete_dataflows
from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import EXIT_FAILURE, reports_errors
from dora_cli.options import duration

if TYPE_CHECKING:
    from dora_cli.client import Target

DEFAULT_GRACE = 10.0


@click.command()
@click.argument(
    "dataflow", required=False, metavar="[UUID_OR_NAME]", shell_complete=complete_dataflows
)
@click.option("--name", "-n", help="The dataflow's name (alternative to the argument).")
@click.option("--grace-duration", callback=duration, help="Grace period before SIGTERM (10s).")
@click.option("--force", "-f", is_flag=True, help="Kill the nodes at once.")
@coordinator_options
@reports_errors
def stop(
    dataflow: str | None,
    name: str | None,
    grace_duration: float | None,
    force: bool,
    target: Target,
) -> None:
    """Stop a running dataflow: Stop event, then SIGTERM after the grace period, then SIGKILL.

    Without an identifier the only running dataflow is stopped; with several, a
    picker is shown on a terminal.
    """
    import asyncio

    if dataflow and name:
        raise click.UsageError("give the dataflow either as argument or with --name, not both")
    code = asyncio.run(_stop(target, dataflow or name, grace_duration, force))
    raise SystemExit(code)


async def _stop(target: Target, ident: str | None, grace: float | None, force: bool) -> int:
    from dora_cli.client import ControlClient
    from dora_cli.summary import failure_summary, pick_dataflow
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    async with await ControlClient.connect(target) as client:
        if ident is None:
            ident = await pick_dataflow(client, "stop")
            if ident is None:
                click.echo(
                    "No dataflows are running. Use `dora list` to see all dataflows.", err=True
                )
                return 0
        timeout = (grace or DEFAULT_GRACE) * 1.5 + 30.0
        request = req.StopDataflow(dataflow=ident, grace_duration=grace, force=force)
        stopped = await client.request_as(request, rep.DataflowStopped, timeout)
    if stopped.status != "Succeeded":
        click.echo(failure_summary(stopped.uuid, stopped.error, stopped.result), err=True)
        return EXIT_FAILURE
    click.echo(f"dataflow {stopped.uuid} stopped", err=True)
    return 0
