"""Per-node log capture: parse stdout/stderr lines, filter, append to JSONL files, rotate.

Every line a node prints goes through :meth:`NodeLogger.process_line`:

1. parse (:func:`parse_log_line`): a JSON object with at least ``level`` and ``timestamp``
   is a structured record; anything else becomes a ``stdout``-level record whose message is
   the raw line. The dataflow, node and daemon ids are always ours, whatever the line says.
2. filter by the node's ``min_log_level`` (:func:`dora_message.common.level_passes`).
   Filtered records are dropped here and are **not** written to the file, as in the
   reference (runtime spec §11: the filter comes before the file).
3. append one JSON :class:`~dora_message.common.LogMessage` per line to
   ``<out_dir>/<dataflow_id>/log_<node_id>.jsonl`` (files 0600, folders 0700: node output
   is nobody else's business) and flush (no fsync: a crash of the
   machine may lose the last lines, a crash of the node or daemon does not).
4. rotate once the current file holds ``max_log_size`` bytes or more: ``.N`` is dropped,
   ``.i`` becomes ``.i+1``, the current file becomes ``.1.jsonl`` and a fresh one is opened.
   The check runs after each write, so every rotated file is at least ``max_log_size``
   bytes and the line that crossed the limit ends the rotated file.

Sending to ``dora/logs`` subscribers, ``send_logs_as`` and the display is the caller's job:
it gets the record back from ``process_line``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import msgspec

from dora_message.common import LEVELS, LogMessage, level_passes, normalize_level
from dora_message.descriptor import Node
from dora_message.private_files import make_private_dirs, open_private
from dora_message.units import parse_size

log = logging.getLogger(__name__)

MAX_LINE_CHARS = 1024 * 1024
"""Longer lines are cut (the reference caps lines at 1 MiB)."""

TRUNCATED_MARKER = " [line truncated by dora]"

DEFAULT_MAX_ROTATED_FILES = 5

# Extra spellings nodes use for levels (Python logging, other tracing libraries).
_LEVEL_ALIASES = {"warning": "warn", "critical": "error", "fatal": "error"}
# Keys of a structured line that are ours to set, never taken from the node.
_OVERWRITTEN_KEYS = {"dataflow_id", "node_id", "daemon_id", "build_id", "stream"}
_KNOWN_KEYS = {
    "level",
    "timestamp",
    "message",
    "target",
    "module_path",
    "file",
    "line",
    "fields",
}

_json_encoder = msgspec.json.Encoder()

Stream = Literal["stdout", "stderr"]


class RecordIds(NamedTuple):
    """The ids every record of one node's output carries (never taken from the line)."""

    dataflow_id: str | None = None
    node_id: str | None = None
    daemon_id: str | None = None


_NO_IDS = RecordIds()


def now_rfc3339() -> str:
    """The current UTC time as RFC 3339 with microseconds, like ``2026-03-01T10:00:00.123456Z``.

    Microseconds, as nodes stamp their structured lines: a raw line stamped in milliseconds
    (truncated) sorted before the structured lines the node wrote just before it."""
    return rfc3339_from_ns(time.time_ns())


