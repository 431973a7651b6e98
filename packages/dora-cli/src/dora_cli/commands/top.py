"""``dora top`` and ``dora inspect top``: per-node resources of every running dataflow.

One ``GetNodeInfo`` request per refresh; the numbers are the daemons' latest samples
(taken every 2 s on each machine), so distributed dataflows show up too. ``--once``
prints one pretty JSON array and exits (no terminal needed); otherwise a textual TUI
(:mod:`dora_cli.tui.top`) runs, which needs an interactive terminal.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import fail, reports_errors

if TYPE_CHECKING:
    from dora_cli.client import Target
    from dora_message import coordinator_to_cli as rep

MIN_INTERVAL = 1.0


async def fetch_nodes(target: Target) -> list[rep.NodeInfo]:
    """One snapshot: every node of every active dataflow with its latest metrics."""
    from dora_cli.client import ControlClient
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    async with await ControlClient.connect(target) as client:
        reply = await client.request_as(req.GetNodeInfo(), rep.NodeInfoList)
    return reply.nodes


def snapshot_json(nodes: list[rep.NodeInfo]) -> str:
    """The ``--once`` output: a pretty JSON array, one object per node."""
    import msgspec

    return msgspec.json.format(msgspec.json.encode(nodes), indent=2).decode()


def _top(refresh_interval: float, once: bool, target: Target) -> None:
    import asyncio

    if once:
        click.echo(snapshot_json(asyncio.run(fetch_nodes(target))))
        return
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        fail("`dora top` requires an interactive terminal (use `--once` for a JSON snapshot)")
    asyncio.run(fetch_nodes(target))  # fail with one clear line before taking the screen
    from dora_cli.tui.top import TopApp

    TopApp(lambda: fetch_nodes(target), refresh_interval).run()


def _top_command(name: str) -> click.Command:
    @click.command(name)
    @click.option(
        "--refresh-interval",
        type=click.FloatRange(min=MIN_INTERVAL),
        default=2.0,
        show_default=True,
        metavar="SECONDS",
        help="Update interval in seconds (min 1).",
    )
    @click.option("--once", is_flag=True, help="Print a single JSON snapshot and exit.")
    @coordinator_options
    @reports_errors
    def command(refresh_interval: float, once: bool, target: Target) -> None:
        """Live per-node CPU, memory, restarts, traffic and I/O of all running dataflows.

        Keys: q/Esc quit, Up/k and Down/j select, n/c/m sort by name/CPU/memory
        (again: reverse), r refresh. CPU is per core (can exceed 100%). QUEUE is
        the messages waiting in the node's input queues; DROPPED the messages it
        missed (sent while it restarted, all inputs); NET TX/RX are the
        dataflow's cross-machine bytes (zenoh), "-" when it spans one machine.
        """
        _top(refresh_interval, once, target)

    return command


top = _top_command("top")


@click.group()
def inspect() -> None:
    """Inspect running dataflows (`dora inspect top`)."""


inspect.add_command(_top_command("top"))
