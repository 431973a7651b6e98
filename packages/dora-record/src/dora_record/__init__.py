"""Record the messages of a dora dataflow to a file and replay them.

``dora record`` adds a recorder node (:mod:`dora_record.record_node`) to a dataflow;
``dora replay`` swaps recorded nodes for replay nodes (:mod:`dora_record.replay_node`).
The file format is in :mod:`dora_record.format`, the descriptor rewrites in
:mod:`dora_record.plan`. Every error it raises is a :class:`RecordError` (a
``dora_message.errors.DoraError``).
"""

from dora_record.errors import RecordError, RecordingError
from dora_record.format import (
    EXTENSION,
    FORMAT_VERSION,
    Entry,
    Header,
    Recording,
    RecordingWriter,
    open_recording,
)

__all__ = [
    "EXTENSION",
    "FORMAT_VERSION",
    "Entry",
    "Header",
    "RecordError",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "open_recording",
]
