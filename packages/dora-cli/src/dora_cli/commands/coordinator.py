"""``dora coordinator``: run the coordinator in the foreground."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from dora_cli.options import PathType
from dora_message.constants import (
    DEFAULT_COORDINATOR_PORT,
    ENV_COORDINATOR_INTERFACE,
    ENV_COORDINATOR_PORT,
)

if TYPE_CHECKING:
    from pathlib import Path


@click.command()
@click.option(
    "--interface",
    default="127.0.0.1",
    envvar=ENV_COORDINATOR_INTERFACE,
    show_default=True,
    show_envvar=True,
    help="Address to listen on.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_COORDINATOR_PORT,
    envvar=ENV_COORDINATOR_PORT,
    show_default=True,
    show_envvar=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--store",
    default="memory",
    show_default=True,
    help="memory, or sqlite[:PATH] / redb[:PATH] to survive restarts.",
)
@click.option(
    "--token-file",
    type=PathType(),
    help="Require the token in this file (created 0600 if missing).",
)
@click.option("--quiet", is_flag=True, help="Do not log to stderr.")
def coordinator(
    interface: str, port: int, store: str, token_file: Path | None, quiet: bool
) -> None:
    """Run the coordinator (the control plane) until Ctrl-C or `dora down`."""
    from dora_coordinator.entry import run
    from dora_coordinator.server import CoordinatorConfig

    config = CoordinatorConfig(interface=interface, port=port, store=store, token_file=token_file)
    sys.exit(run(config, quiet))
