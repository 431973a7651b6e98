"""``dora doctor``: diagnose the environment, the coordinator and a dataflow file."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import fail
from dora_cli.options import PathType

if TYPE_CHECKING:
    from pathlib import Path

    from dora_cli.client import Target
    from dora_message import coordinator_to_cli as rep

_TAGS = {"PASS": "green", "WARN": "yellow", "FAIL": "red"}


class _Checks:
    def __init__(self) -> None:
        self.failed = 0

    def line(self, outcome: str, text: str) -> None:
        if outcome == "FAIL":
            self.failed += 1
        click.echo("  " + click.style(f"{outcome:<4}", fg=_TAGS[outcome]) + f"  {text}")


@click.command()
@click.option("--dataflow", type=PathType(), help="A dataflow YAML to validate as well.")
@coordinator_options
def doctor(dataflow: Path | None, target: Target) -> None:
    """Check the CLI, shared memory, uv, the coordinator, daemons, dataflows and a descriptor."""
    import asyncio
    from importlib.metadata import version

    from dora_cli.commands.status import probe

    checks = _Checks()
    checks.line("PASS", f"CLI version: {version('dora-dataflow')}")
    _check_shm(checks)
    _check_uv(checks)
    found = asyncio.run(probe(target))
    if found is None:
        checks.line("FAIL", f"Coordinator: not reachable at {target} (run `dora up`)")
    else:
        daemons, dataflows = found
        checks.line("PASS", f"Coordinator: reachable at {target}")
        if daemons.daemons:
            checks.line("PASS", "Daemon: connected")
            checks.line("PASS", f"Connected machines: {len(daemons.daemons)}")
            for daemon in daemons.daemons:
                click.echo(
                    f"          {daemon.daemon_id} "
                    f"(heartbeat: {daemon.last_heartbeat_ago_ms}ms ago)"
                )
        else:
            checks.line("FAIL", "Daemon: not connected")
        _dataflow_counts(checks, dataflows)
    if dataflow is not None:
        from dora_message.errors import DoraError
        from dora_message.load import load_descriptor

        try:
            load_descriptor(dataflow)
            checks.line("PASS", f"Dataflow validation: {dataflow} OK")
        except DoraError as error:
            checks.line("FAIL", f"Dataflow validation: {dataflow} FAILED: {error}")
    click.echo()
    if checks.failed:
        fail(f"{checks.failed} check(s) failed")
    checks.line("PASS", "All checks passed")


def _check_shm(checks: _Checks) -> None:
    import stat

    try:
        mode = stat.S_IMODE(os.stat("/dev/shm").st_mode)
    except OSError:
        checks.line("WARN", "Shared memory: /dev/shm is not accessible (large messages are copied)")
        return
    if mode == 0o1777:
        checks.line("PASS", "Shared memory: /dev/shm mode is 1777")
    else:
        checks.line("WARN", f"Shared memory: /dev/shm mode is {mode:o} (`chmod 1777 /dev/shm`)")


def _check_uv(checks: _Checks) -> None:
    import shutil
    import subprocess

    uv = shutil.which("uv")
    if uv is None:
        checks.line("WARN", "uv: not installed (needed only for --uv)")
        return
    try:
        output = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        checks.line("WARN", "uv: could not run `uv --version`")
        return
    checks.line("PASS", f"uv: {output.stdout.strip()}")


def _dataflow_counts(checks: _Checks, listing: rep.DataflowList) -> None:
    from dora_message import coordinator_to_cli as rep

    rows = listing.dataflows
    running = sum(1 for d in rows if d.status in rep.ACTIVE_STATUSES)
    failed = sum(1 for d in rows if d.status == "Failed")
    checks.line("PASS", f"Dataflows: {running} running, {failed} failed, {len(rows)} total")
