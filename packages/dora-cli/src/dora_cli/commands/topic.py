"""``dora topic list``: the outputs of a running dataflow and the inputs that read them.

Read from the descriptor the coordinator stored, so it needs no debug inspection.
"""

from __future__ import annotations

import json

import click

from dora_cli.client import Target
from dora_cli.commands.node import _ask, _get, dataflow_option, format_option
from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import reports_errors
from dora_message import coordinator_to_cli as rep
from dora_message.topics import topic_subscribers


@click.group()
def topic() -> None:
    """Inspect the topics (outputs) of a running dataflow."""


@topic.command("list")
@dataflow_option
@format_option("Output format: a table, or one JSON object per line.")
@coordinator_options
@reports_errors
def list_topics(dataflow: str | None, fmt: str, target: Target) -> None:
    """List every output of a dataflow with the inputs subscribed to it."""
    details = _ask(target, dataflow, "topic list", _get, rep.DataflowDetails)
    rows = []
    for name, subscribers in topic_subscribers(details.descriptor).items():
        node, _, output = name.partition("/")
        rows.append({"node": node, "name": output, "subscribers": subscribers})
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200, no_color=True)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NODE", "NAME", "SUBSCRIBERS"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(row["node"], row["name"], ", ".join(row["subscribers"]) or "-")
    console.print(table)
