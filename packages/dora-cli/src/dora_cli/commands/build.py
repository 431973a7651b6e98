"""``dora build``: fetch node sources and run the ``build:`` commands of a dataflow."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.completion import complete_dataflow_files
from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import reports_errors, require_file
from dora_cli.options import PathType

if TYPE_CHECKING:
    from pathlib import Path

    from dora_cli.client import Target
    from dora_message.descriptor import Descriptor


@click.command()
@click.argument("path", type=PathType(), shell_complete=complete_dataflow_files)
@click.option("--uv", is_flag=True, help="Run `pip install` lines through `uv pip`.")
@click.option("--local", is_flag=True, help="Build here even if a coordinator is reachable.")
@click.option("--strict-types", is_flag=True, help="Treat type warnings as errors.")
@coordinator_options
@reports_errors
def build(path: Path, uv: bool, local: bool, strict_types: bool, target: Target) -> None:
    """Run the build commands of the dataflow at PATH.

    Nodes with a `git:` source are cloned (or updated) first and built from the
    repository root; `path: https://...` nodes are downloaded and checked. When nodes
    are deployed to machines (`_unstable_deploy`) and a coordinator answers, each
    daemon builds its own nodes; `--local` always builds here.
    """
    import asyncio

    from dora_cli.remote_build import is_deployed
    from dora_daemon.build import build_dataflow
    from dora_daemon.sources import default_cache_dir, resolve_sources
    from dora_message.load import load_descriptor_with_warnings

    require_file(path)
    descriptor, warnings = load_descriptor_with_warnings(path)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    from dora_cli.commands.validate import type_check_for_build

    type_check_for_build(descriptor, path, strict_types)  # same checks as `dora validate`
    base_dir = path.resolve().parent
    if not local and is_deployed(descriptor):
        if asyncio.run(_distributed(target, descriptor, base_dir, uv)):
            click.echo("build finished", err=True)
            return
        click.echo(
            f"note: no coordinator at {target}; building the deployed nodes locally",
            err=True,
        )

    def on_output(node_id: str, line: str) -> None:
        click.echo(f"[{node_id}] {line}", err=True)

    async def go() -> None:
        sources = await resolve_sources(descriptor, base_dir, default_cache_dir())
        working_dirs = {node: s.working_dir for node, s in sources.items()}
        await build_dataflow(
            descriptor, base_dir, uv=uv, working_dirs=working_dirs, on_output=on_output
        )

    asyncio.run(go())
    click.echo("build finished", err=True)


async def _distributed(target: Target, descriptor: Descriptor, base_dir: Path, uv: bool) -> bool:
    """Build on the daemons through the coordinator; False when none answers."""
    from dora_cli.remote_build import build_via_coordinator

    def on_output(node_id: str, daemon_id: str | None, line: str) -> None:
        click.echo(f"[{node_id}] {line}", err=True)

    return await build_via_coordinator(target, descriptor, str(base_dir), uv, on_output)
