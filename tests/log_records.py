"""A node log record for tests of how records are stored, filtered and shown."""

from __future__ import annotations

from dora_message.common import LogMessage


def log_record(dataflow_id: str, **changes: object) -> LogMessage:
    """``sensor``'s INFO ``hello`` at 2026-03-01T10:00:00.123Z, with ``changes`` applied."""
    base: dict[str, object] = {
        "timestamp": "2026-03-01T10:00:00.123Z",
        "level": "info",
        "message": "hello",
        "node_id": "sensor",
        "dataflow_id": dataflow_id,
    }
    base.update(changes)
    return LogMessage(**base)  # type: ignore[arg-type]
