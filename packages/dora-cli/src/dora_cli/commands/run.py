"""``dora run``: build and run a dataflow with an in-process daemon.

``dora record`` and ``dora replay`` run a rewritten dataflow the same way: they share
:func:`dora_cli.options.run_options` and :func:`run_descriptor`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import click

from dora_cli.completion import complete_dataflow_files
from dora_cli.errors import EXIT_FAILURE, EXIT_INTERRUPTED, reports_errors, require_file
from dora_cli.options import PathType, run_options

if TYPE_CHECKING:
    from pathlib import Path

    from dora_message.descriptor import Descriptor


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection while start-up imports run: they make many objects and no
    garbage, so collecting only walks them (~5% of their time). What exists afterwards
    is frozen: the collections during the run skip it."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


@click.command()
@click.argument("path", type=PathType(), shell_complete=complete_dataflow_files)
@run_options
@reports_errors
def run(path: Path, **options: Any) -> None:
    """Run the dataflow at PATH locally (no coordinator or daemon needed).

    Node output (stdout and stderr lines, labelled STDOUT and STDERR, and log
    records) is shown on stdout with the node's name and written to
    out/<dataflow-uuid>/log_<node>.jsonl beside the dataflow; dora's own messages
    and the failure summary go to stderr. Ctrl-C stops the dataflow gracefully; a
    second Ctrl-C kills it at once.
    """
    require_file(path)
    if not options["uv"]:
        # first: the Python nodes' warm interpreter imports pyarrow while this process
        # imports and loads the rest (docs/startup.md)
        from dora_daemon.forkserver_launch import prestart, read_text

        prestart(read_text(path), uv=False)

    with collector_paused():
        from dora_message.load import load_descriptor_with_warnings

        descriptor, warnings = load_descriptor_with_warnings(path)
    notes = [f"warning: {warning}" for warning in warnings]
    run_descriptor(descriptor, path.resolve().parent, str(path), notes, **options)


def run_descriptor(
    descriptor: Descriptor,
    base_dir: Path,
    file: str,
    notes: Sequence[str],
    *,
    stop_after: float | None,
    grace_duration: float | None,
    uv: bool,
    debug: bool,
    allow_shell_nodes: bool,
    log_level: str,
    log_format: str,
    log_filter: str | None,
) -> None:
    """Run a loaded dataflow as ``dora run`` does; ``notes`` are shown first.

    Relative paths resolve against ``base_dir``; ``file`` names the dataflow in errors.
    Exits non-zero when a node failed or the user interrupted the run.
    """
    with collector_paused():
        import asyncio
        import atexit

        from dora_cli.local_run import run_local
        from dora_cli.log_display import LogDisplay
        from dora_daemon.log_format import parse_log_filter
        from dora_message.errors import DescriptorError

    try:
        overrides = parse_log_filter(log_filter) if log_filter else {}
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--log-filter") from None
    display = LogDisplay(log_level.lower(), log_format.lower(), overrides)
    for note in notes:
        display.note(note)
    if debug:
        from dora_message.descriptor import with_debug_inspection

        descriptor = with_debug_inspection(descriptor)
        display.note(
            "note: --debug: `dora topic` reaches dataflows on a coordinator only; "
            "for this one use `dora up` and `dora start --debug`"
        )

    # At exit, the interpreter's last garbage collections walk every object the CLI, the
    # daemon and their imports made (~20-30 ms before the process is gone, on the wall
    # time of every run); frozen objects are skipped. The run closes its own files and
    # sockets, so nothing relies on those collections.
    atexit.register(gc.freeze)
    try:
        outcome = asyncio.run(
            run_local(
                descriptor,
                base_dir,
                display=display,
                stop_after=stop_after,
                grace=grace_duration,
                uv=uv,
                allow_shell_nodes=allow_shell_nodes,
            )
        )
    except DescriptorError as error:
        # Resolving node paths happens after loading, so name the file here.
        error.file = error.file or file
        raise
    if not outcome.result.ok:
        display.note(outcome.failure_report())
        raise SystemExit(EXIT_FAILURE)
    if outcome.interrupted:
        raise SystemExit(EXIT_INTERRUPTED)