_second_text: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def rfc3339_from_ns(ns: int) -> str:
    """``ns`` nanoseconds since the epoch as RFC 3339 UTC with microseconds (truncated).

    Every raw line a node prints is stamped: the date and time of day are formatted once
    a second and reused (0.5 us a line instead of datetime's 3 us)."""
    global _second_text
    second, micros = divmod(ns // 1000, 1_000_000)
    cached = _second_text  # read once: another thread may replace it meanwhile
    if cached[0] != second:
        cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        _second_text = cached
    return f"{cached[1]}.{micros:06d}Z"


def log_file_path(out_dir: Path, dataflow_id: str, node_id: str, index: int = 0) -> Path:
    """Where the logs of a node live: the current file (index 0) or rotated file ``index``."""
    suffix = ".jsonl" if index == 0 else f".{index}.jsonl"
    return Path(out_dir) / dataflow_id / f"log_{node_id}{suffix}"


def existing_log_files(out_dir: Path, dataflow_id: str, node_id: str) -> list[Path]:
    """The log files of a node that exist, oldest first (``.N`` ... ``.1``, then current)."""
    directory = Path(out_dir) / dataflow_id
    prefix = f"log_{node_id}."
    rotated: list[tuple[int, Path]] = []
    if directory.is_dir():
        for path in directory.iterdir():
            name = path.name
            if not (name.startswith(prefix) and name.endswith(".jsonl")):
                continue
            middle = name[len(prefix) : -len(".jsonl")]
            if middle.isdigit():
                rotated.append((int(middle), path))
    files = [path for _, path in sorted(rotated, reverse=True)]
    current = log_file_path(out_dir, dataflow_id, node_id)
    if current.exists():
        files.append(current)
    return files


def _level_of(value: object) -> str | None:
    """The normalized level of a structured line, or None when it is not a known level."""
    if not isinstance(value, str):
        return None
    name = value.strip().lower()
    name = _LEVEL_ALIASES.get(name, name)
    return name if name in LEVELS else None


def _as_text(value: object) -> str:
    """A field value as a string: strings unchanged, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return _json_encoder.encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return str(value)


def _optional_text(value: object) -> str | None:
    return None if value is None else _as_text(value)


def _line_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _structured(obj: dict[str, Any], stream: str, ids: RecordIds) -> LogMessage | None:
    """The record of a decoded JSON object, or None when it is not a structured log."""
    level = _level_of(obj.get("level"))
    timestamp = obj.get("timestamp")
    if level is None or not isinstance(timestamp, str) or not timestamp:
        return None
    fields: dict[str, str] = {}
    raw_fields = obj.get("fields")
    if isinstance(raw_fields, dict):
        fields = {str(key): _as_text(value) for key, value in raw_fields.items()}
    # Keys we do not model (e.g. ``fields_dropped`` from the node API) are kept as fields
    # rather than lost; explicit fields win.
    for key, value in obj.items():
        if key not in _KNOWN_KEYS and key not in _OVERWRITTEN_KEYS and key not in fields:
            fields[key] = _as_text(value)
    message = obj.get("message")
    return LogMessage(
        timestamp=timestamp,
        level=level,
        message="" if message is None else _as_text(message),
        stream=_stream(stream),
        target=_optional_text(obj.get("target")),
        module_path=_optional_text(obj.get("module_path")),
        file=_optional_text(obj.get("file")),
        line=_line_number(obj.get("line")),
        fields=fields or None,
        dataflow_id=ids.dataflow_id,
        node_id=ids.node_id,
        daemon_id=ids.daemon_id,
    )


def _stream(stream: str) -> Stream | None:
    if stream == "stdout" or stream == "stderr":
        return stream
    return None


def _strip_newline(line: str) -> str:
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    return line


def parse_log_line(line: str, stream: str, ids: RecordIds = _NO_IDS) -> LogMessage:
    """Turn one output line of a node into a record carrying ``ids`` (records are frozen,
    so the ids go in when it is built).

    A JSON object with a known ``level`` and a string ``timestamp`` is structured; every
    other line is a ``stdout``-level record with the raw line as message and the current
    time as timestamp. ``stream`` is ``"stdout"`` or ``"stderr"``.
    """
    text = _strip_newline(line)
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + TRUNCATED_MARKER
    if text.lstrip().startswith("{"):
        try:
            obj = msgspec.json.decode(text)
        except msgspec.DecodeError:
            obj = None
        if isinstance(obj, dict):
            record = _structured(obj, stream, ids)
            if record is not None:
                return record
    return LogMessage(
        timestamp=now_rfc3339(),
        level="stdout",
        message=text,
        stream=_stream(stream),
        dataflow_id=ids.dataflow_id,
        node_id=ids.node_id,
        daemon_id=ids.daemon_id,
    )


class LogSettings(NamedTuple):
    """The log options of one node, resolved from the descriptor."""

    min_log_level: str | None
    max_log_size: int | None
    max_rotated_files: int


def log_settings(node: Node) -> LogSettings:
    """``min_log_level``, ``max_log_size`` (in bytes) and ``max_rotated_files`` of a node.

    For operator nodes the values may sit on the operator (at most one operator sets each).
    """
    sources: list[Any] = [node]
    if node.operator is not None:
        sources.append(node.operator)
    sources.extend(node.operators or [])

    def first(attr: str) -> Any:
        for source in sources:
            value = getattr(source, attr, None)
            if value is not None:
                return value
        return None

    level = first("min_log_level")
    size = first("max_log_size")
    rotated = first("max_rotated_files")
    return LogSettings(
        min_log_level=None if level is None else normalize_level(str(level)),
        max_log_size=None if size is None else parse_size(size),
        max_rotated_files=DEFAULT_MAX_ROTATED_FILES if rotated is None else int(rotated),
    )


class NodeLogger:
    """Captures the output of one node of one dataflow into its JSONL log file.

    Not thread-safe: one task per node feeds it. The file is opened at construction (so an
    empty file shows the node ran) and kept open until :meth:`close`.
    """

    def __init__(
        self,
        *,
        dataflow_id: str,
        node_id: str,
        out_dir: Path,
        min_log_level: str | None = None,
        max_log_size: int | None = None,
        max_rotated_files: int = DEFAULT_MAX_ROTATED_FILES,
        daemon_id: str | None = None,
    ) -> None:
        if max_log_size is not None and max_log_size <= 0:
            raise ValueError(f"max_log_size must be positive, got {max_log_size}")
        if max_rotated_files < 1:
            raise ValueError(f"max_rotated_files must be at least 1, got {max_rotated_files}")
        self.dataflow_id = dataflow_id
        self.node_id = node_id
        self.daemon_id = daemon_id
        self._ids = RecordIds(dataflow_id, node_id, daemon_id)
        self.min_log_level = None if min_log_level is None else normalize_level(min_log_level)
        self.max_log_size = max_log_size
        self.max_rotated_files = max_rotated_files
        self.out_dir = Path(out_dir)
        self.path = log_file_path(self.out_dir, dataflow_id, node_id)
        make_private_dirs(self.path.parent)  # out/ and out/<dataflow>/: 0700
        self._file: IO[bytes] | None = None
        self._size = 0
        self._open()

    def _open(self) -> None:
        self._file = open_private(self.path, append=True)  # 0600: node output is private
        # An existing file (a restarted node) keeps counting towards the rotation limit.
        self._size = os.fstat(self._file.fileno()).st_size

    def process_line(self, stream: str, line: str) -> LogMessage | None:
        """Parse, filter and store one output line; the record if it passed the filter."""
        record = parse_log_line(line, stream, self._ids)
        if self.min_log_level is not None and not level_passes(record.level, self.min_log_level):
            return None
        self.write(record)
        return record

    def write(self, record: LogMessage) -> None:
        """Append one record to the current file, rotating afterwards if it is full."""
        if self._file is None:
            raise ValueError(f"log of node `{self.node_id}` is closed")
        data = _json_encoder.encode(record) + b"\n"
        self._file.write(data)
        self._file.flush()
        self._size += len(data)
        if self.max_log_size is not None and self._size >= self.max_log_size:
            self._rotate()

    def _rotate(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        n = self.max_rotated_files
        self._rotated(n).unlink(missing_ok=True)
        for i in range(n - 1, 0, -1):
            if self._rotated(i).exists():
                os.replace(self._rotated(i), self._rotated(i + 1))
        os.replace(self.path, self._rotated(1))
        log.debug("rotated log of node %s in dataflow %s", self.node_id, self.dataflow_id)
        self._open()

    def _rotated(self, index: int) -> Path:
        return log_file_path(self.out_dir, self.dataflow_id, self.node_id, index)

    def close(self) -> None:
        """Close the file; further lines raise ``ValueError``. Calling twice is fine."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> NodeLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
