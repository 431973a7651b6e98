"""One log record as one line for a person: the ``--log-format`` choices.

* ``pretty``: ``HH:MM:SS.mmm LEVEL node: message key=value ...`` in local time, the level
  upper-case and padded to five columns (raw output shows as ``STDOUT``, or ``STDERR`` for
  a line the node wrote to its stderr); structured fields follow the message as
  ``key=value``, except where a bridged ``logging`` call was made (``file``, ``line``,
  ``module``: the JSON format has them). Colours by level when asked (rich's styles).
* ``compact``: ``HH:MM:SS LEVEL node: message``, as dora-rs shows it (``STDERR`` too).
* ``json``: the record in dora-rs's log message layout (:mod:`dora_daemon.peer_log`), one
  JSON line, never coloured.
"""

from __future__ import annotations

import time
from datetime import datetime
from functools import cache

from rich.color import ColorSystem
from rich.style import Style

from dora_cli.options import LOG_FORMATS
from dora_message.common import LogMessage

_LEVEL_STYLES = {
    "error": "red",
    "warn": "yellow",
    "info": "green",
    "debug": "blue",
    "trace": "magenta",
}
_NODE_STYLE = "bold cyan"
_CLOCK_STYLE = "dim"
_LOCATION_FIELDS = ("file", "line", "module")


@cache
def _style(name: str) -> Style:
    return Style.parse(name)


def _paint(text: str, style: str | None, color: bool) -> str:
    """``text`` with the ANSI codes of ``style`` (16 colours: any terminal shows them)."""
    if not color or not style:
        return text
    return _style(style).render(text, color_system=ColorSystem.STANDARD)


def _clock(timestamp: str) -> str:
    """``HH:MM:SS.mmm`` in local time, or the raw text when it is not RFC 3339."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    millis = f".{moment.microsecond // 1000:03d}"
    if moment.tzinfo is None:
        return moment.strftime("%H:%M:%S") + millis
    # time.localtime, not datetime.astimezone(): the same wall clock (DST included) for
    # a fifth of the cost, paid for every line an attached CLI shows
    try:
        local = time.localtime(moment.timestamp() // 1)
    except (OverflowError, OSError, ValueError):  # beyond the platform's time_t
        return moment.astimezone().strftime("%H:%M:%S") + millis
    return time.strftime("%H:%M:%S", local) + millis


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
        return f"{_clock(record.timestamp)[:8]} {level} {_paint(node, 'cyan', color)}: " + (
            record.message
        )
    if fmt != "pretty":
        raise ValueError(f"unknown log format `{fmt}` (expected one of {', '.join(LOG_FORMATS)})")
    parts = [
        _paint(_clock(record.timestamp), _CLOCK_STYLE, color),
        _paint(f"{level_label(record):<5}", _LEVEL_STYLES.get(record.level.lower()), color),
        _paint(f"{node}:", _NODE_STYLE, color),
        record.message,
    ]
    text = " ".join(parts)
    fields = shown_fields(record)
    if fields:
        shown = (f"{_paint(key, _CLOCK_STYLE, color)}={value}" for key, value in fields.items())
        text += " " + " ".join(shown)
    return text
