"""The errors of dora-record, under one root that sits under every dora error."""

from __future__ import annotations

from dora_message.errors import DoraError


class RecordError(DoraError):
    """Anything dora-record refuses; the message says what and where."""


class RecordingError(RecordError):
    """A recording file that cannot be read or written; the message names the file."""


class PlanError(RecordError):
    """The dataflow or the request cannot be planned; the message says why."""


class ConfigError(RecordError):
    """A recorder's or replay node's environment is missing or malformed."""


class MalformedMetadata(RecordError, ValueError):
    """A flatbuffer's offsets point outside it (also a ValueError, as pyarrow's are)."""
