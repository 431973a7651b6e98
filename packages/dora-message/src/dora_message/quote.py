"""Quote user input in error messages without echoing all of it.

A 5-million-character node id must not come back as a 5-million-character error: every
value an error message quotes goes through :func:`excerpt`, which keeps the start, says
how much was left out and makes control characters visible (they could rewrite the
user's terminal).
"""

from __future__ import annotations

from dora_message.descriptor_limits import MAX_MESSAGE_CHARS, MAX_QUOTED_CHARS

__all__ = ["cap_message", "excerpt"]

# C0 controls, DEL and C1 controls: shown escaped, as `\x1b`.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
# A whole message may span lines on purpose.
_CONTROL_BUT_NEWLINE = {c: text for c, text in _CONTROL.items() if c != ord("\n")}


def excerpt(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """``value`` as text for an error message: at most ``limit`` characters of it, with
    control characters escaped and ``… (N more characters)`` when it was cut."""
    return _cut(value if isinstance(value, str) else _text(value), limit, _CONTROL)


def cap_message(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A whole message cut to ``limit`` characters (control characters but newlines
    escaped)."""
    return _cut(message, limit, _CONTROL_BUT_NEWLINE)


def _text(value: object) -> str:
    try:
        return str(value)
    except ValueError:  # an int over Python's 4,300-digit conversion limit
        return f"<{type(value).__name__} too large to print>"


def _cut(text: str, limit: int, table: dict[int, str]) -> str:
    if len(text) <= limit:
        return text.translate(table)
    return f"{text[:limit].translate(table)}… ({len(text) - limit} more characters)"
