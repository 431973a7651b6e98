"""``dora record``: run a dataflow with a recorder node subscribed to its outputs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from dora_cli.commands.run import run_descriptor, run_options
from dora_cli.completion import complete_dataflow_files
from dora_cli.errors import fail, reports_errors, require_file
from dora_cli.recording import (
    comma_list,
    load_yaml_document,
    node_executable,
    output_yaml_option,
    write_yaml,
)


@click.command()
@click.argument("dataflow", type=click.Path(path_type=Path), shell_complete=complete_dataflow_files)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Recording file [default: recording_<YYYYMMDD_HHMMSS>.adorec here].",
)
@click.option("--topics", help="Comma-separated node/output topics to record [default: all].")
@output_yaml_option
@run_options
@reports_errors
def record(
    dataflow: Path,
    output: Path | None,
    topics: str | None,
    output_yaml: Path | None,
    **options: Any,
) -> None:
    """Run DATAFLOW and record the messages of its outputs to a file for `dora replay`.

    A recorder node is added to the dataflow and subscribed to every output (or to
    --topics); the dataflow then runs as with `dora run`. The recording is an Arrow IPC
    stream that pyarrow, polars or duckdb can also read.
    """
    from dora_message.load import load_descriptor_with_warnings, parse_descriptor_with_warnings
    from dora_record.plan import PlanError, discover_topics, inject_recorder, select_topics

    require_file(dataflow)
    load_descriptor_with_warnings(dataflow)  # errors point into the user's own file
    doc = load_yaml_document(dataflow)
    if output is None:
        output = Path(f"recording_{dt.datetime.now():%Y%m%d_%H%M%S}.adorec")
    target = output.resolve()
    try:
        chosen = select_topics(discover_topics(doc), comma_list(topics, "--topics"))
        new = inject_recorder(
            doc,
            chosen,
            output=str(target),
            descriptor_file=str(dataflow.resolve()),
            executable=node_executable("dora-record-node"),
        )
    except PlanError as err:
        fail(str(err))
    if output_yaml is not None:
        write_yaml(new, output_yaml)
        click.echo(f"Modified descriptor written to {output_yaml}", err=True)
        return
    if not target.parent.is_dir():
        fail(f"cannot record to `{output}`: folder `{target.parent}` does not exist")
    descriptor, warnings = parse_descriptor_with_warnings(write_yaml(new), str(dataflow))
    shown = ", ".join(chosen) if len(chosen) <= 5 else f"{len(chosen)} topics"
    notes = [f"warning: {w}" for w in warnings]
    notes += [f"Recording {len(chosen)} topics to {target}", f"Topics: {shown}"]
    run_descriptor(descriptor, dataflow.resolve().parent, str(dataflow), notes, **options)
