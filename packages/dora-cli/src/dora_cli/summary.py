"""How the CLI reports a dataflow's end and picks a dataflow when none is named."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from dora_cli.traceback_view import condensed
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message.common import DataflowResult, NodeResult

if TYPE_CHECKING:  # `dora run` reports failures too and must not load the client
    from dora_cli.client import ControlClient

MAX_LISTED_FAILURES = 5
STDERR_LINES = 10  # last stderr lines quoted per failed node


def failure_summary(uuid: str, error: str | None, result: DataflowResult | None) -> str:
    """One line per failed node (root causes first) with its last stderr lines, or the
    dataflow-level error. Shared by `dora run`, `start` and `stop`.

    A Python traceback is quoted with the user's own frames (library frames are counted,
    not shown: :mod:`dora_cli.traceback_view`). A cascading failure (a node that failed
    because another failed to start) quotes nothing: its stderr repeats the root cause."""
    failed = [r for r in (result.node_results if result else []) if not r.ok]
    if not failed:
        return f"dataflow {uuid} failed: {error or 'unknown error'}"
    failed.sort(key=_is_cascade)
    lines = [f"dataflow {uuid} failed:"]
    for node in failed[:MAX_LISTED_FAILURES]:
        if node.exit_code is not None:
            how = f"exit code {node.exit_code}"
        else:
            how = f"signal {node.signal}" if node.signal is not None else "failed"
        cause = f" ({node.cause})" if node.cause else ""
        lines.append(f"  node `{node.node_id}` failed: {how}{cause}")
        if not _is_cascade(node):
            quoted = condensed(node.stderr_tail, STDERR_LINES)
            lines.extend(f"    | {text}" for text in quoted)
    if len(failed) > MAX_LISTED_FAILURES:
        lines.append(
            f"  There are {len(failed) - MAX_LISTED_FAILURES} more errors. Check the "
            f"`out/{uuid}` folder for full details."
        )
    return "\n".join(lines)


def _is_cascade(node: NodeResult) -> bool:
    return (node.cause or "").startswith("cascading")


def describe(summary: rep.DataflowSummary) -> str:
    """``[name] uuid`` as in the picker."""
    return f"[{summary.name or '<unnamed>'}] {summary.uuid}"


async def pick_dataflow(
    client: ControlClient, what: str, fallback_latest: bool = False
) -> str | None:
    """The single active dataflow, a choice on a TTY, or None when nothing runs.

    With ``fallback_latest`` the most recent dataflow is used when none is active.
    """
    listing = await client.request_as(req.ListDataflows(), rep.DataflowList)
    active = [d for d in listing.dataflows if d.status in rep.ACTIVE_STATUSES]
    if not active:
        if fallback_latest and listing.dataflows:
            return max(listing.dataflows, key=lambda d: d.created_at).uuid
        return None
    if len(active) == 1:
        return active[0].uuid
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"several dataflows are running; name the one to {what}: `dora {what} <UUID>` "
            f"or `dora {what} --name <NAME>`"
        )
    for index, summary in enumerate(active, 1):
        click.echo(f"  {index}) {describe(summary)}", err=True)
    choice = click.prompt(
        f"Which dataflow to {what}?", type=click.IntRange(1, len(active)), err=True
    )
    return active[choice - 1].uuid
