"""``dora start``: submit a dataflow to the coordinator; attach to it or return.

With ``--hot-reload`` the attached CLI also watches the dataflow's Python operator files
and asks for a reload of each operator whose file changed (:mod:`dora_cli.hot_reload`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from dora_cli.completion import complete_dataflow_files
from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import EXIT_FAILURE, fail, reports_errors, require_file
from dora_cli.options import LOG_FORMAT, LOG_LEVEL, PathType
from dora_message.constants import ENV_LOG_FORMAT, ENV_LOG_LEVEL

if TYPE_CHECKING:
    import asyncio
    from pathlib import Path

    from dora_cli.client import ControlClient, Target
    from dora_cli.log_display import LogDisplay
    from dora_cli.reload_watch import ChangeDetector
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep
    from dora_message.descriptor import Descriptor

SPAWN_TIMEOUT = 90.0


@click.command()
@click.argument("path", type=PathType(), shell_complete=complete_dataflow_files)
@click.option("--name", "-n", help="Name the dataflow (for stop, logs, restart).")
@click.option(
    "--attach/--detach",
    default=None,
    help="Stream logs and wait for the end, or return once spawned "
    "(default: attach when stdin is a terminal).",
)
@click.option(
    "--hot-reload",
    is_flag=True,
    help="Watch the Python operator files and reload an operator when its file changes "
    "(needs --attach; implies it when neither --attach nor --detach is given).",
)
@click.option("--uv", is_flag=True, help="Use uv to run Python nodes.")
@click.option(
    "--debug",
    is_flag=True,
    help="Publish every message for `dora topic` and `dora record --proxy` "
    "(as `debug: {enable_debug_inspection: true}`).",
)
@click.option(
    "--log-level",
    type=LOG_LEVEL,
    default="stdout",
    envvar=ENV_LOG_LEVEL,
    show_envvar=True,
    help="Minimum level shown when attached.",
)
@click.option(
    "--log-format",
    type=LOG_FORMAT,
    default="pretty",
    envvar=ENV_LOG_FORMAT,
    show_envvar=True,
    help="How log lines are printed when attached.",
)
@coordinator_options
@reports_errors
def start(
    path: Path,
    name: str | None,
    attach: bool | None,
    hot_reload: bool,
    uv: bool,
    debug: bool,
    log_level: str,
    log_format: str,
    target: Target,
) -> None:
    """Start the dataflow at PATH on the coordinator.

    Attached, Ctrl-C stops the dataflow gracefully and a second Ctrl-C kills it.
    """
    import asyncio

    from dora_cli.log_display import LogDisplay
    from dora_message import cli_to_coordinator as req
    from dora_message.descriptor import with_debug_inspection
    from dora_message.load import load_descriptor_with_warnings

    require_file(path)
    descriptor, warnings = load_descriptor_with_warnings(path)
    if debug:
        descriptor = with_debug_inspection(descriptor)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if hot_reload and attach is False:
        raise click.UsageError(
            "`--hot-reload` needs `--attach`: the attached `dora start` is what watches the "
            "operator files"
        )
    if hot_reload and attach is None:
        attach = True
        click.echo("attaching to dataflow (`--hot-reload` watches files while attached)", err=True)
    if attach is None:
        attach = sys.stdin.isatty()
        if attach:
            click.echo(
                "attaching to dataflow (use `--detach` to run it in the background)", err=True
            )
        else:
            click.echo("non-interactive mode: running in background", err=True)
    request = req.StartDataflow(
        descriptor=descriptor,
        name=name or descriptor.name,
        working_dir=str(path.resolve().parent),
        uv=uv,
    )
    display = LogDisplay(log_level.lower(), log_format.lower())
    detector = _reload_detector(descriptor, path) if hot_reload else None
    sys.exit(asyncio.run(_start(target, request, attach, display, detector)))


def _reload_detector(descriptor: Descriptor, path: Path) -> ChangeDetector | None:
    """The watcher's baseline, taken before the start; None (with a warning) if there is
    nothing to watch."""
    from dora_cli.hot_reload import baseline
    from dora_cli.reload_watch import watched_operators

    operators = watched_operators(descriptor, path.resolve().parent)
    if not operators:
        click.echo("warning: --hot-reload: the dataflow has no Python operator to watch", err=True)
        return None
    for watched in operators:
        click.echo(f"hot reload: watching {watched.path} (`{watched.label}`)", err=True)
    return baseline(operators)


async def _start(
    target: Target,
    request: req.StartDataflow,
    attach: bool,
    display: LogDisplay,
    detector: ChangeDetector | None = None,
) -> int:
    from dora_cli.client import ControlClient
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    async with await ControlClient.connect(target) as client:
        started = await client.request_as(request, rep.DataflowStarted)
        uuid = started.uuid
        click.echo(f"dataflow start triggered: {uuid}", err=True)
        if attach:
            return await attach_to(client, uuid, display, detector)
        spawned = await client.request_as(
            req.WaitForSpawn(dataflow=uuid), rep.DataflowSpawned, SPAWN_TIMEOUT
        )
    if spawned.status == "Failed":
        fail(f"dataflow {uuid} failed to start: {spawned.error}")
    if spawned.status == "Succeeded":
        click.echo(f"dataflow started and finished: {uuid}")
    else:
        click.echo(f"dataflow started: {uuid}")
    return 0


async def attach_to(
    client: ControlClient, uuid: str, display: LogDisplay, detector: ChangeDetector | None = None
) -> int:
    """Stream the dataflow's logs until it ends; Ctrl-C stops it, twice kills it.

    With a ``detector`` (``--hot-reload``), changed operator files are reloaded meanwhile.
    """
    import asyncio
    import signal  # here, not at the top: --help would pay ~0.6 ms for it

    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    await client.request_as(req.SubscribeLogs(dataflow=uuid, replay=True), rep.Subscribed)
    watcher = None
    if detector is not None:
        # imported only here and on failure below: ~4.5 ms of imports that would otherwise
        # run while the daemon starts the nodes
        from dora_cli.hot_reload import watch_and_reload

        watcher = asyncio.create_task(watch_and_reload(client, uuid, detector, display.note))
    loop = asyncio.get_running_loop()
    presses = 0
    stops: list[asyncio.Task[rep.ControlReply]] = []

    def on_interrupt() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            display.note("stopping dataflow (press Ctrl-C again to kill it)")
        else:
            display.note("killing dataflow")
        stop = req.StopDataflow(dataflow=uuid, force=presses > 1)
        stops.append(asyncio.create_task(client.request(stop, timeout=None)))

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    finished: rep.DataflowFinishedEvent | None = None
    try:
        async for event in client.events():
            if isinstance(event, rep.LogEvent):
                display.show_all(event.records)
            elif event.uuid == uuid:
                finished = event
                break
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        for task in stops:
            task.cancel()
        await asyncio.gather(*stops, return_exceptions=True)
    assert finished is not None
    if finished.status != "Succeeded":
        from dora_cli.summary import failure_summary

        display.note(failure_summary(uuid, finished.error, finished.result))
        return EXIT_FAILURE
    return EXIT_FAILURE if presses > 1 else 0
