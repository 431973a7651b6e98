"""``dora trace list|view``: the spans the coordinator captured of its own operations.

The coordinator keeps its last 4096 finished spans in memory (see
``dora_coordinator.tracing``); nothing is persisted and no tracing infrastructure is
needed. ``list`` shows one row per trace, newest first; ``view`` prints one trace as an
indented tree and accepts a full trace id or any unique prefix of one.
"""

from __future__ import annotations

import asyncio

import click

from dora_cli.client import ControlClient, Target
from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import reports_errors
from dora_cli.trace_format import align, is_full_uuid, list_rows, render_tree, resolve_prefix
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep


@click.group()
def trace() -> None:
    """List and view the coordinator's in-memory trace spans."""


@trace.command("list")
@coordinator_options
@reports_errors
def list_traces(target: Target) -> None:
    """List recent traces: TRACE ID, ROOT SPAN, SPANS, STARTED (UTC), DURATION."""

    async def go() -> rep.TraceList:
        async with await ControlClient.connect(target) as client:
            return await client.request_as(req.GetTraces(), rep.TraceList)

    listing = asyncio.run(go())
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
