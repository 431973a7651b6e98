"""A log record in dora-rs's ``LogMessage`` JSON layout.

What nodes receive on ``dora/logs`` and through ``send_logs_as``, and the lines of
``--log-format json``, use the layout of dora-rs's log message so that programs written
for it read them unchanged: the keys ``build_id, dataflow_id, node_id, daemon_id, level,
target, module_path, file, line, message, timestamp, fields`` in that order, every key
present (``null`` when unknown), the level upper-case (``stdout`` stays lower-case), the
daemon as ``{"machine_id": ..., "uuid": ...}`` and the timestamp with nanoseconds.
Log files keep this package's own :class:`~dora_message.common.LogMessage` layout.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from dora_message.common import LogMessage

_encoder = msgspec.json.Encoder()
_FRACTION = re.compile(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
# what the stdlib logging bridge puts in `fields` (dora.node) and dora-rs has as keys
_LIFTED = ("file", "line", "module")


def peer_level(level: str) -> str:
    """``INFO``, ``WARN``, ...; ``stdout`` stays as it is."""
    return level if level == "stdout" else level.upper()


def peer_timestamp(timestamp: str) -> str:
    """RFC 3339 with nine fractional digits (``...:12.438393335Z``)."""
    match = _FRACTION.match(timestamp)
    if match is None:
        return timestamp
    head, fraction, zone = match.groups()
    digits = (fraction or "").ljust(9, "0")[:9]
    return f"{head}.{digits}{'Z' if zone in ('Z', '+00:00') else zone}"


def peer_record(record: LogMessage) -> dict[str, Any]:
    """The record as dora-rs's log message (a dict in its key order)."""
    fields = dict(record.fields) if record.fields else None
    file, line, module_path = record.file, record.line, record.module_path
    if fields is not None and record.file is None and "file" in fields:
        # a bridged `logging` record: where it was logged, as dora-rs reports it
        file = fields.get("file")
        raw_line = fields.get("line", "")
        line = int(raw_line) if raw_line.isdigit() else None
        module_path = module_path or fields.get("module")
        for key in _LIFTED:
            fields.pop(key, None)
        fields = fields or None
    daemon = None
    if record.daemon_id is not None:
        machine = None if record.daemon_id.startswith("local-") else record.daemon_id
        daemon = {"machine_id": machine, "uuid": record.daemon_id}
    return {
        "build_id": None,
        "dataflow_id": record.dataflow_id,
        "node_id": record.node_id,
        "daemon_id": daemon,
        "level": peer_level(record.level),
        "target": record.target,
        "module_path": module_path,
        "file": file,
        "line": line,
        "message": record.message,
        "timestamp": peer_timestamp(record.timestamp),
        "fields": fields,
    }


def peer_json(record: LogMessage) -> str:
    """:func:`peer_record` as one JSON line (no newline)."""
    return _encoder.encode(peer_record(record)).decode()
