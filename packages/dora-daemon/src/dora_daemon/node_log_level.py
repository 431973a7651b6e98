"""How verbose a node's own logging must be: its ``DORA_NODE_LOG_LEVEL``.

A node drops records below its threshold before they reach the daemon (library debug
chatter from stdlib ``logging`` would otherwise flood every pipe). So whoever wants a
node's debug records must tell the node: its ``min_log_level: debug`` (the records are
kept in its log file), and under ``dora run`` the shown level (``--log-level``) or the
node's ``--log-filter`` override. The most verbose wish wins; ``stdout`` and levels at
or above ``info`` ask for nothing beyond the default.
"""

from __future__ import annotations

from collections.abc import Iterable

_VERBOSE = ("trace", "debug")  # most verbose first


def wanted_level(wishes: Iterable[str | None]) -> str | None:
    """The most verbose of ``wishes`` when one asks for debug or trace, else None."""
    normalized = {str(w).strip().lower() for w in wishes if w}
    return next((level for level in _VERBOSE if level in normalized), None)
