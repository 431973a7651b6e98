"""What ``dora run`` does once the descriptor is loaded: fetch, build, run, report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dora_cli.log_display import LogDisplay, OwnLogHandler
from dora_daemon import LocalDataflow, RunOptions
from dora_daemon.build import build_dataflow
from dora_daemon.sources import default_cache_dir, resolve_sources
from dora_message.common import DataflowResult, LogMessage
from dora_message.descriptor import Descriptor


@dataclass
class RunOutcome:
    """The result of a local run and whether the user interrupted it."""

    result: DataflowResult
    interrupted: bool

    def failure_report(self) -> str:
        """Name every failed node, root causes first, with its last stderr lines."""
        # imported here: a run that succeeds never needs it (or the coordinator message
        # types it brings, ~7 ms of start-up)
        from dora_cli.summary import failure_summary

        return failure_summary(self.result.dataflow_id, None, self.result)


async def run_local(
    descriptor: Descriptor,
    base_dir: Path,
    *,
    display: LogDisplay,
    stop_after: float | None,
    uv: bool,
    allow_shell_nodes: bool,
    grace: float | None = None,
) -> RunOutcome:
    """Fetch sources, run build commands, then run the dataflow until it ends."""
    sources = await resolve_sources(descriptor, base_dir, default_cache_dir())
    working_dirs = {node: source.working_dir for node, source in sources.items()}

    def on_build_output(node_id: str, line: str) -> None:
        display.note(f"[build {node_id}] {line}")

    await build_dataflow(
        descriptor, base_dir, uv=uv, working_dirs=working_dirs, on_output=on_build_output
    )
    options = RunOptions(
        stop_after=stop_after,
        uv=uv,
        allow_shell_nodes=allow_shell_nodes,
        sources={node: (s.working_dir, s.path) for node, s in sources.items()},
        shown_level=display.level,
        shown_levels=dict(display.overrides),
        fork_server=True,
    )
    if grace is not None:
        options.grace = grace

    def on_log(record: LogMessage) -> None:
        display.show(record)

    dataflow = LocalDataflow(descriptor, base_dir, options, on_log=on_log)
    loop = asyncio.get_running_loop()
    presses = 0

    def on_interrupt() -> None:
        nonlocal presses
        presses += 1
        # stop first: nothing said about it (to a pipe that may be closed) may delay it
        dataflow.stop(force=presses > 1)
        if presses == 1:
            display.note("stopping dataflow (press Ctrl-C again to kill it)")

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    loop.add_signal_handler(signal.SIGTERM, dataflow.stop)
    try:
        with shown_daemon_logs(display):
            result = await dataflow.run()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
    return RunOutcome(result=result, interrupted=presses > 0)


@contextlib.contextmanager
def shown_daemon_logs(display: LogDisplay) -> Iterator[None]:
    """While the in-process daemon runs, its warnings go through ``display`` (labelled,
    on stderr) rather than through Python's bare last-resort handler."""
    logger = logging.getLogger("dora_daemon")
    handler = OwnLogHandler(display)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
