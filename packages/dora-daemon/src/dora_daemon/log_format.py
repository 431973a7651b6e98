"""Showing log records to people: ``--log-format``, ``--log-level`` and ``--log-filter``.

Formats (``dora run``, ``dora logs``, ``dora start --attach``):

* ``pretty``: ``HH:MM:SS.mmm LEVEL node: message key=value ...`` in local time, the level
  upper-case and padded to five columns (raw output shows as ``STDOUT``, or ``STDERR`` for
  a line the node wrote to its stderr); structured fields follow the message as
  ``key=value``, except where a bridged ``logging`` call was made (``file``, ``line``,
  ``module``: the JSON format has them). Optional ANSI colours by level.
* ``compact``: ``HH:MM:SS LEVEL node: message``, as dora-rs shows it (``STDERR`` too).
* ``json``: the record in dora-rs's log message layout (:mod:`dora_daemon.peer_log`), one
  JSON line, never coloured.

Plain strings, no rich: the CLI decides colour (TTY, ``NO_COLOR``) and where to print.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import msgspec

from dora_message.common import LogMessage, level_passes, normalize_level

LogFormat = Literal["pretty", "json", "compact"]
LOG_FORMATS: tuple[str, ...] = ("pretty", "json", "compact")

_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_LEVEL_COLORS = {
    "error": "\x1b[31m",  # red
    "warn": "\x1b[33m",  # yellow
    "info": "\x1b[32m",  # green
    "debug": "\x1b[34m",  # blue
    "trace": "\x1b[35m",  # magenta
    "stdout": "",
}
_NODE_COLOR = "\x1b[36m"  # cyan
_LOCATION_FIELDS = ("file", "line", "module")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(LogMessage)


def decode_record(line: str | bytes) -> LogMessage:
    """Parse one line of a ``log_<node>.jsonl`` file (raises ``msgspec.DecodeError``)."""
    return _decoder.decode(line)


def encode_record(record: LogMessage) -> str:
    """One record as a JSON line (without the newline)."""
    return _encoder.encode(record).decode()


def _clock(timestamp: str) -> str:
    """``HH:MM:SS.mmm`` in local time, or the raw text when it is not RFC 3339."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def level_label(record: LogMessage) -> str:
    """``INFO``, ``WARN``, ...; raw output is ``STDOUT`` or ``STDERR`` after its stream."""
    if record.level == "stdout" and record.stream == "stderr":
        return "STDERR"
    return record.level.upper()


def shown_fields(record: LogMessage) -> dict[str, str]:
    """The fields worth a person's attention: a bridged ``logging`` record's location
    (``file``, ``line``, ``module`` in ``fields``; see :mod:`dora_daemon.peer_log`) is left
    to the JSON format, it names the library's line rather than the user's mistake."""
    fields = dict(record.fields or {})
    if record.file is None and "file" in fields:
        for key in _LOCATION_FIELDS:
            fields.pop(key, None)
    return fields


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and code else text


def format_log(record: LogMessage, fmt: str = "pretty", color: bool = False) -> str:
    """Render one record for a terminal or a pipe (no trailing newline).

    Raises ``ValueError`` for an unknown ``fmt``.
    """
    node = record.node_id or "?"
    if fmt == "json":
        from dora_daemon.peer_log import peer_json  # dora-rs's log message layout

        return peer_json(record)
    if fmt == "compact":  # as dora-rs: `HH:MM:SS LEVEL node: message`
        level = level_label(record)
        return f"{_clock(record.timestamp)[:8]} {level} {_paint(node, _NODE_COLOR, color)}: " + (
            record.message
        )
    if fmt != "pretty":
        raise ValueError(f"unknown log format `{fmt}` (expected one of {', '.join(LOG_FORMATS)})")
    level = record.level.lower()
    parts = [
        _paint(_clock(record.timestamp), _DIM, color),
        _paint(f"{level_label(record):<5}", _LEVEL_COLORS.get(level, ""), color),
        _paint(f"{node}:", _NODE_COLOR + _BOLD, color),
        record.message,
    ]
    text = " ".join(parts)
    fields = shown_fields(record)
    if fields:
        shown = (f"{_paint(key, _DIM, color)}={value}" for key, value in fields.items())
        text += " " + " ".join(shown)
    return text


def parse_log_filter(text: str) -> dict[str, str]:
    """Parse per-node level overrides like ``"node1=debug,node2=warn"``.

    Whitespace around entries is ignored and so are empty entries (a trailing comma); an
    empty string means no overrides. Levels are normalized (``WARNING`` -> ``warn``).
    Raises ``ValueError`` naming the bad entry.
    """
    overrides: dict[str, str] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        node, sep, level = entry.partition("=")
        node, level = node.strip(), level.strip()
        if not sep:
            raise ValueError(
                f"bad log filter entry `{entry}`: expected `<node>=<level>`, "
                'like "sensor=debug,camera=warn"'
            )
        if not node:
            raise ValueError(f"bad log filter entry `{entry}`: the node name is empty")
        if not level:
            raise ValueError(f"bad log filter entry `{entry}`: the level is empty")
        try:
            normalized = normalize_level(level)
        except ValueError as err:
            raise ValueError(f"bad log filter entry `{entry}`: {err}") from None
        if node in overrides:
            raise ValueError(f"bad log filter: node `{node}` is listed twice")
        overrides[node] = normalized
    return overrides


def passes_display_filter(
    record: LogMessage, level: str = "stdout", overrides: Mapping[str, str] | None = None
) -> bool:
    """Whether ``--log-level level`` with ``--log-filter overrides`` shows this record.

    A node listed in ``overrides`` uses its own level instead of ``level``.
    """
    threshold = level
    if overrides and record.node_id is not None:
        threshold = overrides.get(record.node_id, level)
    return level_passes(record.level, threshold)
