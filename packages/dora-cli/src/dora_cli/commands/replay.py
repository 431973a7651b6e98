"""``dora replay``: run a recorded dataflow with recorded nodes swapped for replay nodes.

What runs besides the replay nodes is the user's decision, never the recording's: a
recording is a data file, but the dataflow stored in it names programs. Live nodes come
from ``--dataflow`` (the user's own file), or from the recording with ``--run-embedded``
(or a yes at the prompt on a terminal); without either, a recording whose dataflow has
live nodes is refused after showing what they would run.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from dora_cli.errors import fail, reports_errors, require_file
from dora_cli.options import PathType, run_options
from dora_cli.recording import output_yaml_option

if TYPE_CHECKING:
    from pathlib import Path


@click.command()
@click.argument("file", type=PathType(dir_okay=False))
@click.option(
    "--dataflow",
    type=PathType(dir_okay=False),
    help="Your dataflow file: its nodes that are not replayed run live, from its folder "
    "(the dataflow stored in the recording is then not used).",
)
@click.option(
    "--run-embedded",
    is_flag=True,
    help="Run the live nodes of the dataflow stored in the recording. It names programs "
    "to start: use only with recordings you trust.",
)
@click.option("--loop", is_flag=True, help="Start over after the last message.")
@click.option(
    "--replace",
    help="Comma-separated nodes to replace by their recording [default: all recorded].",
)
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Playback speed: 2 twice as fast, 0.5 half, 0 as fast as possible.",
)
@output_yaml_option
@run_options
@reports_errors
def replay(
    file: Path,
    dataflow: Path | None,
    run_embedded: bool,
    loop: bool,
    replace: str | None,
    speed: float,
    output_yaml: Path | None,
    **options: Any,
) -> None:
    """Replay the recording FILE (.adorec or .drec).

    The replaced nodes send their recorded messages with the recorded timing instead of
    running. The other nodes run live as with `dora run`: those of your own --dataflow,
    or with --run-embedded those of the dataflow stored in the recording, in the
    recording's folder. Without either, only replay nodes run, and a recording whose
    dataflow has other nodes is refused (after showing what they would run).
    """
    import yaml

    from dora_cli.commands.run import run_descriptor
    from dora_cli.recording import comma_list, load_yaml_document, node_executable, write_yaml
    from dora_cli.terminal_text import escape_lines
    from dora_message.load import load_descriptor_with_warnings, parse_descriptor_with_warnings
    from dora_record.format import RecordingError, open_recording
    from dora_record.plan import PlanError, choose_replaced, plan_replay
    from dora_record.trust import dropped_settings, live_nodes, replay_only

    if dataflow is not None and run_embedded:
        raise click.UsageError("--dataflow and --run-embedded exclude each other")
    require_file(file, "recording")
    try:
        recording = open_recording(file)
        counts = recording.topics()
    except RecordingError as err:
        fail(escape_lines(f"{err} (recordings are `.adorec` files made by `dora record`)"))
    notes = [f"warning: {problem}" for problem in recording.problems]
    if recording.unreadable:
        notes.append(f"warning: {recording.unreadable} damaged messages are skipped")
    if not counts:
        why = f": {recording.problems[0]}" if recording.problems else ""
        fail(escape_lines(f"recording `{file}` contains no readable messages{why}"))
    recorded = list(dict.fromkeys(node for node, _ in counts))
    requested = comma_list(replace, "--replace")
    if dataflow is not None:
        require_file(dataflow)
        load_descriptor_with_warnings(dataflow)  # errors point into the user's own file
        doc = load_yaml_document(dataflow)
        base_dir, name, source = dataflow.resolve().parent, str(dataflow), f"`{dataflow}`"
    else:
        try:
            doc = yaml.safe_load(recording.header.descriptor)
        except yaml.YAMLError as err:
            fail(escape_lines(f"recording `{file}`: its stored dataflow does not parse: {err}"))
        base_dir, name = file.resolve().parent, f"{file} (stored dataflow)"
        source = f"the dataflow stored in `{file}`"
    try:
        replaced = choose_replaced(recorded, requested)
        if dataflow is not None:
            replaced, absent = _in_dataflow(doc, replaced, dataflow, explicit=requested)
            notes += [
                f"note: recorded node `{n}` is not in `{dataflow}`: not replayed" for n in absent
            ]
        new = plan_replay(
            doc,
            counts,
            replaced,
            recording=str(file.resolve()),
            speed=speed,
            loop=loop,
            executable=node_executable("dora-replay-node"),
        )
        live = live_nodes(new, replaced)
    except PlanError as err:
        fail(escape_lines(f"recording `{file}`: {err}"))  # names from the recording
    if output_yaml is not None:
        write_yaml(new, output_yaml)  # nothing runs: the file is there to be read
        click.echo(f"Modified descriptor written to {output_yaml}", err=True)
        return
    parse_descriptor_with_warnings(write_yaml(new), name)  # errors before anything is shown
    shown = [f"  {node}" for node in live]
    if dataflow is None and not run_embedded:
        if live and not _consented(source, shown):
            fail(
                f"not running programs named in {source} without your consent: pass "
                "--dataflow YOUR_DATAFLOW.yml to run your own nodes, or --run-embedded to "
                "run the ones above (only for recordings you trust)"
            )
        if not live:
            dropped = dropped_settings(new, replaced)
            new = replay_only(new, replaced)
            if dropped:
                notes.append(
                    "note: settings of the recording's dataflow not applied (--run-embedded "
                    f"applies them): {', '.join(dropped[:20])}"
                )
    descriptor, warnings = parse_descriptor_with_warnings(write_yaml(new), name)
    notes = [f"warning: {w}" for w in warnings] + notes
    if speed <= 0 and set(replaced) != set(recorded):
        notes.append("warning: unpaced partial replay: live nodes may fall behind")
    notes += [
        f"Replaying {len(replaced)} nodes from {file}",
        f"Replaced: {', '.join(replaced)}",
        f"Live nodes from {source}:" if live else "Live nodes: none",
        *shown,
        f"Speed: {speed:g}x" if speed > 0 else "Speed: unpaced",
    ]
    run_descriptor(descriptor, base_dir, name, notes, **options)


def _in_dataflow(
    doc: Any, replaced: list[str], dataflow: Path, *, explicit: list[str] | None
) -> tuple[list[str], list[str]]:
    """``replaced`` split into the nodes of the user's dataflow and the absent ones; an
    absent node asked for by name, or no recorded node at all, is an error."""
    from dora_record.plan import PlanError

    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    ids = {n.get("id") for n in nodes or [] if isinstance(n, dict)}
    present = [node for node in replaced if node in ids]
    absent = [node for node in replaced if node not in ids]
    if explicit is not None and absent:
        raise PlanError(f"node `{absent[0]}` is not in `{dataflow}`")
    if not present:
        raise PlanError(f"none of the recorded nodes ({', '.join(replaced)}) is in `{dataflow}`")
    return present, absent


def _consented(source: str, shown: list[str]) -> bool:
    """Show what ``source`` would run; ask on a terminal (no answer elsewhere)."""
    click.echo(f"{source[0].upper()}{source[1:]} would also run these nodes:", err=True)
    for line in shown:
        click.echo(line, err=True)
    # both ends on a terminal: someone reads the question and types the answer
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return False
    return click.confirm("Run them?", default=False, err=True)
