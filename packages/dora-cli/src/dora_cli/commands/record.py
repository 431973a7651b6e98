"""``dora record``: run a dataflow with a recorder node subscribed to its outputs, or
(``--proxy``) record a dataflow already running on a coordinator from outside."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from dora_cli.completion import complete_dataflow_files
from dora_cli.coordinator_options import coordinator_options
from dora_cli.errors import fail, reports_errors, require_file
from dora_cli.options import PathType, run_options
from dora_cli.recording import output_yaml_option

if TYPE_CHECKING:
    from pathlib import Path

    from dora_cli.client import Target


@click.command()
@click.argument("dataflow", type=PathType(), shell_complete=complete_dataflow_files)
@click.option(
    "-o",
    "--output",
    type=PathType(dir_okay=False),
    help="Recording file [default: recording_<YYYYMMDD_HHMMSS>.adorec here].",
)
@click.option("--topics", help="Comma-separated node/output topics to record [default: all].")
@click.option(
    "--proxy",
    is_flag=True,
    help="Record the running dataflow started from DATAFLOW on the coordinator, here "
    "(it needs publish_all_messages_to_zenoh); Ctrl-C ends the recording.",
)
@click.option("--name", help="With --proxy: the running dataflow to record (name or UUID).")
@output_yaml_option
@run_options
@coordinator_options
@reports_errors
def record(
    dataflow: Path,
    output: Path | None,
    topics: str | None,
    proxy: bool,
    name: str | None,
    output_yaml: Path | None,
    target: Target,
    **options: Any,
) -> None:
    """Run DATAFLOW and record the messages of its outputs to a file for `dora replay`.

    A recorder node is added to the dataflow and subscribed to every output (or to
    --topics); the dataflow then runs as with `dora run`. With --proxy, the dataflow
    already runs on a coordinator and this command records it. The recording is an
    Arrow IPC stream that pyarrow, polars or duckdb can also read.
    """
    from pathlib import Path

    from dora_cli.commands.run import run_descriptor
    from dora_cli.recording import comma_list, load_yaml_document, node_executable, write_yaml
    from dora_message.load import load_descriptor_with_warnings, parse_descriptor_with_warnings
    from dora_record.plan import PlanError, discover_topics, inject_recorder, select_topics

    require_file(dataflow)
    load_descriptor_with_warnings(dataflow)  # errors point into the user's own file
    doc = load_yaml_document(dataflow)
    if output is None:
        output = Path(f"recording_{dt.datetime.now():%Y%m%d_%H%M%S}.adorec")
    path = output.resolve()
    if not path.parent.is_dir():
        fail(f"cannot record to `{output}`: folder `{path.parent}` does not exist")
    try:
        chosen = select_topics(discover_topics(doc), comma_list(topics, "--topics"))
    except PlanError as err:
        fail(str(err))
    if proxy:
        _record_proxy(dataflow, name, chosen, path, target)
        return
    try:
        new = inject_recorder(
            doc,
            chosen,
            output=str(path),
            descriptor_file=str(dataflow.resolve()),
            executable=node_executable("dora-record-node"),
        )
    except PlanError as err:
        fail(str(err))
    if output_yaml is not None:
        write_yaml(new, output_yaml)
        click.echo(f"Modified descriptor written to {output_yaml}", err=True)
        return
    descriptor, warnings = parse_descriptor_with_warnings(write_yaml(new), str(dataflow))
    shown = ", ".join(chosen) if len(chosen) <= 5 else f"{len(chosen)} topics"
    notes = [f"warning: {w}" for w in warnings]
    notes += [f"Recording {len(chosen)} topics to {path}", f"Topics: {shown}"]
    run_descriptor(descriptor, dataflow.resolve().parent, str(dataflow), notes, **options)


def _record_proxy(
    dataflow: Path, name: str | None, topics: list[str], path: Path, target: Target
) -> None:
    """Record ``topics`` of the running dataflow (``name``, or the one named like the
    file, or the only one) to ``path`` until Ctrl-C or every topic closed."""
    import time

    from dora_cli.commands.topic import open_watch, watched_dataflow
    from dora_cli.proxy_record import Interrupts, record_watched
    from dora_record.format import Header, RecordingError, RecordingWriter

    shown = ", ".join(topics) if len(topics) <= 5 else f"{len(topics)} topics"
    click.echo(f"Proxy recording {len(topics)} topics to {path}", err=True)
    click.echo(f"Topics: {shown}", err=True)
    ident = name or _running_named(target, dataflow.stem)
    watched = watched_dataflow(target, ident, topics, "record")
    start_ns = time.time_ns()
    header = Header(start_ns, watched.dataflow_id, dataflow.read_text(encoding="utf-8"))
    try:
        writer = RecordingWriter(path, header)
    except RecordingError as err:
        fail(str(err))
    watch = open_watch(watched)
    try:
        with Interrupts() as interrupts:
            record_watched(
                watch,
                writer,
                watched.topics,
                start_ns,
                interrupts,
                lambda text: click.echo(text, err=True),
            )
    finally:
        watch.close()
        writer.close()
    size = writer.bytes / (1 << 20)
    click.echo(f"Recording complete: {writer.messages} messages, {size:.2f} MB", err=True)


def _running_named(target: Target, stem: str) -> str | None:
    """The one running dataflow named ``stem``, if there is exactly one."""
    from dora_cli.client import call
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    listing = call(target, req.ListDataflows())
    named = [
        d.uuid for d in listing.dataflows if d.name == stem and d.status in rep.ACTIVE_STATUSES
    ]
    return named[0] if len(named) == 1 else None
