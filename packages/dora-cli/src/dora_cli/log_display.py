"""Showing node log records on the terminal, filtered by level and per-node overrides."""

from __future__ import annotations

import sys
from typing import TextIO

from dora_daemon.log_format import format_log
from dora_message.common import LogMessage, level_passes


class LogDisplay:
    """Prints the records that pass ``level`` (or the node's override) to ``stream``."""

    def __init__(
        self,
        level: str = "stdout",
        fmt: str = "pretty",
        overrides: dict[str, str] | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.level = level
        self.fmt = fmt
        self.overrides = overrides or {}
        self.stream = stream if stream is not None else sys.stderr
        self.color = fmt == "pretty" and _wants_color(self.stream)

    def show(self, record: LogMessage) -> None:
        """Print ``record`` if it passes the filters."""
        threshold = self.overrides.get(record.node_id or "", self.level)
        if not level_passes(record.level, threshold):
            return
        self.stream.write(format_log(record, self.fmt, self.color) + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """Print a message of the CLI itself (not a node log)."""
        if self.fmt == "json":
            return
        self.stream.write(text + "\n")
        self.stream.flush()


def _wants_color(stream: TextIO) -> bool:
    import os

    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty() and os.environ.get("TERM") != "dumb"
