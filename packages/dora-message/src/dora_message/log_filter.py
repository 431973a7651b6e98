"""The ``dora logs`` filter pipeline over log records, sans-I/O.

Order: Read/Parse (the caller) -> Time window -> Grep and level -> Tail -> Display (the
caller). The level filter runs before the tail so that ``--level error --tail 50`` shows
the last 50 errors, as the seed's example promises. The same function runs on a daemon
(over its log files), on the coordinator (merging daemons) and in ``dora logs --local``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from dora_message.cli_to_coordinator import LogQuery
from dora_message.common import LogMessage, level_passes


def parse_timestamp(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 timestamp, or None when unreadable."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_timestamp(seconds: float) -> str:
    """RFC 3339 (UTC, milliseconds) for ``seconds`` since the epoch."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sort_records(records: Iterable[LogMessage]) -> list[LogMessage]:
    """Oldest first (stable; unreadable timestamps sort first)."""
    return sorted(records, key=lambda r: parse_timestamp(r.timestamp) or 0.0)


def filter_records(records: Iterable[LogMessage], query: LogQuery) -> list[LogMessage]:
    """Apply ``query`` to records that are already in time order."""
    since = parse_timestamp(query.since) if query.since else None
    until = parse_timestamp(query.until) if query.until else None
    nodes = set(query.nodes) if query.nodes is not None else None
    needle = query.grep.lower() if query.grep else None
    kept: list[LogMessage] = []
    for record in records:
        if nodes is not None and record.node_id not in nodes:
            continue
        if since is not None or until is not None:
            moment = parse_timestamp(record.timestamp)
            if moment is None:
                continue
            if since is not None and moment < since:
                continue
            if until is not None and moment > until:
                continue
        if needle is not None and not _matches(record, needle):
            continue
        threshold = query.level_overrides.get(record.node_id or "", query.level)
        if not _level_ok(record.level, threshold):
            continue
        kept.append(record)
    if query.tail is not None:
        kept = kept[-query.tail :] if query.tail > 0 else []
    return kept


def _level_ok(level: str, threshold: str) -> bool:
    try:
        return level_passes(level, threshold)
    except ValueError:
        return True  # a record with a level we do not know is shown rather than lost


def _matches(record: LogMessage, needle: str) -> bool:
    return any(
        needle in text.lower()
        for text in (record.message, record.node_id, record.target)
        if text is not None
    )
