"""``dora trace list|view``: the spans the coordinator captured of its own operations.

The coordinator keeps its last 4096 finished spans in memory (see
``dora_coordinator.tracing``); nothing is persisted and no tracing infrastructure is
needed. ``list`` shows one row per trace, newest first; ``view`` prints one trace as an
indented tree and accepts a full trace id or any unique prefix of one. ``list --format
json`` prints one JSON object per trace (:func:`dora_cli.trace_format.json_row`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import reports_errors
from dora_cli.options import format_option

if TYPE_CHECKING:
    from dora_cli.client import Target
    from dora_message import coordinator_to_cli as rep


@click.group()
def trace() -> None:
    """List and view the coordinator's in-memory trace spans."""


@trace.command("list")
@format_option("Output format: a table, or one JSON object per trace (JSON Lines).")
@coordinator_options
@reports_errors
def list_traces(fmt: str, target: Target) -> None:
    """List recent traces: TRACE ID, ROOT SPAN, SPANS, STARTED (UTC), DURATION.

    JSON keys: trace_id (full), root_span, spans, start_time_ms (Unix time),
    duration_us."""
    import asyncio
    import json

    from dora_cli.client import ControlClient
    from dora_cli.trace_format import align, json_row, list_rows, newest_first
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    async def go() -> rep.TraceList:
        async with await ControlClient.connect(target) as client:
            return await client.request_as(req.GetTraces(), rep.TraceList)

    listing = asyncio.run(go())
    if fmt == "json":
        for summary in newest_first(listing.traces):
            click.echo(json.dumps(json_row(summary)))
        return
    if not listing.traces:
        click.echo("No traces captured yet.")
        return
    for line in align(list_rows(listing.traces)):
        click.echo(line)


@trace.command("view")
@click.argument("trace_id")
@coordinator_options
@reports_errors
def view(trace_id: str, target: Target) -> None:
    """Show the spans of one trace as a tree; TRACE_ID is a full id or a unique prefix."""
    if not trace_id:
        raise click.UsageError("TRACE_ID must not be empty")
    import asyncio

    from dora_cli.client import ControlClient
    from dora_cli.trace_format import is_full_uuid, render_tree, resolve_prefix
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    async def go() -> rep.TraceSpans:
        async with await ControlClient.connect(target) as client:
            full = trace_id.lower()  # ids are stored in lower case
            if not is_full_uuid(trace_id):
                listing = await client.request_as(req.GetTraces(), rep.TraceList)
                full = resolve_prefix(trace_id, [t.trace_id for t in listing.traces])
            return await client.request_as(req.GetTraceSpans(trace_id=full), rep.TraceSpans)

    found = asyncio.run(go())
    if not found.spans:
        click.echo("No spans found for this trace.")
        return
    tree = render_tree(found.spans)
    for line in tree.lines:
        click.echo(line)
    if tree.partial:
        click.echo(
            "note: trace is partial (parent spans were evicted from the coordinator's buffer)",
            err=True,
        )
