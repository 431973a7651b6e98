"""Making text from nodes safe to show on a terminal.

A terminal acts on control characters: ``ESC ] 0 ; title BEL`` retitles the window,
``ESC [ 2 J`` clears the screen, ``CR`` lets a line overwrite the prefix naming its node,
and some terminals answer queries by typing into their input. Text a node printed is
data, so on a terminal every C0 control (but tab), DEL and every C1 control is shown as
a visible ``\\xNN`` escape. Pipes and files get the text unchanged (tools downstream
want the bytes the node wrote), and the log files always keep it unchanged.
"""

from __future__ import annotations

import re

import msgspec

from dora_message.common import LogMessage

# C0 without tab, DEL, C1: what a terminal interprets instead of drawing
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character but tab shown as ``\\xNN``."""
    return _CONTROLS.sub(_visible, text)


def escape_lines(text: str) -> str:
    """Like :func:`escape_controls`, but newlines stay (for multi-line text of our own
    that quotes what others wrote)."""
    return "\n".join(escape_controls(line) for line in text.split("\n"))


def escaped_record(record: LogMessage) -> LogMessage:
    """A copy of ``record`` with everything a node could have chosen escaped."""
    fields = record.fields
    if fields:
        fields = {escape_controls(k): escape_controls(v) for k, v in fields.items()}
    return msgspec.structs.replace(
        record,
        timestamp=escape_controls(record.timestamp),
        level=escape_controls(record.level),
        message=escape_controls(record.message),
        node_id=None if record.node_id is None else escape_controls(record.node_id),
        fields=fields,
    )
