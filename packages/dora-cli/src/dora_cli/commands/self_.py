"""``dora self update [--check-only]`` and ``dora self uninstall [--force]``."""

from __future__ import annotations

import os
import sys

import click

from dora_cli.errors import fail, reports_errors


@click.group("self")
def self_() -> None:
    """Update or remove this dora CLI."""


@self_.command("update")
@click.option("--check-only", is_flag=True, help="Only say whether an update is available.")
@reports_errors
def update(check_only: bool) -> None:
    """Install the newest dora-dataflow release from the package index (uv, else pip)."""
    from dora_cli import self_update as su

    try:
        here = su.installation()
        index = su.index_url(os.environ)
        latest = su.latest_release(su.fetch_versions(index))
    except su.SelfUpdateError as err:
        fail(str(err))
    if latest is None:
        fail(f"the package index {index} has no release of {su.DISTRIBUTION}")
    current_key, latest_key = su.release_key(here.version), su.release_key(latest)
    if current_key is not None and latest_key is not None and latest_key <= current_key:
        click.echo(f"Dora CLI is up to date (current: {here.version}, latest release: {latest})")
        return
    if check_only:
        click.echo(f"An update is available: {latest}. Run 'dora self update' to update")
        return
    if here.source_checkout is not None:
        fail(
            f"this dora runs from a source checkout ({here.source_checkout}): update it "
            "there (git pull, then uv sync)"
        )
    click.echo(f"Updating {su.DISTRIBUTION} {here.version} -> {latest} ...", err=True)
    try:
        su.update(here.python, latest, index)
    except su.SelfUpdateError as err:
        fail(str(err))
    click.echo(f"{su.DISTRIBUTION} {latest} installed")


@self_.command("uninstall")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def uninstall(force: bool) -> None:
    """Remove the dora CLI (the dora-dataflow package) from its environment."""
    from dora_cli import self_update as su

    python = sys.executable
    if not force:
        if not sys.stdin.isatty():
            fail("not a terminal: pass --force to uninstall without confirmation")
        if not click.confirm(
            f"Remove {su.DISTRIBUTION} from {sys.prefix}?", default=False, err=True
        ):
            click.echo("Nothing removed.", err=True)
            return
    try:
        su.uninstall(python)
    except su.SelfUpdateError as err:
        fail(str(err))
    click.echo(f"{su.DISTRIBUTION} removed from {sys.prefix}")
