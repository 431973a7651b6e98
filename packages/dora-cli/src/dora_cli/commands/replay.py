"""``dora replay``: run a recorded dataflow with recorded nodes swapped for replay nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dora_cli.commands.run import run_descriptor, run_options
from dora_cli.errors import fail, reports_errors, require_file
from dora_cli.recording import comma_list, node_executable, output_yaml_option, write_yaml


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
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
    loop: bool,
    replace: str | None,
    speed: float,
    output_yaml: Path | None,
    **options: Any,
) -> None:
    """Replay the recording FILE (.adorec or .drec).

    The dataflow stored in the recording runs again as with `dora run`, in the
    recording's folder; the replaced nodes send their recorded messages with the
    recorded timing instead of running, the others run live.
    """
    import yaml

    from dora_message.load import parse_descriptor_with_warnings
    from dora_record.format import RecordingError, open_recording
    from dora_record.plan import PlanError, choose_replaced, plan_replay

    require_file(file, "recording")
    try:
        recording = open_recording(file)
        counts = recording.topics()
    except RecordingError as err:
        fail(f"{err} (recordings are `.adorec` files made by `dora record`)")
    if not counts:
        fail(f"recording `{file}` contains no messages")
    try:
        doc = yaml.safe_load(recording.header.descriptor)
    except yaml.YAMLError as err:
        fail(f"recording `{file}`: the dataflow stored in it does not parse: {err}")
    try:
        replaced = choose_replaced((node for node, _ in counts), comma_list(replace, "--replace"))
        new = plan_replay(
            doc,
            counts,
            replaced,
            recording=str(file.resolve()),
            speed=speed,
            loop=loop,
            executable=node_executable("dora-replay-node"),
        )
    except PlanError as err:
        fail(f"recording `{file}`: {err}")
    if output_yaml is not None:
        write_yaml(new, output_yaml)
        click.echo(f"Modified descriptor written to {output_yaml}", err=True)
        return
    name = f"{file} (stored dataflow)"
    descriptor, warnings = parse_descriptor_with_warnings(write_yaml(new), name)
    notes = [f"warning: {w}" for w in warnings]
    if recording.truncated:
        notes.append(f"warning: `{file}` ends in a cut-off message (recorder killed?)")
    if speed <= 0 and set(replaced) != {node for node, _ in counts}:
        notes.append("warning: unpaced partial replay: live nodes may fall behind")
    notes += [
        f"Replaying {len(replaced)} nodes from {file}",
        f"Replaced: {', '.join(replaced)}",
        f"Speed: {speed:g}x" if speed > 0 else "Speed: unpaced",
    ]
    run_descriptor(descriptor, file.resolve().parent, name, notes, **options)
