"""``dora up``: make sure a coordinator and a daemon run locally (idempotent)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import reports_errors
from dora_cli.options import PathType

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from dora_cli.client import ControlClient, Target

READY_TIMEOUT = 10.0
POLL_INTERVAL = 0.1


@click.command()
@click.option(
    "--store",
    default="memory",
    show_default=True,
    help="Coordinator store: memory, sqlite[:PATH] or redb[:PATH] (persistent).",
)
@click.option(
    "--auth",
    is_flag=True,
    # the path is spelled out, not computed: platformdirs would slow down every --help
    help="Require a token, kept in <user config dir>/dora/.dora-token (on Linux the "
    "config dir is $XDG_CONFIG_HOME, else ~/.config).",
)
@click.option(
    "--token-file",
    type=PathType(),
    help="Require the token in this file (created 0600 if missing).",
)
@coordinator_options
@reports_errors
def up(store: str, auth: bool, token_file: Path | None, target: Target) -> None:
    """Start a coordinator and a daemon in the background, if they do not run yet.

    Waits until both are ready. Their PIDs and logs are kept in the state dir
    (DORA_STATE_DIR, else the platform's user state dir); `dora down` ends them.
    """
    import asyncio

    from dora_cli.client import default_token_file
    from dora_coordinator.auth import load_or_create_token

    if auth and token_file is None:
        token_file = default_token_file()
    if token_file is not None:
        target = target._replace(token=load_or_create_token(token_file))
    asyncio.run(_up(target, store, token_file))


async def _up(target: Target, store: str, token_file: Path | None) -> None:
    from dora_cli import background
    from dora_cli.client import ControlClient, CoordinatorUnreachable
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    token_args = ["--token-file", str(token_file)] if token_file is not None else []
    try:
        client = await ControlClient.connect(target)
        click.echo(f"coordinator already running on {target}", err=True)
    except CoordinatorUnreachable:
        args = ["--interface", target.addr, "--port", str(target.port), "--store", store]
        process = background.start(background.COORDINATOR, target.port, args + token_args)
        client = await _wait_for_coordinator(target, process)
        click.echo(f"started dora coordinator on {target}", err=True)
    async with client:
        listing = await client.request_as(req.ListDaemons(), rep.DaemonList)
        if listing.daemons:
            click.echo("daemon already running", err=True)
            return
        args = ["--coordinator-addr", target.addr, "--coordinator-port", str(target.port)]
        process = background.start(background.DAEMON, target.port, args + token_args)
        await _wait_for_daemon(client, process, target.port)
        click.echo("started dora daemon", err=True)


async def _wait_for_coordinator(target: Target, process: subprocess.Popen[bytes]) -> ControlClient:
    import asyncio

    from dora_cli import background
    from dora_cli.client import ControlClient, CoordinatorUnreachable
    from dora_message.errors import DoraError

    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    while True:
        if process.poll() is not None:
            log = background.tail(background.log_file(background.COORDINATOR, target.port))
            raise DoraError(f"the coordinator exited at start (code {process.returncode}):\n{log}")
        try:
            return await ControlClient.connect(target, timeout=1.0)
        except CoordinatorUnreachable:
            if asyncio.get_running_loop().time() > deadline:
                raise DoraError(
                    f"timed out waiting for the coordinator on {target}; "
                    f"is port {target.port} already in use?"
                ) from None
            await asyncio.sleep(POLL_INTERVAL)


async def _wait_for_daemon(
    client: ControlClient, process: subprocess.Popen[bytes], port: int
) -> None:
    import asyncio

    from dora_cli import background
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep
    from dora_message.errors import DoraError

    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    while True:
        listing = await client.request_as(req.ListDaemons(), rep.DaemonList)
        if listing.daemons:
            return
        if process.poll() is not None:
            log = background.tail(background.log_file(background.DAEMON, port))
            raise DoraError(f"the daemon exited at start (code {process.returncode}):\n{log}")
        if asyncio.get_running_loop().time() > deadline:
            raise DoraError(f"the daemon did not connect within {READY_TIMEOUT:g} s")
        await asyncio.sleep(POLL_INTERVAL)
