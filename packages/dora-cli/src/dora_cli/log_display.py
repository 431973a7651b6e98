"""Showing node log records on the terminal, filtered by level and per-node overrides.

Where things go, as in dora-rs: what nodes print (their records, whichever of their
streams a line came from) goes to **stdout**, so ``dora run flow.yml | grep hello`` finds
it; what dora itself says (notes, warnings, the failure summary) goes to **stderr**.

Two rules keep the display from hurting the dataflow or the user:

* on a terminal, control characters from nodes are escaped (:mod:`dora_cli.terminal_text`);
* a display whose reader went away (``dora run ... | head -2``, a closed terminal) goes
  quiet instead of raising: its callers are the log pump and the Ctrl-C handler, and an
  exception there would stop the stop path. The dead stream's descriptor is pointed at
  ``/dev/null`` so later writes (``click.echo``, the interpreter's flush at exit) are
  harmless too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from dora_cli.terminal_text import escape_lines, escaped_record
from dora_message.common import LogMessage, level_passes


class LogDisplay:
    """Prints the records that pass ``level`` (or the node's override) to ``stream``
    (default stdout) and the CLI's own notes to ``notes`` (default stderr)."""

    def __init__(
        self,
        level: str = "stdout",
        fmt: str = "pretty",
        overrides: dict[str, str] | None = None,
        stream: TextIO | None = None,
        notes: TextIO | None = None,
    ) -> None:
        from dora_cli.log_lines import format_log  # not at import: `--help` stays light

        self._format = format_log
        self.level = level
        self.fmt = fmt
        self.overrides = overrides or {}
        self.stream = stream if stream is not None else sys.stdout
        self.notes = notes if notes is not None else sys.stderr
        self.color = fmt == "pretty" and _wants_color(self.stream)
        self.escape = _is_terminal(self.stream)
        self.closed = False  # the records' reader is gone: no more records are written
        self._notes_closed = False

    def show(self, record: LogMessage) -> None:
        """Print ``record`` if it passes the filters."""
        self.show_all((record,))

    def show_all(self, records: Iterable[LogMessage]) -> None:
        """Print the records that pass the filters with one write and one flush: a batch
        from the coordinator (up to 500 records) is one system call, not one per line."""
        if self.closed:
            return
        lines = [self._line(record) for record in records if self._passes(record)]
        if lines and not _write(self.stream, "\n".join(lines)):
            self.closed = True

    def _passes(self, record: LogMessage) -> bool:
        return level_passes(record.level, self.overrides.get(record.node_id or "", self.level))

    def _line(self, record: LogMessage) -> str:
        if self.escape and self.fmt != "json":  # JSON escapes control characters itself
            record = escaped_record(record)
        return self._format(record, self.fmt, self.color)

    def show_own(self, record: LogMessage) -> None:
        """Print a record of dora itself (the in-process daemon) on the notes stream."""
        if self._notes_closed or not level_passes(record.level, self.level):
            return
        color = self.fmt == "pretty" and _wants_color(self.notes)
        self.note(self._format(record, self.fmt, color))

    def note(self, text: str) -> None:
        """Print a message of the CLI itself (not a node log; it may quote node output).

        Also with ``--log-format json``: stdout stays pure JSON, the note is on stderr."""
        if self._notes_closed:
            return
        if _is_terminal(self.notes):
            text = escape_lines(text)
        if not _write(self.notes, text):
            self._notes_closed = True


class OwnLogHandler(logging.Handler):
    """Shows the ``logging`` records of dora's own modules (the in-process daemon of
    ``dora run``) on ``display``'s notes stream, formatted like node records with ``dora``
    in the node's place, instead of the bare text of Python's last-resort handler."""

    def __init__(self, display: LogDisplay) -> None:
        super().__init__()
        self.display = display

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + self.format(record).partition("\n")[2]
            moment = datetime.fromtimestamp(record.created, UTC)
            self.display.show_own(
                LogMessage(
                    timestamp=moment.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                    level=_LEVELS.get(record.levelno, "info"),
                    message=message,
                    node_id="dora",
                    target=record.name,
                )
            )
        except Exception:  # a log call must never take the run down
            self.handleError(record)


_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "error",
}


def _write(stream: TextIO, line: str) -> bool:
    """Write one line; False (and ``stream`` silenced) when its reader is gone."""
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):  # EPIPE, EIO of a hung-up terminal, a closed file
        _silence(stream)
        return False
    return True


def _silence(stream: TextIO) -> None:
    """Point ``stream``'s descriptor at /dev/null, dropping what is still buffered."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    with contextlib.suppress(OSError, ValueError):
        stream.flush()  # the buffered rest now goes to /dev/null instead of raising again


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def _wants_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _is_terminal(stream) and os.environ.get("TERM") != "dumb"
