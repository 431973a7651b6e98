"""Log records as lines of ``log_<node>.jsonl``, and which records ``--log-level`` /
``--log-filter`` let through.

How records look on a terminal (``--log-format``) is the CLI's business
(``dora_cli.log_lines``); the daemon only stores and filters them.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from dora_message.common import LogMessage, level_passes, normalize_level

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(LogMessage)


def decode_record(line: str | bytes) -> LogMessage:
    """Parse one line of a ``log_<node>.jsonl`` file (raises ``msgspec.DecodeError``)."""
    return _decoder.decode(line)


def encode_record(record: LogMessage) -> str:
    """One record as a JSON line (without the newline)."""
    return _encoder.encode(record).decode()


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
