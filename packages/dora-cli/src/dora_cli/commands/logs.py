"""``dora logs``: show and follow the logs of a dataflow's nodes.

Pipeline: Read/Parse -> Time (``--since``/``--until``) -> Grep and level -> Tail ->
Display. Sources: the daemons' log files through the coordinator (the default; with
``--follow`` the live feed continues after the history), or ``./out/`` with ``--local``
(no coordinator needed; also the fallback when none answers).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from dora_cli.completion import complete_dataflows, complete_running_node_ids
from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import fail, reports_errors
from dora_cli.options import LOG_FORMAT, LOG_LEVEL, duration
from dora_message.constants import ENV_LOG_FILTER, ENV_LOG_FORMAT, ENV_LOG_LEVEL

if TYPE_CHECKING:
    from pathlib import Path

    from dora_cli.client import ControlClient, Target
    from dora_cli.log_display import LogDisplay
    from dora_message import cli_to_coordinator as req
    from dora_message.common import LogMessage

LOCAL_POLL = 0.2
OUT_DIR = "out"  # where `dora run` writes its logs, relative to the working directory


@click.command()
@click.argument(
    "dataflow", required=False, metavar="[UUID_OR_NAME]", shell_complete=complete_dataflows
)
@click.argument(
    "node_arg", required=False, metavar="[NODE]", shell_complete=complete_running_node_ids
)
@click.option("--node", "-n", help="Only this node (same as the NODE argument).")
@click.option("--all-nodes", is_flag=True, help="Merge the logs of all nodes (the default).")
@click.option("--tail", type=click.IntRange(0), help="Show only the last N lines.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
@click.option("--local", is_flag=True, help="Read ./out/ instead of asking the coordinator.")
@click.option("--since", callback=duration, help="Only lines newer than this (30s, 5m, 1h, 2d).")
@click.option("--until", callback=duration, help="Only lines older than this.")
@click.option(
    "--level",
    type=LOG_LEVEL,
    default="stdout",
    envvar=ENV_LOG_LEVEL,
    show_envvar=True,
    help="Minimum level (stdout shows everything).",
)
@click.option(
    "--log-format",
    type=LOG_FORMAT,
    default="pretty",
    envvar=ENV_LOG_FORMAT,
    show_envvar=True,
    help="Output format.",
)
@click.option(
    "--log-filter",
    envvar=ENV_LOG_FILTER,
    show_envvar=True,
    help='Per-node level overrides, e.g. "sensor=debug,camera=warn".',
)
@click.option("--grep", help="Case-insensitive text in the message, node id or target.")
@coordinator_options
@reports_errors
def logs(
    dataflow: str | None,
    node_arg: str | None,
    node: str | None,
    all_nodes: bool,
    tail: int | None,
    follow: bool,
    local: bool,
    since: float | None,
    until: float | None,
    level: str,
    log_format: str,
    log_filter: str | None,
    grep: str | None,
    target: Target,
) -> None:
    """Show the logs of a dataflow (the only running one, or the latest, by default)."""
    import asyncio
    from pathlib import Path

    from dora_cli.client import CoordinatorUnreachable
    from dora_cli.log_display import LogDisplay
    from dora_daemon.log_format import parse_log_filter
    from dora_message import cli_to_coordinator as req
    from dora_message.log_filter import format_timestamp

    if node_arg and node and node_arg != node:
        raise click.UsageError("the node is given twice (argument and --node)")
    node = node or node_arg
    if node and all_nodes:
        raise click.UsageError("--all-nodes and a node name cannot be combined")
    try:
        overrides = parse_log_filter(log_filter) if log_filter else {}
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--log-filter") from None
    now = time.time()
    query = req.LogQuery(
        nodes=[node] if node else None,
        since=format_timestamp(now - since) if since is not None else None,
        until=format_timestamp(now - until) if until is not None else None,
        level=level.lower(),
        level_overrides=overrides,
        grep=grep,
        tail=tail,
    )
    display = LogDisplay("stdout", log_format.lower(), stream=sys.stdout)
    try:
        if not local:
            try:
                asyncio.run(_remote(target, dataflow, query, follow, display))
                return
            except CoordinatorUnreachable:
                if not Path(OUT_DIR).is_dir():
                    raise
                click.echo(f"coordinator not reachable at {target}: reading ./out/", err=True)
                follow = False
        _local(dataflow, query, follow, display)
    except KeyboardInterrupt:
        pass


_CHUNK = 500  # records per write


def _show(display: LogDisplay, records: list[LogMessage]) -> None:
    # a write per chunk, not per line; chunks keep a long history's text small
    for start in range(0, len(records), _CHUNK):
        display.show_all(records[start : start + _CHUNK])


# ---- through the coordinator ----------------------------------------------------


async def _remote(
    target: Target, ident: str | None, query: req.LogQuery, follow: bool, display: LogDisplay
) -> None:
    import msgspec

    from dora_cli.client import ControlClient
    from dora_cli.summary import pick_dataflow
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep
    from dora_message.log_filter import filter_records

    async with await ControlClient.connect(target) as client:
        if ident is None:
            ident = await pick_dataflow(client, "logs", fallback_latest=True)
            if ident is None:
                fail("the coordinator knows no dataflow (start one with `dora start`)")
        if query.nodes:
            await _check_nodes(client, ident, query.nodes)
        if follow:
            subscribe = req.SubscribeLogs(dataflow=ident, nodes=query.nodes)
            ident = (await client.request_as(subscribe, rep.Subscribed)).uuid
        history = await client.request_as(
            req.GetLogs(dataflow=ident, query=query), rep.LogRecords, 60.0
        )
        if history.missing:
            click.echo(
                f"daemon(s) {', '.join(history.missing)} not connected: "
                "showing only the records the coordinator buffered for their nodes",
                err=True,
            )
        _show(display, history.records)
        if not follow:
            return
        seen = {_key(r) for r in history.records}
        live = msgspec.structs.replace(query, tail=None)
        async for event in client.events():
            if isinstance(event, rep.LogEvent):
                fresh = [r for r in filter_records(event.records, live) if _key(r) not in seen]
                _show(display, fresh)
                if display.closed:
                    return  # the reader went away (`| head`): following on is pointless
            elif event.uuid == ident:
                display.note(f"dataflow {ident} ended: {event.status}")
                return


async def _check_nodes(client: ControlClient, ident: str, nodes: list[str]) -> None:
    """An unknown node is an error naming the dataflow's nodes (``--follow`` would
    otherwise wait forever for lines that never come)."""
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep
    from dora_message.errors import DoraError

    try:
        details = await client.request_as(req.GetDataflow(dataflow=ident), rep.DataflowDetails)
    except DoraError:
        return  # the coordinator does not describe it (any more): the query decides
    known = {n.node_id for n in details.nodes}
    known.update(str(n.get("id")) for n in details.descriptor.get("nodes", []) if n.get("id"))
    unknown = [n for n in nodes if n not in known]
    if known and unknown:
        listing = ", ".join(sorted(known))
        fail(f"dataflow {details.summary.uuid} has no node `{unknown[0]}` (nodes: {listing})")


def _key(record: LogMessage) -> tuple[str, str | None, str]:
    return (record.timestamp, record.node_id, record.message)


# ---- local files ----------------------------------------------------------------


def _local(ident: str | None, query: req.LogQuery, follow: bool, display: LogDisplay) -> None:
    from pathlib import Path

    import msgspec

    from dora_daemon.log_query import latest_dataflow_id, log_node_ids, read_dataflow_logs

    if ident is not None and not _is_dataflow_dir(ident):
        # `dora logs --local sensor`: the first argument is the node (seed example).
        if query.nodes is None:
            query = msgspec.structs.replace(query, nodes=[ident])
        ident = None
    out_dir = Path(OUT_DIR)
    dataflow_id = ident or latest_dataflow_id(out_dir)
    if dataflow_id is None:
        fail(f"no dataflow logs under {out_dir.resolve()}")
    if query.nodes:
        # log files are named after their node: an unknown node is an error, not silence
        known = set(log_node_ids(out_dir, dataflow_id))
        unknown = [n for n in query.nodes if n not in known]
        if known and unknown:
            listing = ", ".join(sorted(known))
            fail(f"dataflow {dataflow_id} has no node `{unknown[0]}` (nodes: {listing})")
    _show(display, read_dataflow_logs(out_dir, dataflow_id, query))
    if follow:
        _follow_local(out_dir / dataflow_id, msgspec.structs.replace(query, tail=None), display)


def _is_dataflow_dir(name: str) -> bool:
    from pathlib import Path

    out_dir = Path(OUT_DIR).resolve()
    path = (out_dir / name).resolve()
    return path.parent == out_dir and path.is_dir()


def _follow_local(directory: Path, query: req.LogQuery, display: LogDisplay) -> None:
    """Print new complete lines of the current log files, polling every 200 ms."""
    import msgspec

    from dora_daemon.log_format import decode_record
    from dora_message.log_filter import filter_records

    positions: dict[Path, tuple[int, int]] = {}  # path -> (inode, offset)
    for path in directory.glob("log_*.jsonl"):
        info = path.stat()
        positions[path] = (info.st_ino, info.st_size)
    while True:
        fresh: list[LogMessage] = []
        for path in sorted(directory.glob("log_*.jsonl")):
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            inode, offset = positions.get(path, (info.st_ino, 0))
            if inode != info.st_ino or info.st_size < offset:
                offset = 0  # rotated: the current file is a new one
            with path.open("rb") as file:
                file.seek(offset)
                data = file.read()
            end = data.rfind(b"\n") + 1
            positions[path] = (info.st_ino, offset + end)
            for line in data[:end].splitlines():
                try:
                    fresh.append(decode_record(line))
                except msgspec.DecodeError:
                    continue
        _show(display, filter_records(fresh, query))
        if display.closed:
            return  # the reader went away (`| head`): following on is pointless
        time.sleep(LOCAL_POLL)
