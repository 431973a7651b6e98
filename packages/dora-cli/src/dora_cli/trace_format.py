"""Pure helpers of ``dora trace``: durations, times, trace-id prefixes, the span tree.

No I/O: :mod:`dora_cli.commands.trace` fetches the spans and prints what these return.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dora_cli.error_root import CliError
from dora_message import coordinator_to_cli as rep

SHORT_ID_CHARS = 12


class TraceLookupError(CliError):
    """A trace id prefix that matches no trace or several."""


def format_duration(duration_us: int) -> str:
    """``1.234s`` from one second on, ``12.3ms`` from one millisecond on, else ``123us``."""
    if duration_us >= 1_000_000:
        return f"{duration_us / 1_000_000:.3f}s"
    if duration_us >= 1_000:
        return f"{duration_us / 1_000:.1f}ms"
    return f"{duration_us}us"


def format_started(start_time_ms: int) -> str:
    """A Unix-ms timestamp as ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return datetime.fromtimestamp(start_time_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def is_full_uuid(text: str) -> bool:
    """Whether ``text`` is a complete UUID (used as the trace id without a lookup)."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


def resolve_prefix(prefix: str, trace_ids: Sequence[str]) -> str:
    """The one id in ``trace_ids`` starting with ``prefix`` (case-insensitive)."""
    wanted = prefix.lower()
    matches = sorted({t for t in trace_ids if t.lower().startswith(wanted)})
    if not matches:
        raise TraceLookupError(f"no trace found matching prefix `{prefix}`")
    if len(matches) > 1:
        raise TraceLookupError(
            f"prefix `{prefix}` is ambiguous ({len(matches)} matches). Use a longer prefix."
        )
    return matches[0]


def newest_first(traces: Sequence[rep.TraceSummary]) -> list[rep.TraceSummary]:
    """The traces in ``trace list`` order."""
    return sorted(traces, key=lambda t: t.start_time, reverse=True)


def json_row(trace: rep.TraceSummary) -> dict[str, object]:
    """One trace as ``trace list --format json`` prints it: the full id, and times with
    their unit in the key."""
    return {
        "trace_id": trace.trace_id,
        "root_span": trace.root_span_name,
        "spans": trace.span_count,
        "start_time_ms": trace.start_time,
        "duration_us": trace.duration_us,
    }


def list_rows(traces: Sequence[rep.TraceSummary]) -> list[list[str]]:
    """The ``trace list`` table, header first, newest trace first."""
    rows = [["TRACE ID", "ROOT SPAN", "SPANS", "STARTED", "DURATION"]]
    for trace in newest_first(traces):
        rows.append(
            [
                trace.trace_id[:SHORT_ID_CHARS],
                trace.root_span_name,
                str(trace.span_count),
                format_started(trace.start_time),
                format_duration(trace.duration_us),
            ]
        )
    return rows


def align(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart (the last one unpadded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


@dataclass(frozen=True)
class SpanTree:
    """A trace rendered as lines; ``partial`` when a parent span is missing."""

    lines: list[str]
    partial: bool


def span_line(span: rep.SpanRecord, depth: int) -> str:
    """``<2 spaces x depth><name> [<LEVEL> <duration>] {k=v, ...}``."""
    line = f"{'  ' * depth}{span.name} [{span.level} {format_duration(span.duration_us)}]"
    if span.fields:
        line += " {" + ", ".join(f"{key}={value}" for key, value in span.fields) + "}"
    return line


def render_tree(spans: Sequence[rep.SpanRecord]) -> SpanTree:
    """Roots (spans whose parent is absent) by start time, children by start time, depth-first.

    A span whose parent was evicted (or that sits on a parent cycle) is shown as a root
    and makes the tree ``partial``.
    """
    by_id = {span.span_id: span for span in spans}
    children: dict[int, list[rep.SpanRecord]] = {}
    roots: list[rep.SpanRecord] = []
    partial = False
    for span in by_id.values():
        parent = span.parent_span_id
        if parent is None or parent not in by_id or parent == span.span_id:
            roots.append(span)
            partial = partial or parent is not None
        else:
            children.setdefault(parent, []).append(span)

    def order(items: list[rep.SpanRecord]) -> list[rep.SpanRecord]:
        return sorted(items, key=lambda s: (s.start_time, s.span_id))

    lines: list[str] = []
    seen: set[int] = set()

    def walk(tops: list[rep.SpanRecord]) -> None:
        stack = [(span, 0) for span in reversed(order(tops))]
        while stack:
            span, depth = stack.pop()
            if span.span_id in seen:
                continue
            seen.add(span.span_id)
            lines.append(span_line(span, depth))
            kids = order(children.get(span.span_id, []))
            stack.extend((kid, depth + 1) for kid in reversed(kids))

    walk(roots)
    # Spans never reached sit on a parent cycle: show each cycle from its earliest span.
    while len(seen) < len(by_id):
        partial = True
        rest = order([s for s in by_id.values() if s.span_id not in seen])
        walk(rest[:1])
    return SpanTree(lines=lines, partial=partial)
